//! Credentials and the token life cycle (docs/specs/visier.md §6); the configuration that carries them
//! is in [`crate::config`].
//!
//! Every request carries `apikey`; API calls also carry exactly one credential:
//! `Cookie: VisierASIDToken=<token>` (from `POST /v1/admin/visierSecureToken`, or
//! supplied by the caller) or `Authorization: Bearer <jwt>` (from the OAuth 2.0
//! password or refresh-token grant at `POST /v1/auth/oauth2/token`, or supplied).
//!
//! Tokens are fetched lazily, renewed shortly before they expire (ASID tokens are taken
//! to live [`ASID_LIFETIME`], as the official SDK assumes; OAuth tokens for their
//! `expires_in`), and renewed once when a call answers 401; a second 401 surfaces as
//! [`Error::Authentication`] carrying the vendor's message.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ::base64::Engine as _;
use grantbridge_core::http::{HttpClient, Request, Response, Secret};
use grantbridge_core::{Error, Result};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::wire::OAuth2TokenResponse;

pub use crate::config::{USER_AGENT, VisierConfig, default_options, retry_policy};

/// How long an ASID token is assumed to live (Visier does not say; the official SDK
/// uses 3600 s).
pub const ASID_LIFETIME: Duration = Duration::from_secs(3600);

/// Tokens are renewed this long before they expire.
pub const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// The ASID token endpoint.
pub const ASID_TOKEN_PATH: &str = "/v1/admin/visierSecureToken";

/// The OAuth 2.0 token endpoint.
pub const OAUTH2_TOKEN_PATH: &str = "/v1/auth/oauth2/token";

/// How the client proves who it is, besides the API key. `Debug` shows no secret.
#[derive(Clone, Debug)]
pub enum AuthMethod {
    /// Username and password exchanged for an ASID token (sent as the
    /// `VisierASIDToken` cookie).
    Password {
        /// The login name.
        username: String,
        /// The password.
        password: Secret,
        /// The tenant's vanity name, sent as `vanityName` when set.
        vanity_name: Option<String>,
    },
    /// The OAuth 2.0 password grant, renewed with the refresh token it returns.
    OAuth2Password {
        /// The OAuth client id.
        client_id: String,
        /// The OAuth client secret (sent by HTTP Basic, form-encoded first).
        client_secret: Secret,
        /// The login name.
        username: String,
        /// The password.
        password: Secret,
        /// The scope (`read`, `write`, …); `None` sends none (the server's default).
        scope: Option<String>,
    },
    /// The OAuth 2.0 refresh-token grant from a refresh token obtained elsewhere.
    OAuth2Refresh {
        /// The OAuth client id.
        client_id: String,
        /// The OAuth client secret.
        client_secret: Secret,
        /// The refresh token.
        refresh_token: Secret,
        /// The scope, if any.
        scope: Option<String>,
    },
    /// A ready ASID token (not renewable: a 401 surfaces at once).
    AsidToken(Secret),
    /// A ready bearer token (not renewable).
    BearerToken(Secret),
}

/// The API key plus one [`AuthMethod`].
#[derive(Clone, Debug)]
pub struct VisierCredentials {
    /// Sent as `apikey` on every request.
    pub api_key: Secret,
    /// How to obtain the per-call credential.
    pub method: AuthMethod,
}

impl VisierCredentials {
    /// API key + username/password → ASID token.
    pub fn password(
        api_key: impl Into<Secret>,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        VisierCredentials {
            api_key: api_key.into(),
            method: AuthMethod::Password {
                username: username.into(),
                password: password.into(),
                vanity_name: None,
            },
        }
    }

    /// API key + OAuth client + username/password → bearer token.
    pub fn oauth2_password(
        api_key: impl Into<Secret>,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        VisierCredentials {
            api_key: api_key.into(),
            method: AuthMethod::OAuth2Password {
                client_id: client_id.into(),
                client_secret: client_secret.into(),
                username: username.into(),
                password: password.into(),
                scope: None,
            },
        }
    }

    /// API key + a ready ASID token.
    pub fn asid_token(api_key: impl Into<Secret>, token: impl Into<Secret>) -> Self {
        VisierCredentials {
            api_key: api_key.into(),
            method: AuthMethod::AsidToken(token.into()),
        }
    }

    /// API key + a ready bearer token.
    pub fn bearer_token(api_key: impl Into<Secret>, token: impl Into<Secret>) -> Self {
        VisierCredentials {
            api_key: api_key.into(),
            method: AuthMethod::BearerToken(token.into()),
        }
    }
}

/// The credential one call carries.
#[derive(Clone)]
pub(crate) enum Credential {
    Asid(Secret),
    Bearer(Secret),
}

