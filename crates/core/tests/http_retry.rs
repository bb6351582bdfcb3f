//! Retries of the shared HTTP client: statuses, `Retry-After`, vendor reset hints,
//! network failures, timeouts, idempotency and the counters they leave behind.
//!
//! Time is tokio's paused clock: waits are asserted on the client's recorded
//! backoff ([`Stats::backoff`]) and on virtual time, never on the wall clock.
//!
//! Retries on Segment's and Visier's rate-limit hints are tested with their hooks, in
//! `crates/segment/tests/http_hints.rs` and `crates/visier/tests/http_hints.rs`.
#![cfg(feature = "http")]

mod http_support;

use std::time::{Duration, SystemTime};

use grantbridge_core::Error;
use grantbridge_core::http::{ClientOptions, HttpClient, Request, RetryPolicy, Stats};
use http_support::{
    Behavior, base, http_response, ok_json, options, paused_options, requests_seen, retries,
    scripted_server, sequence,
};
use serde_json::{Value, json};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(options: ClientOptions) -> HttpClient {
    HttpClient::new(options).expect("valid options")
}

#[tokio::test(start_paused = true)]
async fn retry_then_success() {
    let server = MockServer::start().await;
    sequence(&server, "/users", 2, ResponseTemplate::new(503), ok_json()).await;
    let client = client(paused_options(&server.uri()));

    let response = client
        .send(Request::get("/users"))
        .await
        .expect("third attempt succeeds");
    assert_eq!(response.attempts(), 3);
    let body: Value = response.json().expect("json");
    assert_eq!(body, json!({"data": {"ok": true}}));
    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.rate_limited),
        (3, 2, 0)
    );
    assert_eq!(requests_seen(&server).await, 3);
}

