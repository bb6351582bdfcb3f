//! The shared client's limiter and retries on Segment's rate-limit hints
//! ([`SegmentHooks`]): moved here from core's `http_limits` and `http_retry` tests when
//! the Segment header parser moved out of core (issue 14), assertions unchanged.
//!
//! Time is tokio's paused clock: waits are asserted on the client's recorded backoff
//! and throttling, never on the wall clock.

// The loopback helpers of core's `http_*` tests, shared rather than copied.
#[path = "../../core/tests/http_support/mod.rs"]
mod http_support;

use std::time::Duration;

use grantbridge_core::Error;
use grantbridge_core::http::{HttpClient, Request};
use grantbridge_segment::client::SegmentHooks;
use http_support::{ok_json, paused_options, sequence};
use serde_json::json;
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An IMF-fixdate `d` from now.
fn http_date_in(d: Duration) -> String {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::try_from(d).expect("small");
    at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[tokio::test(start_paused = true)]
async fn segment_remaining_and_reset_headers_pause_the_class_before_a_429() {
    let server = MockServer::start().await;
    let reset = http_date_in(Duration::from_secs(30));
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

#[tokio::test(start_paused = true)]
async fn absurd_hints_are_typed_errors_not_panics() {
    for value in [
        "18446744073709551615",
        "99999999999999999999999",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "-1",
        "soon",
        "1.5",
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/users"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", value)
                    .set_body_raw(
                        r#"{"errors":[{"data":{"msBeforeNext":18446744073709551615}}]}"#,
                        "application/json",
                    ),
            )
            .mount(&server)
            .await;
        let client =
            HttpClient::with_hooks(paused_options(&server.uri()), SegmentHooks).expect("valid");
        let err = client
            .send(Request::get("/users"))
            .await
            .expect_err("always 429");
        assert!(matches!(err, Error::RateLimited { .. }), "{value}: {err:?}");
        // Held or not, the next request also ends in a typed error.
        let err = client
            .send(Request::get("/users"))
            .await
            .expect_err("always 429");
        assert!(matches!(err, Error::RateLimited { .. }), "{value}: {err:?}");
    }
}

const SEGMENT_429: &str = r#"{"errors":[{"type":"RequestError","message":"Too many requests","data":{"remainingPoints":0,"msBeforeNext":57647,"consumedPoints":21}}]}"#;

#[tokio::test(start_paused = true)]
async fn segment_429_waits_for_ms_before_next() {
    let server = MockServer::start().await;
    let reset = http_date_in(Duration::from_secs(30));
    sequence(
        &server,
        "/users/u1/permissions",
        1,
        ResponseTemplate::new(429)
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", reset.as_str())
            .set_body_raw(SEGMENT_429, "application/json"),
        ok_json(),
    )
    .await;
    let client =
        HttpClient::with_hooks(paused_options(&server.uri()), SegmentHooks).expect("valid");

    client
        .send(
            Request::post("/users")
                .param("u1")
                .path("permissions")
                .json(&json!({})),
        )
        .await
        .expect("a 429 is retried even for a POST: the server did no work");
    let stats = client.stats();
    assert_eq!(stats.backoff, Duration::from_millis(57_647));
    assert_eq!((stats.requests, stats.rate_limited), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn segment_429_prefers_retry_after() {
    let server = MockServer::start().await;
    sequence(
        &server,
        "/users",
        1,
        ResponseTemplate::new(429)
            .insert_header("retry-after", "3")
            .set_body_raw(SEGMENT_429, "application/json"),
        ok_json(),
    )
    .await;
    let client =
        HttpClient::with_hooks(paused_options(&server.uri()), SegmentHooks).expect("valid");
    client.send(Request::get("/users")).await.expect("retried");
    assert_eq!(client.stats().backoff, Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn segment_429_with_only_the_reset_date_waits_for_it() {
    let server = MockServer::start().await;
    let reset = http_date_in(Duration::from_secs(20));
    sequence(
        &server,
        "/users",
        1,
        ResponseTemplate::new(429).insert_header("x-ratelimit-reset", reset.as_str()),
        ok_json(),
    )
    .await;
    let client =
        HttpClient::with_hooks(paused_options(&server.uri()), SegmentHooks).expect("valid");
    let start = Instant::now();
    client.send(Request::get("/users")).await.expect("retried");
    let waited = client.stats().backoff;
    assert!(
        (Duration::from_secs(18)..=Duration::from_secs(20)).contains(&waited),
        "{waited:?}"
    );
    assert!(start.elapsed() >= waited);
}
