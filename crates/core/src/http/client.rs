//! The client: one request in, retries, limits, spans and counters around it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

use super::hooks::{DefaultHooks, RateLimitHints, Unauthorized, VendorHooks, map_error};
use super::limiter::RateLimiter;
use super::metrics::{Counter, Metrics, Stats};
use super::options::{ClientOptions, RetryPolicy, is_loopback};
use super::request::{Body, Request, header_pair};
use super::response::Response;
use super::secret::{Scrubber, Secret};
use crate::{Error, Result, SourceError};

/// The longest URL the transport can send (the `http` crate's limit on a URI).
const MAX_URL_LEN: usize = 65_534;

/// The shared HTTP client of the adapters.
///
/// Cheap to clone: clones share the connection pool, rate limiter, concurrency cap,
/// known secrets and counters. `Debug` shows the system and base URL only.
///
/// ```no_run
/// use grantbridge_core::http::{ClientOptions, HttpClient, Request, Secret};
///
/// # async fn run() -> grantbridge_core::Result<()> {
/// let client = HttpClient::new(
///     ClientOptions::new("segment", "https://api.segmentapis.com")
///         .secret_header("authorization", "Bearer ", Secret::new("sk-…")),
/// )?;
/// let user: serde_json::Value = client
///     .send_json(Request::get("/users").param("a/b c"))
///     .await?;
/// println!("{user} after {} requests", client.stats().requests);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    system: Arc<str>,
    retry: RetryPolicy,
    max_response_bytes: usize,
    hooks: Arc<dyn VendorHooks>,
    unauthorized: Unauthorized,
    limiter: RateLimiter,
    metrics: Metrics,
    scrubber: Scrubber,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("system", &self.inner.system)
            .field("base_url", &self.inner.base.as_str())
            .field("hooks", &self.inner.hooks)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
enum Attempt {
    /// A response with its body read, whatever the status.
    Response(Response),
    /// No response. `sent` is false when the request certainly did not reach the
    /// server (connection refused), so retrying cannot repeat a side effect.
    Failed { error: Error, sent: bool },
    /// A failure no retry can fix (bad input, body too large).
    Fatal(Error),
}

impl HttpClient {
    /// A client with the default hooks ([`DefaultHooks`]).
    pub fn new(options: ClientOptions) -> Result<Self> {
        Self::with_hooks(options, DefaultHooks)
    }

    /// A client with the vendor's hooks.
    ///
    /// Fails with [`Error::InvalidInput`] for a refused base URL (see
    /// [`ClientOptions::parsed_base_url`]) or an invalid header or user agent.
    pub fn with_hooks(options: ClientOptions, hooks: impl VendorHooks) -> Result<Self> {
        let base = options.parsed_base_url()?;
        let mut headers = HeaderMap::new();
        for spec in &options.headers {
            let (name, value) = header_pair(spec)?;
            headers.append(name, value);
        }
        let user_agent = HeaderValue::from_str(&options.user_agent)
            .map_err(|_| Error::invalid("user agent", "contains control characters"))?;
        headers.insert(USER_AGENT, user_agent);

        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            // Redirects are not followed: an API answering 3xx is misconfigured, and
            // following one could carry credentials to another host or to plain http.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(t) = options.connect_timeout {
            builder = builder.connect_timeout(t);
        }
        if let Some(t) = options.request_timeout {
            builder = builder.timeout(t);
        }
        // A loopback sandbox must never be reached through a corporate proxy.
        if !options.proxy_from_env || is_loopback(&base) {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| Error::Transport {
            message: "cannot build the HTTP client".to_owned(),
            timed_out: false,
            source: Some(SourceError::new(e.without_url())),
        })?;

