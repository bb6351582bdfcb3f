#![cfg(feature = "sandbox")]
//! An injected 429 from the Visier emulator carries Visier's four documented budget
//! headers and, as a gateway throttle would, `Retry-After` with the fault plan's wait.
//! The client waits what the fault plan set, not a window it guessed. Paused clock: the
//! emulator runs on the test's runtime, so the wait is virtual time, measured exactly.

use std::time::Duration;

use grantbridge_core::http::RetryPolicy;
use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::{FaultPlan, SandboxOptions};
use grantbridge_core::testing::assert_injected_429_costs_its_wait;
use grantbridge_visier::VisierSystem;
use grantbridge_visier::sandbox::{Seed, VisierSandbox};

const WAIT: Duration = Duration::from_secs(3);

fn throttled() -> FaultPlan {
    FaultPlan::none()
        .with_rate_limited(1.0)
        .with_retry_after(WAIT)
}

#[tokio::test(start_paused = true)]
async fn an_injected_429_says_and_costs_the_fault_plans_wait() {
    let sandbox = VisierSandbox::start(Seed::Demo, SandboxOptions::default())
        .await
        .expect("sandbox");
    sandbox.controls().set_faults(throttled());
    let raw = reqwest::get(format!("{}/v1/admin/users", sandbox.base_url()))
        .await
        .expect("an answer");
    assert_eq!(raw.status().as_u16(), 429);
    let headers = raw.headers();
    for name in [
        "x-ratelimit-limit-minute",
        "x-ratelimit-remaining-minute",
        "x-ratelimit-limit-hour",
        "x-ratelimit-remaining-hour",
    ] {
        assert!(headers.contains_key(name), "{name} missing: {headers:?}");
    }
    assert_eq!(
        headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"3"[..])
    );

    sandbox.controls().set_faults(FaultPlan::none());
    let mut config = sandbox.config();
    config.options = config
        .options
        .retry(RetryPolicy::none())
        .connect_timeout(None)
        .request_timeout(None);
    let system = VisierSystem::connect(config).await.expect("connect");
    system.list_users().await.expect("logged in and listed");

    assert_injected_429_costs_its_wait(&sandbox.controls(), WAIT, || system.list_users()).await;
    sandbox.shutdown().await;
}
