#![cfg(feature = "sandbox")]
//! An injected 429 from the Segment emulator carries what Segment documents:
//! `Retry-After`, the `X-RateLimit-*` budget headers and `data.msBeforeNext`, all
//! saying the fault plan's wait.
//! The client waits what the fault plan set, not a window it guessed. Paused clock: the
//! emulator runs on the test's runtime, so the wait is virtual time, measured exactly.

use std::time::Duration;

use grantbridge_core::http::RetryPolicy;
use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::{FaultPlan, SandboxOptions};
use grantbridge_core::testing::assert_injected_429_costs_its_wait;
use grantbridge_segment::SegmentSystem;
use grantbridge_segment::sandbox::{Seed, SegmentSandbox};

const WAIT: Duration = Duration::from_secs(3);

fn throttled() -> FaultPlan {
    FaultPlan::none()
        .with_rate_limited(1.0)
        .with_retry_after(WAIT)
}

#[tokio::test(start_paused = true)]
async fn an_injected_429_says_and_costs_the_fault_plans_wait() {
    let sandbox = SegmentSandbox::start(Seed::Demo, SandboxOptions::default())
        .await
        .expect("sandbox");
    sandbox.controls().set_faults(throttled());
    let raw = reqwest::get(format!("{}/users", sandbox.base_url()))
        .await
        .expect("an answer");
    assert_eq!(raw.status().as_u16(), 429);
    let headers = raw.headers().clone();
    assert_eq!(
        headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"3"[..])
    );
    assert_eq!(
        headers.get("x-ratelimit-remaining").map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
    assert!(headers.contains_key("x-ratelimit-consumed"), "{headers:?}");
    assert!(headers.contains_key("x-ratelimit-reset"), "{headers:?}");
    let bytes = raw.bytes().await.expect("a body");
    let body: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON body");
    assert_eq!(body["errors"][0]["data"]["msBeforeNext"], 3000, "{body}");

    sandbox.controls().set_faults(FaultPlan::none());
    let mut config = sandbox.config();
    config.options = config
        .options
        .retry(RetryPolicy::none())
        .connect_timeout(None)
        .request_timeout(None);
    let system = SegmentSystem::connect(config).await.expect("connect");

    assert_injected_429_costs_its_wait(&sandbox.controls(), WAIT, || system.list_users()).await;
    sandbox.shutdown().await;
}
