#![cfg(feature = "sandbox")]
//! The client-side rate limits of the *default* Segment configuration are the vendor's
//! published ones: 60 IAM mutations per minute; reads are not held to that window
//! (nor to any client-side window: Segment documents none for them).
//!
//! The test runs on tokio's paused clock against a sandbox on the same runtime whose
//! windows are far above what the test sends (its budget headers never say "none
//! left"): virtual time advances only while the client's limiter waits. Requests are
//! counted in the sandbox's log, not by the client. The client keeps the default
//! rate limits and retries and only drops its timeouts, which on a paused clock
//! would fire whenever the runtime idles.

use std::time::Duration;

use grantbridge_core::http::{RetryPolicy, Secret};
use grantbridge_core::sandbox::{RateWindow, SandboxOptions};
use grantbridge_segment::sandbox::{Seed, SegmentSandbox};
use grantbridge_segment::wire::PaginationInput;
use grantbridge_segment::{SegmentClient, SegmentConfig};
use tokio::time::Instant;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn the_61st_mutation_in_a_minute_waits_for_the_window_and_reads_do_not() {
    let options = SandboxOptions::default()
        .with_class_rate_limit("iam-mutation", RateWindow::per_minute(1_000_000))
        .with_class_rate_limit("default", RateWindow::per_minute(1_000_000));
    let sandbox = SegmentSandbox::start(Seed::Generated { users: 3 }, options)
        .await
        .expect("sandbox");
    let mut config = SegmentConfig::new(sandbox.base_url(), sandbox.credentials().token.clone());
    config.options = config.options.connect_timeout(None).request_timeout(None);
    let client = SegmentClient::new(&config).expect("client");
    let start = Instant::now();
    let user = client
        .list_users(&PaginationInput::first(1))
        .await
        .expect("users")
        .users[0]
        .id
        .clone();
    let writes = || {
        sandbox
            .log()
            .entries()
            .iter()
            .filter(|r| r.method != "GET")
            .count()
    };

    for n in 1..=60 {
        client
            .replace_permissions_for_user(&user, &[])
            .await
            .expect("mutation");
        assert_eq!(start.elapsed(), Duration::ZERO, "mutation {n} waited");
    }
    assert_eq!(writes(), 60);
    // The mutation window is full; reads go on at once, well past 60 (and past 100).
    for n in 1..=150 {
        client.get_workspace().await.expect("read");
        assert_eq!(start.elapsed(), Duration::ZERO, "read {n} waited");
    }
    // The 61st mutation goes when the first leaves the window, a minute later.
    client
        .replace_permissions_for_user(&user, &[])
        .await
        .expect("mutation");
    assert_eq!(writes(), 61);
    assert_eq!(start.elapsed(), MINUTE, "the 61st mutation waited a minute");
    // Then the rest of that minute's 60 go at once, and the 121st waits again.
    for _ in 62..=120 {
        client
            .replace_permissions_for_user(&user, &[])
            .await
            .expect("mutation");
    }
    assert_eq!(start.elapsed(), MINUTE);
    client
        .replace_permissions_for_user(&user, &[])
        .await
        .expect("mutation");
    assert_eq!(start.elapsed(), 2 * MINUTE, "the 121st mutation waited too");
    let log = sandbox.log().entries();
    assert_eq!(log.len(), 1 + 60 + 150 + 61, "no request was sent twice");
    assert!(
        log.iter().all(|r| r.status == 200),
        "every request succeeded"
    );
    sandbox.shutdown().await;
}

/// The configured limit itself, and the default retry policy.
#[test]
fn the_default_configuration_holds_segments_published_limit() {
    let config = SegmentConfig::us(Secret::new("sgp_example"));
    let debug = format!("{:?}", config.options);
    let policy = concat!(
        "rate_limits: RateLimitPolicy { classes: ",
        r#"{"iam-mutation": [RateLimit { requests: 60, per: 60s }]}, default: [], "#
    );
    assert!(debug.contains(policy), "{policy} in {debug}");
    assert!(
        debug.contains(&format!("retry: {:?}", RetryPolicy::default())),
        "{debug}"
    );
}
