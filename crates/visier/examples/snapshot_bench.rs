//! Measures a snapshot of a generated sandbox tenant: wall time and HTTP calls.
//!
//! ```text
//! cargo run -p grantbridge-visier --all-features --release --example snapshot_bench -- 5000
//! ```

#[cfg(feature = "sandbox")]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use grantbridge_core::engine::Snapshot;
    use grantbridge_core::sandbox::SandboxOptions;
    use grantbridge_visier::VisierSystem;
    use grantbridge_visier::sandbox::{Seed, VisierSandbox};

    let users: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(5000);
    for (name, seed) in [
        ("generated (plain tenant)", Seed::Generated { users }),
        ("demo (administrating)", Seed::Demo),
    ] {
        let sandbox = VisierSandbox::start(seed, SandboxOptions::default()).await?;
        let system = VisierSystem::connect(sandbox.config()).await?;
        sandbox.log().clear();
        let started = std::time::Instant::now();
        let snapshot = Snapshot::take(&system).await?;
        let elapsed = started.elapsed();
        println!(
            "{name}: {} users, {} assignments, {} memberships in {:.1} ms over {} HTTP calls",
            snapshot.users.len(),
            snapshot.assignments.len(),
            snapshot.memberships.len(),
            elapsed.as_secs_f64() * 1000.0,
            sandbox.log().len()
        );
        sandbox.shutdown().await;
    }
    Ok(())
}

#[cfg(not(feature = "sandbox"))]
fn main() {
    eprintln!("build with --features sandbox (or --all-features)");
}
