//! An in-process emulator of the Pyramid API 2.0 access and auth sections (feature
//! `sandbox`).
//!
//! Stateful and multi-tenant (the default tenant has the documented id
//! [`DEFAULT_TENANT_ID`]), served by [`grantbridge_core::sandbox::Sandbox`] so tests
//! get its request log, latency, faults and rate windows. It accepts what Pyramid's
//! examples and third-party clients send:
//!
//! * `POST /API2/{auth|access}/{method}`, path case-insensitive (`/api2/…` too), a
//!   trailing space in the method name tolerated (the seed example has one);
//! * a JSON body with any or no content type (the JS examples send text/plain), the
//!   token as `"auth"` (`"auth": null` is tolerated on `auth/*`);
//! * object parameters under the documented key **or** `data`, and the aliases of
//!   spec table Q1 (`tenant` for `createTenant`, `tenantName` for `getTenantByName`,
//!   `user` for `updateUserDb`); credentials as `userName` or `username`, under
//!   `data` or `userCredentials`.
//!
//! Methods: `auth/authenticateUser`; `access/` `getMe`, `getDefaultTenant`,
//! `getAllTenants`, `createTenant`, `getTenantByName`, `getAllProfiles`,
//! `getAllProfilesByTenantId`, `addProfile`, `deleteProfile`,
//! `getPrivateProfileIdForUser`, `getAllRolesByProfileId`, `updateRolesByProfileId`,
//! `createRole`, `createRoles`, `deleteRole`, `getRoleById`,
//! `getAllNonPrivateRolesByTenant`, `getRolesByName`, `getAllUsersByTenant`,
//! `getAllUsersDataByTenantAndLicenceType`, `getUser`, `getUsersByName`,
//! `getAllRolesByUser`, `getUsersByRole`, `addUserToRole`, `addUsersToRole`,
//! `updateUserRoles`, `updateUserDb`. Only administrators (admin type 1 or 2) may call
//! anything but `getMe` (403 otherwise).
//!
//! What it answers where the documents are silent (docs/specs/pyramid.md §10) is this emulator's
//! choice, stated here so tests can rely on it:
//!
//! * a missing, unknown or expired token → HTTP 401 `{"error":"Invalid or expired
//!   token"}`; bad credentials on `authenticateUser` → HTTP 401 `text/plain`;
//! * unknown ids, missing parameters and refused writes → HTTP 200
//!   `{"data":{"success":false,"errorMessage":…}}`, reads included;
//! * a body that is not JSON → HTTP 400 `{"error":…}`; an unknown method → 404;
//!   another verb → 405;
//! * `getPrivateProfileIdForUser` of a user without one → `{"data":null}`;
//! * `updateRolesByProfileId` answers `ItemId[]` of the roles actually bound or
//!   unbound; `updateUserDb` with `"profileId": null` clears the private profile;
//! * when a profile carries both permission forms the list wins; Discover Lite
//!   (bit 22) with bit 9 or 18 is refused, the "needs" rules are not enforced;
//! * a duplicate role name gets " (1)", " (2)", … appended (spec Q3).

mod routes;
mod seed;
mod state;

use std::io;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::any;
use grantbridge_core::http::Secret;
use grantbridge_core::sandbox::{
    RateInfo, RequestLog, Sandbox, SandboxControls, SandboxOptions, VendorStyle,
};
use serde_json::{Value, json};

pub use crate::wire::DEFAULT_TENANT_ID;
use routes::Reply;
pub use seed::{ADMIN_PASSWORD, ADMIN_USER, SUBSIDIARY_TENANT_ID, Seed};
use state::Store;

use crate::client::PyramidConfig;

/// The emulator's state, shared by its handlers. Cheap to clone.
#[derive(Clone)]
pub struct PyramidState {
    store: Arc<std::sync::Mutex<Store>>,
}

impl std::fmt::Debug for PyramidState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyramidState").finish_non_exhaustive()
    }
}

impl PyramidState {
    /// A state seeded with `seed`.
    pub fn new(seed: &Seed) -> Self {
        PyramidState {
            store: Arc::new(std::sync::Mutex::new(seed::build(seed))),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        // A handler that panicked left a consistent store (every change is one
        // statement per collection), so keep serving.
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut store)
    }

    /// Makes every token issued so far invalid, as if the sessions had expired.
    pub fn expire_tokens(&self) {
        self.with(Store::expire_tokens);
    }

    /// Counts of (tenants, users, roles, profiles, role bindings, private profiles).
    pub fn counts(&self) -> (usize, usize, usize, usize, usize, usize) {
        self.with(|s| s.counts())
    }
}

/// The Pyramid router over `state`: every method this crate's client uses.
pub fn router(state: PyramidState) -> Router {
    Router::new()
        .route("/{api}/{section}/{method}", any(handle))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "No such API path") })
        .with_state(state)
}

