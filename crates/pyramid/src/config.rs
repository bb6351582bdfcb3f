//! [`PyramidConfig`], everything needed to connect to a Pyramid server, and the
//! options it carries: wrapper keys of object parameters and the permission form.

use std::collections::BTreeMap;
use std::fmt;

use grantbridge_core::http::{ClientOptions, Secret};
use grantbridge_core::{Error, Result};

use crate::client::SYSTEM;
use crate::wire::PermissionRules;

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
    pub(crate) fn key(
        &self,
        method: &str,
        documented: &'static str,
        observed: &'static str,
    ) -> &'static str {
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
            options: Self::default_options(&base_url),
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

    /// Replaces the transport options; they must be built for `base_url` (start from
    /// [`PyramidConfig::default_options`] to keep the defaults).
    pub fn with_options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// The transport defaults for Pyramid at `base_url`: the core defaults (Pyramid
    /// publishes no rate limits).
    pub fn default_options(base_url: &str) -> ClientOptions {
        ClientOptions::new(SYSTEM, base_url)
    }

    /// Sets the tenant.
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }
}
