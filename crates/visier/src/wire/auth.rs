//! The OAuth 2.0 token reply (`POST /v1/auth/oauth2/token`).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// `TokenResponse` of `POST /v1/auth/oauth2/token`. `Debug` hides the tokens.
#[skip_serializing_none]
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuth2TokenResponse {
    /// The bearer token.
    pub access_token: Option<String>,
    /// The refresh token, if granted.
    pub refresh_token: Option<String>,
    /// The OpenID id token, if any.
    pub id_token: Option<String>,
    /// `Bearer`.
    pub token_type: Option<String>,
    /// Lifetime in seconds.
    pub expires_in: Option<i64>,
}

impl fmt::Debug for OAuth2TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |o: &Option<String>| o.as_ref().map(|_| "[redacted]");
        f.debug_struct("OAuth2TokenResponse")
            .field("access_token", &shown(&self.access_token))
            .field("refresh_token", &shown(&self.refresh_token))
            .field("id_token", &shown(&self.id_token))
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}
