//! Secrets never leak from the shared HTTP client: not in TRACE logs, not in the
//! `Debug` of the client, options, requests or responses, not in any error — even
//! when the server echoes the credentials back in its body or headers.
#![cfg(feature = "http")]

mod http_support;

use std::io;
use std::sync::{Arc, Mutex};

use grantbridge_core::Error;
use grantbridge_core::http::{HttpClient, Request, Secret};
use http_support::{Behavior, base, paused_options, scripted_server};
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

const API_KEY: &str = "vk-3f9a1c7e5b2d4086";
const BEARER: &str = "sgp_Zx81KqLmN0pQrStUvWx";
const PASSWORD: &str = "correct \"horse\" battery staple!";
const COOKIE: &str = "JSESSIONID-8c1f2e77aa90";
const SESSION: &str = "sess-41d8cd98f00b204e9800";
/// Passed as a plain header by mistake: the name says it is a credential.
const PLAIN_TOKEN: &str = "pt-77e1d0c4b5a6f3e2";

/// The tests that send requests run one at a time: a request sent by one test while
/// another has its log capture installed made the capture miss spans now and then.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every secret and the spellings a server might echo it in.
fn forbidden() -> Vec<String> {
    let mut out = Vec::new();
    for s in [API_KEY, BEARER, PASSWORD, COOKIE, SESSION, PLAIN_TOKEN] {
        out.push(s.to_owned());
        // As sent in a form body, and as a JSON string escapes it.
        out.push(url::form_urlencoded::byte_serialize(s.as_bytes()).collect());
        let json = serde_json::to_string(s).expect("json");
        out.push(json[1..json.len() - 1].to_owned());
    }
    // Distinctive fragments, in case a value were cut rather than removed.
    out.push("3f9a1c7e5b2d".into());
    out.push("Zx81KqLmN0pQ".into());
    out.push("battery staple".into());
    out.push("battery+staple".into());
    out.push("8c1f2e77aa90".into());
    out.push("41d8cd98f00b".into());
    out.push("77e1d0c4b5a6".into());
    out
}

fn assert_clean(what: &str, text: &str) {
    for secret in forbidden() {
        assert!(!text.contains(&secret), "{what} leaks {secret:?}:\n{text}");
    }
}

/// A server that echoes every header value and the body back, in the status,
/// content type and shape the path asks for (`/echo/{status}/{json|html|text}`).
struct Echo;

impl Respond for Echo {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let segments: Vec<&str> = request.url.path().split('/').collect();
        let status: u16 = segments.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
        let kind = segments.get(3).copied().unwrap_or("json");
        let headers: Vec<String> = request
            .headers
            .iter()
            // Bare values, without their names: no key-based redaction can help.
            .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let echoed = format!("you sent {} with {body}", headers.join(" "));
        let cookie = request
            .headers
            .get("cookie")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let template = ResponseTemplate::new(status).insert_header("x-request-id", cookie.as_str());
        match kind {
            "html" => template.set_body_raw(
                format!(
                    "<html><head><title>Error {echoed}</title></head><body>{echoed}</body></html>"
                ),
                "text/html",
            ),
            "text" => template.set_body_raw(format!("not json: {echoed}"), "application/json"),
            _ => template.set_body_json(json!({
                "message": echoed,
                "code": format!("{API_KEY}-{PASSWORD}"),
                "errors": [{"message": echoed, "type": BEARER}],
                "token": SESSION,
            })),
        }
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn check_error(what: &str, err: &Error) {
    assert_clean(&format!("{what} Display"), &err.to_string());
    assert_clean(&format!("{what} Debug"), &format!("{err:?}"));
    assert_clean(&format!("{what} {{:#?}}"), &format!("{err:#?}"));
    assert_clean(
        &format!("{what} JSON"),
        &serde_json::to_string(err).expect("serializable"),
    );
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        assert_clean(&format!("{what} source"), &format!("{s} {s:?}"));
        source = s.source();
    }
}

