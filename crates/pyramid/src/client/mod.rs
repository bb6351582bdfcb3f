//! The Pyramid API 2.0 client: one method per vendor method, usable on its own.
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

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use grantbridge_core::http::{
    ClientOptions, HttpClient, RateLimitHints, Request, Response, Secret, VendorHooks,
    default_error, error_fields,
};
use grantbridge_core::{Entity, Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::wire::{
    AddUserRoleData, AddUsersRoleData, ItemId, ModifiedItemsResult, NewRole, NewTenant,
    PermissionRules, ProfileApiData, ProfileRolesData, RoleData, SearchCriteria, TenantData,
    TenantUsersGetObject, UpdateUserDb, UserObject, UserRolesData,
};

/// The system name used in errors and spans.
pub const SYSTEM: &str = "pyramid";

/// Which wrapper key an object parameter travels under.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyStyle {
    /// What Pyramid's examples and third-party clients send (`data` for
    /// `authenticateUser`, `createRoles`, `getRolesByName`; the documented name
    /// elsewhere).
    #[default]
    Observed,
    /// The documented input name (`userCredentials`, `roleData`, `searchCriteria`, …).
    Documented,
    /// Always `data` (API 1.0's convention).
    Data,
}

/// The wrapper key per method: a default style and per-method overrides (keyed by
/// the method name, e.g. `"createRoles"`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectKeys {
    /// Style for methods without an override.
    pub default: KeyStyle,
    /// Overrides by method name.
    pub overrides: BTreeMap<String, KeyStyle>,
}

impl ObjectKeys {
    /// Overrides the style of one method.
    pub fn with(mut self, method: &str, style: KeyStyle) -> Self {
        self.overrides.insert(method.to_owned(), style);
        self
    }

    /// The key for `method`, whose documented name is `documented` and whose
    /// observed key is `observed`.
    fn key(&self, method: &str, documented: &'static str, observed: &'static str) -> &'static str {
        match self.overrides.get(method).copied().unwrap_or(self.default) {
            KeyStyle::Observed => observed,
            KeyStyle::Documented => documented,
            KeyStyle::Data => "data",
        }
    }
}

/// Which form `addProfile` carries the permissions in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PermissionForm {
    /// `{"numeric": n}` (what servers were seen to answer with).
    #[default]
    Numeric,
    /// `{"permissionBitIndexList": [...]}`.
    List,
}

/// Everything needed to connect to a Pyramid server.
///
/// `Debug` never shows the password or token.
///
/// ```
/// use grantbridge_core::http::Secret;
/// use grantbridge_pyramid::PyramidConfig;
///
/// let config = PyramidConfig::new("https://pyramid.example.com", "admin", Secret::new("pw-123"));
/// assert!(!format!("{config:?}").contains("pw-123"));
/// ```
#[derive(Clone)]
pub struct PyramidConfig {
    /// The server, e.g. `https://pyramid.example.com` (the client appends `/API2/…`).
    pub base_url: String,
    /// Login name of an administrative user.
    pub username: String,
    /// Its password (may be empty when a `token` is given).
    pub password: Secret,
    /// A token obtained elsewhere, used before logging in.
    pub token: Option<Secret>,
    /// The tenant to work in; `None` asks the server for its default tenant.
    pub tenant: Option<String>,
    /// Transport settings; its base URL must be `base_url` ([`PyramidConfig::new`]
    /// keeps them equal).
    pub options: ClientOptions,
    /// Wrapper keys of object parameters.
    pub object_keys: ObjectKeys,
    /// How new profiles carry their permissions.
    pub permission_form: PermissionForm,
    /// Which combination rules the adapter enforces before creating a profile.
    pub permission_rules: PermissionRules,
}

impl fmt::Debug for PyramidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyramidConfig")
            .field("options", &self.options)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("token", &self.token)
            .field("tenant", &self.tenant)
            .field("object_keys", &self.object_keys)
            .field("permission_form", &self.permission_form)
            .field("permission_rules", &self.permission_rules)
            .finish()
    }
}

impl PyramidConfig {
    /// A configuration with default transport options.
    pub fn new(base_url: impl Into<String>, username: impl Into<String>, password: Secret) -> Self {
        let base_url = base_url.into();
        PyramidConfig {
            options: ClientOptions::new(SYSTEM, base_url.clone()),
            base_url,
            username: username.into(),
            password,
            token: None,
            tenant: None,
            object_keys: ObjectKeys::default(),
            permission_form: PermissionForm::default(),
            permission_rules: PermissionRules::default(),
        }
    }

