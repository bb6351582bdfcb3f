#![cfg(feature = "sandbox")]
//! Rate limits and injected faults between the adapter and the sandbox.
//!
//! The rate-limit tests run on tokio's paused clock: the sandbox shares the test's
//! runtime, so a request arrives at the virtual instant it is sent and only the
//! client's waits move time. Their clients have no timeouts (on a paused clock a
//! timeout would fire whenever the runtime idles).

use std::time::Duration;

use futures::TryStreamExt;
use grantbridge_core::http::{ClientOptions, RateLimit, RateLimitPolicy, RetryPolicy};
use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::{FaultPlan, RateWindow, SandboxOptions};
use grantbridge_core::{
    Assignment, ErrorKind, Outcome, Principal, ProfileId, ResourceId, ResourceKind, Scope, UserId,
};
use grantbridge_segment::sandbox::{Seed, SegmentSandbox};
use grantbridge_segment::wire::PaginationInput;
use grantbridge_segment::{SegmentClient, SegmentSystem};
use tokio::time::Instant;

const SOURCE_READ: &str = "2TiI1YfY1nBO7WnH3nPSSVx9cZ9";

/// `options` without timeouts, for the paused clock.
fn paused(options: ClientOptions) -> ClientOptions {
    options.connect_timeout(None).request_timeout(None)
}

async fn user_ids(client: &SegmentClient) -> Vec<String> {
    client
        .stream_users(200)
        .map_ok(|u| u.id)
        .try_collect()
        .await
        .expect("users")
}

fn grant_to(id: &str, source: &str) -> Assignment {
    Assignment::new(
        Principal::User(UserId::new(id).expect("id")),
        ProfileId::new(SOURCE_READ).expect("id"),
        Scope::resource(
            ResourceKind::new("SOURCE").expect("kind"),
            ResourceId::new(source).expect("id"),
        ),
    )
}

