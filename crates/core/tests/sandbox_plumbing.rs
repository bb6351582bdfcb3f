#![cfg(all(feature = "sandbox", feature = "http"))]
//! The shared sandbox plumbing, observed by real clients over loopback: request log,
//! every fault kind, rate windows, reproducibility, the body cap.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::routing::{get, post};
use grantbridge_core::sandbox::{
    Fault, FaultPlan, PlainStyle, RateInfo, RateWindow, Sandbox, SandboxOptions, VendorStyle,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Counts how often a handler with an effect ran.
#[derive(Clone, Default)]
struct Effects(Arc<AtomicUsize>);

impl Effects {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

const BIG_BODY_LEN: usize = 4000;

fn router(effects: &Effects) -> Router {
    let bump = effects.clone();
    let bump_delete = effects.clone();
    Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route(
            "/echo",
            post(|body: Bytes| async move { body }).get(|| async { "x".repeat(BIG_BODY_LEN) }),
        )
        .route(
            "/effect",
            post(move || {
                let bump = bump.clone();
                async move {
                    bump.0.fetch_add(1, Ordering::SeqCst);
                    format!("{{\"done\":true,\"pad\":\"{}\"}}", "y".repeat(BIG_BODY_LEN))
                }
            })
            .delete(move || {
                let bump = bump_delete.clone();
                async move {
                    bump.0.fetch_add(1, Ordering::SeqCst);
                    StatusCode::NO_CONTENT
                }
            }),
        )
        .route("/users/{id}", get(|| async { "{}" }))
}

async fn start(options: SandboxOptions) -> (Sandbox, Effects) {
    let effects = Effects::default();
    let sandbox = Sandbox::start(router(&effects), PlainStyle, options)
        .await
        .expect("sandbox starts");
    (sandbox, effects)
}

/// A client that opens a fresh connection per request, so a fault on one request
/// cannot make the pool retry or fail the next one.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client builds")
}

/// Sends raw bytes and returns everything the server sent back before closing
/// (an `Err` when the connection was reset).
async fn raw(sandbox: &Sandbox, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = tokio::net::TcpStream::connect(sandbox.addr()).await?;
    stream.write_all(request).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(answer)
}

#[tokio::test]
async fn log_records_raw_targets_headers_and_bodies() {
    let (sandbox, _) = start(SandboxOptions::default()).await;
    let target = "/users/a%2Fb%20c?pagination%5Bcount%5D=5&email=li.wei+ops@example.com&x=%2B";
    let response = client()
        .get(sandbox.url(target))
        .header("authorization", "Bearer sekrit-bearer-value")
        .header("apikey", "sekrit-apikey-value")
        .header("x-auth-token", "sekrit-token-value")
        .header("x-trace", "visible-value")
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status(), 200);
    client()
        .post(sandbox.url("/echo"))
        .body("{\"hello\":1}")
        .send()
        .await
        .expect("post succeeds");

    let entries = sandbox.log().entries();
    assert_eq!(entries.len(), 2);
    let get = &entries[0];
    assert_eq!(get.seq, 0);
    assert_eq!(get.method, "GET");
    assert_eq!(get.path, "/users/a%2Fb%20c");
    assert_eq!(get.raw_target, target);
    assert_eq!(
        get.query(),
        Some("pagination%5Bcount%5D=5&email=li.wei+ops@example.com&x=%2B")
    );
    assert_eq!(
        get.header("Authorization"),
        Some("Bearer sekrit-bearer-value")
    );
    assert_eq!(get.status, 200);
    assert_eq!(get.fault, None);
    assert!(get.handler_ran());

    let debug = format!("{get:?}");
    for secret in [
        "sekrit-bearer-value",
        "sekrit-apikey-value",
        "sekrit-token-value",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
    assert!(debug.contains("visible-value"), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");

    let post = &entries[1];
    assert_eq!(post.body_json(), Some(serde_json::json!({"hello": 1})));
    assert_eq!(sandbox.log().matching("post", "/echo").len(), 1);
    assert_eq!(sandbox.log().matching("GET", "/users/").len(), 1);
    sandbox.log().clear();
    assert!(sandbox.log().is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn debug_redacts_secret_query_values_and_bodies() {
    let (sandbox, _) = start(SandboxOptions::default()).await;
    client()
        .post(sandbox.url("/echo?access_token=sekrit-query&page=2"))
        .body("password=sekrit-body")
        .send()
        .await
        .expect("post succeeds");
    let entry = sandbox.log().last().expect("logged");
    assert_eq!(entry.body_text(), "password=sekrit-body");
    let debug = format!("{entry:?} {:?}", sandbox.log().entries());
    assert!(!debug.contains("sekrit"), "{debug}");
    assert!(debug.contains("page=2"), "{debug}");
}

#[tokio::test]
async fn unrouted_requests_reach_the_fallback_and_are_logged() {
    let (sandbox, _) = start(SandboxOptions::default()).await;
    let response = client()
        .get(sandbox.url("/nowhere"))
        .send()
        .await
        .expect("request succeeds");
    assert_eq!(response.status(), 404);
    let entry = sandbox.log().last().expect("logged");
    assert_eq!((entry.path.as_str(), entry.status), ("/nowhere", 404));
}

#[tokio::test]
async fn server_errors_strike_before_the_handler() {
    let options = SandboxOptions::default().with_faults(FaultPlan::none().with_server_error(1.0));
    let (sandbox, effects) = start(options).await;
    let client = client();
    let mut statuses = Vec::new();
    for _ in 0..15 {
        let response = client
            .post(sandbox.url("/effect"))
            .send()
            .await
            .expect("a 5xx is a response");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.expect("full body");
        match status {
            502 => {
                assert!(content_type.starts_with("text/html"), "{content_type}");
                assert!(body.contains("<html>"), "{body}");
            }
            500 | 503 => {
                let json: serde_json::Value = serde_json::from_str(&body).expect("json body");
                assert_eq!(json["status"], status);
            }
            other => panic!("unexpected status {other}"),
        }
        statuses.push(status);
    }
    for expected in [500, 502, 503] {
        assert!(statuses.contains(&expected), "{statuses:?}");
    }
    assert_eq!(effects.count(), 0, "the handler must not run");
    let log = sandbox.log().entries();
    assert!(
        log.iter()
            .all(|e| matches!(e.fault, Some(Fault::ServerError { status }) if status == e.status))
    );
    assert!(log.iter().all(|e| !e.handler_ran()));
}

#[tokio::test]
async fn injected_429_uses_the_style_and_retry_after() {
    let plan = FaultPlan::none()
        .with_rate_limited(1.0)
        .with_retry_after(Duration::from_millis(2500));
    let (sandbox, effects) = start(SandboxOptions::default().with_faults(plan)).await;
    let response = client()
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect("a 429 is a response");
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    let body: serde_json::Value =
        serde_json::from_slice(&response.bytes().await.expect("body")).expect("json body");
    assert_eq!(body["retryAfterMs"], 2500);
    assert_eq!(effects.count(), 0);
    let entry = sandbox.log().last().expect("logged");
    assert_eq!(
        (entry.fault, entry.status, entry.over_limit),
        (Some(Fault::RateLimited), 429, false)
    );
}

#[tokio::test]
async fn reset_drops_the_connection_before_the_handler() {
    let (sandbox, effects) =
        start(SandboxOptions::default().with_faults(FaultPlan::none().with_reset(1.0))).await;
    let error = client()
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect_err("a reset is not a response");
    assert!(error.status().is_none());

    // Nothing of a response reaches the wire: no status line, just the close.
    let answer = raw(&sandbox, b"GET /ping HTTP/1.1\r\nhost: x\r\n\r\n").await;
    if let Ok(bytes) = answer {
        assert!(bytes.is_empty(), "{:?}", String::from_utf8_lossy(&bytes));
    }
    assert_eq!(effects.count(), 0);
    let log = sandbox.log().entries();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|e| e.fault == Some(Fault::Reset) && e.status == 0)
    );
}

#[tokio::test]
async fn truncation_strikes_after_the_handler() {
    let (sandbox, effects) =
        start(SandboxOptions::default().with_faults(FaultPlan::none().with_truncated(1.0))).await;
    let client = client();
    let response = client
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect("the head arrives");
    assert_eq!(response.status(), 200);
    let advertised = response.content_length().expect("content-length");
    assert!(advertised > BIG_BODY_LEN as u64);
    assert!(response.bytes().await.is_err(), "the body must fail");
    assert_eq!(effects.count(), 1, "the handler ran");

    // On the wire: the full Content-Length, then half the body, then the close.
    let answer = raw(
        &sandbox,
        b"POST /effect HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n",
    )
    .await
    .expect("closed, not reset");
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {advertised}")),
        "{head}"
    );
    assert_eq!(body.len() as u64, advertised / 2);
    assert_eq!(effects.count(), 2);

    // A response without a body cannot be cut: it is dropped whole, after the effect.
    let error = client
        .delete(sandbox.url("/effect"))
        .send()
        .await
        .expect_err("nothing of the 204 arrives");
    assert!(error.status().is_none());
    assert_eq!(effects.count(), 3);

    let log = sandbox.log().entries();
    assert!(
        log.iter()
            .all(|e| e.fault == Some(Fault::Truncated) && e.handler_ran())
    );
    assert_eq!(
        log.iter().map(|e| e.status).collect::<Vec<_>>(),
        [200, 200, 0]
    );
}

#[tokio::test]
async fn spikes_and_latency_are_recorded_and_harmless() {
    let options = SandboxOptions::default()
        .with_latency(Duration::from_millis(1), Duration::from_millis(2))
        .with_faults(FaultPlan::none().with_spike(1.0, Duration::from_millis(3)));
    let (sandbox, _) = start(options).await;
    for _ in 0..3 {
        let response = client().get(sandbox.url("/ping")).send().await.expect("ok");
        assert_eq!(response.text().await.expect("body"), "pong");
    }
    assert!(
        sandbox
            .log()
            .entries()
            .iter()
            .all(|e| e.spiked && e.fault.is_none())
    );
    sandbox.set_faults(FaultPlan::none());
    sandbox.set_latency(Duration::ZERO, Duration::ZERO);
    client().get(sandbox.url("/ping")).send().await.expect("ok");
    assert!(!sandbox.log().last().expect("logged").spiked);
}

#[tokio::test]
async fn rate_window_refuses_then_recovers() {
    let options = SandboxOptions::default().with_rate_limit(RateWindow::per_minute(3));
    let (sandbox, effects) = start(options).await;
    let client = client();
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = client
            .post(sandbox.url("/effect"))
            .send()
            .await
            .expect("ok");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-ratelimit-limit"], "3");
        remaining.push(response.headers()["x-ratelimit-remaining"].clone());
    }
    assert_eq!(remaining, ["2", "1", "0"]);

    let refused = client
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect("429");
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("whole seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(refused.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(effects.count(), 3, "a refused request has no effect");
    let entry = sandbox.log().last().expect("logged");
    assert!(entry.over_limit && entry.fault.is_none() && entry.status == 429);

    // Let the window pass on tokio's clock (no real waiting), then the budget is back.
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(61)).await;
    tokio::time::resume();
    let response = client
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect("ok");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-ratelimit-remaining"], "2");
    assert_eq!(effects.count(), 4);

    // Controls: lifting the window stops the budget headers and the refusals.
    sandbox.controls().set_rate_limit(None);
    for _ in 0..5 {
        let response = client
            .post(sandbox.url("/effect"))
            .send()
            .await
            .expect("ok");
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("x-ratelimit-remaining").is_none());
    }
}

