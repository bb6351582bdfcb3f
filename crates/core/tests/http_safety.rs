//! Safe request building and bounded responses in the shared HTTP client: base-URL
//! rules, hostile path parameters, header injection, default headers, proxies from
//! the environment, size caps and decode errors.
#![cfg(feature = "http")]

mod http_support;

use std::time::Duration;

use grantbridge_core::http::{
    ClientOptions, HttpClient, Request, RetryPolicy, Secret, encode_segment,
};
use grantbridge_core::{Error, ErrorKind};
use http_support::{Behavior, base, http_response, options, scripted_server};
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(options: ClientOptions) -> HttpClient {
    HttpClient::new(options).expect("valid options")
}

fn invalid(err: &Error) -> bool {
    err.kind() == ErrorKind::InvalidInput
}

// ---------------------------------------------------------------- base URLs

#[test]
fn a_plain_http_base_url_is_refused_unless_loopback_or_opted_in() {
    for url in [
        "http://api.example.com",
        "http://api.example.com:80/v1",
        "http://10.0.0.1:8080",
        "http://192.168.1.1",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
    ] {
        let err = HttpClient::new(ClientOptions::new("t", url)).expect_err(url);
        assert!(invalid(&err), "{url}: {err:?}");
        assert!(err.to_string().contains("allow_insecure_http"), "{err}");
    }
    for url in [
        "ftp://127.0.0.1",
        "file:///etc/passwd",
        "not a url",
        "https://",
    ] {
        let err = HttpClient::new(ClientOptions::new("t", url)).expect_err(url);
        assert!(invalid(&err), "{url}: {err:?}");
    }
    for url in [
        "https://api.segmentapis.com",
        "http://127.0.0.1:9",
        "http://127.1.2.3",
        "http://localhost:8080/api",
        "http://LOCALHOST",
        "http://[::1]:8080",
    ] {
        HttpClient::new(ClientOptions::new("t", url)).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    let opted = HttpClient::new(
        ClientOptions::new("t", "http://api.example.com").allow_insecure_http(true),
    )
    .expect("explicit opt-in");
    assert_eq!(opted.base_url().as_str(), "http://api.example.com/");
}

#[tokio::test]
async fn a_loopback_http_base_url_is_used_and_its_path_kept() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/users"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("[]", "application/json"))
        .mount(&server)
        .await;
    let client = client(options(&format!("{}/api/v1/", server.uri())));
    let users: Value = client
        .send_json(Request::get("/users"))
        .await
        .expect("loopback http is fine");
    assert_eq!(users, Value::Array(vec![]));
}

// ---------------------------------------------------------------- path segments

/// Values an id may hold when it comes from another system, a file or an attacker.
fn hostile_segments() -> Vec<String> {
    let mut v: Vec<String> = [
        "/",
        "a/b",
        "../admin",
        "..%2F..%2Fadmin",
        "%2F",
        "%2e%2e",
        "%",
        "%zz",
        "?",
        "a?b=c",
        "#",
        "a#frag",
        "...",
        ".a",
        "a\r\nX-Injected: 1",
        "\n",
        "\r",
        "a\0b",
        "\t",
        " ",
        "a b",
        "+",
        "a+b",
        "&x=1",
        ";jsessionid=1",
        "\\..\\",
        "a\\b",
        "ü",
        "日本語",
        "emoji😀",
        "\u{202e}gpj.exe",
        "\u{ff0f}",
        "\u{2215}",
        "\u{ff0e}\u{ff0e}",
        "\u{0430}dmin", // Cyrillic a
        "\u{200b}",
        "\u{feff}",
        "~user",
        "@",
        "user@example.com",
        "a:b",
        "[::1]",
        "{}",
        "\"'<>`",
        "\u{7f}",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    v.push("a".repeat(10_000));
    v.push("é/".repeat(5_000)); // 10,000 chars, half of them slashes
    v
}

/// Decodes `%XX` escapes, refusing anything that is not an RFC 3986 unreserved
/// character or an escape: an independent check of the encoder.
fn decode_strict(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii escape");
            out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 3;
        } else {
            assert!(
                b.is_ascii_alphanumeric() || b"-._~".contains(&b),
                "unencoded {:?} in {segment:?}",
                b as char
            );
            out.push(b);
            i += 1;
        }
    }
    out
}

