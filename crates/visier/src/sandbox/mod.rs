//! An in-process emulator of the Visier API (feature `sandbox`).
//!
//! A stateful axum router on `127.0.0.1` (ephemeral port) behind the shared plumbing of
//! [`grantbridge_core::sandbox`] (request log, latency, faults, rate windows). It serves
//! the ten Profiles operations, Users V1 list/get, v1 user groups and their members
//! (read, add, remove), the permission list/assign/remove/users calls, and both token
//! endpoints, and accepts what Visier's official Python SDK sends (the recording in
//! `tests/fixtures/` of this crate):
//!
//! * every call needs the right `apikey` plus a token it issued or was seeded with,
//!   as `Cookie: VisierASIDToken=…` or `Authorization: Bearer …`; the ASID token
//!   endpoint also accepts calls without `apikey` (the SDK's built-in login omits it);
//! * OAuth clients authenticate by HTTP Basic (secret percent-encoded or raw) or by
//!   `client_secret` in the form; the SDK's literal `None` form values mean "absent";
//! * request bodies are read on `DELETE`; `forAllChildren` may be a string; times may
//!   be numbers; `True`/`False` boolean headers and `~` in queries are accepted; the
//!   legacy `model=<json>` form body of Visier's curl samples is read too;
//! * `TargetTenantID` (or the `tenantCode` query) selects the tenant of the local
//!   operations; each tenant has its own users, local profiles, local assignments,
//!   groups and permissions; analytic profiles and their assignments live in the
//!   administrating tenant;
//! * errors are `Status` bodies (`{code, localizedMessage, message, rci, userError}`);
//!   assign/remove answer 200 with per-item `badUserIds`, `badTenantCodes`,
//!   `failedAssignments`, `failed` and `unaffectedUsers`;
//! * an assignment whose `validityEndTime` is already past removes the assignment (the
//!   documented way to revoke through `assign`);
//! * rate windows (see [`SandboxOptions::rate_limit`]) answer 429 with a `Status` body,
//!   and every response carries `X-RateLimit-{Limit,Remaining}-{Minute,Hour}` (the
//!   hour values are derived from the one window the shared plumbing tracks: 60 × the
//!   minute budget).

mod routes;
mod seed;
mod state;

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};

use grantbridge_core::TenantCode;
use grantbridge_core::http::{RateLimitPolicy, RetryPolicy, Secret};
use grantbridge_core::sandbox::{
    RateInfo, RequestLog, Sandbox, SandboxControls, SandboxOptions, VendorStyle, json_response,
    plain_server_error,
};

use crate::auth::VisierCredentials;
use crate::config::VisierConfig;

pub use seed::{DEMO_ADMIN_TENANT, Seed, demo_credentials};
use state::Shared;

/// The logins a [`VisierSandbox`] accepts. `Debug` hides the secrets.
#[derive(Clone)]
pub struct SandboxCredentials {
    /// The API key (`apikey` header).
    pub api_key: Secret,
    /// The user's login name.
    pub username: String,
    /// The user's password.
    pub password: Secret,
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: Secret,
}

impl fmt::Debug for SandboxCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxCredentials")
            .field("api_key", &self.api_key)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish()
    }
}

impl SandboxCredentials {
    /// API key + username/password (ASID token).
    pub fn password_login(&self) -> VisierCredentials {
        VisierCredentials::password(
            self.api_key.clone(),
            self.username.clone(),
            self.password.clone(),
        )
    }

    /// API key + OAuth 2.0 password grant.
    pub fn oauth2_login(&self) -> VisierCredentials {
        VisierCredentials::oauth2_password(
            self.api_key.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
            self.username.clone(),
            self.password.clone(),
        )
    }
}

/// A running Visier emulator.
///
/// ```no_run
/// use grantbridge_core::sandbox::SandboxOptions;
/// use grantbridge_visier::sandbox::{Seed, VisierSandbox};
/// use grantbridge_visier::VisierSystem;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let sandbox = VisierSandbox::start(Seed::Demo, SandboxOptions::default()).await?;
/// let system = VisierSystem::connect(sandbox.config()).await?;
/// println!("{} requests so far", sandbox.log().len());
/// sandbox.shutdown().await;
/// # Ok(()) }
/// ```
pub struct VisierSandbox {
    server: Sandbox,
    shared: Arc<Shared>,
    credentials: SandboxCredentials,
    admin_tenant: String,
}

impl fmt::Debug for VisierSandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VisierSandbox")
            .field("base_url", &self.server.base_url())
            .field("admin_tenant", &self.admin_tenant)
            .finish_non_exhaustive()
    }
}

