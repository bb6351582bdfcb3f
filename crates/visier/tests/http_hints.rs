//! The shared client's limiter and retries on Visier's rate-limit hints
//! ([`VisierHooks`]): moved here from core's `http_limits` and `http_retry` tests when
//! the Visier header parser moved out of core (issue 14), assertions unchanged.
//!
//! Time is tokio's paused clock: request instants are recorded by a server on the
//! test's own runtime, and waits are asserted on the client's recorded backoff and
//! throttling, never on the wall clock.

// The loopback helpers of core's `http_*` tests, shared rather than copied.
#[path = "../../core/tests/http_support/mod.rs"]
mod http_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use grantbridge_core::http::{HttpClient, RateLimit, RateLimitPolicy, Request};
use grantbridge_visier::VisierHooks;
use http_support::{
    Behavior, Seen, base, http_response, ok_json, paused_options, requests_seen, run_concurrently,
    scripted_server, sequence,
};
use tokio::time::Instant;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A Visier-like server: fixed one-minute windows from its start, `limit` requests
/// per window, `X-RateLimit-Remaining-Minute` on every answer, 429 over the limit.
async fn visier_like_server(limit: u64) -> (String, Arc<Mutex<Vec<Seen>>>, Arc<Mutex<u64>>) {
    let t0 = Instant::now();
    let counts = Arc::new(Mutex::new(std::collections::HashMap::<u64, u64>::new()));
    let rejected = Arc::new(Mutex::new(0u64));
    let rejected_in = rejected.clone();
    let (addr, seen) = scripted_server(move |_, s: &Seen| {
        let window = (s.at - t0).as_secs() / 60;
        let mut counts = counts.lock().expect("lock");
        let used = counts.entry(window).or_default();
        *used += 1;
        if *used > limit {
            *rejected_in.lock().expect("lock") += 1;
            Behavior::Respond(http_response(
                429,
                &[
                    ("x-ratelimit-limit-minute", &limit.to_string()),
                    ("x-ratelimit-remaining-minute", "0"),
                ],
                "{\"message\":\"rate limit exceeded\"}",
            ))
        } else {
            let left = (limit - *used).to_string();
            Behavior::Respond(http_response(
                200,
                &[
                    ("x-ratelimit-limit-minute", &limit.to_string()),
                    ("x-ratelimit-remaining-minute", &left),
                ],
                "{}",
            ))
        }
    })
    .await;
    (base(addr), seen, rejected)
}

#[tokio::test(start_paused = true)]
async fn remaining_budget_headers_keep_a_concurrent_run_free_of_429() {
    // The client knows no limit for this server; it learns it from the headers,
    // with four requests in flight at any time.
    let (url, seen, rejected) = visier_like_server(10).await;
    let client = HttpClient::with_hooks(
        paused_options(&url).rate_limits(RateLimitPolicy::default().max_concurrency(4)),
        VisierHooks,
    )
    .expect("valid");
    let start = Instant::now();
    run_concurrently(&client, 8, 5, "visier").await;

    let stats = client.stats();
    // A figure, not an assertion: how long the run took on the virtual clock.
    eprintln!(
        "40 requests, server limit 10/min, 4 in flight: {:?} virtual, {} requests, {} 429s",
        start.elapsed(),
        stats.requests,
        stats.rate_limited
    );
    assert_eq!(*rejected.lock().expect("lock"), 0, "{stats:?}");
    assert_eq!(stats.rate_limited, 0);
    assert_eq!(stats.requests, 40, "no request was repeated");
    assert_eq!(seen.lock().expect("lock").len(), 40);
    assert!(stats.throttled > Duration::ZERO);

    // Without adapting, the same requests run into the server's limit.
    let (url, _, rejected) = visier_like_server(10).await;
    let client = HttpClient::with_hooks(
        paused_options(&url)
            .retry(grantbridge_core::http::RetryPolicy::none())
            .rate_limits(
                RateLimitPolicy::default()
                    .max_concurrency(4)
                    .adaptive(false),
            ),
        VisierHooks,
    )
    .expect("valid");
    for _ in 0..12 {
        let _ = client.send(Request::get("/users")).await;
    }
    assert!(*rejected.lock().expect("lock") > 0);
}

#[tokio::test(start_paused = true)]
async fn visier_429_with_no_minute_budget_left_waits_a_window() {
    let server = MockServer::start().await;
    sequence(
        &server,
        "/v1/admin/profiles",
        1,
        ResponseTemplate::new(429)
            .insert_header("x-ratelimit-limit-minute", "100")
            .insert_header("x-ratelimit-remaining-minute", "0")
            .insert_header("x-ratelimit-remaining-hour", "5000"),
        ok_json(),
    )
    .await;
    let client = HttpClient::with_hooks(
        paused_options(&server.uri())
            .rate_limits(RateLimitPolicy::default().class("visier", RateLimit::per_minute(100))),
        VisierHooks,
    )
    .expect("valid");
    let start = Instant::now();
    client
        .send(Request::get("/v1/admin/profiles").class("visier"))
        .await
        .expect("retried after the window");
    // Visier sends no reset time: the class is held for its window (a minute),
    // part of it as the jittered backoff, the rest in the limiter.
    let stats = client.stats();
    // (tokio's timer rounds the sub-millisecond backoff up to a millisecond.)
    let held = stats.backoff + stats.throttled;
    assert!(
        (Duration::from_millis(59_990)..=Duration::from_secs(60)).contains(&held),
        "{stats:?}"
    );
    assert!(start.elapsed() >= Duration::from_secs(60));
    assert_eq!((stats.requests, stats.rate_limited), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn visier_429_with_no_hour_budget_left_fails_fast_for_the_caller_to_schedule() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/admin/profiles"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-remaining-minute", "40")
                .insert_header("x-ratelimit-remaining-hour", "0"),
        )
        .mount(&server)
        .await;
    let client = HttpClient::with_hooks(paused_options(&server.uri()), VisierHooks).expect("valid");
    for _ in 0..2 {
        let err = client
            .send(Request::get("/v1/admin/profiles").class("visier"))
            .await
            .expect_err("hour budget gone");
        // (Less the first attempt's millisecond backoff.)
        let wait = err.retry_after().expect("a hint");
        assert!(
            wait > Duration::from_secs(3590) && wait <= Duration::from_secs(3600),
            "{err:?}"
        );
    }
    assert_eq!(requests_seen(&server).await, 1, "held, not hammered");
}
