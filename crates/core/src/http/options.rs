//! Configuration of an [`HttpClient`](super::HttpClient).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use url::{Host, Url};

use super::request::{EndpointClass, HeaderSpec};
use super::secret::Secret;
use crate::{Error, Result};

/// When and how often to retry.
///
/// Delays are exponential with *full jitter* (a uniform draw in
/// `[0, min(max_delay, base_delay · 2^(retry-1))]`, which spreads a herd of clients
/// hit by the same outage), and never shorter than a `Retry-After` or reset hint
/// from the server.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; `1` disables retries.
    pub max_attempts: u32,
    /// The scale of the first retry's delay.
    pub base_delay: Duration,
    /// The cap on a computed delay (a server's hint may exceed it).
    pub max_delay: Duration,
    /// A server hint longer than this is not waited out: the request fails at once
    /// with [`Error::RateLimited`] carrying the hint, for the caller to schedule.
    pub max_retry_after: Duration,
    /// Statuses worth retrying (by default 429, 500, 502, 503, 504). `429` and `503`
    /// are retried for every method (the server refused the request before doing
    /// work); the others only for idempotent requests, since a 500 or a gateway
    /// error may come after the work was done.
    pub retry_statuses: Vec<u16>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(120),
            retry_statuses: vec![429, 500, 502, 503, 504],
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets [`RetryPolicy::max_attempts`] (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets [`RetryPolicy::base_delay`] and [`RetryPolicy::max_delay`].
    pub fn delays(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// Sets [`RetryPolicy::max_retry_after`].
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The jittered delay before retry number `retry` (1 for the first retry), drawn
    /// with `unit`, a uniform sample in `[0, 1)`.
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        ceiling.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// At most `requests` requests in any window of length `per`.
///
/// Enforced exactly as a sliding window: a token is spent when a request is sent and
/// comes back `per` later (a token bucket whose refill is tied to each token's use),
/// so a burst of up to `requests` goes at once and a fixed-window server limit of
/// the same size is never exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length.
    pub per: Duration,
}

impl RateLimit {
    /// `requests` per `per`.
    pub fn new(requests: u32, per: Duration) -> Self {
        RateLimit {
            requests: requests.max(1),
            per,
        }
    }

    /// `requests` per minute.
    pub fn per_minute(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(60))
    }

    /// `requests` per second.
    pub fn per_second(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(1))
    }
}

/// Client-side rate limits per endpoint class, and the cap on requests in flight.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimitPolicy {
    /// Limits by class; classes not listed use `default`.
    pub classes: BTreeMap<String, Vec<RateLimit>>,
    /// Limits for classes not listed (none: unlimited).
    pub default: Vec<RateLimit>,
    /// Requests in flight at once, over all classes and clones of the client.
    pub max_concurrency: usize,
    /// Whether the server's remaining-budget hints tighten the local limit.
    pub adaptive: bool,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        RateLimitPolicy {
            classes: BTreeMap::new(),
            default: Vec::new(),
            max_concurrency: 8,
            adaptive: true,
        }
    }
}

impl RateLimitPolicy {
    /// No client-side limits (the concurrency cap still applies).
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Adds a limit for `class` (several limits on one class all apply, e.g. Visier's
    /// 100 per minute *and* 6000 per hour).
    pub fn class(mut self, class: impl Into<EndpointClass>, limit: RateLimit) -> Self {
        self.classes.entry(class.into().0).or_default().push(limit);
        self
    }

    /// Adds a limit for every class without its own.
    pub fn default_limit(mut self, limit: RateLimit) -> Self {
        self.default.push(limit);
        self
    }

    /// Sets [`RateLimitPolicy::max_concurrency`] (at least 1).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n.max(1);
        self
    }

    /// Sets [`RateLimitPolicy::adaptive`].
    pub fn adaptive(mut self, adaptive: bool) -> Self {
        self.adaptive = adaptive;
        self
    }

    pub(crate) fn limits_for(&self, class: &str) -> &[RateLimit] {
        self.classes
            .get(class)
            .map_or(self.default.as_slice(), Vec::as_slice)
    }
}