    /// Reads `PYRAMID_BASE_URL`, `PYRAMID_USERNAME`, `PYRAMID_PASSWORD` and the
    /// optional `PYRAMID_TOKEN` and `PYRAMID_TENANT`. Username and password may be
    /// left out when a token is given (the client then cannot log in again).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// [`PyramidConfig::from_env`] over any variable source (for tests and config
    /// files).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let missing = |var: &str| Error::invalid(var, "is not set");
        let base = get("PYRAMID_BASE_URL").ok_or_else(|| missing("PYRAMID_BASE_URL"))?;
        let token = get("PYRAMID_TOKEN").map(Secret::new);
        let (user, password) = match (get("PYRAMID_USERNAME"), get("PYRAMID_PASSWORD")) {
            (Some(u), Some(p)) => (u, Secret::new(p)),
            (u, None) if token.is_some() => (u.unwrap_or_default(), Secret::new("")),
            (None, _) => return Err(missing("PYRAMID_USERNAME")),
            (Some(_), None) => return Err(missing("PYRAMID_PASSWORD")),
        };
        let mut config = PyramidConfig::new(base, user, password);
        config.token = token;
        config.tenant = get("PYRAMID_TENANT");
        Ok(config)
    }

    /// Replaces the transport options, keeping `base_url` in them.
    pub fn with_options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the tenant.
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }
}

/// How Pyramid's error responses become [`Error`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct PyramidHooks;

impl VendorHooks for PyramidHooks {
    fn map_error(&self, response: &Response, hints: &RateLimitHints) -> Error {
        match default_error(response, hints) {
            // `{"error":"…"}` puts the same text in both places; keep it once.
            Error::Vendor {
                system,
                status,
                code,
                message,
                request_id,
            } => Error::Vendor {
                code: code.filter(|c| *c != message),
                system,
                status,
                message,
                request_id,
            },
            other => other,
        }
    }
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

fn vendor(response: &Response, message: &str) -> Error {
    let message = response.scrub(message);
    let message = if message.len() > 500 {
        let mut end = 500;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &message[..end])
    } else {
        message
    };
    Error::Vendor {
        system: response.system().to_owned(),
        status: response.status().as_u16(),
        code: None,
        message,
        request_id: grantbridge_core::http::request_id(response.headers()),
    }
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

    // ---- tenants --------------------------------------------------------------

    /// `access/getDefaultTenant`: the default tenant's id (`{"data":"<id>"}`).
    pub async fn get_default_tenant(&self) -> Result<String> {
        self.read("getDefaultTenant", vec![]).await
    }

    /// `access/getAllTenants`.
    pub async fn get_all_tenants(&self) -> Result<Vec<TenantData>> {
        self.read("getAllTenants", vec![]).await
    }

    /// `access/createTenant`: returns the new tenant's id (`modifiedList[0].id`).
    /// Pyramid's example and third-party clients send it under `tenant`.
    pub async fn create_tenant(&self, tenant: &NewTenant) -> Result<String> {
        let param = self.object_param("createTenant", "newTenant", "tenant", tenant)?;
        let mir = self.write_ok("createTenant", vec![param]).await?;
        mir.modified_list
            .first()
            .and_then(|i| i.id.clone())
            .ok_or_else(|| Error::Decode {
                status: 200,
                content_type: None,
                message: "createTenant succeeded without a new id".to_owned(),
                excerpt: String::new(),
            })
    }

    /// `access/getTenantByName`. Documented as `name`; third-party clients send
    /// `tenantName` (the observed default). `{"data": null}` is [`Error::NotFound`].
    pub async fn get_tenant_by_name(&self, name: &str) -> Result<TenantData> {
        let key = self.inner.keys.key("getTenantByName", "name", "tenantName");
        self.read_one(
            "getTenantByName",
            (key, Value::String(name.to_owned())),
            Entity::Tenant,
            name,
        )
        .await
    }

    // ---- profiles -------------------------------------------------------------

    /// `access/getAllProfiles`: the profiles of every tenant.
    pub async fn get_all_profiles(&self) -> Result<Vec<ProfileApiData>> {
        self.read("getAllProfiles", vec![]).await
    }

