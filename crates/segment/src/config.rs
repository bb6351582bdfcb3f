//! [`SegmentConfig`]: how to reach a Segment workspace (base URL, token, transport
//! options), built by hand, for the US or EU API, or from the environment.

use std::fmt;

use grantbridge_core::http::{ClientOptions, RateLimit, RateLimitPolicy, Secret};
use grantbridge_core::{Error, Result};

use crate::client::SYSTEM;

/// The US (default) base URL.
pub const US_BASE_URL: &str = "https://api.segmentapis.com";
/// The EU base URL.
pub const EU_BASE_URL: &str = "https://eu1.api.segmentapis.com";
/// The endpoint class of every IAM mutation (documented at 60 requests per minute).
pub const IAM_MUTATION: &str = "iam-mutation";
/// The documented limit of IAM mutations per minute.
pub const IAM_MUTATIONS_PER_MINUTE: u32 = 60;

/// How to reach a Segment workspace: base URL, Public API token, transport options.
///
/// `Debug` never shows the token.
///
/// ```
/// use grantbridge_core::http::Secret;
/// use grantbridge_segment::{EU_BASE_URL, SegmentConfig};
///
/// let config = SegmentConfig::new(EU_BASE_URL, Secret::new("sgp_example"));
/// assert!(!format!("{config:?}").contains("sgp_example"));
/// ```
#[derive(Clone)]
pub struct SegmentConfig {
    /// Base URL without a trailing path: [`US_BASE_URL`], [`EU_BASE_URL`] or a
    /// sandbox's.
    pub base_url: String,
    /// The workspace's Public API token.
    pub token: Secret,
    /// Transport options; must be built for `base_url` (see
    /// [`SegmentConfig::default_options`]). The token is added when connecting.
    pub options: ClientOptions,
}

impl fmt::Debug for SegmentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentConfig")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .field("options", &self.options)
            .finish()
    }
}

impl SegmentConfig {
    /// A configuration with [`SegmentConfig::default_options`].
    pub fn new(base_url: impl Into<String>, token: Secret) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        let options = Self::default_options(&base_url);
        SegmentConfig {
            base_url,
            token,
            options,
        }
    }

    /// The US workspace API.
    pub fn us(token: Secret) -> Self {
        Self::new(US_BASE_URL, token)
    }

    /// The EU workspace API.
    pub fn eu(token: Secret) -> Self {
        Self::new(EU_BASE_URL, token)
    }

    /// From `SEGMENT_TOKEN` (required) and `SEGMENT_BASE_URL` (default
    /// [`US_BASE_URL`]).
    pub fn from_env() -> Result<Self> {
        let token = Secret::from_env("SEGMENT_TOKEN").ok_or_else(|| Error::Authentication {
            message: "SEGMENT_TOKEN is not set".to_owned(),
        })?;
        let base = std::env::var("SEGMENT_BASE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| US_BASE_URL.to_owned());
        Ok(Self::new(base.trim(), token))
    }

    /// The transport defaults for Segment at `base_url`: IAM mutations limited to 60
    /// per minute client-side, reads unlimited (the default limit is undocumented; the
    /// server's remaining-budget headers still slow the client down), the default
    /// retry policy honouring `Retry-After`, `msBeforeNext` and `X-RateLimit-Reset`.
    pub fn default_options(base_url: &str) -> ClientOptions {
        ClientOptions::new(SYSTEM, base_url.trim_end_matches('/'))
            .user_agent(concat!("grantbridge-segment/", env!("CARGO_PKG_VERSION")))
            .header("accept", "application/json")
            .rate_limits(RateLimitPolicy::default().class(
                IAM_MUTATION,
                RateLimit::per_minute(IAM_MUTATIONS_PER_MINUTE),
            ))
    }

    /// Replaces the IAM mutation limit (e.g. for a sandbox that allows more), keeping
    /// the other options.
    pub fn with_mutation_limit(mut self, limit: RateLimit) -> Self {
        self.options = self
            .options
            .rate_limits(RateLimitPolicy::default().class(IAM_MUTATION, limit));
        self
    }
}