/// Everything an [`HttpClient`](super::HttpClient) needs to know, builder style.
///
/// `Debug` leaves out header values (they may be credentials); secret headers are
/// shown as `[redacted]`.
///
/// ```
/// use std::time::Duration;
/// use grantbridge_core::http::{ClientOptions, RateLimit, RateLimitPolicy, RetryPolicy, Secret};
///
/// let options = ClientOptions::new("segment", "https://api.segmentapis.com")
///     .request_timeout(Duration::from_secs(30))
///     .retry(RetryPolicy::default().max_attempts(4))
///     .rate_limits(RateLimitPolicy::default().class("iam-mutation", RateLimit::per_minute(60)))
///     .secret_header("authorization", "Bearer ", Secret::new("sk-example"));
/// assert!(!format!("{options:?}").contains("sk-example"));
/// ```
#[derive(Clone)]
pub struct ClientOptions {
    pub(crate) system: String,
    pub(crate) base_url: String,
    pub(crate) allow_insecure_http: bool,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) user_agent: String,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limits: RateLimitPolicy,
    pub(crate) max_response_bytes: usize,
    pub(crate) headers: Vec<HeaderSpec>,
    pub(crate) proxy_from_env: bool,
    pub(crate) secrets: Vec<Secret>,
    pub(crate) renewable_unauthorized: bool,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|h| match h {
                HeaderSpec::Plain(name, _) => format!("{name}: …"),
                HeaderSpec::Secret(name, _, _) => format!("{name}: [redacted]"),
            })
            .collect();
        f.debug_struct("ClientOptions")
            .field("system", &self.system)
            .field("base_url", &redact_url(&self.base_url))
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("rate_limits", &self.rate_limits)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("headers", &headers)
            .field("proxy_from_env", &self.proxy_from_env)
            .field("secrets", &self.secrets.len())
            .field("renewable_unauthorized", &self.renewable_unauthorized)
            .finish()
    }
}

impl ClientOptions {
    /// Options for the system named `system` (used in errors and spans) at `base_url`.
    ///
    /// Defaults: connect timeout 10 s, request timeout 60 s, [`RetryPolicy::default`],
    /// no rate limits and 8 requests in flight, 32 MiB responses, proxy from the
    /// environment (`HTTPS_PROXY`, `NO_PROXY`, …) except for loopback base URLs.
    pub fn new(system: impl Into<String>, base_url: impl Into<String>) -> Self {
        ClientOptions {
            system: system.into(),
            base_url: base_url.into(),
            allow_insecure_http: false,
            connect_timeout: Some(Duration::from_secs(10)),
            request_timeout: Some(Duration::from_secs(60)),
            user_agent: concat!("grantbridge/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
            rate_limits: RateLimitPolicy::default(),
            max_response_bytes: 32 * 1024 * 1024,
            headers: Vec::new(),
            proxy_from_env: true,
            secrets: Vec::new(),
            renewable_unauthorized: false,
        }
    }

    /// Whether a 401 answer is left to the caller to renew its credential: when set,
    /// a final 401 becomes [`Error::Vendor`] with status 401 (code, message and request
    /// id scrubbed as usual) instead of [`Error::Authentication`], so a client that
    /// logs in again on a 401 can tell it from a 403; that client then reports a 401
    /// it cannot fix as [`Error::Authentication`] itself. Off by default.
    pub fn renewable_unauthorized(mut self, renewable: bool) -> Self {
        self.renewable_unauthorized = renewable;
        self
    }

    /// Allows a plain-`http` base URL on a non-loopback host. Credentials then travel
    /// in clear text: use it only on a trusted network.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Time allowed to establish a connection (`None`: no limit).
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// Time allowed for one attempt, from connecting to the last body byte
    /// (`None`: no limit).
    pub fn request_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.request_timeout = timeout.into();
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The client-side rate limits.
    pub fn rate_limits(mut self, limits: RateLimitPolicy) -> Self {
        self.rate_limits = limits;
        self
    }

    /// The largest response body read; a larger one fails with [`Error::Decode`].
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// A header sent with every request (validated when the client is built).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .push(HeaderSpec::Plain(name.into(), value.into()));
        self
    }