/// Mutations share a small budget and answer in their own style; reads are free.
struct MutationStyle;

impl VendorStyle for MutationStyle {
    fn rate_class(&self, method: &Method, _path: &str) -> &'static str {
        if method == Method::GET {
            "read"
        } else {
            "mutation"
        }
    }
    fn rate_limited(&self, info: &RateInfo) -> axum::response::Response {
        let mut response = grantbridge_core::sandbox::json_response(
            StatusCode::TOO_MANY_REQUESTS,
            &serde_json::json!({"errors": [{"type": "RequestError", "data": {
                "msBeforeNext": info.reset_after_ms(), "consumedPoints": info.consumed }}]}),
        );
        response.headers_mut().insert(
            "x-ratelimit-reset",
            info.reset_http_date().parse().expect("ascii"),
        );
        response
    }
    fn budget_headers(&self, info: &RateInfo, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-consumed", HeaderValue::from(info.consumed));
    }
}

#[tokio::test]
async fn rate_classes_come_from_the_style() {
    let effects = Effects::default();
    let options =
        SandboxOptions::default().with_class_rate_limit("mutation", RateWindow::per_minute(1));
    let sandbox = Sandbox::start(router(&effects), MutationStyle, options)
        .await
        .expect("starts");
    let client = client();
    let first = client
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect("ok");
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-ratelimit-consumed"], "1");
    let second = client
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect("429");
    assert_eq!(second.status(), 429);
    assert!(
        second.headers()["x-ratelimit-reset"]
            .to_str()
            .expect("ascii")
            .ends_with(" GMT")
    );
    let body: serde_json::Value =
        serde_json::from_slice(&second.bytes().await.expect("body")).expect("json");
    assert_eq!(body["errors"][0]["data"]["consumedPoints"], 1);
    assert!(
        body["errors"][0]["data"]["msBeforeNext"]
            .as_u64()
            .expect("ms")
            > 0
    );
    for _ in 0..4 {
        let read = client.get(sandbox.url("/ping")).send().await.expect("ok");
        assert_eq!(read.status(), 200);
        assert!(read.headers().get("x-ratelimit-consumed").is_none());
    }
    assert_eq!(effects.count(), 1);
    sandbox.controls().reset_rate_windows();
    let third = client
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect("ok");
    assert_eq!(third.status(), 200);
}

