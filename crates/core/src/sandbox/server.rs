//! The running emulator: listener, middleware and runtime controls.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::faults::{Fault, FaultPlan};
use super::log::{LOGGED_BODY_CAP, LoggedRequest, RequestLog};
use super::rate::{Admission, RateInfo, RateLimiter, RateWindow};
use super::style::VendorStyle;

/// Default [`SandboxOptions::max_request_body`]: 16 MiB.
const DEFAULT_MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;
/// How much of an oversized body is read and thrown away before answering 413, so the
/// client is not still writing when the connection closes (it would see a reset instead
/// of the 413). Past this the connection is simply closed.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;
/// Handler responses larger than this cannot be truncated; they are dropped whole.
const TRUNCATE_BUFFER_LIMIT: usize = 256 * 1024 * 1024;
/// How long [`Sandbox::shutdown`] waits for open connections before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How a [`Sandbox`] listens and misbehaves. `Default` is a well-behaved sandbox on
/// `127.0.0.1:0` (an ephemeral port): no latency, no faults, no rate windows, seed 0,
/// a 16 MiB request body cap.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where to listen. Port 0 picks a free port; see [`Sandbox::addr`].
    pub bind: SocketAddr,
    /// Fixed delay added to every request.
    pub latency: Duration,
    /// Up to this much extra delay, drawn uniformly per request.
    pub jitter: Duration,
    /// Faults to inject.
    pub faults: FaultPlan,
    /// The window of every rate class without its own entry in `class_rate_limits`;
    /// `None` tracks no budget (no 429s from windows, no budget headers).
    pub rate_limit: Option<RateWindow>,
    /// Windows for particular rate classes (e.g. Segment's 60/min on IAM mutations),
    /// overriding `rate_limit` for those classes.
    pub class_rate_limits: Vec<(&'static str, RateWindow)>,
    /// One more window that every request counts against whatever its class (e.g.
    /// Visier's 6000 calls per hour per API key next to 100 per minute). Its budget
    /// reaches the style as [`RateInfo::global`], or as the `RateInfo` itself (class
    /// [`GLOBAL_RATE_CLASS`](super::GLOBAL_RATE_CLASS)) when the request's class has no
    /// window of its own or when it is the global window that refuses.
    pub global_rate_limit: Option<RateWindow>,
    /// Seed of the RNG behind jitter, spikes and faults.
    pub seed: u64,
    /// Largest accepted request body in bytes; larger ones get a 413. Axum extractors
    /// in the vendor router (`Json`, `Bytes`, …) accept up to this size too.
    pub max_request_body: usize,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            faults: FaultPlan::none(),
            rate_limit: None,
            class_rate_limits: Vec::new(),
            global_rate_limit: None,
            seed: 0,
            max_request_body: DEFAULT_MAX_REQUEST_BODY,
        }
    }
}

impl SandboxOptions {
    /// Listens on `bind` instead of an ephemeral loopback port.
    pub fn with_bind(mut self, bind: SocketAddr) -> Self {
        self.bind = bind;
        self
    }

    /// Sets the fixed latency and the maximum uniform jitter on top of it.
    pub fn with_latency(mut self, latency: Duration, jitter: Duration) -> Self {
        self.latency = latency;
        self.jitter = jitter;
        self
    }

    /// Sets the fault plan.
    pub fn with_faults(mut self, faults: FaultPlan) -> Self {
        self.faults = faults;
        self
    }

    /// Sets the window of every rate class without its own.
    pub fn with_rate_limit(mut self, window: RateWindow) -> Self {
        self.rate_limit = Some(window);
        self
    }

    /// Sets the window of one rate class (replacing an earlier one for that class).
    pub fn with_class_rate_limit(mut self, class: &'static str, window: RateWindow) -> Self {
        self.class_rate_limits.retain(|(c, _)| *c != class);
        self.class_rate_limits.push((class, window));
        self
    }

    /// Sets the global window every request counts against.
    pub fn with_global_rate_limit(mut self, window: RateWindow) -> Self {
        self.global_rate_limit = Some(window);
        self
    }

    /// Sets the RNG seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the request body cap in bytes.
    pub fn with_max_request_body(mut self, bytes: usize) -> Self {
        self.max_request_body = bytes;
        self
    }
}

