//! An in-process emulator of the Segment Public API's IAM (feature `sandbox`).
//!
//! [`SegmentSandbox::start`] serves a stateful workspace on `127.0.0.1` (ephemeral
//! port) behind the shared plumbing of `grantbridge_core::sandbox` (request log,
//! latency, faults, rate windows). It implements every operation of the spec with its
//! envelopes (`{"data":…}` / `{"errors":[…]}`), statuses (201 for `createInvites`,
//! 404, 422 with the failing field, 401 without a valid bearer token) and accepts all
//! three query encodings the official SDKs send: dotted (`pagination.count=2`,
//! `userIds.0=…`), bracket (`pagination[count]=2`, `userIds[0]=…`, TypeScript/Go) and
//! Python's (`pagination={"count": 2}`, repeated `userIds=…`).
//!
//! Rate limits: IAM mutations (every non-GET) form the class `iam-mutation`, reads the
//! class `default`. Unless the options name their own windows, mutations get
//! Segment's documented 60 per minute and reads 6000 per minute (the real default is
//! undocumented). Successful responses carry `X-RateLimit-Consumed`,
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset` (an HTTP date); a refusal is a 429
//! with `Retry-After` and `{"errors":[{"type":"RequestError","message":"Too many
//! requests","data":{"remainingPoints":0,"msBeforeNext":…,"consumedPoints":…}}]}`.
//!
//! Behaviour the spec leaves open, as chosen here: deleting unknown users, invites or
//! members succeeds without effect; adding a group member who is neither a user nor a
//! pending invite is a 422; inviting an existing user is a 422, re-inviting a pending
//! invite replaces its permissions; `memberCount` counts users and invites; add
//! permissions appends (a repeated pair is stored twice, as the real API's "Policy
//! Created" suggests) while replace sets the whole list; labels are accepted on
//! `WORKSPACE` resources only; cursors are base64 of the offset, like the docs' samples.
//!
//! ```no_run
//! use grantbridge_core::sandbox::SandboxOptions;
//! use grantbridge_segment::sandbox::{SegmentSandbox, Seed};
//! use grantbridge_segment::SegmentSystem;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = SegmentSandbox::start(Seed::Demo, SandboxOptions::default()).await?;
//! let system = SegmentSystem::connect(sandbox.config()).await?;
//! println!("demo workspace at {}", sandbox.base_url());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

mod routes;
mod seed;
mod state;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use grantbridge_core::http::{RateLimit, Secret};
use grantbridge_core::sandbox::{
    RateInfo, RateWindow, RequestLog, Sandbox, SandboxControls, SandboxOptions, VendorStyle,
    plain_server_error,
};

pub use seed::{DEMO_TOKEN, FIXTURE_TOKEN, Seed};

use crate::config::{IAM_MUTATION, SegmentConfig};

/// The rate class of reads (the transport's default class).
pub const READ_CLASS: &str = "default";
/// Reads per minute when the options set no window (Segment's is undocumented).
pub const DEFAULT_READS_PER_MINUTE: u32 = 6000;

/// How Segment's gateway answers: rate classes, budget headers, 429 and error bodies.
#[derive(Clone, Copy, Debug, Default)]
pub struct SegmentStyle;

impl VendorStyle for SegmentStyle {
    fn name(&self) -> &'static str {
        "segment"
    }

    fn rate_class(&self, method: &Method, _path: &str) -> &'static str {
        if method == Method::GET || method == Method::HEAD {
            READ_CLASS
        } else {
            IAM_MUTATION
        }
    }

    fn rate_limited(&self, info: &RateInfo) -> Response {
        let body = serde_json::json!({"errors": [{
            "type": "RequestError",
            "message": "Too many requests",
            "data": {
                "remainingPoints": 0,
                "msBeforeNext": info.reset_after_ms(),
                "consumedPoints": info.consumed,
            },
        }]});
        let mut response =
            grantbridge_core::sandbox::json_response(StatusCode::TOO_MANY_REQUESTS, &body);
        let headers = response.headers_mut();
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(info.retry_after_secs()),
        );
        self.budget_headers(info, headers);
        response
    }

    fn budget_headers(&self, info: &RateInfo, headers: &mut HeaderMap) {
        headers.insert(
            HeaderName::from_static("x-ratelimit-consumed"),
            HeaderValue::from(info.consumed),
        );
        headers.insert(
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderValue::from(info.remaining),
        );
        if let Ok(date) = HeaderValue::from_str(&info.reset_http_date()) {
            headers.insert(HeaderName::from_static("x-ratelimit-reset"), date);
        }
    }

    fn server_error(&self, status: StatusCode) -> Response {
        if status == StatusCode::BAD_GATEWAY {
            // What a load balancer in front of the API sends: an HTML page.
            return plain_server_error(status);
        }
        routes::error(
            status,
            "server",
            status.canonical_reason().unwrap_or("Server error"),
            None,
        )
    }

    fn payload_too_large(&self, limit: usize) -> Response {
        routes::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            &format!("The request body exceeds {limit} bytes"),
            None,
        )
    }
}