async fn fault_sequence(seed: u64) -> Vec<Option<Fault>> {
    let options = SandboxOptions::default()
        .with_seed(seed)
        .with_faults(FaultPlan::chaos(0.8).with_spike(0.2, Duration::from_millis(1)));
    let (sandbox, _) = start(options).await;
    let client = client();
    for _ in 0..40 {
        // Outcomes differ by fault; only the sequence matters here.
        if let Ok(response) = client.post(sandbox.url("/effect")).send().await {
            let _ = response.bytes().await;
        }
    }
    let faults = sandbox.log().faults();
    sandbox.shutdown().await;
    faults
}

#[tokio::test]
async fn same_seed_same_fault_sequence() {
    let first = fault_sequence(42).await;
    let second = fault_sequence(42).await;
    assert_eq!(first.len(), 40);
    assert_eq!(first, second);
    for expected in [Fault::RateLimited, Fault::Reset, Fault::Truncated] {
        assert!(
            first.contains(&Some(expected)),
            "{expected:?} missing in {first:?}"
        );
    }
    assert!(first.contains(&None));
    let other = fault_sequence(7).await;
    assert_ne!(first, other, "another seed gives another sequence");
}

#[tokio::test]
async fn reseeding_restarts_the_sequence() {
    let options = SandboxOptions::default()
        .with_seed(3)
        .with_faults(FaultPlan::chaos(0.9).with_spike(0.2, Duration::from_millis(1)));
    let (sandbox, _) = start(options).await;
    let client = client();
    for round in 0..2 {
        if round == 1 {
            sandbox.controls().reseed(3);
        }
        for _ in 0..10 {
            if let Ok(response) = client.get(sandbox.url("/ping")).send().await {
                let _ = response.bytes().await;
            }
        }
    }
    let faults = sandbox.log().faults();
    assert_eq!(faults[..10], faults[10..]);
}