/// The mutable part of a sandbox, behind one lock so that the sequence number and the
/// random draws of a request are taken together (reproducible order).
struct SandboxState {
    next_seq: u64,
    rng: fastrand::Rng,
    faults: FaultPlan,
    latency: Duration,
    jitter: Duration,
    rate_limit: Option<RateWindow>,
    class_rate_limits: Vec<(&'static str, RateWindow)>,
    global_rate_limit: Option<RateWindow>,
    limiter: RateLimiter,
}

impl SandboxState {
    fn window_for(&self, class: &str) -> Option<RateWindow> {
        self.class_rate_limits
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, w)| *w)
            .or(self.rate_limit)
    }
}

struct Shared {
    style: Box<dyn VendorStyle>,
    log: RequestLog,
    max_request_body: usize,
    state: Mutex<SandboxState>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, SandboxState> {
        // Every update of State is a plain assignment: a panic cannot leave it torn.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A cloneable handle that changes a running sandbox's behaviour (faults, latency,
/// rate windows) and reads its log. Changes apply to requests arriving afterwards.
#[derive(Clone)]
pub struct SandboxControls {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SandboxControls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxControls")
            .field("style", &self.shared.style.name())
            .field("faults", &self.faults())
            .finish_non_exhaustive()
    }
}

impl SandboxControls {
    /// Replaces the fault plan.
    pub fn set_faults(&self, faults: FaultPlan) {
        self.shared.state().faults = faults;
    }

    /// The current fault plan.
    pub fn faults(&self) -> FaultPlan {
        self.shared.state().faults
    }

    /// Replaces the fixed latency and the maximum jitter.
    pub fn set_latency(&self, latency: Duration, jitter: Duration) {
        let mut state = self.shared.state();
        state.latency = latency;
        state.jitter = jitter;
    }

    /// Replaces the window of every rate class without its own (`None`: unlimited).
    pub fn set_rate_limit(&self, window: Option<RateWindow>) {
        self.shared.state().rate_limit = window;
    }

    /// Sets (`Some`) or removes (`None`) the window of one rate class.
    pub fn set_class_rate_limit(&self, class: &'static str, window: Option<RateWindow>) {
        let mut state = self.shared.state();
        state.class_rate_limits.retain(|(c, _)| *c != class);
        if let Some(window) = window {
            state.class_rate_limits.push((class, window));
        }
    }

    /// Sets (`Some`) or removes (`None`) the global window.
    pub fn set_global_rate_limit(&self, window: Option<RateWindow>) {
        self.shared.state().global_rate_limit = window;
    }

    /// Forgets every window's count: every class starts with a full budget.
    pub fn reset_rate_windows(&self) {
        self.shared.state().limiter.reset();
    }

    /// Re-seeds the RNG (the fault sequence starts over for this seed).
    pub fn reseed(&self, seed: u64) {
        self.shared.state().rng = fastrand::Rng::with_seed(seed);
    }