#[tokio::test(start_paused = true)]
async fn secrets_never_reach_logs_debug_output_or_errors() {
    let _serial = SERIAL.lock().await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .finish();
    // Thread-local: this current-thread test runs the client, hyper and the raw
    // server on this thread; wiremock's own thread is not captured (it is the
    // server, which sees the secrets by design).
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(any()).respond_with(Echo).mount(&server).await;

    let options = paused_options(&server.uri())
        .header("x-tenant", "t-1")
        .header("x-auth-token", PLAIN_TOKEN)
        .secret_header("x-api-key", "", Secret::new(API_KEY))
        .secret_header("authorization", "Bearer ", Secret::new(BEARER))
        .secret_header("cookie", "session=", Secret::new(COOKIE))
        .secret(Secret::new(PASSWORD));
    assert_clean("options Debug", &format!("{options:?} {options:#?}"));
    let client = HttpClient::new(options).expect("valid");
    assert_clean("client Debug", &format!("{client:?} {client:#?}"));

    let mut errors: Vec<(String, Error)> = Vec::new();

    // A success, whose body echoes everything.
    let response = client
        .send(Request::get("/echo/200/json"))
        .await
        .expect("ok");
    assert_clean("response Debug", &format!("{response:?}"));
    let body = String::from_utf8_lossy(response.body()).into_owned();
    assert!(
        body.contains(BEARER),
        "the server did receive the secrets: {body}"
    );

    // A login whose password travels in a form body, answered with a 401 echoing it.
    let login = Request::post("/echo/401/json")
        .form([("user", "ada"), ("password", PASSWORD)])
        .query("api_key", API_KEY);
    assert_clean("request Debug", &format!("{login:?}"));
    errors.push(("401".into(), client.send(login).await.expect_err("401")));

    // A session token learnt at run time, sent per request and echoed.
    let session = Secret::new(SESSION);
    client.register_secret(&session);
    let request = Request::post("/echo/422/json")
        .secret_header("x-session", "", &session)
        .json(&json!({"password": PASSWORD, "session": SESSION}));
    errors.push(("422".into(), client.send(request).await.expect_err("422")));

    // Retried server errors: JSON, then an HTML page with the secrets in its title.
    errors.push((
        "500".into(),
        client
            .send(Request::get("/echo/500/json"))
            .await
            .expect_err("500"),
    ));
    errors.push((
        "502 html".into(),
        client
            .send(Request::get("/echo/502/html"))
            .await
            .expect_err("502"),
    ));
    errors.push((
        "429".into(),
        client
            .send(Request::get("/echo/429/json"))
            .await
            .expect_err("429"),
    ));
    // A 200 that is not JSON: the excerpt starts with the echo.
    errors.push((
        "decode".into(),
        client
            .send_json::<Value>(Request::get("/echo/200/text"))
            .await
            .expect_err("not json"),
    ));
    // The secret as a path parameter and query value of a failing request.
    errors.push((
        "param".into(),
        client
            .send(
                Request::get("/echo/404/json")
                    .param(API_KEY)
                    .query("token", BEARER),
            )
            .await
            .expect_err("404"),
    ));
    // A header value that cannot be sent: the error must not repeat it.
    errors.push((
        "invalid header".into(),
        client
            .send(Request::get("/echo/200/json").secret_header(
                "authorization",
                "Bearer ",
                &Secret::new(format!("{BEARER}\r\n")),
            ))
            .await
            .expect_err("invalid"),
    ));

    // A network failure on a client carrying the same secrets.
    let (addr, _) = scripted_server(|_, _| Behavior::Reset).await;
    let broken = HttpClient::new(
        paused_options(&base(addr))
            .secret_header("authorization", "Bearer ", Secret::new(BEARER))
            .secret_header("cookie", "session=", Secret::new(COOKIE)),
    )
    .expect("valid");
    errors.push((
        "reset".into(),
        broken
            .send(Request::get("/x").query("api_key", API_KEY))
            .await
            .expect_err("reset"),
    ));

    let kinds: Vec<String> = errors
        .iter()
        .map(|(w, e)| format!("{w}: {:?}", e.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            "401: Authentication",
            "422: Vendor",
            "500: Vendor",
            "502 html: Vendor",
            "429: RateLimited",
            "decode: Decode",
            "param: Vendor",
            "invalid header: InvalidInput",
            "reset: Transport",
        ]
    );
    for (what, err) in &errors {
        check_error(what, err);
    }
    // The errors still say something useful once scrubbed.
    assert!(
        errors[1].1.to_string().contains("you sent"),
        "{}",
        errors[1].1
    );
    assert!(
        errors[1].1.to_string().contains("[redacted]"),
        "{}",
        errors[1].1
    );

    assert_clean("client Debug after the run", &format!("{client:?}"));
    let logs = captured.text();
    // The capture works and saw the requests, their retries and failures.
    assert!(logs.contains("http.request"), "{logs}");
    assert!(
        logs.contains("/echo/{}/json") || logs.contains("/echo/404/json"),
        "{logs}"
    );
    assert!(logs.contains("retrying"), "{logs}");
    // Spans carry method, path template (parameters as `{}`), attempt and status.
    for field in [
        "method=GET",
        "path=/echo/404/json/{}",
        "class=default",
        "attempt=3",
        "status=502",
        "elapsed_ms=",
    ] {
        assert!(logs.contains(field), "{field} missing from:\n{logs}");
    }
    assert!(logs.contains("TRACE") || logs.contains("DEBUG"), "{logs}");
    assert_clean("TRACE logs", &logs);
}

