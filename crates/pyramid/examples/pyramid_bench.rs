//! Figures for the Pyramid adapter against its sandbox (demo seed, ~200 users):
//! calls and wall time of a snapshot, and of batch grants and revokes, without and
//! with injected latency.
//!
//! `cargo run --release -p grantbridge-pyramid --features sandbox --example pyramid_bench`

#[cfg(feature = "sandbox")]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::time::{Duration, Instant};

    use grantbridge_core::engine::Snapshot;
    use grantbridge_core::prelude::*;
    use grantbridge_core::sandbox::SandboxOptions;
    use grantbridge_core::{Assignment, Principal};
    use grantbridge_pyramid::PyramidSystem;
    use grantbridge_pyramid::sandbox::{PyramidSandbox, Seed};

    for latency_ms in [0u64, 5] {
        let sandbox = PyramidSandbox::start(
            Seed::Demo,
            SandboxOptions::default()
                .with_latency(Duration::from_millis(latency_ms), Duration::ZERO),
        )
        .await?;
        let started = Instant::now();
        let system = PyramidSystem::connect(sandbox.config()).await?;
        let connect = started.elapsed();
        let calls = || system.client().http().stats().requests;

        let mut runs = Vec::new();
        let mut snapshot_calls = 0;
        let mut size = (0, 0, 0);
        for _ in 0..3 {
            let before = calls();
            let t = Instant::now();
            let snap = Snapshot::take(&system).await?;
            runs.push(t.elapsed());
            snapshot_calls = calls() - before;
            size = (
                snap.users.len(),
                snap.profiles.len(),
                snap.assignments.len(),
            );
        }
        runs.sort();

        let profile = system.find_profile_by_name("Consumers").await?.id;
        let users: Vec<_> = system
            .list_users()
            .await?
            .into_iter()
            .filter(|u| {
                u.extra
                    .get("userName")
                    .and_then(|v| v.as_str())
                    .is_some_and(|n| n.starts_with("viewer."))
            })
            .map(|u| u.id)
            .collect();
        let items: Vec<Assignment> = users
            .iter()
            .map(|u| Assignment::new(Principal::User(u.clone()), profile.clone(), system.scope()))
            .collect();
        let before = calls();
        let t = Instant::now();
        let granted = system.grant(&items).await;
        let grant_time = t.elapsed();
        let grant_calls = calls() - before;
        let before = calls();
        let t = Instant::now();
        let revoked = system.revoke(&items).await;
        let revoke_time = t.elapsed();
        let revoke_calls = calls() - before;
        let ok = |o: &[grantbridge_core::Outcome]| o.iter().filter(|x| x.is_done()).count();

        println!("latency {latency_ms} ms per request:");
        println!("  connect: {connect:?}");
        println!(
            "  snapshot ({} users, {} profiles, {} assignments): {snapshot_calls} calls, median {:?} (min {:?}, max {:?})",
            size.0, size.1, size.2, runs[1], runs[0], runs[2]
        );
        println!(
            "  grant {} private profiles: {grant_calls} calls, {grant_time:?} ({} done)",
            items.len(),
            ok(&granted)
        );
        println!(
            "  revoke them: {revoke_calls} calls, {revoke_time:?} ({} done)",
            ok(&revoked)
        );
        sandbox.shutdown().await;
    }
    Ok(())
}

#[cfg(not(feature = "sandbox"))]
fn main() {
    eprintln!("this example needs `--features sandbox`");
}