        let scrubber = Scrubber::default();
        for secret in &options.secrets {
            scrubber.add(secret);
        }
        // A credential passed as a plain header by mistake is still a credential.
        for spec in &options.headers {
            if let Some(secret) = spec.sensitive_value() {
                scrubber.add(&secret);
            }
        }
        Ok(HttpClient {
            inner: Arc::new(Inner {
                http,
                base,
                system: Arc::from(options.system.as_str()),
                retry: options.retry.clone(),
                max_response_bytes: options.max_response_bytes,
                hooks: Arc::new(hooks),
                unauthorized: if options.renewable_unauthorized {
                    Unauthorized::Renewable
                } else {
                    Unauthorized::Authentication
                },
                limiter: RateLimiter::new(options.rate_limits.clone()),
                metrics: Metrics::default(),
                scrubber,
            }),
        })
    }

    /// The system name given in the options.
    pub fn system(&self) -> &str {
        &self.inner.system
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Scrubs `secret` from every error excerpt and message from now on (e.g. a
    /// session token obtained at login and sent in request bodies).
    pub fn register_secret(&self, secret: &Secret) {
        self.inner.scrubber.add(secret);
    }

    /// Counters over all clones of this client since it was built.
    pub fn stats(&self) -> Stats {
        self.inner.metrics.total()
    }

    /// Counters per endpoint class.
    pub fn class_stats(&self) -> BTreeMap<String, Stats> {
        self.inner.metrics.by_class()
    }

    /// The full URL `request` would go to (path and query encoded); a URL longer
    /// than 65,534 bytes (the most an HTTP request target can hold here) is
    /// [`Error::InvalidInput`].
    pub fn url_for(&self, request: &Request) -> Result<Url> {
        let mut url = self.inner.base.clone();
        let base_path = url.path().trim_end_matches('/').to_owned();
        let path = request.encoded_path()?;
        let full = match (base_path.is_empty(), path.is_empty()) {
            (true, true) => "/".to_owned(),
            _ => format!("{base_path}{path}"),
        };
        url.set_path(&full);
        url.set_query(request.encoded_query()?.as_deref());
        // Beyond this the `http` crate cannot hold the target: reqwest fails in a way
        // that reads as a dropped connection (and would be retried). An id or query
        // value this long is bad input, refused before sending.
        if url.as_str().len() > MAX_URL_LEN {
            return Err(Error::invalid(
                "request URL",
                format!(
                    "is {} bytes long once encoded; at most {MAX_URL_LEN} can be sent \
                     (an id or query value far too long?)",
                    url.as_str().len()
                ),
            ));
        }
        Ok(url)
    }

    /// Sends `request`, retrying per the policy, and returns a success (2xx)
    /// response; any other final status becomes an error ([`map_error`](super::map_error),
    /// over the hooks' reading of the body).
    ///
    /// Retries happen on the policy's statuses (429, 500, 502, 503, 504 by default) and on
    /// network failures, after an exponential, fully jittered delay that is never
    /// shorter than the server's hint. Which failures are retried depends on whether
    /// the request could have taken effect:
    ///
    /// * connection refused / not established: the request never left, so any
    ///   method is retried;
    /// * 429 and 503: the server refused the request before doing its work (that is
    ///   what both mean; a `Retry-After` on them says "come back later", not "it
    ///   half-happened"), so any method is retried;
    /// * 500, 502, 504, resets after sending, timeouts: the outcome is unknown (the
    ///   server or a gateway may have done the work before failing), so only idempotent requests (see
    ///   [`Request::idempotent`]) are retried.
    ///
    /// A hint longer than [`RetryPolicy::max_retry_after`] ends the retries at once:
    /// a 429 with [`Error::RateLimited`] carrying the hint, any other status (a 503
    /// in maintenance) with the error for it, which keeps the status. Until
    /// that pause (or an exhausted server budget) is over, further requests of the
    /// same class fail with [`Error::RateLimited`] without being sent. Invalid input (path parameter, header, query) fails
    /// with [`Error::InvalidInput`] before anything is sent.
    pub async fn send(&self, request: Request) -> Result<Response> {
        let template = request.template();
        let span = tracing::info_span!(
            "http.request",
            system = %self.inner.system,
            method = %request.method(),
            path = %template,
            class = %request.endpoint_class(),
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        self.send_inner(request, Arc::from(template.as_str()))
            .instrument(span)
            .await
    }

    /// [`HttpClient::send`], then [`Response::json`].
    pub async fn send_json<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        self.send(request).await?.json()
    }

    async fn send_inner(&self, request: Request, template: Arc<str>) -> Result<Response> {
        let inner = &*self.inner;
        let url = self.url_for(&request)?;
        let headers = request.header_pairs()?;
        for secret in request.secrets() {
            inner.scrubber.add(&secret);
        }
        let class = request.class.as_str().to_owned();
        let idempotent = request.is_idempotent();
        let started = Instant::now();
        let span = tracing::Span::current();

        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            span.record("attempt", attempt);
            // A server that asked for a longer pause than the policy waits out gets
            // the same answer for every request of the class until then: fail at
            // once rather than sit in the limiter for an hour.
            if let Some(hold) = inner.limiter.server_hold(&class)
                && hold > inner.retry.max_retry_after
            {
                tracing::info!(
                    attempt,
                    retry_after_ms = hold.as_millis() as u64,
                    "class held by the server longer than allowed; not sending"
                );
                return Err(Error::RateLimited {
                    retry_after: Some(hold),
                });
            }
            let waited = Instant::now();
            let permit = inner.limiter.acquire(&class).await;
            inner.metrics.add_throttled(&class, waited.elapsed());

            let outcome = self
                .attempt(&request, &url, &headers, &template, attempt)
                .await;
            let send_number = permit.send_number();
            drop(permit);
            span.record("elapsed_ms", started.elapsed().as_millis() as u64);

            let (retry_ok, hint, error) = match outcome {
                Attempt::Fatal(error) => return Err(error),
                Attempt::Response(response) => {
                    let status = response.status().as_u16();
                    span.record("status", status);
                    let hints = inner.hooks.rate_limit_hints(&response);
                    inner
                        .limiter
                        .observe_sent(&class, send_number, &hints, status == 429);
                    if status == 429 {
                        inner.metrics.add(&class, Counter::RateLimited, 1);
                    }
                    if response.status().is_success() {
                        tracing::debug!(status, attempt, "response");
                        return Ok(response);
                    }
                    let retry_ok = inner.retry.retry_statuses.contains(&status)
                        && (idempotent || status == 429 || status == 503);
                    let parsed = inner.hooks.parse_error(&response);
                    let error = map_error(&response, &hints, parsed, inner.unauthorized);
                    tracing::debug!(status, attempt, "error response");
                    (retry_ok, hints, error)
                }
                Attempt::Failed { error, sent } => {
                    inner.metrics.add(&class, Counter::TransportErrors, 1);
                    tracing::debug!(attempt, sent, error = %error, "transport failure");
                    (!sent || idempotent, RateLimitHints::default(), error)
                }
            };

            if !retry_ok || attempt >= inner.retry.max_attempts {
                return Err(error);
            }
            if let Some(wait) = hint.retry_after
                && wait > inner.retry.max_retry_after
            {
                tracing::info!(
                    attempt,
                    retry_after_ms = wait.as_millis() as u64,
                    "server asks to wait longer than allowed; giving up"
                );
                // A 429 says "rate limited, come back then"; any other status (a 503
                // in maintenance) keeps its own error, with its status.
                return Err(match error {
                    Error::RateLimited { .. } => Error::RateLimited {
                        retry_after: Some(wait),
                    },
                    other => other,
                });
            }
            let backoff = inner.retry.backoff(attempt, fastrand::f64());
            let delay = hint.retry_after.map_or(backoff, |h| h.max(backoff));
            tracing::info!(
                attempt,
                delay_ms = delay.as_millis() as u64,
                reason = %error,
                "retrying"
            );
            inner.metrics.add(&class, Counter::Retries, 1);
            inner.metrics.add_backoff(&class, delay);
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt: send, then read the body up to the cap.
    async fn attempt(
        &self,
        request: &Request,
        url: &Url,
        headers: &[(reqwest::header::HeaderName, HeaderValue)],
        template: &Arc<str>,
        attempt: u32,
    ) -> Attempt {
        let inner = &*self.inner;
        let class = request.class.as_str();
        let mut builder = inner.http.request(request.method.clone(), url.clone());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        builder = match &request.body {
            Body::None => builder,
            Body::Json(bytes) => builder
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Body::Form(text) => builder
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(text.clone()),
            Body::Raw {
                content_type,
                bytes,
            } => match HeaderValue::from_str(content_type) {
                Ok(ct) => builder.header(CONTENT_TYPE, ct).body(bytes.clone()),
                Err(_) => {
                    return Attempt::Fatal(Error::invalid(
                        "content type",
                        "contains control characters",
                    ));
                }
            },
        };

        inner.metrics.add(class, Counter::Requests, 1);
        inner
            .metrics
            .add(class, Counter::BytesSent, request.body.len() as u64);
        let mut response = match builder.send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Failed {
                    sent: !e.is_connect(),
                    error: self.transport_error(request, template, e),
                };
            }
        };
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut read = Response {
            status,
            headers,
            body: Vec::new(),
            system: inner.system.clone(),
            method: request.method.clone(),
            template: template.clone(),
            attempts: attempt,
            scrubber: inner.scrubber.clone(),
        };
        let max = inner.max_response_bytes;
        // An error page larger than the cap is still an error page: its start is
        // kept (cut at the cap) so the status is mapped and retried as usual. Only
        // a success body must be whole.
        let success = status.is_success();
        if success && response.content_length().is_some_and(|n| n > max as u64) {
            return Attempt::Fatal(read.decode_error(&format!(
                "response body of {} bytes exceeds the limit of {max} bytes",
                response.content_length().unwrap_or_default()
            )));
        }
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    inner
                        .metrics
                        .add(class, Counter::BytesReceived, chunk.len() as u64);
                    if read.body.len() + chunk.len() > max {
                        let room = max - read.body.len();
                        read.body.extend_from_slice(&chunk[..room]);
                        if !success {
                            return Attempt::Response(read);
                        }
                        return Attempt::Fatal(read.decode_error(&format!(
                            "response body exceeds the limit of {max} bytes"
                        )));
                    }
                    read.body.extend_from_slice(&chunk);
                }
                Ok(None) => return Attempt::Response(read),
                Err(e) => {
                    return Attempt::Failed {
                        sent: true,
                        error: self.transport_error(request, template, e),
                    };
                }
            }
        }
    }

    /// A transport error naming the method, path template and cause, never the URL
    /// (reqwest's own message includes it, with ids and query values).
    fn transport_error(&self, request: &Request, template: &str, e: reqwest::Error) -> Error {
        let timed_out = e.is_timeout();
        let what = if timed_out {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else if e.is_body() || e.is_decode() {
            "failed while reading the response body"
        } else {
            "failed (connection closed or reset?)"
        };
        let e = e.without_url();
        let mut root: &dyn std::error::Error = &e;
        while let Some(next) = root.source() {
            root = next;
        }
        let cause = self.inner.scrubber.scrub(&root.to_string());
        Error::Transport {
            message: format!(
                "{} {} {template}: {what}: {cause}",
                self.inner.system,
                request.method()
            ),
            timed_out,
            source: Some(SourceError::new(e)),
        }
    }
}