#[test]
fn a_secret_prints_as_redacted_everywhere() {
    let s = Secret::new(BEARER);
    assert_eq!(format!("{s}"), "[redacted]");
    assert_eq!(format!("{s:?}"), "[redacted]");
    assert_eq!(format!("{s:#?}"), "[redacted]");
    assert_clean("wrapped", &format!("{:?}", Some(vec![s.clone()])));
    assert_eq!(s.expose(), BEARER);
}

/// Reads `{"c": code, "m": message, "r": request id}` raw, as a vendor's hook does.
#[derive(Debug)]
struct RawFieldHooks;

impl grantbridge_core::http::VendorHooks for RawFieldHooks {
    fn parse_error(
        &self,
        response: &grantbridge_core::http::Response,
    ) -> Option<grantbridge_core::http::VendorError> {
        let v: Value = serde_json::from_slice(response.body()).ok()?;
        Some(grantbridge_core::http::VendorError {
            code: v.get("c").and_then(Value::as_str).map(str::to_owned),
            message: v.get("m")?.as_str()?.to_owned(),
            request_id: v.get("r").and_then(Value::as_str).map(str::to_owned),
        })
    }
}

/// The fields a hook returns raw are scrubbed and truncated by the client, and the
/// status is mapped by the client, the same for every vendor (issue 14).
#[tokio::test]
async fn a_hooks_raw_fields_are_scrubbed_and_its_status_mapped_in_one_place() {
    let _serial = SERIAL.lock().await;
    use grantbridge_core::http::{MAX_MESSAGE_BYTES, RetryPolicy};
    use wiremock::matchers::path;

    let server = MockServer::start().await;
    let long = "x".repeat(2 * MAX_MESSAGE_BYTES);
    for status in [401u16, 403, 404, 429] {
        Mock::given(path(format!("/e/{status}")))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "c": format!("C-{API_KEY}"),
                "m": format!("bad key {API_KEY}"),
                "r": format!("rid-{API_KEY}"),
            })))
            .mount(&server)
            .await;
    }
    Mock::given(path("/e/long"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"m": long})))
        .mount(&server)
        .await;
    let options = |renewable: bool| {
        paused_options(&server.uri())
            .retry(RetryPolicy::none())
            .secret_header("apikey", "", Secret::new(API_KEY))
            .renewable_unauthorized(renewable)
    };
    let client = HttpClient::with_hooks(options(false), RawFieldHooks).expect("valid");
    let renewing = HttpClient::with_hooks(options(true), RawFieldHooks).expect("valid");
    let send = |c: &HttpClient, p: &'static str| {
        let c = c.clone();
        async move { c.send(Request::get(p)).await.expect_err("an error status") }
    };

    let err = send(&client, "/e/404").await;
    check_error("404 from a hook", &err);
    match &err {
        Error::Vendor {
            status: 404,
            code: Some(code),
            message,
            request_id: Some(id),
            ..
        } => {
            assert_eq!(code, "C-[redacted]");
            assert_eq!(message, "bad key [redacted]");
            assert_eq!(id, "rid-[redacted]");
        }
        other => panic!("{other:?}"),
    }
    for (c, p, want) in [
        (
            &client,
            "/e/401",
            "HTTP 401 C-[redacted]: bad key [redacted]",
        ),
        (
            &client,
            "/e/403",
            "HTTP 403 C-[redacted]: bad key [redacted]",
        ),
        (
            &renewing,
            "/e/403",
            "HTTP 403 C-[redacted]: bad key [redacted]",
        ),
    ] {
        match send(c, p).await {
            Error::Authentication { message } => assert_eq!(message, want),
            other => panic!("{p}: {other:?}"),
        }
    }
    let err = send(&renewing, "/e/401").await;
    check_error("renewable 401", &err);
    assert!(
        matches!(&err, Error::Vendor { status: 401, request_id: Some(id), .. } if id == "rid-[redacted]"),
        "{err:?}"
    );
    assert!(matches!(
        send(&client, "/e/429").await,
        Error::RateLimited { .. }
    ));
    match send(&client, "/e/long").await {
        Error::Vendor { message, .. } => {
            assert_eq!(message, format!("{}…", &long[..MAX_MESSAGE_BYTES]));
        }
        other => panic!("{other:?}"),
    }
}
