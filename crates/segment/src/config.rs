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

    /// Reads `SEGMENT_TOKEN` (required) and `SEGMENT_BASE_URL` (default
    /// [`US_BASE_URL`]; [`EU_BASE_URL`] for the EU workspace API) from the environment.
    /// Empty variables count as unset. A missing token gives [`Error::InvalidInput`]
    /// naming the variable, never a value.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// [`SegmentConfig::from_env`] over any lookup (for tests and config files).
    ///
    /// ```
    /// use grantbridge_segment::{EU_BASE_URL, SegmentConfig};
    ///
    /// let config = SegmentConfig::from_lookup(|name| match name {
    ///     "SEGMENT_TOKEN" => Some("sgp_example".to_owned()),
    ///     "SEGMENT_BASE_URL" => Some(EU_BASE_URL.to_owned()),
    ///     _ => None,
    /// })?;
    /// assert_eq!(config.base_url, EU_BASE_URL);
    /// let err = SegmentConfig::from_lookup(|_| None).expect_err("no token");
    /// assert!(err.to_string().contains("SEGMENT_TOKEN"));
    /// # Ok::<(), grantbridge_core::Error>(())
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let token = lookup("SEGMENT_TOKEN")
            .filter(|v| !v.is_empty())
            .map(Secret::new)
            .ok_or_else(|| Error::invalid("SEGMENT_TOKEN", "is not set (or empty)"))?;
        let base = lookup("SEGMENT_BASE_URL")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| US_BASE_URL.to_owned());
        Ok(Self::new(base.trim(), token))
    }

    /// Replaces the transport options; they must be built for `base_url` (start from
    /// [`SegmentConfig::default_options`] to keep Segment's defaults).
    pub fn with_options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
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

#[cfg(test)]
mod tests {
    use grantbridge_core::ErrorKind;

    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn from_lookup_reads_the_token_and_defaults_to_the_us_api() {
        let c = SegmentConfig::from_lookup(vars(&[("SEGMENT_TOKEN", "sgp_secret_123")]))
            .expect("config");
        assert_eq!(c.base_url, US_BASE_URL);
        assert_eq!(c.token.expose(), "sgp_secret_123");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("sgp_secret_123"), "{dbg}");
        // The options are built for the same base URL, with Segment's defaults.
        assert_eq!(
            format!("{:?}", c.options),
            format!("{:?}", SegmentConfig::default_options(US_BASE_URL))
        );
    }

    #[test]
    fn from_lookup_takes_the_base_url_trimmed_and_ignores_a_blank_one() {
        for (given, want) in [
            (EU_BASE_URL, EU_BASE_URL),
            (" https://eu1.api.segmentapis.com/ ", EU_BASE_URL),
            ("http://127.0.0.1:9999", "http://127.0.0.1:9999"),
            ("", US_BASE_URL),
            ("   ", US_BASE_URL),
        ] {
            let c = SegmentConfig::from_lookup(|k| match k {
                "SEGMENT_TOKEN" => Some("t".to_owned()),
                "SEGMENT_BASE_URL" => Some(given.to_owned()),
                _ => None,
            })
            .expect("config");
            assert_eq!(c.base_url, want, "{given:?}");
        }
    }

    #[test]
    fn a_missing_or_empty_token_is_a_typed_error_naming_the_variable() {
        for lookup in [
            vars(&[("SEGMENT_BASE_URL", EU_BASE_URL)]),
            vars(&[("SEGMENT_TOKEN", ""), ("SEGMENT_BASE_URL", EU_BASE_URL)]),
        ] {
            let err = SegmentConfig::from_lookup(lookup).expect_err("no token");
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains("SEGMENT_TOKEN"), "{err}");
        }
    }

    #[test]
    fn with_options_replaces_the_transport_options() {
        let options = SegmentConfig::default_options(EU_BASE_URL).user_agent("custom-agent/1");
        let c = SegmentConfig::eu(Secret::new("t")).with_options(options);
        assert!(format!("{:?}", c.options).contains("custom-agent/1"));
    }
}
