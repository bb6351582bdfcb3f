//! The Pyramid API 2.0 client: one method per vendor method, usable on its own
//! (transport, login and error mapping here; the methods by resource in submodules).
//!
//! Every call is a `POST {base}/API2/{section}/{method}` whose JSON body holds the
//! method's parameters and the session token as `"auth"` (never a header). Results
//! arrive as `{"data": …}`; the client unwraps them and turns Pyramid's ways of
//! failing into typed [`Error`]s:
//!
//! * HTTP 200 with `{"data":{"success":false,"errorMessage":…}}` → [`Error::Vendor`]
//!   (status 200) with the vendor's message;
//! * a 2xx body with a top-level `"error"` key, or a JSON body without `data` →
//!   [`Error::Vendor`] / [`Error::Decode`];
//! * an HTML page or other non-JSON body → [`Error::Decode`] (status, content type,
//!   a scrubbed excerpt);
//! * non-2xx → the transport's mapping (401/403 → [`Error::Authentication`], 429 →
//!   [`Error::RateLimited`], others [`Error::Vendor`]); a 4xx from
//!   `authenticateUser` means bad credentials → [`Error::Authentication`].
//!
//! When a call is refused with [`Error::Authentication`] and the client has a
//! password, it logs in again once and repeats the call.
//!
//! Object parameters travel under a wrapper key. Pyramid documents one name per
//! method (`profileApiData`, `roleData`, …) while its own examples sometimes use
//! `data` (spec Q1, open question 1); [`ObjectKeys`] picks per method, defaulting to
//! what the examples and third-party clients send.
//!
//! Requests carry the endpoint classes `auth`, `access-read` and `access-write` for
//! [`RateLimitPolicy`](grantbridge_core::http::RateLimitPolicy) (Pyramid documents no
//! limits, so none are set by default). Reads are marked idempotent and retried after
//! an unknown outcome; writes are not.

mod profiles;
mod roles;
mod tenants;
mod users;

use std::fmt;
use std::sync::{Arc, Mutex};

use grantbridge_core::http::{
    HttpClient, RateLimitHints, Request, Response, Secret, Unauthorized, VendorError, VendorHooks,
    error_fields, map_error,
};
use grantbridge_core::{Entity, Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use crate::config::{KeyStyle, ObjectKeys, PermissionForm, PyramidConfig};
use crate::wire::{ModifiedItemsResult, UserObject};

/// The system name used in errors and spans.
pub const SYSTEM: &str = "pyramid";

/// How Pyramid's error responses are read ([`parse_error`]); the transport maps the
/// status.
#[derive(Clone, Copy, Debug, Default)]
pub struct PyramidHooks;

impl VendorHooks for PyramidHooks {
    fn parse_error(&self, response: &Response) -> Option<VendorError> {
        parse_error(response)
    }
}

/// A JSON error body read the generic way ([`error_fields`]), except that
/// `{"error":"…"}`, which puts the same text in both places, keeps it once (as the
/// message). `None` without a message, for the transport's generic reading.
pub fn parse_error(response: &Response) -> Option<VendorError> {
    let body = serde_json::from_slice::<Value>(response.body()).ok()?;
    // The generic reading takes JSON by content type or by its first character.
    if !(response.is_json() || body.is_object() || body.is_array()) {
        return None;
    }
    let (code, message) = error_fields(&body);
    let message = message?;
    Some(VendorError {
        code: code.filter(|c| *c != message),
        message,
        request_id: None,
    })
}

#[derive(Default)]
struct TokenState {
    token: Option<Secret>,
    generation: u64,
}

struct Inner {
    http: HttpClient,
    username: String,
    password: Secret,
    keys: ObjectKeys,
    token: Mutex<TokenState>,
    login: tokio::sync::Mutex<()>,
}

/// The Pyramid API 2.0 client (access and auth sections). Cheap to clone.
///
/// ```no_run
/// use grantbridge_core::http::Secret;
/// use grantbridge_pyramid::{PyramidClient, PyramidConfig};
///
/// # async fn run() -> grantbridge_core::Result<()> {
/// let client = PyramidClient::new(&PyramidConfig::from_env()?)?;
/// client.authenticate().await?;
/// let tenant = client.get_default_tenant().await?;
/// for p in client.get_all_profiles_by_tenant_id(&tenant).await? {
///     println!("{} {:?}", p.name, p.permissions.to_set()?);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PyramidClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for PyramidClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyramidClient")
            .field("http", &self.inner.http)
            .field("username", &self.inner.username)
            .finish_non_exhaustive()
    }
}

