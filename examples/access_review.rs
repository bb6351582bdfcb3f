//! Who has what, everywhere: one CSV of every grant in Visier, Segment and Pyramid.
//!
//! ```sh
//! cargo run --example access_review --features sandbox > review.csv
//! ```
//! With `VISIER_*`, `SEGMENT_*` and `PYRAMID_*` set it reads real tenants (read-only).

use std::sync::Arc;

use grantbridge::core::AccessSystem;
use grantbridge::core::engine::{Snapshot, write_access_csv};
use grantbridge::core::sandbox::SandboxOptions;
use grantbridge::pyramid::sandbox::{PyramidSandbox, Seed as PyramidSeed};
use grantbridge::pyramid::{PyramidConfig, PyramidSystem};
use grantbridge::segment::sandbox::{Seed as SegmentSeed, SegmentSandbox};
use grantbridge::segment::{SegmentConfig, SegmentSystem};
use grantbridge::visier::sandbox::{Seed as VisierSeed, VisierSandbox};
use grantbridge::visier::{VisierConfig, VisierSystem};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let real = std::env::var_os("VISIER_BASE_URL").is_some();
    let mut emulators = None;
    let systems: Vec<Arc<dyn AccessSystem>> = if real {
        vec![
            Arc::new(VisierSystem::connect(VisierConfig::from_env()?).await?),
            Arc::new(SegmentSystem::connect(SegmentConfig::from_env()?).await?),
            Arc::new(PyramidSystem::connect(PyramidConfig::from_env()?).await?),
        ]
    } else {
        let v = VisierSandbox::start(VisierSeed::Demo, SandboxOptions::default()).await?;
        let s = SegmentSandbox::start(SegmentSeed::Demo, SandboxOptions::default()).await?;
        let p = PyramidSandbox::start(PyramidSeed::Demo, SandboxOptions::default()).await?;
        let systems: Vec<Arc<dyn AccessSystem>> = vec![
            Arc::new(VisierSystem::connect(v.config()).await?),
            Arc::new(SegmentSystem::connect(s.config()).await?),
            Arc::new(PyramidSystem::connect(p.config()).await?),
        ];
        emulators = Some((v, s, p));
        systems
    };
    // One header for the whole file: each system's CSV after the first loses its own.
    let mut out = Vec::new();
    for (i, system) in systems.iter().enumerate() {
        let snap = Snapshot::take(system.as_ref()).await?;
        let mut csv = Vec::new();
        write_access_csv(&snap, &mut csv)?;
        let text = String::from_utf8_lossy(&csv);
        let body = if i == 0 {
            text.as_ref()
        } else {
            text.split_once('\n').map_or("", |(_, rest)| rest)
        };
        out.extend_from_slice(body.as_bytes());
        eprintln!("{}: {} grant(s)", system.id(), snap.assignments.len());
    }
    print!("{}", String::from_utf8_lossy(&out));
    if let Some((v, s, p)) = emulators {
        v.shutdown().await;
        s.shutdown().await;
        p.shutdown().await;
    }
    Ok(())
}