fn error(status: StatusCode, message: &str) -> Response {
    grantbridge_core::sandbox::json_response(status, &json!({ "error": message }))
}

async fn handle(
    State(state): State<PyramidState>,
    method: Method,
    Path((api, section, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if !api.eq_ignore_ascii_case("api2") {
        return error(StatusCode::NOT_FOUND, "No such API version");
    }
    if method != Method::POST {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method operates via POST actions only",
        );
    }
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return error(StatusCode::BAD_REQUEST, "The body must be a JSON object"),
            Err(e) => return error(StatusCode::BAD_REQUEST, &format!("Malformed JSON: {e}")),
        }
    };
    let name = name.trim().to_ascii_lowercase();
    let reply = match section.to_ascii_lowercase().as_str() {
        "auth" => state.with(|s| s.auth(&name, &body)),
        "access" => state.with(|s| s.access(&name, &body)),
        _ => Reply::Error(StatusCode::NOT_FOUND, "No such API section".to_owned()),
    };
    match reply {
        Reply::Data(data) => {
            grantbridge_core::sandbox::json_response(StatusCode::OK, &json!({ "data": data }))
        }
        Reply::Token(token) => {
            let mut response = Response::new(Body::from(token));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
        Reply::Text(status, text) => {
            let mut response = Response::new(Body::from(text));
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
        Reply::Error(status, message) => error(status, &message),
    }
}

/// Pyramid's gateway conventions: `auth` and `access` rate classes; no budget headers
/// (Pyramid documents none); a 429 with `Retry-After` and `{"error":…}`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PyramidStyle;

impl VendorStyle for PyramidStyle {
    fn name(&self) -> &'static str {
        "pyramid"
    }

    fn rate_class(&self, _method: &Method, path: &str) -> &'static str {
        if path.to_ascii_lowercase().starts_with("/api2/auth/") {
            "auth"
        } else {
            "access"
        }
    }

    fn rate_limited(&self, info: &RateInfo) -> Response {
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(info.retry_after_secs()),
        );
        response
    }

    fn budget_headers(&self, _info: &RateInfo, _headers: &mut HeaderMap) {}
}

/// A running Pyramid emulator.
///
/// ```no_run
/// use grantbridge_core::sandbox::SandboxOptions;
/// use grantbridge_pyramid::sandbox::{PyramidSandbox, Seed};
/// use grantbridge_pyramid::PyramidSystem;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let sandbox = PyramidSandbox::start(Seed::Demo, SandboxOptions::default()).await?;
/// let system = PyramidSystem::connect(sandbox.config()).await?;
/// # drop(system);
/// sandbox.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PyramidSandbox {
    sandbox: Sandbox,
    state: PyramidState,
    credentials: SandboxCredentials,
}

/// The administrator login a [`PyramidSandbox`] accepts ([`ADMIN_USER`] and
/// [`ADMIN_PASSWORD`]). `Debug` hides the password.
#[derive(Clone)]
pub struct SandboxCredentials {
    /// The login name.
    pub username: String,
    /// Its password.
    pub password: Secret,
}

impl std::fmt::Debug for SandboxCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxCredentials")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

impl PyramidSandbox {
    /// Seeds a state and serves it on `options.bind` (an ephemeral loopback port by
    /// default).
    pub async fn start(seed: Seed, options: SandboxOptions) -> io::Result<PyramidSandbox> {
        let state = PyramidState::new(&seed);
        let sandbox = Sandbox::start(router(state.clone()), PyramidStyle, options).await?;
        let credentials = SandboxCredentials {
            username: ADMIN_USER.to_owned(),
            password: Secret::new(ADMIN_PASSWORD),
        };
        Ok(PyramidSandbox {
            sandbox,
            state,
            credentials,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.sandbox.base_url()
    }

    /// The administrator login this sandbox accepts.
    pub fn credentials(&self) -> &SandboxCredentials {
        &self.credentials
    }

    /// A client configuration for this sandbox (default tenant).
    pub fn config(&self) -> PyramidConfig {
        let c = &self.credentials;
        PyramidConfig::new(self.base_url(), c.username.clone(), c.password.clone())
    }

    /// Every request received, as received.
    pub fn log(&self) -> RequestLog {
        self.sandbox.log()
    }

    /// Runtime controls: faults, latency, rate windows.
    pub fn controls(&self) -> SandboxControls {
        self.sandbox.controls()
    }

    /// The shared sandbox underneath.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The emulator's state (to expire tokens, count objects).
    pub fn state(&self) -> &PyramidState {
        &self.state
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_hides_the_password() {
        let credentials = SandboxCredentials {
            username: ADMIN_USER.to_owned(),
            password: Secret::new(ADMIN_PASSWORD),
        };
        let dbg = format!("{credentials:?}");
        assert!(!dbg.contains(ADMIN_PASSWORD), "{dbg}");
        assert!(dbg.contains(ADMIN_USER), "{dbg}");
    }
}