/// Whether a status/body pair is Pyramid's "it worked" for a write.
fn mir_failure(response: &Response, mir: &ModifiedItemsResult) -> Option<Error> {
    mir.is_failure().then(|| {
        vendor(
            response,
            mir.error_message
                .as_deref()
                .filter(|m| !m.is_empty())
                .unwrap_or("the server reported failure without a message"),
        )
    })
}

/// A failure reported inside a 2xx answer, as [`Error::Vendor`] with the answer's
/// status (scrubbed and truncated by the transport's one mapping).
fn vendor(response: &Response, message: &str) -> Error {
    map_error(
        response,
        &RateLimitHints::default(),
        Some(VendorError::new(message)),
        Unauthorized::Authentication,
    )
}

/// The `data` of a JSON body, or the error the body stands for.
fn data_of(response: &Response) -> Result<Value> {
    let body: Value = response.json()?;
    let Value::Object(mut map) = body else {
        return Err(response.decode_error("expected a JSON object with `data`"));
    };
    if let Some(e) = map.get("error").filter(|e| !e.is_null()) {
        let message = match e {
            Value::String(s) => s.clone(),
            other => error_fields(other)
                .1
                .unwrap_or_else(|| format!("error: {other}")),
        };
        return Err(vendor(response, &message));
    }
    map.remove("data")
        .ok_or_else(|| response.decode_error("the response has no `data`"))
}

/// Decodes `data`, refusing a `success:false` object first.
fn decode<T: DeserializeOwned>(response: &Response, data: Value) -> Result<T> {
    if data.get("success").is_some() || data.get("errorMessage").is_some() {
        // A status of the wrong type (`"success": "false"`) is garbled, not a success.
        let mir: ModifiedItemsResult = serde_json::from_value(data.clone())
            .map_err(|e| response.decode_error(&e.to_string()))?;
        if let Some(e) = mir_failure(response, &mir) {
            return Err(e);
        }
    }
    serde_json::from_value(data).map_err(|e| response.decode_error(&e.to_string()))
}

/// Attributes a batch's `modifiedList` to the items sent: by position when every
/// item is listed, else by the id or name each item is known by.
fn attribute(response: &Response, mir: &ModifiedItemsResult, keys: &[&str]) -> Vec<Result<String>> {
    if mir.modified_list.len() == keys.len() {
        return mir
            .modified_list
            .iter()
            .zip(keys)
            .map(|(item, key)| Ok(item.id.clone().unwrap_or_else(|| (*key).to_owned())))
            .collect();
    }
    let mut used = vec![false; mir.modified_list.len()];
    keys.iter()
        .map(|key| {
            let hit = mir.modified_list.iter().enumerate().position(|(i, item)| {
                !used[i] && (item.name.as_deref() == Some(key) || item.id.as_deref() == Some(key))
            });
            match hit {
                Some(i) => {
                    used[i] = true;
                    Ok(mir.modified_list[i]
                        .id
                        .clone()
                        .unwrap_or_else(|| (*key).to_owned()))
                }
                None => Err(vendor(
                    response,
                    &format!(
                        "partial success: the server listed {} of {} items and not this one{}",
                        mir.modified_list.len(),
                        keys.len(),
                        mir.error_message
                            .as_deref()
                            .map(|m| format!(" ({m})"))
                            .unwrap_or_default()
                    ),
                )),
            }
        })
        .collect()
}

