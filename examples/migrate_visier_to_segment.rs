//! Carry Visier's grants over to Segment through a mapping file.
//!
//! ```sh
//! # On the emulators (default): plans, applies, verifies.
//! cargo run --example migrate_visier_to_segment --features sandbox
//! # On real tenants (VISIER_* and SEGMENT_* set): a dry run unless --apply is given.
//! cargo run --example migrate_visier_to_segment --features sandbox -- my-mapping.toml --apply
//! ```

use grantbridge::core::AccessSystem;
use grantbridge::core::engine::{self, ExecuteOptions, Mapping, Mode, Snapshot};
use grantbridge::core::sandbox::SandboxOptions;
use grantbridge::segment::sandbox::{Seed as SegmentSeed, SegmentSandbox};
use grantbridge::segment::{SegmentConfig, SegmentSystem};
use grantbridge::visier::sandbox::{Seed as VisierSeed, VisierSandbox};
use grantbridge::visier::{VisierConfig, VisierSystem};

const DEMO_MAPPING: &str = include_str!("../crates/cli/mappings/visier-to-segment.toml");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let apply_flag = args.iter().any(|a| a == "--apply");
    let mapping_file = args.iter().find(|a| !a.starts_with("--"));
    let real = std::env::var_os("VISIER_BASE_URL").is_some()
        && std::env::var_os("SEGMENT_TOKEN").is_some();

    // Emulators stay alive until the end of main.
    let mut emulators = None;
    let (visier, segment) = if real {
        (
            VisierSystem::connect(VisierConfig::from_env()?).await?,
            SegmentSystem::connect(SegmentConfig::from_env()?).await?,
        )
    } else {
        let v = VisierSandbox::start(VisierSeed::Demo, SandboxOptions::default()).await?;
        let s = SegmentSandbox::start(SegmentSeed::Demo, SandboxOptions::default()).await?;
        let systems = (
            VisierSystem::connect(v.config()).await?,
            SegmentSystem::connect(s.config()).await?,
        );
        emulators = Some((v, s));
        systems
    };
    let mapping = match mapping_file {
        Some(path) => Mapping::load(path)?,
        None => Mapping::parse(DEMO_MAPPING, "visier-to-segment.toml")?,
    };

    let source = Snapshot::take(&visier).await?;
    let current = Snapshot::take(&segment).await?;
    let desired = engine::translate(&source, &mapping, &current)?;
    let plan = engine::plan(&desired, &current, Mode::Additive);
    println!("{}", plan.summary());
    // Every source item that is not carried is in `plan.skipped`, with its reason.
    for skipped in plan.skipped.iter().take(5) {
        println!("skipped: {skipped}");
    }
    println!("{} skipped in all (see plan.skipped)", plan.skipped.len());

    // Real tenants are only changed when asked to; the emulators always are.
    let dry_run = real && !apply_flag;
    let options = ExecuteOptions {
        dry_run,
        ..ExecuteOptions::default()
    };
    let report = engine::execute(&plan, &segment, &options).await?;
    println!("{:?}", report.counts());
    if !dry_run {
        let after = Snapshot::take(&segment).await?;
        let left = engine::plan(
            &engine::translate(&source, &mapping, &after)?,
            &after,
            Mode::Additive,
        );
        println!(
            "verified on {}: {} change(s) left to do",
            segment.id(),
            left.changes.len()
        );
    }
    if let Some((v, s)) = emulators {
        v.shutdown().await;
        s.shutdown().await;
    }
    Ok(())
}