/// The login a [`SegmentSandbox`] accepts. `Debug` hides the token.
#[derive(Clone)]
pub struct SandboxCredentials {
    /// The bearer token ([`DEMO_TOKEN`], or [`FIXTURE_TOKEN`] for [`Seed::Fixtures`],
    /// which accepts both).
    pub token: Secret,
}

impl std::fmt::Debug for SandboxCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxCredentials")
            .field("token", &self.token)
            .finish()
    }
}

/// A running Segment emulator.
pub struct SegmentSandbox {
    inner: Sandbox,
    credentials: SandboxCredentials,
    mutation_window: RateWindow,
}

impl std::fmt::Debug for SegmentSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentSandbox")
            .field("base_url", &self.inner.base_url())
            .finish_non_exhaustive()
    }
}

impl SegmentSandbox {
    /// Starts a sandbox seeded with `seed`. Segment's windows apply to the classes
    /// `options` leaves without one (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// The I/O error of binding the listener.
    pub async fn start(seed: Seed, options: SandboxOptions) -> io::Result<SegmentSandbox> {
        let mut options = options;
        if !options
            .class_rate_limits
            .iter()
            .any(|(c, _)| *c == IAM_MUTATION)
        {
            options = options.with_class_rate_limit(IAM_MUTATION, RateWindow::per_minute(60));
        }
        if !options
            .class_rate_limits
            .iter()
            .any(|(c, _)| *c == READ_CLASS)
            && options.rate_limit.is_none()
        {
            options = options.with_class_rate_limit(
                READ_CLASS,
                RateWindow::per_minute(DEFAULT_READS_PER_MINUTE),
            );
        }
        let mutation_window = options
            .class_rate_limits
            .iter()
            .find(|(c, _)| *c == IAM_MUTATION)
            .map(|(_, w)| *w)
            .unwrap_or(RateWindow::per_minute(60));
        let state = Arc::new(Mutex::new(state::Store::seeded(&seed)));
        let router = routes::router(state);
        let inner = Sandbox::start(router, SegmentStyle, options).await?;
        Ok(SegmentSandbox {
            inner,
            credentials: SandboxCredentials {
                token: Secret::new(match seed {
                    Seed::Fixtures => FIXTURE_TOKEN,
                    _ => DEMO_TOKEN,
                }),
            },
            mutation_window,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.inner.base_url()
    }

    /// The login this sandbox accepts.
    pub fn credentials(&self) -> &SandboxCredentials {
        &self.credentials
    }

    /// A client configuration for this sandbox whose client-side mutation limit
    /// matches the sandbox's window.
    pub fn config(&self) -> SegmentConfig {
        let window = self.mutation_window;
        SegmentConfig::new(self.base_url(), self.credentials.token.clone()).with_mutation_limit(
            RateLimit::new(window.limit, window.window.max(Duration::from_millis(1))),
        )
    }

    /// Every request received (shared: it keeps filling).
    pub fn log(&self) -> RequestLog {
        self.inner.log()
    }

    /// Runtime controls: faults, latency, rate windows.
    pub fn controls(&self) -> SandboxControls {
        self.inner.controls()
    }

    /// The shared sandbox underneath.
    pub fn sandbox(&self) -> &Sandbox {
        &self.inner
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        self.inner.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_hides_the_token() {
        let credentials = SandboxCredentials {
            token: Secret::new(DEMO_TOKEN),
        };
        let dbg = format!("{credentials:?}");
        assert!(!dbg.contains(DEMO_TOKEN), "{dbg}");
        assert!(dbg.contains("token"), "{dbg}");
    }
}