/// The token of an `auth/*` answer: bare base64 text (a JSON string is tolerated).
fn token_of(response: &Response) -> Result<Secret> {
    let text = response.text()?.trim();
    let first = text.chars().next();
    let token = match first {
        None => {
            return Err(Error::Authentication {
                message: "the server answered with an empty token".to_owned(),
            });
        }
        Some('{') => {
            let data = data_of(response).map_err(|e| match e {
                Error::Vendor { message, .. } => Error::Authentication { message },
                other => other,
            })?;
            match data {
                Value::String(s) => s,
                _ => return Err(response.decode_error("expected a token, got a JSON object")),
            }
        }
        Some('"') => response.json::<String>()?,
        Some(_) => text.to_owned(),
    };
    let plausible = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=-_.".contains(&b));
    if !plausible {
        return Err(response.decode_error("expected a base64 token as text"));
    }
    Ok(Secret::new(token))
}

/// One parameter of a call.
type Param = (&'static str, Value);

fn to_value<T: Serialize + ?Sized>(what: &str, value: &T) -> Result<Value> {
    serde_json::to_value(value)
        .map_err(|e| Error::invalid(format!("{what} parameter"), e.to_string()))
}

impl PyramidClient {
    /// A client for `config` (not yet logged in unless `config.token` is set).
    pub fn new(config: &PyramidConfig) -> Result<Self> {
        let from_options = config.options.parsed_base_url()?;
        let given = url::Url::parse(&config.base_url)
            .map_err(|e| Error::invalid("base URL", e.to_string()))?;
        if from_options != given {
            return Err(Error::invalid(
                "PyramidConfig",
                "options were built for a different base URL than `base_url`",
            ));
        }
        let mut options = config.options.clone();
        if !config.password.is_empty() {
            options = options.secret(config.password.clone());
        }
        if let Some(t) = &config.token {
            options = options.secret(t.clone());
        }
        let http = HttpClient::with_hooks(options, PyramidHooks)?;
        Ok(PyramidClient {
            inner: Arc::new(Inner {
                http,
                username: config.username.clone(),
                password: config.password.clone(),
                keys: config.object_keys.clone(),
                token: Mutex::new(TokenState {
                    token: config.token.clone(),
                    generation: 0,
                }),
                login: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The user the client logs in as.
    pub fn username(&self) -> &str {
        &self.inner.username
    }

    /// The transport, for its counters ([`HttpClient::stats`]).
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    fn current_token(&self) -> (Option<Secret>, u64) {
        let state = self.inner.token.lock().unwrap_or_else(|p| p.into_inner());
        (state.token.clone(), state.generation)
    }

    fn set_token(&self, token: Secret) {
        self.inner.http.register_secret(&token);
        let mut state = self.inner.token.lock().unwrap_or_else(|p| p.into_inner());
        state.token = Some(token);
        state.generation += 1;
    }

    /// `auth/authenticateUser`: logs `user_name` in and returns the token, as
    /// `{"data":{"userName":…,"password":…}}`. A 4xx answer is
    /// [`Error::Authentication`]. Does not store the token.
    pub async fn authenticate_user(&self, user_name: &str, password: &Secret) -> Result<Secret> {
        let key = self
            .inner
            .keys
            .key("authenticateUser", "userCredentials", "data");
        let mut body = Map::new();
        body.insert(
            key.to_owned(),
            serde_json::json!({"userName": user_name, "password": password.expose()}),
        );
        let request = Request::post("/API2/auth/authenticateUser")
            .json(&body)
            .class("auth")
            .idempotent(true);
        let response = self.inner.http.send(request).await.map_err(|e| match e {
            Error::Vendor {
                status, message, ..
            } if (400..500).contains(&status) => Error::Authentication {
                message: format!("invalid credentials (HTTP {status}: {message})"),
            },
            other => other,
        })?;
        token_of(&response)
    }

    /// Logs in with the configured credentials and keeps the token for later calls.
    pub async fn authenticate(&self) -> Result<()> {
        let generation = self.current_token().1;
        self.relogin(generation).await
    }

    /// Logs in unless another task already replaced the token of `generation`.
    async fn relogin(&self, generation: u64) -> Result<()> {
        let _guard = self.inner.login.lock().await;
        if self.current_token().1 != generation {
            return Ok(());
        }
        if self.inner.password.is_empty() {
            return Err(Error::Authentication {
                message: "no valid token, and no password is configured to log in".to_owned(),
            });
        }
        let token = self
            .authenticate_user(&self.inner.username, &self.inner.password)
            .await?;
        self.set_token(token);
        Ok(())
    }

    /// Sends one access-section call and returns the 2xx response, logging in first
    /// if needed and once more if the token is refused.
    async fn call(
        &self,
        section: &'static str,
        method: &'static str,
        params: Vec<Param>,
        read: bool,
    ) -> Result<Response> {
        let mut relogged = false;
        loop {
            let (token, generation) = self.current_token();
            let token = match token {
                Some(t) => t,
                None => {
                    self.relogin(generation).await?;
                    relogged = true;
                    continue;
                }
            };
            let mut body = Map::new();
            for (k, v) in &params {
                body.insert((*k).to_owned(), v.clone());
            }
            body.insert("auth".to_owned(), Value::String(token.expose().to_owned()));
            let request = Request::post(section)
                .path(method)
                .json(&body)
                .class(if read { "access-read" } else { "access-write" })
                .idempotent(read);
            match self.inner.http.send(request).await {
                Err(Error::Authentication { .. })
                    if !relogged && !self.inner.password.is_empty() =>
                {
                    tracing::info!(method, "token refused; logging in again");
                    self.relogin(generation).await?;
                    relogged = true;
                }
                other => return other,
            }
        }
    }

    async fn read<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Vec<Param>,
    ) -> Result<T> {
        let response = self.call("/API2/access", method, params, true).await?;
        let data = data_of(&response)?;
        decode(&response, data)
    }

    /// A read of one object by id, where a null `data` means "no such object".
    async fn read_one<T: DeserializeOwned>(
        &self,
        method: &'static str,
        param: Param,
        entity: Entity,
        id: &str,
    ) -> Result<T> {
        let response = self.call("/API2/access", method, vec![param], true).await?;
        match data_of(&response)? {
            Value::Null => Err(Error::not_found(entity, id)),
            data => decode(&response, data),
        }
    }

    async fn write(
        &self,
        method: &'static str,
        params: Vec<Param>,
    ) -> Result<(Response, ModifiedItemsResult)> {
        let response = self.call("/API2/access", method, params, false).await?;
        let data = data_of(&response)?;
        // serde also reads a struct from a JSON array: `{"data": []}` would be an
        // empty success.
        if !data.is_object() {
            return Err(response.decode_error("expected a ModifiedItemsResult object"));
        }
        let mir: ModifiedItemsResult =
            serde_json::from_value(data).map_err(|e| response.decode_error(&e.to_string()))?;
        Ok((response, mir))
    }

    /// A write whose failure flag fails the whole call.
    async fn write_ok(
        &self,
        method: &'static str,
        params: Vec<Param>,
    ) -> Result<ModifiedItemsResult> {
        let (response, mir) = self.write(method, params).await?;
        match mir_failure(&response, &mir) {
            Some(e) => Err(e),
            None => Ok(mir),
        }
    }

    fn object_param<T: Serialize + ?Sized>(
        &self,
        method: &str,
        documented: &'static str,
        observed: &'static str,
        value: &T,
    ) -> Result<Param> {
        Ok((
            self.inner.keys.key(method, documented, observed),
            to_value(documented, value)?,
        ))
    }

    fn id_param(name: &'static str, id: &str) -> Param {
        (name, Value::String(id.to_owned()))
    }

    // ---- auth / me ------------------------------------------------------------

    /// `access/getMe`: the logged-in user (checks that the token works).
    pub async fn get_me(&self) -> Result<UserObject> {
        self.read("getMe", vec![]).await
    }

    /// A write that answers with a typed payload rather than an MIR.
    async fn read_write<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Vec<Param>,
    ) -> Result<T> {
        let response = self.call("/API2/access", method, params, false).await?;
        let data = data_of(&response)?;
        decode(&response, data)
    }
}