fn assert_one_segment(raw_path: &str, value: &str) {
    let parts: Vec<&str> = raw_path.split('/').collect();
    assert_eq!(parts.len(), 5, "{value:?} became {raw_path:?}");
    assert_eq!(
        &parts[..3],
        ["", "v1", "users"],
        "{value:?} became {raw_path:?}"
    );
    assert_eq!(parts[4], "roles", "{value:?} became {raw_path:?}");
    assert_eq!(
        decode_strict(parts[3]),
        value.as_bytes(),
        "{value:?} did not round-trip through {raw_path:?}"
    );
}

#[tokio::test]
async fn hostile_path_segments_reach_the_server_as_exactly_one_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = client(options(&server.uri()));
    let values = hostile_segments();
    assert!(values.len() >= 20);
    for value in &values {
        client
            .send(Request::get("/v1/users").param(value).path("roles"))
            .await
            .unwrap_or_else(|e| panic!("{value:?}: {e}"));
    }
    let received = server.received_requests().await.expect("recording");
    assert_eq!(received.len(), values.len());
    for (request, value) in received.iter().zip(&values) {
        assert_eq!(request.url.query(), None, "{value:?} made a query");
        assert_eq!(request.url.fragment(), None, "{value:?} made a fragment");
        assert_one_segment(request.url.path(), value);
    }
}

#[tokio::test]
async fn hostile_path_segments_are_one_segment_on_the_wire() {
    // The raw request line, as the bytes left the client, without any server-side
    // URL parsing in between.
    let (addr, seen) = scripted_server(|_, _| Behavior::Respond(http_response(200, &[], ""))).await;
    let client = client(options(&base(addr)));
    let values = hostile_segments();
    for value in &values {
        client
            .send(Request::get("/v1/users").param(value).path("roles"))
            .await
            .unwrap_or_else(|e| panic!("{value:?}: {e}"));
    }
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), values.len());
    for (request, value) in seen.iter().zip(&values) {
        assert!(
            request.request_line().starts_with("GET /v1/users/"),
            "{value:?}"
        );
        assert!(request.request_line().ends_with(" HTTP/1.1"), "{value:?}");
        assert_eq!(
            request
                .head
                .lines()
                .filter(|l| l.starts_with("X-Injected"))
                .count(),
            0
        );
        assert_one_segment(request.target(), value);
    }
    // A few exact encodings, so the rule is visible here and not only implied.
    assert_eq!(seen[0].target(), "/v1/users/%2F/roles");
    assert_eq!(seen[2].target(), "/v1/users/..%2Fadmin/roles");
    assert_eq!(seen[4].target(), "/v1/users/%252F/roles");
    assert_eq!(seen[21].target(), "/v1/users/%2B/roles");
}

#[tokio::test]
async fn empty_and_dot_segments_are_refused_before_sending() {
    // `.` and `..` cannot be encoded as data: URL parsers (and servers) resolve them
    // and their `%2E` spellings as path steps. An empty segment changes the path
    // (`/users//roles`). All three are refused with InvalidInput.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = client(options(&server.uri()));
    for value in ["", ".", ".."] {
        let err = client
            .send(Request::get("/v1/users").param(value).path("roles"))
            .await
            .expect_err(value);
        assert!(invalid(&err), "{value:?}: {err:?}");
        assert!(encode_segment(value).is_err());
    }
    assert!(
        server
            .received_requests()
            .await
            .expect("recording")
            .is_empty()
    );
    assert_eq!(client.stats().requests, 0);
}