#[tokio::test]
async fn body_cap_answers_413_without_running_the_handler() {
    let (sandbox, effects) = start(SandboxOptions::default().with_max_request_body(1024)).await;
    let client = client();
    let fits = client
        .post(sandbox.url("/echo"))
        .body(vec![b'a'; 1024])
        .send()
        .await
        .expect("ok");
    assert_eq!(fits.status(), 200);
    assert_eq!(fits.bytes().await.expect("echo").len(), 1024);

    let too_big = client
        .post(sandbox.url("/effect"))
        .body(vec![b'a'; 4096])
        .send()
        .await
        .expect("a 413 is a response");
    assert_eq!(too_big.status(), 413);

    // Chunked, so the size is only known while reading.
    let chunk = "b".repeat(2000);
    let request = format!(
        "POST /effect HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let answer = raw(&sandbox, request.as_bytes()).await.expect("answered");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 413"));
    assert_eq!(effects.count(), 0);
    let statuses: Vec<u16> = sandbox.log().entries().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [200, 413, 413]);
    assert!(
        sandbox
            .log()
            .entries()
            .iter()
            .skip(1)
            .all(|e| !e.handler_ran())
    );
}

#[tokio::test]
async fn extractors_accept_bodies_up_to_the_cap_and_the_log_keeps_one_mib() {
    let (sandbox, _) = start(SandboxOptions::default()).await;
    // Larger than axum's own 2 MB extractor default, smaller than the 16 MiB cap.
    let body = vec![b'z'; 3 * 1024 * 1024];
    let response = client()
        .post(sandbox.url("/echo"))
        .body(body.clone())
        .send()
        .await
        .expect("ok");
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.expect("echo").len(), body.len());
    let entry = sandbox.log().last().expect("logged");
    assert_eq!(entry.body.len(), grantbridge_core::sandbox::LOGGED_BODY_CAP);
}