    /// The request log (shared: it keeps filling).
    pub fn log(&self) -> RequestLog {
        self.shared.log.clone()
    }
}

/// A running vendor emulator: the vendor's router served on a tokio task behind the
/// shared middleware (see the [module docs](super)).
///
/// Dropping it asks the server to stop (gracefully, in the background);
/// [`shutdown`](Self::shutdown) also waits for that.
pub struct Sandbox {
    addr: SocketAddr,
    controls: SandboxControls,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .field("style", &self.controls.shared.style.name())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Binds `options.bind` and serves `router` behind the shared middleware on a new
    /// tokio task. Must be called inside a tokio runtime.
    ///
    /// The router sees every request with its original URI and a body already read
    /// (up to `options.max_request_body`). Requests nothing routes get the router's
    /// fallback (axum's empty 404 unless the vendor sets one); they are logged too.
    ///
    /// # Errors
    ///
    /// The I/O error of binding the listener (address in use, permission denied).
    pub async fn start(
        router: Router,
        style: impl VendorStyle,
        options: SandboxOptions,
    ) -> io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(options.bind).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            style: Box::new(style),
            log: RequestLog::new(),
            max_request_body: options.max_request_body,
            state: Mutex::new(SandboxState {
                next_seq: 0,
                rng: fastrand::Rng::with_seed(options.seed),
                faults: options.faults,
                latency: options.latency,
                jitter: options.jitter,
                rate_limit: options.rate_limit,
                class_rate_limits: options.class_rate_limits,
                global_rate_limit: options.global_rate_limit,
                limiter: RateLimiter::default(),
            }),
        });
        let app = Router::new()
            .fallback_service(router)
            .layer(DefaultBodyLimit::max(options.max_request_body))
            .layer(from_fn_with_state(shared.clone(), intercept));
        let (stop, stopped) = oneshot::channel::<()>();
        let name = shared.style.name();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                // A dropped sender also means stop.
                let _ = stopped.await;
            });
            if let Err(error) = server.await {
                tracing::warn!(sandbox = name, %error, "sandbox server stopped with an error");
            }
        });
        tracing::debug!(sandbox = name, %addr, "sandbox listening");
        Ok(Sandbox {
            addr,
            controls: SandboxControls { shared },
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the sandbox listens on (with the real port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `base_url() + path`; `path` should start with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The request log (shared: it keeps filling).
    pub fn log(&self) -> RequestLog {
        self.controls.log()
    }

    /// A cloneable handle to change faults, latency and windows at runtime.
    pub fn controls(&self) -> SandboxControls {
        self.controls.clone()
    }

    /// Replaces the fault plan (see [`SandboxControls::set_faults`]).
    pub fn set_faults(&self, faults: FaultPlan) {
        self.controls.set_faults(faults);
    }

    /// Replaces latency and jitter (see [`SandboxControls::set_latency`]).
    pub fn set_latency(&self, latency: Duration, jitter: Duration) {
        self.controls.set_latency(latency, jitter);
    }

    /// Stops accepting connections, lets requests in flight finish (closing idle
    /// keep-alive connections), and waits for the server task; connections still open
    /// after 5 seconds are aborted.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The random numbers of one request, drawn together under the state lock.
struct Draws {
    seq: u64,
    delay: Duration,
    spiked: bool,
    fault: Option<Fault>,
}

fn draw(shared: &Shared, method: &str, path: &str) -> Draws {
    let mut state = shared.state();
    let seq = state.next_seq;
    state.next_seq += 1;
    // Always four draws, whatever the plan, so the sequence depends on seed and order only.
    let jitter_draw = state.rng.f64();
    let spike_draw = state.rng.f64();
    let fault_draw = state.rng.f64();
    let status_draw = state.rng.u8(..);
    let faults = state.faults;
    let applies = faults.applies_to(method, path);
    let spiked = applies && spike_draw < faults.spike;
    let mut delay = state.latency + state.jitter.mul_f64(jitter_draw);
    if spiked {
        delay += faults.spike_latency;
    }
    Draws {
        seq,
        delay,
        spiked,
        fault: if applies {
            faults.pick(fault_draw, status_draw)
        } else {
            None
        },
    }
}

/// Reads the body up to `cap` bytes; `Err(())` when it is larger (the rest is drained
/// up to [`DRAIN_LIMIT`] so the client can read the 413) or the client broke off.
async fn read_capped(body: Body, cap: usize) -> Result<Bytes, ()> {
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    let mut seen: usize = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ())?;
        seen = seen.saturating_add(chunk.len());
        if seen > cap {
            while seen <= DRAIN_LIMIT {
                match stream.next().await {
                    Some(Ok(more)) => seen = seen.saturating_add(more.len()),
                    _ => break,
                }
            }
            return Err(());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// A response whose body fails at once: hyper then closes the connection without
/// flushing the status line, so the client sees a transport error.
fn connection_drop() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "sandbox fault: connection dropped",
        ))
    });
    Response::new(Body::from_stream(failing))
}

/// Sends `parts` with the full `Content-Length` of `full`, then half of it, then fails
/// the body so hyper closes the connection. The pause between the two lets hyper flush
/// the head and the half to the socket first.
fn cut_response(mut parts: axum::http::response::Parts, full: Bytes) -> Response {
    let half = full.slice(..full.len() / 2);
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    let head = futures::stream::iter([Ok::<Bytes, io::Error>(half)]);
    let fail = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "sandbox fault: body truncated",
        ))
    });
    Response::from_parts(parts, Body::from_stream(head.chain(fail)))
}

/// Cuts the handler's response for a `truncated` fault; returns it with the status
/// that reaches the client (0 when the response is dropped whole).
async fn truncate(response: Response, method: &Method) -> (Response, u16) {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let bodyless = method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || status.is_informational();
    if bodyless {
        return (connection_drop(), 0);
    }
    match to_bytes(body, TRUNCATE_BUFFER_LIMIT).await {
        Ok(full) if !full.is_empty() => (cut_response(parts, full), status.as_u16()),
        _ => (connection_drop(), 0),
    }
}

