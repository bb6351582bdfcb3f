//! Helpers shared by the `http_*` tests: client options for loopback servers and a raw
//! TCP server for what wiremock cannot do (resets, truncated bodies, hung responses,
//! raw request lines, arrival instants on the test's own paused clock).
//!
//! wiremock runs its server on a thread with its own runtime, so under
//! `start_paused = true` the test's runtime sees every wait for it as idle time and
//! auto-advances its clock to the next timer — which would be the client's request
//! timeout. Paused tests against wiremock therefore use [`paused_options`] (no
//! timeouts) and assert on the client's recorded waits ([`Stats::backoff`]). The raw
//! server here runs on the test's runtime, so its clock is the test's clock.
//!
//! [`Stats::backoff`]: grantbridge_core::http::Stats::backoff

#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grantbridge_core::http::{ClientOptions, HttpClient, RateLimitPolicy, Request, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Options for a loopback server: tiny retry delays, short timeouts.
pub fn options(base: &str) -> ClientOptions {
    ClientOptions::new("test", base)
        .retry(retries(3))
        .connect_timeout(Duration::from_secs(2))
        .request_timeout(Duration::from_secs(5))
        .rate_limits(RateLimitPolicy::unlimited().max_concurrency(64))
}

/// [`options`] without timeouts, for paused-clock tests against wiremock (see the
/// module docs for why).
pub fn paused_options(base: &str) -> ClientOptions {
    options(base).connect_timeout(None).request_timeout(None)
}

/// `attempts` attempts with millisecond delays.
pub fn retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .delays(Duration::from_millis(1), Duration::from_millis(5))
}

/// What the raw server does with each connection.
#[derive(Clone)]
pub enum Behavior {
    /// Read the request head, then close with a zero linger, which makes the
    /// kernel answer with RST.
    Reset,
    /// Read the request (head and body) and write these bytes verbatim, then close.
    Respond(Vec<u8>),
    /// Read the request and never answer (the connection stays open).
    Hang,
}

/// One request as the raw server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// When the request head was read, on the test runtime's clock.
    pub at: Instant,
    /// The request line and headers, verbatim.
    pub head: String,
}

impl Seen {
    /// The request line (`GET /path HTTP/1.1`).
    pub fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or("")
    }

    /// The request target (the raw path and query, exactly as sent).
    pub fn target(&self) -> &str {
        self.request_line().split(' ').nth(1).unwrap_or("")
    }
}

/// A raw HTTP/1.1 server on 127.0.0.1; returns its address and the request heads
/// (request line and headers) it received, one per connection.
pub async fn raw_server(behavior: Behavior) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    let (addr, _) = scripted_server(move |_, s: &Seen| {
        seen.lock().expect("lock").push(s.head.clone());
        behavior.clone()
    })
    .await;
    (addr, heads)
}

/// A raw HTTP/1.1 server on 127.0.0.1 whose answer to the `n`th request (0-based,
/// one request per connection) is `script(n, request)`. Returns its address and
/// every request seen, in arrival order.
pub async fn scripted_server(
    script: impl Fn(usize, &Seen) -> Behavior + Send + Sync + 'static,
) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let script = Arc::new(script);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            let script = script.clone();
            tokio::spawn(serve(stream, seen, script));
        }
    });
    (addr, log)
}

/// What a scripted server answers to the `n`th request.
type Script = dyn Fn(usize, &Seen) -> Behavior + Send + Sync;

async fn serve(mut stream: TcpStream, seen: Arc<Mutex<Vec<Seen>>>, script: Arc<Script>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let request = Seen {
        at: Instant::now(),
        head: String::from_utf8_lossy(&data[..head_end]).into_owned(),
    };
    let behavior = {
        let mut log = seen.lock().expect("lock");
        let n = log.len();
        log.push(request.clone());
        drop(log);
        script(n, &request)
    };
    match behavior {
        Behavior::Reset => {
            // A zero linger makes close() send RST instead of FIN.
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        Behavior::Respond(bytes) => {
            // Read the whole body first: closing with unread input would send RST.
            let len = content_length(&request.head);
            while data.len() < head_end + len {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
            // Drain until the client closes, so our close never races its writes.
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }
        Behavior::Hang => {
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0)
}

/// A complete HTTP/1.1 response that closes the connection.
pub fn http_response(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    out.into_bytes()
}

/// The base URL of a raw server.
pub fn base(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// Mounts `first` for the first `times` requests to `p`, then `then` for the rest.
pub async fn sequence(
    server: &MockServer,
    p: &str,
    times: u64,
    first: ResponseTemplate,
    then: ResponseTemplate,
) {
    Mock::given(path(p))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(path(p))
        .respond_with(then)
        .with_priority(2)
        .mount(server)
        .await;
}

/// A 200 with a small JSON body.
pub fn ok_json() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": {"ok": true}}))
}

/// Requests the wiremock server received.
pub async fn requests_seen(server: &MockServer) -> usize {
    server.received_requests().await.expect("recording").len()
}

/// `tasks` tasks sending `each` requests of class `class` at once.
pub async fn run_concurrently(client: &HttpClient, tasks: usize, each: usize, class: &'static str) {
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