    /// `access/getAllProfilesByTenantId`, filtered by `tenantId` on this side too
    /// (a 2020 server was seen to return every tenant's profiles).
    pub async fn get_all_profiles_by_tenant_id(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<ProfileApiData>> {
        let all: Vec<ProfileApiData> = self
            .read(
                "getAllProfilesByTenantId",
                vec![Self::id_param("tenantId", tenant_id)],
            )
            .await?;
        Ok(all
            .into_iter()
            .filter(|p| p.tenant_id.is_empty() || p.tenant_id == tenant_id)
            .collect())
    }

    /// `access/addProfile`: returns the new profile's id (`modifiedList[0].id`).
    ///
    /// The profile is sent as given: build it with [`ProfileApiData::new`] for
    /// validated permissions, or by hand to send any bits.
    pub async fn add_profile(&self, profile: &ProfileApiData) -> Result<String> {
        let param = self.object_param("addProfile", "profileApiData", "profileApiData", profile)?;
        let (response, mir) = self.write("addProfile", vec![param]).await?;
        if let Some(e) = mir_failure(&response, &mir) {
            return Err(e);
        }
        mir.modified_list
            .first()
            .and_then(|i| i.id.clone())
            .ok_or_else(|| response.decode_error("addProfile succeeded without a new id"))
    }

    /// `access/deleteProfile`.
    pub async fn delete_profile(&self, profile_id: &str) -> Result<()> {
        self.write_ok(
            "deleteProfile",
            vec![Self::id_param("profileId", profile_id)],
        )
        .await
        .map(drop)
    }

    /// `access/getPrivateProfileIdForUser`: the user's own profile, if any (`data`
    /// may be an `ItemId`, a bare id or null).
    pub async fn get_private_profile_id_for_user(&self, user_id: &str) -> Result<Option<String>> {
        let response = self
            .call(
                "/API2/access",
                "getPrivateProfileIdForUser",
                vec![Self::id_param("userId", user_id)],
                true,
            )
            .await?;
        match data_of(&response)? {
            Value::Null => Ok(None),
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => Ok(Some(s)),
            data => {
                let item: ItemId = decode(&response, data)?;
                Ok(item.id.filter(|s| !s.is_empty()))
            }
        }
    }

    /// `access/getAllRolesByProfileId`: the roles the profile is bound to.
    pub async fn get_all_roles_by_profile_id(&self, profile_id: &str) -> Result<Vec<RoleData>> {
        self.read(
            "getAllRolesByProfileId",
            vec![Self::id_param("profileId", profile_id)],
        )
        .await
    }

    /// `access/updateRolesByProfileId`: binds and unbinds roles; returns the role ids
    /// the server reports as added or removed (`ItemId[]`, or an MIR's list).
    pub async fn update_roles_by_profile_id(&self, data: &ProfileRolesData) -> Result<Vec<ItemId>> {
        let param = self.object_param(
            "updateRolesByProfileId",
            "profileRolesData",
            "profileRolesData",
            data,
        )?;
        let response = self
            .call("/API2/access", "updateRolesByProfileId", vec![param], false)
            .await?;
        match data_of(&response)? {
            Value::Array(items) => serde_json::from_value(Value::Array(items))
                .map_err(|e| response.decode_error(&e.to_string())),
            data => {
                let mir: ModifiedItemsResult = serde_json::from_value(data)
                    .map_err(|e| response.decode_error(&e.to_string()))?;
                match mir_failure(&response, &mir) {
                    Some(e) => Err(e),
                    None => Ok(mir.modified_list),
                }
            }
        }
    }

    // ---- roles ----------------------------------------------------------------

    /// `access/createRole`: returns the new role's id. A duplicate name is not
    /// refused: the server appends " (1)".
    pub async fn create_role(&self, role: &NewRole) -> Result<String> {
        let param = self.object_param("createRole", "roleData", "roleData", role)?;
        let mir = self.write_ok("createRole", vec![param]).await?;
        mir.modified_list
            .first()
            .and_then(|i| i.id.clone())
            .ok_or_else(|| Error::Decode {
                status: 200,
                content_type: None,
                message: "createRole succeeded without a new id".to_owned(),
                excerpt: String::new(),
            })
    }

    /// `access/createRoles`: one result per role, in order. A partial success is
    /// attributed by position when every role is listed, else by name.
    pub async fn create_roles(&self, roles: &[NewRole]) -> Result<Vec<Result<String>>> {
        let param = self.object_param("createRoles", "roleData", "data", roles)?;
        let (response, mir) = self.write("createRoles", vec![param]).await?;
        if mir.is_failure() && mir.modified_list.is_empty() {
            let e = mir_failure(&response, &mir).unwrap_or_else(|| vendor(&response, "failed"));
            return Ok(roles.iter().map(|_| Err(e.clone())).collect());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.role_name.as_str()).collect();
        Ok(attribute(&response, &mir, &names))
    }

    /// `access/deleteRole` (cannot be undone).
    pub async fn delete_role(&self, role_id: &str) -> Result<()> {
        self.write_ok("deleteRole", vec![Self::id_param("roleId", role_id)])
            .await
            .map(drop)
    }

    /// `access/getRoleById`.
    ///
    /// `{"data": null}` is [`Error::NotFound`]; a `success:false` answer (how the
    /// sandbox refuses an unknown id) stays [`Error::Vendor`].
    pub async fn get_role_by_id(&self, role_id: &str) -> Result<RoleData> {
        self.read_one(
            "getRoleById",
            Self::id_param("roleId", role_id),
            Entity::Group,
            role_id,
        )
        .await
    }

    /// `access/getAllNonPrivateRolesByTenant`.
    pub async fn get_all_non_private_roles_by_tenant(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<RoleData>> {
        self.read(
            "getAllNonPrivateRolesByTenant",
            vec![Self::id_param("tenantId", tenant_id)],
        )
        .await
    }

    /// `access/getRolesByName`.
    pub async fn get_roles_by_name(&self, criteria: &SearchCriteria) -> Result<Vec<RoleData>> {
        let param = self.object_param("getRolesByName", "searchCriteria", "data", criteria)?;
        self.read("getRolesByName", vec![param]).await
    }

    // ---- users ----------------------------------------------------------------

    /// `access/getAllUsersByTenant`: the ids (and names) of the tenant's users.
    pub async fn get_all_users_by_tenant(&self, tenant_id: &str) -> Result<Vec<ItemId>> {
        self.read(
            "getAllUsersByTenant",
            vec![Self::id_param("tenantId", tenant_id)],
        )
        .await
    }

    /// `access/getAllUsersDataByTenantAndLicenceType`: full user objects of one
    /// license type.
    pub async fn get_all_users_data_by_tenant_and_licence_type(
        &self,
        query: &TenantUsersGetObject,
    ) -> Result<Vec<UserObject>> {
        let param = self.object_param(
            "getAllUsersDataByTenantAndLicenceType",
            "tenantUsersGetObject",
            "tenantUsersGetObject",
            query,
        )?;
        self.read("getAllUsersDataByTenantAndLicenceType", vec![param])
            .await
    }

    /// `access/getUser`.
    ///
    /// `{"data": null}` is [`Error::NotFound`]; a `success:false` answer stays
    /// [`Error::Vendor`].
    pub async fn get_user(&self, user_id: &str) -> Result<UserObject> {
        self.read_one(
            "getUser",
            Self::id_param("userId", user_id),
            Entity::User,
            user_id,
        )
        .await
    }

    /// `access/getUsersByName`.
    pub async fn get_users_by_name(&self, user_name: &str) -> Result<Vec<UserObject>> {
        self.read(
            "getUsersByName",
            vec![Self::id_param("userName", user_name)],
        )
        .await
    }

    /// `access/getAllRolesByUser`.
    pub async fn get_all_roles_by_user(&self, user_id: &str) -> Result<Vec<ItemId>> {
        self.read("getAllRolesByUser", vec![Self::id_param("userId", user_id)])
            .await
    }

    /// `access/getUsersByRole`.
    pub async fn get_users_by_role(&self, role_id: &str) -> Result<Vec<UserObject>> {
        self.read("getUsersByRole", vec![Self::id_param("roleId", role_id)])
            .await
    }

    /// `access/addUserToRole`.
    pub async fn add_user_to_role(&self, data: &AddUserRoleData) -> Result<()> {
        let param =
            self.object_param("addUserToRole", "addUserRoleData", "addUserRoleData", data)?;
        self.write_ok("addUserToRole", vec![param]).await.map(drop)
    }

    /// `access/addUsersToRole`: one result per user, in order (a partial success is
    /// attributed by the user ids the server lists).
    pub async fn add_users_to_role(&self, data: &AddUsersRoleData) -> Result<Vec<Result<()>>> {
        let param = self.object_param(
            "addUsersToRole",
            "addUsersRoleData",
            "addUsersRoleData",
            data,
        )?;
        let (response, mir) = self.write("addUsersToRole", vec![param]).await?;
        if mir.is_failure() && mir.modified_list.is_empty() {
            let e = mir_failure(&response, &mir).unwrap_or_else(|| vendor(&response, "failed"));
            return Ok(data.user_ids.iter().map(|_| Err(e.clone())).collect());
        }
        let ids: Vec<&str> = data.user_ids.iter().map(String::as_str).collect();
        Ok(attribute(&response, &mir, &ids)
            .into_iter()
            .map(|r| r.map(drop))
            .collect())
    }

    /// `access/updateUserRoles`: adds and removes roles of one user; returns the
    /// user's final role ids.
    pub async fn update_user_roles(&self, data: &UserRolesData) -> Result<Vec<ItemId>> {
        let param = self.object_param("updateUserRoles", "userRolesData", "userRolesData", data)?;
        self.read_write("updateUserRoles", vec![param]).await
    }

    /// `access/updateUserDb`: changes a database user; here mostly its private
    /// profile (see [`UpdateUserDb`]).
    pub async fn update_user_db(&self, data: &UpdateUserDb) -> Result<()> {
        let param = self.object_param("updateUserDb", "updateUserDb", "updateUserDb", data)?;
        self.write_ok("updateUserDb", vec![param]).await.map(drop)
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