    /// A header carrying a secret (`prefix + secret`), sent with every request,
    /// marked sensitive and scrubbed from errors.
    pub fn secret_header(
        mut self,
        name: impl Into<String>,
        prefix: impl Into<String>,
        secret: Secret,
    ) -> Self {
        self.secrets.push(secret.clone());
        self.headers
            .push(HeaderSpec::Secret(name.into(), prefix.into(), secret));
        self
    }

    /// A secret to scrub from error excerpts and messages even though this client
    /// does not send it as a header (e.g. a password sent in a login body).
    pub fn secret(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Whether to use proxies from the environment (default true; never for a
    /// loopback base URL).
    pub fn proxy_from_env(mut self, enabled: bool) -> Self {
        self.proxy_from_env = enabled;
        self
    }

    /// The system name.
    pub fn system(&self) -> &str {
        &self.system
    }

    /// The parsed and checked base URL: `https`, or `http` on a loopback host
    /// (`localhost`, `127.0.0.0/8`, `::1`) or with
    /// [`ClientOptions::allow_insecure_http`]; no credentials, query or fragment.
    pub fn parsed_base_url(&self) -> Result<Url> {
        let what = "base URL";
        let url = Url::parse(&self.base_url)
            .map_err(|e| Error::invalid(what, format!("{e}: {:?}", redact_url(&self.base_url))))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid(
                what,
                "must not carry credentials; use a secret header",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::invalid(what, "must not have a query or fragment"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) || self.allow_insecure_http => {}
            "http" => {
                return Err(Error::invalid(
                    what,
                    format!(
                        "{url} is plain http on a non-loopback host; use https, or opt in with allow_insecure_http(true)"
                    ),
                ));
            }
            other => {
                return Err(Error::invalid(
                    what,
                    format!("scheme {other:?} is not http(s)"),
                ));
            }
        }
        Ok(url)
    }
}

/// Whether the URL's host is the local machine.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        // `::ffff:127.0.0.1` is the IPv4 loopback written as IPv6.
        Some(Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    }
}

/// A URL for `Debug`, with any userinfo removed.
fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            if !url.username().is_empty() || url.password().is_some() {
                // Both setters only fail for URLs that cannot have credentials.
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            url.set_query(None);
            url.to_string()
        }
        Err(_) => "<unparsable>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_https_unless_loopback() {
        let ok = |u: &str| ClientOptions::new("t", u).parsed_base_url().is_ok();
        assert!(ok("https://api.example.com"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(ok("http://127.3.4.5"));
        assert!(ok("http://[::1]:9000/api"));
        assert!(ok("http://[::ffff:127.0.0.1]:9000"));
        assert!(!ok("http://[::ffff:10.0.0.1]:9000"));
        assert!(ok("http://localhost:1"));
        assert!(!ok("http://api.example.com"));
        assert!(!ok("http://10.0.0.1"));
        assert!(!ok("http://localhost.example.com"));
        assert!(!ok("ftp://127.0.0.1"));
        assert!(!ok("https://user:pw@example.com"));
        assert!(!ok("https://example.com/?a=1"));
        assert!(!ok("not a url"));
        assert!(
            ClientOptions::new("t", "http://api.example.com")
                .allow_insecure_http(true)
                .parsed_base_url()
                .is_ok()
        );
        let err = ClientOptions::new("t", "https://u:hunter2@example.com")
            .parsed_base_url()
            .expect_err("credentials refused");
        assert!(!err.to_string().contains("hunter2"));
        let dbg = format!(
            "{:?}",
            ClientOptions::new("t", "https://u:hunter2@example.com")
        );
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }

    #[test]
    fn backoff_is_capped_full_jitter() {
        let p = RetryPolicy::default().delays(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(p.backoff(1, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(400));
        assert_eq!(p.backoff(10, 1.0), Duration::from_secs(1));
        assert_eq!(p.backoff(u32::MAX, 0.5), Duration::from_millis(500));
    }
}
