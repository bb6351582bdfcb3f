//! Measures a snapshot and a sync against the in-process Segment sandbox and prints
//! the figures (time, requests issued against the minimum, bytes).
//!
//! ```text
//! cargo run --release -p grantbridge-segment --features sandbox --example segment_sync_bench -- 10000 1000
//! ```
//! Arguments: users in the workspace (default 10000), principals to change (default
//! 1000). Nothing here asserts a speed; it only reports.

#[cfg(feature = "sandbox")]
mod bench {
    use std::time::{Duration, Instant};

    use futures::TryStreamExt;
    use grantbridge_core::engine::{Change, ExecuteOptions, Plan, Snapshot, execute};
    use grantbridge_core::prelude::*;
    use grantbridge_core::sandbox::{RateWindow, SandboxOptions};
    use grantbridge_core::{Assignment, Principal, ProfileId, ResourceId, ResourceKind, Scope};
    use grantbridge_segment::SegmentSystem;
    use grantbridge_segment::sandbox::{Seed, SegmentSandbox};

    pub async fn run(users: usize, changes: usize) -> Result<(), Box<dyn std::error::Error>> {
        let options = SandboxOptions::default()
            .with_class_rate_limit("iam-mutation", RateWindow::per_minute(10_000_000))
            .with_class_rate_limit("default", RateWindow::per_minute(10_000_000));
        let sandbox = SegmentSandbox::start(Seed::Generated { users }, options).await?;
        for (page, reuse) in [(200u32, false), (1000, true)] {
            let mut system = SegmentSystem::connect(sandbox.config())
                .await?
                .page_size(page);
            if reuse {
                system = system.reuse_listed_state(Duration::from_secs(600));
            }
            let http = system.client().http().clone();
            let start = Instant::now();
            let before = http.stats();
            let snapshot = Snapshot::take(&system).await?;
            let took = start.elapsed();
            let after = http.stats();
            println!(
                "snapshot of {} users, {} assignments, {} memberships, page {page}: {:.1} ms, {} requests, {:.1} MiB received",
                snapshot.users.len(),
                snapshot.assignments.len(),
                snapshot.memberships.len(),
                took.as_secs_f64() * 1000.0,
                after.requests - before.requests,
                (after.bytes_received - before.bytes_received) as f64 / 1_048_576.0,
            );
            let source = system
                .client()
                .stream_sources(10)
                .try_next()
                .await?
                .ok_or("no source")?
                .id;
            let role = if reuse {
                "2TiI1YfY1nBO7WnH3nPSSVx9cZ8"
            } else {
                "2TiI1YfY1nBO7WnH3nPSSVx9cZ9"
            };
            let plan_changes: Vec<Change> = snapshot
                .users
                .iter()
                .take(changes)
                .map(|u| Change::Grant {
                    assignment: Assignment::new(
                        Principal::User(u.id.clone()),
                        ProfileId::new(role).expect("valid id"),
                        Scope::resource(
                            ResourceKind::new("SOURCE").expect("valid kind"),
                            ResourceId::new(source.as_str()).expect("valid id"),
                        ),
                    ),
                    previous: None,
                })
                .collect();
            let n = plan_changes.len();
            let plan = Plan::from_changes(system.id().clone(), plan_changes, false);
            let before = http.stats();
            let start = Instant::now();
            let report = execute(&plan, &system, &ExecuteOptions::default()).await?;
            let took = start.elapsed();
            let after = http.stats();
            println!(
                "sync of {n} grants ({} reuse of listed state): {:.1} ms, {} requests (minimum {}: one write per principal{}), {} failures",
                if reuse { "with" } else { "without" },
                took.as_secs_f64() * 1000.0,
                after.requests - before.requests,
                if reuse { n } else { 2 * n },
                if reuse { "" } else { " + one read" },
                report.counts().failed,
            );
        }
        sandbox.shutdown().await;
        Ok(())
    }
}

#[cfg(feature = "sandbox")]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let users = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let changes = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    bench::run(users, changes).await
}

#[cfg(not(feature = "sandbox"))]
fn main() {
    eprintln!("this example needs `--features sandbox`");
}