// ---------------------------------------------------------------- headers

#[tokio::test]
async fn header_values_with_cr_or_lf_are_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = client(options(&server.uri()));
    for value in [
        "a\r\nX-Injected: 1",
        "a\nX-Injected: 1",
        "a\rb",
        "a\0b",
        "\r\n\r\nGET / HTTP/1.1",
    ] {
        let err = client
            .send(Request::get("/users").header("x-tenant", value))
            .await
            .expect_err("refused");
        assert!(invalid(&err), "{value:?}: {err:?}");
        assert!(
            !err.to_string().contains("Injected"),
            "the value is not echoed: {err}"
        );
        let err = client
            .send(Request::get("/users").secret_header(
                "authorization",
                "Bearer ",
                &Secret::new(value),
            ))
            .await
            .expect_err("refused");
        assert!(invalid(&err), "{value:?}: {err:?}");
    }
    let err = client
        .send(Request::get("/users").header("bad name", "v"))
        .await
        .expect_err("refused");
    assert!(invalid(&err), "{err:?}");
    assert!(
        server
            .received_requests()
            .await
            .expect("recording")
            .is_empty()
    );

    let err = HttpClient::new(options(&server.uri()).header("x-a", "1\r\nX-Injected: 2"))
        .expect_err("refused");
    assert!(invalid(&err), "{err:?}");
    let err = HttpClient::new(options(&server.uri()).user_agent("ua\r\nX-Injected: 2"))
        .expect_err("refused");
    assert!(invalid(&err), "{err:?}");
}

#[tokio::test]
async fn extra_default_headers_and_user_agent_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("user-agent", "grantbridge-test/1"))
        .and(header("accept", "application/vnd.segment.v1+json"))
        .and(header("x-tenant", "t-1"))
        .and(header("authorization", "Bearer sk-abc"))
        .and(header("x-request", "r"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(418))
        .with_priority(10)
        .mount(&server)
        .await;
    let client = client(
        options(&server.uri())
            .user_agent("grantbridge-test/1")
            .header("accept", "application/vnd.segment.v1+json")
            .header("x-tenant", "t-1")
            .secret_header("authorization", "Bearer ", Secret::new("sk-abc")),
    );
    client
        .send(Request::get("/users").header("x-request", "r"))
        .await
        .expect("all headers matched");
}

// ---------------------------------------------------------------- proxies

const PROXY_CHILD: &str = "GRANTBRIDGE_TEST_PROXY_CHILD";

/// Runs in a child process whose environment names a proxy (the test process must
/// not change its own environment: other tests read it concurrently).
#[tokio::test]
async fn proxy_from_the_environment_child() {
    let Ok(mode) = std::env::var(PROXY_CHILD) else {
        return; // only meaningful in the child started below
    };
    let options = ClientOptions::new("t", "http://api.example.test")
        .allow_insecure_http(true)
        .retry(RetryPolicy::none())
        .request_timeout(Duration::from_secs(10));
    match mode.as_str() {
        "env" => {
            let client = client(options);
            client
                .send(Request::get("/users").param("u1"))
                .await
                .expect("through the proxy");
        }
        "loopback" => {
            let target = std::env::var("TARGET").expect("target");
            let client = client(ClientOptions::new("t", target).retry(RetryPolicy::none()));
            client
                .send(Request::get("/direct"))
                .await
                .expect("direct, not via the proxy");
        }
        other => panic!("unknown mode {other}"),
    }
}