impl Credential {
    pub(crate) fn apply(&self, request: Request) -> Request {
        match self {
            Credential::Asid(t) => request.secret_header("cookie", "VisierASIDToken=", t),
            Credential::Bearer(t) => request.secret_header("authorization", "Bearer ", t),
        }
    }
}

struct Token {
    credential: Credential,
    /// When to renew (expiry minus the margin); `None`: never.
    renew_at: Option<Instant>,
    refresh_token: Option<Secret>,
    generation: u64,
}

/// Holds the current token and renews it; shared by a client's clones.
pub(crate) struct Authenticator {
    method: AuthMethod,
    current: Mutex<Option<Token>>,
    generation: AtomicU64,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub(crate) fn new(method: AuthMethod) -> Self {
        Authenticator {
            method,
            current: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// The credential for the next call and its generation, logging in or renewing
    /// first if needed.
    pub(crate) async fn credential(&self, http: &HttpClient) -> Result<(Credential, u64)> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref()
            && token.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok((token.credential.clone(), token.generation));
        }
        let refresh = current.as_ref().and_then(|t| t.refresh_token.clone());
        let token = self.obtain(http, refresh).await?;
        let out = (token.credential.clone(), token.generation);
        *current = Some(token);
        Ok(out)
    }

    /// After a 401 on a call made with generation `failed`: a new credential, or `None`
    /// when the credential cannot be renewed (a caller-supplied token).
    pub(crate) async fn renew(
        &self,
        http: &HttpClient,
        failed: u64,
    ) -> Result<Option<(Credential, u64)>> {
        if matches!(
            self.method,
            AuthMethod::AsidToken(_) | AuthMethod::BearerToken(_)
        ) {
            return Ok(None);
        }
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref()
            && token.generation != failed
        {
            // Another call already renewed it.
            return Ok(Some((token.credential.clone(), token.generation)));
        }
        let refresh = current.as_ref().and_then(|t| t.refresh_token.clone());
        let token = self.obtain(http, refresh).await?;
        let out = (token.credential.clone(), token.generation);
        *current = Some(token);
        Ok(Some(out))
    }

    async fn obtain(&self, http: &HttpClient, refresh: Option<Secret>) -> Result<Token> {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let now = Instant::now();
        let renew_at = |lifetime: Duration| Some(now + lifetime.saturating_sub(RENEW_MARGIN));
        match &self.method {
            AuthMethod::AsidToken(t) => Ok(Token {
                credential: Credential::Asid(t.clone()),
                renew_at: None,
                refresh_token: None,
                generation,
            }),
            AuthMethod::BearerToken(t) => Ok(Token {
                credential: Credential::Bearer(t.clone()),
                renew_at: None,
                refresh_token: None,
                generation,
            }),
            AuthMethod::Password {
                username,
                password,
                vanity_name,
            } => {
                let token = asid_token(http, username, password, vanity_name.as_deref()).await?;
                Ok(Token {
                    credential: Credential::Asid(token),
                    renew_at: renew_at(ASID_LIFETIME),
                    refresh_token: None,
                    generation,
                })
            }
            AuthMethod::OAuth2Password {
                client_id,
                client_secret,
                username,
                password,
                scope,
            } => {
                let client = OAuthClient {
                    id: client_id,
                    secret: client_secret,
                    scope: scope.as_deref(),
                };
                let reply = match refresh {
                    Some(rt) => match oauth2_token(http, &client, Grant::Refresh(&rt)).await {
                        Ok(reply) => reply,
                        // An expired or revoked refresh token: log in again.
                        Err(e) if !e.is_retryable() => {
                            tracing::debug!(error = %e, "refresh grant refused; using the password grant");
                            oauth2_token(http, &client, Grant::Password { username, password })
                                .await?
                        }
                        Err(e) => return Err(e),
                    },
                    None => {
                        oauth2_token(http, &client, Grant::Password { username, password }).await?
                    }
                };
                Ok(bearer_token(reply, generation, now))
            }
            AuthMethod::OAuth2Refresh {
                client_id,
                client_secret,
                refresh_token,
                scope,
            } => {
                let client = OAuthClient {
                    id: client_id,
                    secret: client_secret,
                    scope: scope.as_deref(),
                };
                let rt = refresh.unwrap_or_else(|| refresh_token.clone());
                let reply = oauth2_token(http, &client, Grant::Refresh(&rt)).await?;
                Ok(bearer_token(reply, generation, now))
            }
        }
    }
}

fn bearer_token(reply: OAuthReply, generation: u64, now: Instant) -> Token {
    let lifetime = Duration::from_secs(reply.expires_in);
    Token {
        credential: Credential::Bearer(reply.access_token),
        renew_at: Some(now + lifetime.saturating_sub(RENEW_MARGIN)),
        refresh_token: reply.refresh_token,
        generation,
    }
}

