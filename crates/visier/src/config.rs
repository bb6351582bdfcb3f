//! [`VisierConfig`], everything needed to reach one Visier tenant, and how it is built:
//! from the environment, and Visier's transport defaults.

use std::time::Duration;

use grantbridge_core::http::{ClientOptions, RateLimit, RateLimitPolicy, RetryPolicy, Secret};
use grantbridge_core::{Error, Result, TenantCode};

use crate::auth::{AuthMethod, VisierCredentials};

/// The user agent grantbridge sends to Visier.
pub const USER_AGENT: &str = concat!("grantbridge-visier/", env!("CARGO_PKG_VERSION"));

/// Everything needed to reach one Visier tenant.
///
/// `options` carries the transport settings (timeouts, retries, client-side rate limits:
/// by default Visier's documented 100 calls per minute and 6000 per hour); it must have
/// been built for `base_url`, which [`VisierConfig::new`] does. `Debug` shows no secret.
#[derive(Clone, Debug)]
pub struct VisierConfig {
    /// `https://{vanity}.api.visier.io` (or a loopback sandbox).
    pub base_url: String,
    /// API key and login.
    pub credentials: VisierCredentials,
    /// The `TargetTenantID` sent on the operations that accept it; `None` runs calls in
    /// the administrating tenant.
    pub tenant: Option<TenantCode>,
    /// Transport settings for `base_url`.
    pub options: ClientOptions,
}

impl VisierConfig {
    /// A configuration with Visier's default transport settings.
    pub fn new(base_url: impl Into<String>, credentials: VisierCredentials) -> Self {
        let base_url = base_url.into();
        let options = default_options(&base_url);
        VisierConfig {
            base_url,
            credentials,
            tenant: None,
            options,
        }
    }

    /// Sets the `TargetTenantID`.
    pub fn with_tenant(mut self, tenant: Option<TenantCode>) -> Self {
        self.tenant = tenant;
        self
    }

    /// Replaces the transport settings; they must be built for `base_url` (start from
    /// [`VisierConfig::default_options`] to keep Visier's defaults).
    ///
    /// ```
    /// use grantbridge_core::http::{RetryPolicy, Secret};
    /// use grantbridge_visier::{VisierConfig, VisierCredentials};
    ///
    /// let base = "https://acme.api.visier.io";
    /// let credentials =
    ///     VisierCredentials::password(Secret::new("key"), "svc@acme.example", Secret::new("pw"));
    /// let config = VisierConfig::new(base, credentials)
    ///     .with_options(VisierConfig::default_options(base).retry(RetryPolicy::none()));
    /// # drop(config);
    /// ```
    pub fn with_options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// Visier's transport defaults for `base_url` (see [`default_options`]).
    pub fn default_options(base_url: &str) -> ClientOptions {
        default_options(base_url)
    }

    /// Reads `VISIER_BASE_URL`, `VISIER_API_KEY` and the login from the environment:
    ///
    /// * `VISIER_TOKEN`: a ready token. A JWT (`eyJ…` with two dots) is sent as a
    ///   bearer token, anything else as the ASID cookie;
    /// * else `VISIER_CLIENT_ID` + `VISIER_CLIENT_SECRET` + `VISIER_USERNAME` +
    ///   `VISIER_PASSWORD`: the OAuth 2.0 password grant;
    /// * else `VISIER_USERNAME` + `VISIER_PASSWORD`: an ASID token.
    ///
    /// `VISIER_TENANT` sets the `TargetTenantID`. Missing or invalid values give
    /// [`Error::InvalidInput`] naming the variable, never its value.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// [`VisierConfig::from_env`] over any lookup (for tests and config files).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let need =
            |name: &str| lookup(name).ok_or_else(|| Error::invalid(name, "is not set (or empty)"));
        let base_url = need("VISIER_BASE_URL")?;
        let api_key = Secret::new(need("VISIER_API_KEY")?);
        let method = if let Some(token) = lookup("VISIER_TOKEN") {
            if looks_like_jwt(&token) {
                AuthMethod::BearerToken(Secret::new(token))
            } else {
                AuthMethod::AsidToken(Secret::new(token))
            }
        } else {
            let username = need("VISIER_USERNAME")?;
            let password = Secret::new(need("VISIER_PASSWORD")?);
            match (lookup("VISIER_CLIENT_ID"), lookup("VISIER_CLIENT_SECRET")) {
                (Some(client_id), Some(secret)) => AuthMethod::OAuth2Password {
                    client_id,
                    client_secret: Secret::new(secret),
                    username,
                    password,
                    scope: None,
                },
                (Some(_), None) => {
                    return Err(Error::invalid(
                        "VISIER_CLIENT_SECRET",
                        "is not set but VISIER_CLIENT_ID is",
                    ));
                }
                _ => AuthMethod::Password {
                    username,
                    password,
                    vanity_name: None,
                },
            }
        };
        let tenant = lookup("VISIER_TENANT")
            .map(TenantCode::new)
            .transpose()
            .map_err(|_| Error::invalid("VISIER_TENANT", "is not a valid tenant code"))?;
        Ok(VisierConfig::new(base_url, VisierCredentials { api_key, method }).with_tenant(tenant))
    }
}

fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.matches('.').count() == 2
}

/// Visier's transport defaults for `base_url`: its documented rate limits (100 calls
/// per minute and 6000 per hour per API key), retries that include 500 for idempotent
/// requests, and grantbridge's user agent.
///
/// The budget is one per API key, so every Visier request (logins, reads and writes)
/// is sent in the transport's default endpoint class and counts against the same
/// windows; a class of its own would get a second budget of its own.
pub fn default_options(base_url: &str) -> ClientOptions {
    ClientOptions::new("visier", base_url)
        .user_agent(USER_AGENT)
        .retry(retry_policy())
        .rate_limits(
            RateLimitPolicy::default()
                .default_limit(RateLimit::per_minute(100))
                .default_limit(RateLimit::new(6000, Duration::from_secs(3600))),
        )
}

/// Visier's retry policy: the core default, whose statuses include 500, which
/// Visier lists among its transient answers; like 502 and 504 it is retried for
/// idempotent requests only. Kept as its own function so that Visier's policy can
/// diverge from the core default without touching callers.
pub fn retry_policy() -> RetryPolicy {
    RetryPolicy::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_configuration_and_redaction() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = VisierConfig::from_lookup(env(&[
            ("VISIER_BASE_URL", "https://acme.api.visier.io"),
            ("VISIER_API_KEY", "key-123456"),
            ("VISIER_USERNAME", "ana@example.com"),
            ("VISIER_PASSWORD", "hunter2-long"),
            ("VISIER_TENANT", "WFF_j1r~c7o"),
        ]))
        .expect("config");
        assert!(matches!(c.credentials.method, AuthMethod::Password { .. }));
        assert_eq!(c.tenant.as_ref().map(|t| t.as_str()), Some("WFF_j1r~c7o"));
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("hunter2") && !dbg.contains("key-123456"),
            "{dbg}"
        );

        let c = VisierConfig::from_lookup(env(&[
            ("VISIER_BASE_URL", "https://acme.api.visier.io"),
            ("VISIER_API_KEY", "k"),
            ("VISIER_USERNAME", "u"),
            ("VISIER_PASSWORD", "p"),
            ("VISIER_CLIENT_ID", "cid"),
            ("VISIER_CLIENT_SECRET", "cs"),
        ]))
        .expect("config");
        assert!(matches!(
            c.credentials.method,
            AuthMethod::OAuth2Password { .. }
        ));
        let c = VisierConfig::from_lookup(env(&[
            ("VISIER_BASE_URL", "https://acme.api.visier.io"),
            ("VISIER_API_KEY", "k"),
            ("VISIER_TOKEN", "eyJhbGciOi.eyJzdWIiOi.sig"),
        ]))
        .expect("config");
        assert!(matches!(c.credentials.method, AuthMethod::BearerToken(_)));
        let err = VisierConfig::from_lookup(env(&[("VISIER_BASE_URL", "https://x")]))
            .expect_err("no key");
        assert!(err.to_string().contains("VISIER_API_KEY"), "{err}");
        let err = VisierConfig::from_lookup(env(&[
            ("VISIER_BASE_URL", "https://x"),
            ("VISIER_API_KEY", "k"),
            ("VISIER_USERNAME", "u"),
            ("VISIER_PASSWORD", "p"),
            ("VISIER_CLIENT_ID", "cid"),
        ]))
        .expect_err("half an OAuth client");
        assert!(err.to_string().contains("VISIER_CLIENT_SECRET"), "{err}");
    }
}