#[tokio::test(start_paused = true)]
async fn over_the_mutation_window_the_sandbox_answers_segments_429_and_reads_go_on() {
    let options =
        SandboxOptions::default().with_class_rate_limit("iam-mutation", RateWindow::per_minute(3));
    let sandbox = SegmentSandbox::start(Seed::Generated { users: 6 }, options)
        .await
        .expect("sandbox");
    // No client-side limiter and no retries: the server's refusal must surface.
    let mut config = sandbox.config();
    config.options = paused(config.options)
        .retry(RetryPolicy::none())
        .rate_limits(RateLimitPolicy::unlimited().adaptive(false));
    let client = SegmentClient::new(&config).expect("client");
    let ids = user_ids(&client).await;
    let start = Instant::now();
    for id in &ids[..3] {
        client
            .replace_permissions_for_user(id, &[])
            .await
            .expect("within the window");
    }
    let err = client
        .replace_permissions_for_user(&ids[3], &[])
        .await
        .expect_err("4th mutation in a minute");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    // The window opened with the first mutation, at this same virtual instant.
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    let refused = sandbox.log().last().expect("logged");
    assert_eq!(refused.status, 429);
    assert!(refused.over_limit);
    // Reads are another class.
    client.get_workspace().await.expect("reads still pass");
    let ok = sandbox.log().last().expect("logged");
    assert_eq!(ok.status, 200);

    // Through the adapter the refusal is that item's typed outcome.
    let system = SegmentSystem::from_client(client.clone())
        .await
        .expect("system");
    let src = client
        .list_sources(&PaginationInput::first(5))
        .await
        .expect("sources")
        .sources[0]
        .id
        .clone();
    let got = system.grant(&[grant_to(&ids[4], &src)]).await;
    assert!(
        matches!(&got[0], Outcome::Failed(e) if e.kind() == ErrorKind::RateLimited),
        "{got:?}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_client_side_limiter_keeps_mutations_under_the_window() {
    // A 4-per-300ms window on both sides: without the client limiter, 10 quick writes
    // would meet 429s (checked at the end).
    let window = Duration::from_millis(300);
    let options =
        SandboxOptions::default().with_class_rate_limit("iam-mutation", RateWindow::new(4, window));
    let sandbox = SegmentSandbox::start(Seed::Generated { users: 10 }, options)
        .await
        .expect("sandbox");
    // The client's own window only: the server's budget hints are left out, since
    // Segment's reset hint is a wall-clock date (whole seconds) that would make the
    // waits depend on the real clock.
    let mut config = sandbox.config();
    config.options = paused(config.options)
        .retry(RetryPolicy::none())
        .rate_limits(
            RateLimitPolicy::default()
                .class("iam-mutation", RateLimit::new(4, window))
                .adaptive(false),
        );
    let client = SegmentClient::new(&config).expect("client");
    let ids = user_ids(&client).await;
    assert_eq!(ids.len(), 10);
    let start = Instant::now();
    let mut sent_at = Vec::new();
    for id in &ids {
        client
            .replace_permissions_for_user(id, &[])
            .await
            .expect("the limiter waits instead of being refused");
        sent_at.push(start.elapsed());
    }
    // Four per window: 4 at once, 4 when the window has passed, then the last 2.
    let ms = Duration::from_millis;
    let expected: Vec<Duration> = [0, 0, 0, 0, 300, 300, 300, 300, 600, 600]
        .into_iter()
        .map(ms)
        .collect();
    assert_eq!(sent_at, expected);
    let stats = client.http().class_stats();
    let iam = stats.get("iam-mutation").expect("class counted");
    assert_eq!((iam.requests, iam.rate_limited), (10, 0));
    assert_eq!(
        iam.throttled,
        ms(600),
        "the 5th and the 9th waited a window"
    );
    let writes: Vec<_> = sandbox
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.method == "PUT")
        .collect();
    assert_eq!(writes.len(), 10);
    assert!(
        writes.iter().all(|e| e.status == 200 && !e.over_limit),
        "no request went over the server's window"
    );

    // The same writes without the client's window meet the server's: the check bites.
    let mut config = sandbox.config();
    config.options = paused(config.options)
        .retry(RetryPolicy::none())
        .rate_limits(RateLimitPolicy::unlimited().adaptive(false));
    let unlimited = SegmentClient::new(&config).expect("client");
    tokio::time::advance(window).await; // a fresh server window
    let mut refused = 0;
    for id in &ids {
        if let Err(e) = unlimited.replace_permissions_for_user(id, &[]).await {
            assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
            refused += 1;
        }
    }
    assert_eq!(refused, 6, "4 of 10 fit the server's window");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn under_injected_faults_every_item_is_reported_and_nothing_is_duplicated() {
    let options = SandboxOptions::default()
        .with_class_rate_limit("iam-mutation", RateWindow::per_minute(100_000))
        .with_class_rate_limit("default", RateWindow::per_minute(100_000))
        .with_seed(42);
    let sandbox = SegmentSandbox::start(Seed::Generated { users: 40 }, options)
        .await
        .expect("sandbox");
    let mut config = sandbox.config();
    config.options = config.options.retry(
        RetryPolicy::default()
            .max_attempts(4)
            .delays(Duration::from_millis(1), Duration::from_millis(10))
            .max_retry_after(Duration::from_secs(2)),
    );
    let system = SegmentSystem::connect(config).await.expect("connect");
    let ids = user_ids(system.client()).await;
    let src = system
        .client()
        .list_sources(&PaginationInput::first(5))
        .await
        .expect("sources")
        .sources[0]
        .id
        .clone();
    let batch: Vec<Assignment> = ids.iter().map(|id| grant_to(id, &src)).collect();
    sandbox.controls().set_faults(
        FaultPlan::none()
            .with_server_error(0.15)
            .with_reset(0.05)
            .with_truncated(0.05)
            .with_rate_limited(0.05)
            .with_retry_after(Duration::from_millis(10)),
    );
    let got = system.grant(&batch).await;
    sandbox.controls().set_faults(FaultPlan::none());
    assert_eq!(got.len(), batch.len(), "one outcome per item");
    let faults = sandbox
        .log()
        .faults()
        .iter()
        .filter(|f| f.is_some())
        .count();
    assert!(
        faults > 0,
        "the plan injected nothing; the test proves nothing"
    );
    // Whatever was reported applied is on the server exactly once; failures are typed
    // and retryable kinds; nothing else changed.
    for (a, o) in batch.iter().zip(&got) {
        let held = system
            .list_assignments_for(&a.principal)
            .await
            .expect("read");
        let copies = held.iter().filter(|h| h.key() == a.key()).count();
        match o {
            Outcome::Applied => assert_eq!(copies, 1, "{a}"),
            Outcome::Failed(e) => {
                assert!(copies <= 1, "{a}: {e}");
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::Transport
                            | ErrorKind::Vendor
                            | ErrorKind::RateLimited
                            | ErrorKind::Decode
                    ),
                    "{e}"
                );
            }
            Outcome::AlreadyInState => panic!("{a} was not held before"),
        }
        assert_eq!(
            held.len() - copies,
            1,
            "the seeded workspace role survives: {held:?}"
        );
    }
    let applied = got.iter().filter(|o| matches!(o, Outcome::Applied)).count();
    println!(
        "{faults} faults injected; {applied} of {} grants applied",
        batch.len()
    );
    sandbox.shutdown().await;
}