/// An OAuth client's identity.
pub(crate) struct OAuthClient<'a> {
    pub(crate) id: &'a str,
    pub(crate) secret: &'a Secret,
    pub(crate) scope: Option<&'a str>,
}

/// An OAuth grant.
pub(crate) enum Grant<'a> {
    Password {
        username: &'a str,
        password: &'a Secret,
    },
    Refresh(&'a Secret),
}

/// A checked token reply.
pub(crate) struct OAuthReply {
    pub(crate) access_token: Secret,
    pub(crate) refresh_token: Option<Secret>,
    pub(crate) expires_in: u64,
}

/// `POST /v1/admin/visierSecureToken` (form `username`, `password`[, `vanityName`]) →
/// the token as `text/plain`.
pub(crate) async fn asid_token(
    http: &HttpClient,
    username: &str,
    password: &Secret,
    vanity_name: Option<&str>,
) -> Result<Secret> {
    http.register_secret(password);
    let mut form: Vec<(&str, &str)> = vec![("username", username), ("password", password.expose())];
    if let Some(v) = vanity_name {
        form.push(("vanityName", v));
    }
    let request = Request::post(ASID_TOKEN_PATH)
        .header("accept", "application/json")
        .form(form);
    let response = http.send(request).await.map_err(login_error)?;
    let token = response.text()?.trim().to_owned();
    if token.is_empty() || token.chars().any(|c| c.is_control() || c == ';') {
        return Err(Error::Authentication {
            message: "the ASID token endpoint answered without a usable token".to_owned(),
        });
    }
    let token = Secret::new(token);
    http.register_secret(&token);
    Ok(token)
}

/// `POST /v1/auth/oauth2/token` with client authentication by HTTP Basic (id and
/// secret form-encoded first, RFC 6749 §2.3.1, as the official SDK does).
pub(crate) async fn oauth2_token(
    http: &HttpClient,
    client: &OAuthClient<'_>,
    grant: Grant<'_>,
) -> Result<OAuthReply> {
    http.register_secret(client.secret);
    let mut form: Vec<(&str, &str)> = Vec::new();
    match &grant {
        Grant::Password { username, password } => {
            http.register_secret(password);
            form.push(("grant_type", "password"));
            form.push(("client_id", client.id));
            if let Some(scope) = client.scope {
                form.push(("scope", scope));
            }
            form.push(("username", username));
            form.push(("password", password.expose()));
        }
        Grant::Refresh(rt) => {
            http.register_secret(rt);
            form.push(("grant_type", "refresh_token"));
            form.push(("client_id", client.id));
            if let Some(scope) = client.scope {
                form.push(("scope", scope));
            }
            form.push(("refresh_token", rt.expose()));
        }
    }
    let basic = Secret::new(base64(
        format!(
            "{}:{}",
            form_encode(client.id),
            form_encode(client.secret.expose())
        )
        .as_bytes(),
    ));
    let request = Request::post(OAUTH2_TOKEN_PATH)
        .header("accept", "application/json")
        .secret_header("authorization", "Basic ", &basic)
        .form(form);
    let response = http.send(request).await.map_err(login_error)?;
    token_reply(&response, http)
}

fn token_reply(response: &Response, http: &HttpClient) -> Result<OAuthReply> {
    let reply: OAuth2TokenResponse = response.json()?;
    let access = reply
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| response.decode_error("token response without access_token"))?;
    let access_token = Secret::new(access);
    http.register_secret(&access_token);
    let refresh_token = reply
        .refresh_token
        .filter(|t| !t.is_empty())
        .map(Secret::new);
    if let Some(rt) = &refresh_token {
        http.register_secret(rt);
    }
    Ok(OAuthReply {
        access_token,
        refresh_token,
        expires_in: reply
            .expires_in
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(ASID_LIFETIME.as_secs()),
    })
}

/// A refused login is an authentication failure, whatever status carried it.
fn login_error(e: Error) -> Error {
    match e {
        Error::Vendor {
            status: 400 | 401 | 403,
            code,
            message,
            ..
        } => Error::Authentication {
            message: match code {
                Some(c) => format!("login refused ({c}): {message}"),
                None => format!("login refused: {message}"),
            },
        },
        other => other,
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Standard base64 with padding (RFC 4648 §4), for HTTP Basic.
pub(crate) fn base64(input: &[u8]) -> String {
    ::base64::engine::general_purpose::STANDARD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
        // The official SDK's Basic header for client `probe-client`, secret `s3cr/et+x`.
        let basic = base64(format!("probe-client:{}", form_encode("s3cr/et+x")).as_bytes());
        assert_eq!(basic, "cHJvYmUtY2xpZW50OnMzY3IlMkZldCUyQng=");
    }
}
