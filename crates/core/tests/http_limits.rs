//! Client-side rate limiting of the shared HTTP client under concurrency, on tokio's
//! paused clock: request instants are recorded by a server on the test's own
//! runtime, so they are virtual time and exact.
#![cfg(feature = "http")]

mod http_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use grantbridge_core::http::{
    HttpClient, RateLimit, RateLimitHints, RateLimitPolicy, RateLimiter, Request, Response,
    VendorHooks, segment_hints, visier_hints,
};
use http_support::{Behavior, Seen, base, http_response, paused_options, scripted_server};
use tokio::time::Instant;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug)]
struct VisierHooks;

impl VendorHooks for VisierHooks {
    fn rate_limit_hints(&self, response: &Response) -> RateLimitHints {
        visier_hints(response.headers())
    }
}

#[derive(Debug)]
struct SegmentHooks;

impl VendorHooks for SegmentHooks {
    fn rate_limit_hints(&self, response: &Response) -> RateLimitHints {
        segment_hints(response)
    }
}

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

/// `tasks` tasks sending `each` requests of class `class` at once.
async fn run_concurrently(client: &HttpClient, tasks: usize, each: usize, class: &'static str) {
    let mut handles = Vec::new();
    for t in 0..tasks {
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..each {
                client
                    .send(
                        Request::post("/users")
                            .param(format!("u{t}-{i}"))
                            .path("permissions")
                            .class(class),
                    )
                    .await
                    .expect("every request succeeds");
            }
        }));
    }
    for h in handles {
        h.await.expect("task");
    }
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
async fn segment_remaining_and_reset_headers_pause_the_class_before_a_429() {
    let server = MockServer::start().await;
    let reset = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-consumed", "60")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.as_str()),
        )
        .mount(&server)
        .await;
    let client =
        HttpClient::with_hooks(paused_options(&server.uri()), SegmentHooks).expect("valid");
    let start = Instant::now();
    for _ in 0..2 {
        client
            .send(Request::post("/users/u/permissions").class("iam-mutation"))
            .await
            .expect("ok");
    }
    let stats = client.stats();
    assert!(
        (Duration::from_secs(28)..=Duration::from_secs(30)).contains(&stats.throttled),
        "{stats:?}"
    );
    assert!(start.elapsed() >= stats.throttled);
    assert_eq!(stats.rate_limited, 0);
    // Other classes are not held by this one's budget. (Asserted on the counters:
    // against wiremock, virtual time also jumps while the runtime waits for it.)
    client
        .send(Request::post("/other").class("read"))
        .await
        .expect("ok");
    assert_eq!(client.class_stats()["read"].throttled, Duration::ZERO);
}