#[tokio::test]
async fn shutdown_stops_listening() {
    let (sandbox, _) = start(SandboxOptions::default()).await;
    let url = sandbox.url("/ping");
    assert!(client().get(&url).send().await.is_ok());
    sandbox.shutdown().await;
    assert!(client().get(&url).send().await.is_err());
}

#[tokio::test(start_paused = true)]
async fn paused_clock_makes_latency_and_windows_free() {
    let options = SandboxOptions::default()
        .with_latency(Duration::from_secs(600), Duration::from_secs(60))
        .with_rate_limit(RateWindow::new(1, Duration::from_secs(3600)));
    let (sandbox, effects) = start(options).await;
    let client = client();
    let first = client
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect("ok");
    assert_eq!(first.status(), 200);
    let second = client
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect("429");
    assert_eq!(second.status(), 429);
    tokio::time::advance(Duration::from_secs(3600)).await;
    let third = client
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect("ok");
    assert_eq!(third.status(), 200);
    assert_eq!(effects.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_gives_up_does_not_cancel_the_request() {
    let options = SandboxOptions::default().with_latency(Duration::from_secs(10), Duration::ZERO);
    let (sandbox, effects) = start(options).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .expect("client builds");
    let error = impatient
        .post(sandbox.url("/effect"))
        .send()
        .await
        .expect_err("the client times out first");
    assert!(error.is_timeout(), "{error}");
    assert_eq!(effects.count(), 0);
    // The server keeps going: once its latency has passed, the write happened.
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(effects.count(), 1);
    let entry = sandbox.log().last().expect("logged");
    assert!(entry.handled && entry.status == 200, "{entry:?}");
}

#[tokio::test]
async fn a_panicking_handler_becomes_a_500() {
    let router = Router::new().route(
        "/boom",
        get(|| async {
            if std::hint::black_box(true) {
                panic!("handler bug");
            }
            "unreachable"
        }),
    );
    let sandbox = Sandbox::start(router, PlainStyle, SandboxOptions::default())
        .await
        .expect("starts");
    let response = client()
        .get(sandbox.url("/boom"))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 500);
    let after = client()
        .get(sandbox.url("/boom"))
        .send()
        .await
        .expect("still serving");
    assert_eq!(after.status(), 500);
}

#[tokio::test]
async fn default_cap_refuses_just_over_sixteen_mib_with_a_readable_413() {
    let (sandbox, effects) = start(SandboxOptions::default()).await;
    let response = client()
        .post(sandbox.url("/effect"))
        .body(vec![b'q'; 16 * 1024 * 1024 + 1])
        .send()
        .await
        .expect("the 413 is readable, not a reset");
    assert_eq!(response.status(), 413);
    let body = response.text().await.expect("body");
    assert!(body.contains("16777216"), "{body}");
    assert_eq!(effects.count(), 0);
}

#[tokio::test]
async fn concurrent_requests_are_all_logged_once() {
    let (sandbox, _) = start(SandboxOptions::default()).await;
    let client = reqwest::Client::new();
    let requests = (0..50).map(|i| {
        let client = client.clone();
        let url = sandbox.url(&format!("/users/{i}"));
        async move { client.get(url).send().await.map(|r| r.status()) }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| matches!(s, Ok(s) if *s == 200)));
    let entries = sandbox.log().entries();
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (0..50).collect::<Vec<u64>>());
    let mut paths: Vec<String> = entries.into_iter().map(|e| e.path).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 50);
}