fn injected_rate_info(shared: &Shared, class: &'static str, retry_after: Duration) -> RateInfo {
    let mut state = shared.state();
    let window = state.window_for(class);
    let global = state.global_rate_limit;
    let now = tokio::time::Instant::now();
    match state.limiter.peek(class, window, global, now) {
        Some(info) => RateInfo {
            remaining: 0,
            reset_after: retry_after,
            ..info
        },
        None => RateInfo {
            class,
            limit: 0,
            consumed: 0,
            remaining: 0,
            reset_after: retry_after,
            window: retry_after,
            global: None,
        },
    }
}

/// The shared middleware around the vendor router (see the module docs for the order).
///
/// The work runs on its own task so that a client giving up (a timeout during a latency
/// spike, a dropped connection) does not cancel it: as on a real server, the handler
/// still runs and the request is still logged.
async fn intercept(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let name = shared.style.name();
    match tokio::spawn(process(shared, request, next)).await {
        Ok(response) => response,
        Err(error) => {
            // The vendor handler panicked: answer like a crashed backend would.
            tracing::error!(sandbox = name, %error, "sandbox handler failed");
            let mut response = Response::new(Body::from("sandbox handler failed"));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    }
}

async fn process(shared: Arc<Shared>, request: Request, next: Next) -> Response {
    let draws = draw(&shared, request.method().as_str(), request.uri().path());
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let raw_target = parts
        .uri
        .path_and_query()
        .map(|target| target.as_str().to_owned())
        .unwrap_or_else(|| path.clone());
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut entry = LoggedRequest {
        seq: draws.seq,
        method: method.as_str().to_owned(),
        path,
        raw_target,
        headers,
        body: Bytes::new(),
        status: 0,
        fault: None,
        over_limit: false,
        spiked: draws.spiked,
        handled: false,
    };
    // A declared length past what we would drain is refused without reading; anything
    // else is read (and an oversized rest drained) so the client gets to read the 413.
    let declared_hopeless = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .is_some_and(|len| len > DRAIN_LIMIT.max(shared.max_request_body) as u64);
    let body = if declared_hopeless {
        Err(())
    } else {
        read_capped(body, shared.max_request_body).await
    };
    let body = match body {
        Ok(body) => body,
        Err(()) => {
            let response = shared.style.payload_too_large(shared.max_request_body);
            entry.status = response.status().as_u16();
            return finish(&shared, entry, response);
        }
    };
    entry.body = body.slice(..body.len().min(LOGGED_BODY_CAP));

    if !draws.delay.is_zero() {
        tokio::time::sleep(draws.delay).await;
    }

    let class = shared.style.rate_class(&method, &entry.path);
    let admission = {
        let mut state = shared.state();
        let window = state.window_for(class);
        let global = state.global_rate_limit;
        state
            .limiter
            .admit(class, window, global, tokio::time::Instant::now())
    };
    let budget = match admission {
        Admission::Refused(info) => {
            let response = shared.style.rate_limited(&info);
            entry.over_limit = true;
            entry.status = response.status().as_u16();
            return finish(&shared, entry, response);
        }
        Admission::Allowed(info) => Some(info),
        Admission::Unlimited => None,
    };

    entry.fault = draws.fault;
    let (mut response, status) = match draws.fault {
        Some(Fault::ServerError { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let response = shared.style.server_error(status);
            let code = response.status().as_u16();
            return finish(&shared, entry_with(entry, code), response);
        }
        Some(Fault::RateLimited) => {
            let retry_after = shared.state().faults.retry_after;
            let info = injected_rate_info(&shared, class, retry_after);
            let response = shared.style.injected_rate_limited(&info);
            let code = response.status().as_u16();
            return finish(&shared, entry_with(entry, code), response);
        }
        Some(Fault::Reset) => return finish(&shared, entry_with(entry, 0), connection_drop()),
        Some(Fault::Truncated) => {
            entry.handled = true;
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            truncate(response, &method).await
        }
        None => {
            entry.handled = true;
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            let status = response.status().as_u16();
            (response, status)
        }
    };
    if let Some(info) = budget
        && status != 0
    {
        shared.style.budget_headers(&info, response.headers_mut());
    }
    entry.status = status;
    finish(&shared, entry, response)
}

fn entry_with(mut entry: LoggedRequest, status: u16) -> LoggedRequest {
    entry.status = status;
    entry
}

fn finish(shared: &Shared, entry: LoggedRequest, response: Response) -> Response {
    tracing::debug!(
        sandbox = shared.style.name(),
        seq = entry.seq,
        method = %entry.method,
        path = %entry.path,
        status = entry.status,
        fault = ?entry.fault,
        over_limit = entry.over_limit,
        "sandbox request"
    );
    shared.log.push(entry);
    response
}