#[tokio::test(start_paused = true)]
async fn retry_budget_exhausted_returns_the_last_status() {
    let server = MockServer::start().await;
    sequence(
        &server,
        "/users",
        1,
        ResponseTemplate::new(502),
        ResponseTemplate::new(504)
            .set_body_json(json!({"message": "upstream timed out", "code": "GW"})),
    )
    .await;
    let client = client(paused_options(&server.uri()).retry(retries(4)));

    let err = client
        .send(Request::get("/users"))
        .await
        .expect_err("never succeeds");
    match &err {
        Error::Vendor {
            status,
            code,
            message,
            ..
        } => {
            assert_eq!(*status, 504, "{err}");
            assert_eq!(code.as_deref(), Some("GW"));
            assert_eq!(message, "upstream timed out");
        }
        other => panic!("expected Vendor, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(requests_seen(&server).await, 4, "max_attempts is 4");
    assert_eq!(client.stats().retries, 3);
}

#[tokio::test(start_paused = true)]
async fn retry_budget_exhausted_on_429_is_rate_limited_with_the_hint() {
    let server = MockServer::start().await;
    Mock::given(path("/users"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
        .mount(&server)
        .await;
    let client = client(paused_options(&server.uri()));

    let err = client
        .send(Request::get("/users"))
        .await
        .expect_err("always 429");
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(2)),
        "{err:?}"
    );
    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.rate_limited),
        (3, 2, 3)
    );
    assert_eq!(
        stats.backoff,
        Duration::from_secs(4),
        "two waits of Retry-After: 2"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_in_seconds_is_honoured() {
    let server = MockServer::start().await;
    sequence(
        &server,
        "/users",
        1,
        ResponseTemplate::new(429).insert_header("retry-after", "7"),
        ok_json(),
    )
    .await;
    let client = client(paused_options(&server.uri()));

    let start = Instant::now();
    client
        .send(Request::get("/users"))
        .await
        .expect("second attempt succeeds");
    // The jittered backoff is at most 5 ms here; the server's 7 s is the floor.
    assert_eq!(client.stats().backoff, Duration::from_secs(7));
    assert!(
        start.elapsed() >= Duration::from_secs(7),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(client.stats().rate_limited, 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = MockServer::start().await;
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
    sequence(
        &server,
        "/users",
        1,
        ResponseTemplate::new(503).insert_header("retry-after", date.as_str()),
        ok_json(),
    )
    .await;
    let client = client(paused_options(&server.uri()));

    let start = Instant::now();
    client
        .send(Request::get("/users"))
        .await
        .expect("second attempt succeeds");
    // An HTTP date has whole seconds and is read against the wall clock a moment
    // later, so the wait is just under 30 s.
    let waited = client.stats().backoff;
    assert!(
        (Duration::from_secs(28)..=Duration::from_secs(30)).contains(&waited),
        "{waited:?}"
    );
    assert!(start.elapsed() >= waited);
}

#[tokio::test(start_paused = true)]
async fn a_hint_longer_than_allowed_fails_at_once_with_the_hint() {
    let server = MockServer::start().await;
    Mock::given(path("/users"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let client = client(
        paused_options(&server.uri()).retry(retries(5).max_retry_after(Duration::from_secs(120))),
    );
    let err = client
        .send(Request::get("/users"))
        .await
        .expect_err("too long to wait");
    assert_eq!(
        err.retry_after(),
        Some(Duration::from_secs(3600)),
        "{err:?}"
    );
    assert_eq!(requests_seen(&server).await, 1);
    assert_eq!(client.stats().backoff, Duration::ZERO);

    // The class stays held: the next request fails the same way without being sent,
    // instead of sitting in the limiter for an hour.
    let err = client
        .send(Request::get("/users"))
        .await
        .expect_err("still held");
    let left = err.retry_after().expect("a hint");
    assert!(
        left > Duration::from_secs(3500) && left <= Duration::from_secs(3600),
        "{err:?}"
    );
    assert_eq!(requests_seen(&server).await, 1);
    assert_eq!(client.stats().requests, 1);
    // Another class is not held.
    let _ = client.send(Request::get("/users").class("other")).await;
    assert_eq!(requests_seen(&server).await, 2);
}

#[tokio::test(start_paused = true)]
async fn a_503_with_a_long_hint_keeps_its_status() {
    let server = MockServer::start().await;
    Mock::given(path("/users"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let client = client(paused_options(&server.uri()));
    let err = client
        .send(Request::get("/users"))
        .await
        .expect_err("too long to wait");
    assert!(matches!(err, Error::Vendor { status: 503, .. }), "{err:?}");
    assert_eq!(requests_seen(&server).await, 1);
}

#[tokio::test(start_paused = true)]
async fn a_connection_reset_is_retried_for_get() {
    let (addr, seen) = scripted_server(|n, _| {
        if n == 0 {
            Behavior::Reset
        } else {
            Behavior::Respond(http_response(
                200,
                &[("content-type", "application/json")],
                "{}",
            ))
        }
    })
    .await;
    let client = client(paused_options(&base(addr)));
    let response = client.send(Request::get("/users")).await.expect("retried");
    assert_eq!(response.attempts(), 2);
    assert_eq!(seen.lock().expect("lock").len(), 2);
    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.transport_errors),
        (2, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_retried_even_for_a_post() {
    // Nothing listens on the port: the request certainly never left.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let client = client(paused_options(&format!("http://127.0.0.1:{port}")));
    let err = client
        .send(Request::post("/users").json(&json!({})))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(
            err,
            Error::Transport {
                timed_out: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("could not connect"), "{err}");
    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.transport_errors),
        (3, 2, 3)
    );
}

#[tokio::test(start_paused = true)]
async fn a_post_is_not_retried_after_a_reset_unless_marked_idempotent() {
    let script = |n: usize, _: &_| {
        if n == 0 {
            Behavior::Reset
        } else {
            Behavior::Respond(http_response(200, &[], ""))
        }
    };

    let (addr, seen) = scripted_server(script).await;
    let client = client(paused_options(&base(addr)));
    let err = client
        .send(Request::post("/users").json(&json!({"email": "a@example.com"})))
        .await
        .expect_err("outcome unknown: not repeated");
    assert!(
        matches!(
            err,
            Error::Transport {
                timed_out: false,
                ..
            }
        ),
        "{err:?}"
    );
    // The kernel's RST, as the client saw it.
    let text = err.to_string();
    assert!(text.contains("reset") || text.contains("closed"), "{text}");
    assert_eq!(seen.lock().expect("lock").len(), 1, "sent once");
    assert_eq!(client.stats().retries, 0);

    let (addr, seen) = scripted_server(script).await;
    let client = paused_options(&base(addr));
    let client = HttpClient::new(client).expect("valid");
    client
        .send(
            Request::post("/users/u1/permissions")
                .json(&json!({"roleId": "r"}))
                .idempotent(true),
        )
        .await
        .expect("marked safe: retried");
    assert_eq!(seen.lock().expect("lock").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_post_is_not_retried_after_a_500_502_or_504_but_is_after_429_and_503() {
    for (status, retried) in [
        (500, false),
        (502, false),
        (504, false),
        (429, true),
        (503, true),
    ] {
        let server = MockServer::start().await;
        sequence(
            &server,
            "/users",
            1,
            ResponseTemplate::new(status),
            ok_json(),
        )
        .await;
        let client = client(paused_options(&server.uri()));
        let result = client.send(Request::post("/users").json(&json!({}))).await;
        assert_eq!(result.is_ok(), retried, "status {status}: {result:?}");
        assert_eq!(
            requests_seen(&server).await,
            if retried { 2 } else { 1 },
            "status {status}"
        );

        // The same POST marked idempotent is retried on every retryable status.
        let server = MockServer::start().await;
        sequence(
            &server,
            "/users",
            1,
            ResponseTemplate::new(status),
            ok_json(),
        )
        .await;
        let client = HttpClient::new(paused_options(&server.uri())).expect("valid");
        client
            .send(Request::post("/users").json(&json!({})).idempotent(true))
            .await
            .unwrap_or_else(|e| panic!("status {status}: {e}"));
        assert_eq!(requests_seen(&server).await, 2, "status {status}");

        // A GET is idempotent by nature: retried on every default status.
        let server = MockServer::start().await;
        sequence(
            &server,
            "/users",
            1,
            ResponseTemplate::new(status),
            ok_json(),
        )
        .await;
        let client = HttpClient::new(paused_options(&server.uri())).expect("valid");
        client
            .send(Request::get("/users"))
            .await
            .unwrap_or_else(|e| panic!("GET, status {status}: {e}"));
        assert_eq!(requests_seen(&server).await, 2, "GET, status {status}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_a_typed_error_and_retried_only_when_idempotent() {
    let (addr, seen) = scripted_server(|_, _| Behavior::Hang).await;
    let client = client(
        options(&base(addr))
            .request_timeout(Duration::from_secs(5))
            .retry(retries(2)),
    );
    let start = Instant::now();
    let err = client
        .send(Request::get("/slow"))
        .await
        .expect_err("never answers");
    assert!(
        matches!(
            err,
            Error::Transport {
                timed_out: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(
        start.elapsed() >= Duration::from_secs(10),
        "two attempts of 5 s"
    );
    assert_eq!(seen.lock().expect("lock").len(), 2);
    assert_eq!(client.stats().transport_errors, 2);

    let (addr, seen) = scripted_server(|_, _| Behavior::Hang).await;
    let client = HttpClient::new(options(&base(addr)).request_timeout(Duration::from_secs(5)))
        .expect("valid");
    let err = client
        .send(Request::post("/slow").json(&json!({})))
        .await
        .expect_err("hangs");
    assert!(
        matches!(
            err,
            Error::Transport {
                timed_out: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        seen.lock().expect("lock").len(),
        1,
        "a POST that timed out is not repeated"
    );
}

#[tokio::test(start_paused = true)]
async fn a_truncated_body_is_a_transport_error_retried_for_get() {
    let (addr, seen) = scripted_server(|n, _| {
        if n == 0 {
            Behavior::Respond(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"data\":".to_vec())
        } else {
            Behavior::Respond(http_response(
                200,
                &[("content-type", "application/json")],
                "{\"data\":1}",
            ))
        }
    })
    .await;
    let client = client(paused_options(&base(addr)));
    let body: Value = client
        .send_json(Request::get("/users"))
        .await
        .expect("retried");
    assert_eq!(body, json!({"data": 1}));
    assert_eq!(seen.lock().expect("lock").len(), 2);
    assert_eq!(client.stats().transport_errors, 1);

    let (addr, _) = scripted_server(|_, _| {
        Behavior::Respond(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"data\":".to_vec())
    })
    .await;
    let client =
        HttpClient::new(paused_options(&base(addr)).retry(RetryPolicy::none())).expect("valid");
    let err = client
        .send(Request::get("/users"))
        .await
        .expect_err("truncated");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}

const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

#[tokio::test(start_paused = true)]
async fn an_html_502_page_becomes_a_typed_vendor_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(NGINX_502, "text/html"))
        .mount(&server)
        .await;
    let client = client(paused_options(&server.uri()));
    let err = client
        .send_json::<Value>(Request::get("/users"))
        .await
        .expect_err("502 page");
    match &err {
        Error::Vendor {
            system,
            status,
            code,
            message,
            ..
        } => {
            assert_eq!((system.as_str(), *status, code), ("test", 502, &None));
            assert!(message.contains("non-JSON"), "{message}");
            assert!(message.contains("text/html"), "{message}");
            assert!(message.contains("502 Bad Gateway"), "{message}");
        }
        other => panic!("expected Vendor, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(requests_seen(&server).await, 3, "a GET is retried on 502");
}

#[tokio::test(start_paused = true)]
async fn an_html_page_with_status_200_is_a_decode_error_with_context() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(NGINX_502, "text/html; charset=utf-8"),
        )
        .mount(&server)
        .await;
    let client = client(paused_options(&server.uri()));
    let err = client
        .send_json::<Value>(Request::get("/users"))
        .await
        .expect_err("not JSON");
    match &err {
        Error::Decode {
            status,
            content_type,
            excerpt,
            ..
        } => {
            assert_eq!(*status, 200);
            assert_eq!(content_type.as_deref(), Some("text/html; charset=utf-8"));
            assert!(excerpt.starts_with("<html>"), "{excerpt}");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert_eq!(
        requests_seen(&server).await,
        1,
        "a decode error is not retried"
    );
}

#[tokio::test(start_paused = true)]
async fn counters_after_a_run() {
    let server = MockServer::start().await;
    let page = r#"{"data":[1,2,3]}"#;
    sequence(
        &server,
        "/users",
        1,
        ResponseTemplate::new(429).insert_header("retry-after", "1"),
        ResponseTemplate::new(200).set_body_raw(page, "application/json"),
    )
    .await;
    Mock::given(path("/groups"))
        .respond_with(ResponseTemplate::new(201).set_body_raw("{}", "application/json"))
        .mount(&server)
        .await;
    let client = client(paused_options(&server.uri()));
    let clone = client.clone();

    client
        .send(Request::get("/users").class("read"))
        .await
        .expect("retried");
    let body = json!({"name": "admins"});
    let sent = serde_json::to_vec(&body).expect("json").len() as u64;
    clone
        .send(Request::post("/groups").json(&body).class("write"))
        .await
        .expect("created");

    let stats = client.stats();
    assert_eq!(
        stats,
        Stats {
            requests: 3,
            retries: 1,
            rate_limited: 1,
            transport_errors: 0,
            bytes_received: page.len() as u64 + 2,
            bytes_sent: sent,
            backoff: Duration::from_secs(1),
            throttled: Duration::ZERO,
        }
    );
    let by_class = client.class_stats();
    assert_eq!(by_class["read"].requests, 2);
    assert_eq!(by_class["read"].rate_limited, 1);
    assert_eq!(by_class["write"].requests, 1);
    assert_eq!(by_class["write"].bytes_sent, sent);
    // Counters serialize, so a benchmark can print them.
    let printed = serde_json::to_value(stats).expect("serializable");
    assert_eq!(printed["requests"], 3);
}