/// Visier-like: a per-minute window per class and an hourly one shared by all.
struct TwoWindowStyle;

impl VendorStyle for TwoWindowStyle {
    fn budget_headers(&self, info: &RateInfo, headers: &mut HeaderMap) {
        headers.insert("x-minute-left", HeaderValue::from(info.remaining));
        if let Some(hour) = &info.global {
            headers.insert("x-hour-left", HeaderValue::from(hour.remaining));
        }
    }
    fn rate_limited(&self, info: &RateInfo) -> axum::response::Response {
        grantbridge_core::sandbox::json_response(
            StatusCode::TOO_MANY_REQUESTS,
            &serde_json::json!({ "window": info.class, "limit": info.limit }),
        )
    }
}

#[tokio::test]
async fn a_global_window_counts_every_class() {
    let effects = Effects::default();
    let options = SandboxOptions::default()
        .with_rate_limit(RateWindow::per_minute(100))
        .with_global_rate_limit(RateWindow::new(3, Duration::from_secs(3600)));
    let sandbox = Sandbox::start(router(&effects), TwoWindowStyle, options)
        .await
        .expect("starts");
    let client = client();
    let mut seen = Vec::new();
    for path in ["/ping", "/users/1", "/ping"] {
        let response = client.get(sandbox.url(path)).send().await.expect("ok");
        assert_eq!(response.status(), 200);
        seen.push((
            response.headers()["x-minute-left"]
                .to_str()
                .expect("ascii")
                .to_owned(),
            response.headers()["x-hour-left"]
                .to_str()
                .expect("ascii")
                .to_owned(),
        ));
    }
    assert_eq!(
        seen,
        [("99", "2"), ("98", "1"), ("97", "0")].map(|(m, h)| (m.to_owned(), h.to_owned()))
    );
    let refused = client.get(sandbox.url("/ping")).send().await.expect("429");
    assert_eq!(refused.status(), 429);
    let body: serde_json::Value =
        serde_json::from_slice(&refused.bytes().await.expect("body")).expect("json");
    assert_eq!(body, serde_json::json!({ "window": "*", "limit": 3 }));
    sandbox.controls().set_global_rate_limit(None);
    let response = client.get(sandbox.url("/ping")).send().await.expect("ok");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-minute-left"], "96");
    assert!(response.headers().get("x-hour-left").is_none());
}

#[tokio::test]
async fn a_path_prefix_confines_the_faults() {
    let plan = FaultPlan::none()
        .with_server_error(1.0)
        .with_path_prefix("/effect");
    let (sandbox, effects) = start(SandboxOptions::default().with_faults(plan)).await;
    let client = client();
    for _ in 0..3 {
        let ping = client.get(sandbox.url("/ping")).send().await.expect("ok");
        assert_eq!(ping.status(), 200);
        let effect = client
            .post(sandbox.url("/effect"))
            .send()
            .await
            .expect("5xx");
        assert!(effect.status().is_server_error());
    }
    assert_eq!(effects.count(), 0);
    let faults = sandbox.log().faults();
    assert_eq!(faults.iter().filter(|f| f.is_some()).count(), 3);
    assert!(faults.iter().step_by(2).all(Option::is_none));
}
