//! Revoke everything one person holds in Visier, Segment and Pyramid, by e-mail.
//!
//! ```sh
//! cargo run --example offboard_user --features sandbox -- chloe.martin@example.com
//! ```
//! With `VISIER_*`, `SEGMENT_*` and `PYRAMID_*` set it works on real tenants, as a dry
//! run unless `--apply` is given.

use std::sync::Arc;

use grantbridge::core::engine::{self, Change, ExecuteOptions, Plan, Snapshot};
use grantbridge::core::sandbox::SandboxOptions;
use grantbridge::core::{AccessSystem, Email, Principal};
use grantbridge::pyramid::sandbox::{PyramidSandbox, Seed as PyramidSeed};
use grantbridge::pyramid::{PyramidConfig, PyramidSystem};
use grantbridge::segment::sandbox::{Seed as SegmentSeed, SegmentSandbox};
use grantbridge::segment::{SegmentConfig, SegmentSystem};
use grantbridge::visier::sandbox::{Seed as VisierSeed, VisierSandbox};
use grantbridge::visier::{VisierConfig, VisierSystem};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let apply_flag = args.iter().any(|a| a == "--apply");
    let email = Email::new(
        args.iter()
            .find(|a| !a.starts_with("--"))
            .map_or("chloe.martin@example.com", String::as_str),
    )?;
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

    let options = ExecuteOptions {
        dry_run: real && !apply_flag,
        ..ExecuteOptions::default()
    };
    for system in &systems {
        let snap = Snapshot::take(system.as_ref()).await?;
        let Some(user) = snap.user_by_email(&email) else {
            println!("{}: no user with e-mail {email}", system.id());
            continue;
        };
        let me = Principal::User(user.id.clone());
        let mut changes: Vec<Change> = snap
            .assignments
            .iter()
            .filter(|a| a.principal == me)
            .map(|a| Change::Revoke {
                assignment: a.clone(),
            })
            .collect();
        changes.extend(
            snap.memberships
                .iter()
                .filter(|m| m.user == user.id)
                .map(|m| Change::RemoveMember {
                    membership: m.clone(),
                }),
        );
        let plan = Plan::from_changes(system.id().clone(), changes, true);
        let report = engine::execute(&plan, system.as_ref(), &options).await?;
        let c = report.counts();
        println!(
            "{}: {} item(s): {} revoked, {} already gone, {} failed{}",
            system.id(),
            plan.changes.len(),
            c.applied,
            c.already_in_state,
            c.failed,
            if options.dry_run { " (dry run)" } else { "" }
        );
        // Keep `report.rollback_plan()` to undo this later.
    }
    if let Some((v, s, p)) = emulators {
        v.shutdown().await;
        s.shutdown().await;
        p.shutdown().await;
    }
    Ok(())
}