impl VisierSandbox {
    /// Seeds the state and starts serving on `options.bind` (an ephemeral loopback port
    /// by default). Must run inside a tokio runtime.
    pub async fn start(seed: Seed, options: SandboxOptions) -> io::Result<VisierSandbox> {
        let state = seed.build();
        let credentials = state.credentials.clone();
        let admin_tenant = state.admin.clone();
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
        });
        let router = routes::router(shared.clone());
        let server = Sandbox::start(router, VisierStyle, options).await?;
        Ok(VisierSandbox {
            server,
            shared,
            credentials,
            admin_tenant,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The logins this sandbox accepts.
    pub fn credentials(&self) -> &SandboxCredentials {
        &self.credentials
    }

    /// A client configuration for this sandbox: username/password login, and no
    /// client-side rate limit or retries (the sandbox has no limit unless configured,
    /// and tests count requests).
    pub fn config(&self) -> VisierConfig {
        let base_url = self.base_url();
        let options = VisierConfig::default_options(&base_url)
            .rate_limits(RateLimitPolicy::unlimited())
            .retry(RetryPolicy::none());
        VisierConfig::new(base_url, self.credentials.password_login()).with_options(options)
    }

    /// The administrating tenant's code.
    pub fn admin_tenant(&self) -> TenantCode {
        // Seeds only use valid codes.
        TenantCode::new(self.admin_tenant.clone())
            .unwrap_or_else(|_| unreachable_code(&self.admin_tenant))
    }

    /// Every request received so far.
    pub fn log(&self) -> RequestLog {
        self.server.log()
    }

    /// Faults, latency and rate windows at runtime.
    pub fn controls(&self) -> SandboxControls {
        self.server.controls()
    }

    /// The shared sandbox underneath.
    pub fn sandbox(&self) -> &Sandbox {
        &self.server
    }

    /// How many users the tenant `code` (or the administrating tenant) holds.
    pub fn user_count(&self, code: Option<&str>) -> usize {
        let state = self.shared.lock();
        let code = code.unwrap_or(&state.admin).to_owned();
        state.tenants.get(&code).map_or(0, |t| t.users.len())
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

fn unreachable_code(code: &str) -> TenantCode {
    // A seed tenant code is a constant like `WFF_grb`; fall back to a fixed valid code
    // rather than panic if one were ever invalid.
    tracing::error!(code, "invalid seed tenant code");
    TenantCode::new("WFF_invalid").unwrap_or_else(|_| unreachable!("constant is valid"))
}

/// Visier's gateway conventions for the shared plumbing.
struct VisierStyle;

impl VendorStyle for VisierStyle {
    fn name(&self) -> &'static str {
        "visier"
    }

    fn rate_limited(&self, info: &RateInfo) -> axum::response::Response {
        let mut r = json_response(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            &serde_json::json!({
                "code": "RATE_LIMIT_EXCEEDED",
                "localizedMessage": "API rate limit exceeded",
                "message": "",
                "rci": "RCI0000429",
                "userError": true,
            }),
        );
        self.budget_headers(info, r.headers_mut());
        r
    }

    /// Visier documents no `Retry-After` (only the budget headers, which give no
    /// reset time: a client seeing "0 left this minute" waits out the minute). An
    /// injected 429 stands for a gateway throttle that says when to come back, so it
    /// adds `Retry-After` with the fault plan's wait; a 429 of the emulated budget
    /// window stays as documented.
    fn injected_rate_limited(&self, info: &RateInfo) -> axum::response::Response {
        let mut r = self.rate_limited(info);
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(info.retry_after_secs()),
        );
        r
    }

    fn budget_headers(&self, info: &RateInfo, headers: &mut axum::http::HeaderMap) {
        use axum::http::HeaderValue;
        let hour_limit = info.limit.saturating_mul(60);
        let hour_left = hour_limit.saturating_sub(info.consumed);
        for (name, value) in [
            ("x-ratelimit-limit-minute", info.limit),
            ("x-ratelimit-remaining-minute", info.remaining),
            ("x-ratelimit-limit-hour", hour_limit),
            ("x-ratelimit-remaining-hour", hour_left),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
    }

    fn server_error(&self, status: axum::http::StatusCode) -> axum::response::Response {
        if status == axum::http::StatusCode::BAD_GATEWAY {
            return plain_server_error(status);
        }
        json_response(
            status,
            &serde_json::json!({
                "code": "INTERNAL_SERVER_ERROR",
                "localizedMessage": "Internal server error",
                "message": "",
                "rci": "RCI9000002",
                "userError": false,
            }),
        )
    }
}