#[tokio::test]
async fn proxy_from_the_environment() {
    if std::env::var(PROXY_CHILD).is_ok() {
        return;
    }
    let (proxy, proxied) =
        scripted_server(|_, _| Behavior::Respond(http_response(200, &[], ""))).await;
    let (target, direct) =
        scripted_server(|_, _| Behavior::Respond(http_response(200, &[], ""))).await;
    let exe = std::env::current_exe().expect("test binary");
    // (Whether `proxy_from_env(false)` goes direct to a non-loopback host cannot be
    // shown without a non-loopback network; it is reqwest's `no_proxy()`.)
    for mode in ["env", "loopback"] {
        let mut child = std::process::Command::new(&exe);
        child
            .args([
                "--exact",
                "proxy_from_the_environment_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(PROXY_CHILD, mode)
            .env("HTTP_PROXY", base(proxy))
            .env("http_proxy", base(proxy))
            .env("TARGET", base(target))
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy");
        // The proxy runs on this runtime: wait for the child off it.
        let out = tokio::task::spawn_blocking(move || child.output())
            .await
            .expect("join")
            .expect("run the child");
        assert!(
            out.status.success(),
            "mode {mode}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "mode {mode}"
        );
    }
    let proxied = proxied.lock().expect("lock").clone();
    assert_eq!(
        proxied.len(),
        1,
        "only the `env` mode goes through the proxy"
    );
    assert_eq!(proxied[0].target(), "http://api.example.test/users/u1");
    let direct = direct.lock().expect("lock").clone();
    assert_eq!(direct.len(), 1, "a loopback base URL never uses the proxy");
    assert_eq!(direct[0].target(), "/direct");
}

// ---------------------------------------------------------------- responses

#[tokio::test]
async fn an_oversized_body_is_a_decode_error_and_not_retried() {
    let server = MockServer::start().await;
    let big = format!("{{\"data\":\"{}\"}}", "x".repeat(5_000));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(big.clone(), "application/json"))
        .mount(&server)
        .await;
    let client = client(options(&server.uri()).max_response_bytes(1_000));
    let err = client
        .send(Request::get("/users"))
        .await
        .expect_err("too big");
    match &err {
        Error::Decode {
            status,
            content_type,
            message,
            excerpt,
        } => {
            assert_eq!(*status, 200);
            assert_eq!(content_type.as_deref(), Some("application/json"));
            assert!(message.contains("1000"), "{message}");
            assert!(excerpt.len() <= 1_000, "{}", excerpt.len());
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert_eq!(
        server.received_requests().await.expect("recording").len(),
        1
    );
    // At the limit exactly it is fine.
    let client =
        HttpClient::new(options(&server.uri()).max_response_bytes(big.len())).expect("valid");
    client.send(Request::get("/users")).await.expect("fits");
}

#[tokio::test]
async fn an_oversized_error_page_is_cut_at_the_limit_and_mapped_by_its_status() {
    let server = MockServer::start().await;
    let page = format!(
        "<html><head><title>503 Service Unavailable</title></head><body>{}</body></html>",
        "z".repeat(10_000)
    );
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_raw(page, "text/html"))
        .mount(&server)
        .await;
    let client = client(options(&server.uri()).max_response_bytes(1_000));
    let err = client.send(Request::get("/users")).await.expect_err("503");
    match &err {
        Error::Vendor {
            status, message, ..
        } => {
            assert_eq!(*status, 503);
            assert!(message.contains("503 Service Unavailable"), "{message}");
        }
        other => panic!("expected Vendor, got {other:?}"),
    }
    assert_eq!(
        server.received_requests().await.expect("recording").len(),
        3,
        "retried like any 503"
    );
}

#[tokio::test]
async fn an_oversized_chunked_body_is_cut_at_the_limit() {
    // No Content-Length: the cap must hold while streaming.
    let chunk = "y".repeat(600);
    let mut response = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
    for _ in 0..10 {
        response.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    response.extend_from_slice(b"0\r\n\r\n");
    let (addr, seen) = scripted_server(move |_, _| Behavior::Respond(response.clone())).await;
    let client = client(options(&base(addr)).max_response_bytes(1_000));
    let err = client
        .send(Request::get("/export"))
        .await
        .expect_err("too big");
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
    assert_eq!(seen.lock().expect("lock").len(), 1);
    assert!(client.stats().bytes_received <= 6_000);
}

#[tokio::test]
async fn a_decode_error_keeps_status_content_type_and_an_excerpt() {
    let server = MockServer::start().await;
    let body = format!("{{\"data\": [1, 2, {}", "3, ".repeat(1_000));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let client = client(options(&server.uri()));
    let err = client
        .send_json::<Value>(Request::get("/users"))
        .await
        .expect_err("truncated JSON");
    match &err {
        Error::Decode {
            status,
            content_type,
            message,
            excerpt,
        } => {
            assert_eq!(*status, 200);
            assert_eq!(content_type.as_deref(), Some("application/json"));
            assert!(message.contains("EOF"), "{message}");
            assert!(excerpt.starts_with("{\"data\": [1, 2, 3,"), "{excerpt}");
            assert!(excerpt.len() <= grantbridge_core::http::EXCERPT_BYTES + '…'.len_utf8());
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    // A wrong shape keeps the same context.
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Users {
        users: Vec<String>,
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{\"data\":[]}", "application/json"))
        .mount(&server)
        .await;
    let client = HttpClient::new(options(&server.uri())).expect("valid");
    let err = client
        .send_json::<Users>(Request::get("/users"))
        .await
        .expect_err("wrong shape");
    assert!(
        matches!(&err, Error::Decode { status: 200, excerpt, .. } if excerpt == "{\"data\":[]}"),
        "{err:?}"
    );
}

#[tokio::test]
async fn invalid_utf8_in_an_ignored_field_is_a_decode_error() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Ok {
        ok: bool,
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            b"{\"ok\":true,\"note\":\"\xff\xfe\"}".to_vec(),
            "application/json",
        ))
        .mount(&server)
        .await;
    let client = client(options(&server.uri()));
    let err = client
        .send_json::<Ok>(Request::get("/users"))
        .await
        .expect_err("not UTF-8");
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
}

proptest::proptest! {
    /// Any string but the three refused ones encodes to one segment of unreserved
    /// characters and escapes that decodes back to it.
    #[test]
    fn every_string_encodes_to_one_round_tripping_segment(value in "\\PC*|[./%?#\\\\ +]{0,6}") {
        match encode_segment(&value) {
            Ok(segment) => {
                proptest::prop_assert!(!["", ".", ".."].contains(&value.as_str()));
                proptest::prop_assert!(!segment.contains('/'));
                proptest::prop_assert_eq!(decode_strict(&segment), value.as_bytes());
            }
            Err(err) => {
                proptest::prop_assert!(["", ".", ".."].contains(&value.as_str()));
                proptest::prop_assert!(invalid(&err));
            }
        }
    }
}

#[tokio::test]
async fn hostile_query_values_stay_one_value() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = client(options(&server.uri()));
    let values = ["a&b=c", "#frag", "x\r\ny", "ü 日本", "+ %2B", "", "=", "?"];
    for v in values {
        client
            .send(
                Request::get("/users")
                    .query("q", v)
                    .query("pagination[count]", 2),
            )
            .await
            .unwrap_or_else(|e| panic!("{v:?}: {e}"));
    }
    let received = server.received_requests().await.expect("recording");
    for (request, v) in received.iter().zip(values) {
        let pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("q".to_owned(), v.to_owned()),
                ("pagination[count]".to_owned(), "2".to_owned())
            ],
            "{v:?}"
        );
        assert_eq!(request.url.fragment(), None);
    }
    // A pre-encoded query may not smuggle a fragment, spaces or line breaks.
    for raw in ["a=1#x", "a=1 2", "a=1\r\nX: y"] {
        let err = client
            .send(Request::get("/users").raw_query(raw))
            .await
            .expect_err(raw);
        assert!(invalid(&err), "{raw:?}: {err:?}");
    }
}
