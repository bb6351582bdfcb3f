//! Client-side rate limiting of the shared HTTP client under concurrency, on tokio's
//! paused clock: request instants are recorded by a server on the test's own
//! runtime, so they are virtual time and exact.
//!
//! How the limiter adapts to Visier's and Segment's budget headers is tested with
//! their hooks, in `crates/visier/tests/http_hints.rs` and
//! `crates/segment/tests/http_hints.rs`.
#![cfg(feature = "http")]

mod http_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use grantbridge_core::http::{HttpClient, RateLimit, RateLimitPolicy, RateLimiter, Request};
use http_support::{
    Behavior, Seen, base, http_response, paused_options, run_concurrently, scripted_server,
};
use tokio::time::Instant;

/// The largest number of instants inside any half-open window `[t, t + per)`.
fn max_in_any_window(instants: &[Instant], per: Duration) -> usize {
    let mut sorted = instants.to_vec();
    sorted.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end] - sorted[start] >= per {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

fn instants(seen: &Arc<Mutex<Vec<Seen>>>) -> Vec<Instant> {
    seen.lock().expect("lock").iter().map(|s| s.at).collect()
}

#[test]
fn the_window_check_itself_can_fail() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let per = Duration::from_secs(10);
    assert_eq!(max_in_any_window(&[at(0), at(9_999), at(10_000)], per), 2);
    assert_eq!(max_in_any_window(&[at(0), at(10_000), at(20_000)], per), 1);
    assert_eq!(
        max_in_any_window(&[at(5), at(0), at(3), at(12_000)], per),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_tasks_never_exceed_r_requests_in_any_window() {
    const R: u32 = 5;
    let per = Duration::from_secs(10);
    let (addr, seen) = scripted_server(|_, _| Behavior::Respond(http_response(200, &[], ""))).await;
    let client = HttpClient::new(
        paused_options(&base(addr)).rate_limits(
            RateLimitPolicy::default()
                .class("iam-mutation", RateLimit::new(R, per))
                .max_concurrency(64),
        ),
    )
    .expect("valid");

    let start = Instant::now();
    run_concurrently(&client, 12, 4, "iam-mutation").await;

    let at = instants(&seen);
    assert_eq!(at.len(), 48);
    assert_eq!(max_in_any_window(&at, per), R as usize, "{at:?}");
    // 48 requests at 5 per 10 s need at least 9 full windows after the first burst.
    assert!(start.elapsed() >= per * 9, "{:?}", start.elapsed());
    assert!(client.stats().throttled > Duration::ZERO);
    assert_eq!(client.stats().rate_limited, 0);

    // The same load without a limit puts everything in one window: the check bites.
    let (addr, seen) = scripted_server(|_, _| Behavior::Respond(http_response(200, &[], ""))).await;
    let client = HttpClient::new(paused_options(&base(addr))).expect("valid");
    run_concurrently(&client, 12, 4, "iam-mutation").await;
    assert_eq!(max_in_any_window(&instants(&seen), per), 48);
}

#[tokio::test(start_paused = true)]
async fn several_limits_on_one_class_all_hold_and_other_classes_are_free() {
    // Visier's shape scaled down: 4 per second and 10 per minute.
    let (addr, seen) = scripted_server(|_, _| Behavior::Respond(http_response(200, &[], ""))).await;
    let client = HttpClient::new(
        paused_options(&base(addr)).rate_limits(
            RateLimitPolicy::default()
                .class("visier", RateLimit::per_second(4))
                .class("visier", RateLimit::per_minute(10))
                .max_concurrency(16),
        ),
    )
    .expect("valid");
    run_concurrently(&client, 6, 4, "visier").await;
    let at = instants(&seen);
    assert_eq!(at.len(), 24);
    assert!(max_in_any_window(&at, Duration::from_secs(1)) <= 4);
    assert!(max_in_any_window(&at, Duration::from_secs(60)) <= 10);

    // A class with no limit of its own is not held back by the limited one.
    client
        .send(Request::get("/users").class("read"))
        .await
        .expect("free");
    assert_eq!(client.class_stats()["read"].throttled, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn the_limiter_alone_never_exceeds_the_window_under_contention() {
    const R: u32 = 3;
    let per = Duration::from_secs(60);
    let limiter = Arc::new(RateLimiter::new(
        RateLimitPolicy::default()
            .class("c", RateLimit::new(R, per))
            .max_concurrency(2),
    ));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for _ in 0..20 {
        let limiter = limiter.clone();
        let sent = sent.clone();
        handles.push(tokio::spawn(async move {
            let _permit = limiter.acquire("c").await;
            sent.lock().expect("lock").push(Instant::now());
            // Requests take a while; the concurrency cap of 2 is held meanwhile.
            tokio::time::sleep(Duration::from_millis(1_500)).await;
        }));
    }
    for h in handles {
        h.await.expect("task");
    }
    let at = sent.lock().expect("lock").clone();
    assert_eq!(at.len(), 20);
    assert_eq!(max_in_any_window(&at, per), R as usize);
}
