//! The per-vendor hooks (rate-limit hints, error bodies), the one mapping of error
//! responses to [`Error`]s, and the generic pieces vendors build their hooks from.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;

use super::response::Response;
use super::secret::truncate_on_char;
use crate::Error;

/// What a response says about the server's rate limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimitHints {
    /// Wait at least this long before the next request (`Retry-After`, Segment's
    /// `msBeforeNext`).
    pub retry_after: Option<Duration>,
    /// Requests left in the server's current window.
    pub remaining: Option<u64>,
    /// Time until the server's window resets (Segment's `X-RateLimit-Reset`).
    pub reset_after: Option<Duration>,
}

impl RateLimitHints {
    /// Only the standard `Retry-After` header (seconds or HTTP date).
    pub fn from_retry_after(headers: &HeaderMap) -> Self {
        RateLimitHints {
            retry_after: retry_after(headers, SystemTime::now()),
            ..Self::default()
        }
    }
}

/// What a vendor's error body says, as the vendor wrote it.
///
/// A hook returns the fields raw: the client scrubs secrets from all three and
/// truncates them in one place ([`map_error`]) before they reach an [`Error`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VendorError {
    /// The vendor's error code (`USER_INPUT_ERROR`, `input-validation`, …), if any.
    pub code: Option<String>,
    /// The vendor's message.
    pub message: String,
    /// The vendor's request id from the body (Visier's `rci`); when `None`, the
    /// usual headers are read ([`request_id`]).
    pub request_id: Option<String>,
}

impl VendorError {
    /// An error body with `message` only.
    pub fn new(message: impl Into<String>) -> Self {
        VendorError {
            message: message.into(),
            ..Self::default()
        }
    }

    /// Sets [`VendorError::code`].
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets [`VendorError::request_id`].
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}

/// What an adapter plugs into the shared client for its vendor: where its rate-limit
/// hints are and how to read its error bodies. How a status becomes an [`Error`] is
/// the client's decision, the same for every vendor ([`map_error`]).
///
/// Both methods have defaults: [`RateLimitHints::from_retry_after`], and no parser of
/// its own (the generic reading of [`default_error`] applies). An adapter overrides
/// them to read its vendor's reset headers or error envelope.
///
/// ```
/// use grantbridge_core::http::{RateLimitHints, Response, VendorError, VendorHooks};
///
/// /// A vendor answering `{"fault":{"id":…,"text":…}}` with `X-Budget-Left`.
/// #[derive(Debug)]
/// struct AcmeHooks;
///
/// impl VendorHooks for AcmeHooks {
///     fn rate_limit_hints(&self, response: &Response) -> RateLimitHints {
///         RateLimitHints {
///             remaining: response.header("x-budget-left").and_then(|v| v.parse().ok()),
///             ..RateLimitHints::from_retry_after(response.headers())
///         }
///     }
///     fn parse_error(&self, response: &Response) -> Option<VendorError> {
///         let body: serde_json::Value = serde_json::from_slice(response.body()).ok()?;
///         let fault = body.get("fault")?;
///         let mut error = VendorError::new(fault.get("text")?.as_str()?);
///         if let Some(id) = fault.get("id").and_then(|v| v.as_str()) {
///             error = error.with_code(id);
///         }
///         Some(error)
///     }
/// }
/// ```
pub trait VendorHooks: Send + Sync + std::fmt::Debug + 'static {
    /// Reads rate-limit hints from any response, success or not. The client feeds
    /// them to its limiter and honours `retry_after` when it retries.
    fn rate_limit_hints(&self, response: &Response) -> RateLimitHints {
        RateLimitHints::from_retry_after(response.headers())
    }

    /// Reads the vendor's error body of a non-success response: code, message and
    /// request id, raw. `None` (the default) when the body is not the vendor's
    /// envelope: the client then reads it the generic way ([`default_error`]).
    fn parse_error(&self, response: &Response) -> Option<VendorError> {
        let _ = response;
        None
    }
}

/// The hooks every vendor gets unless it brings its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultHooks;

impl VendorHooks for DefaultHooks {}

/// The most bytes of a vendor's message kept in an [`Error`].
pub const MAX_MESSAGE_BYTES: usize = 500;
/// The most bytes of a vendor's error code or request id kept in an [`Error`].
pub const MAX_CODE_BYTES: usize = 100;

/// Whether a 401 stays a vendor error for the caller to renew its credential (see
/// [`ClientOptions::renewable_unauthorized`](super::ClientOptions::renewable_unauthorized)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unauthorized {
    /// 401 → [`Error::Authentication`], like 403.
    #[default]
    Authentication,
    /// 401 → [`Error::Vendor`] with status 401.
    Renewable,
}

/// The one mapping of a non-success response to an [`Error`], for every vendor:
///
/// * 429 → [`Error::RateLimited`] with the hint's `retry_after`;
/// * 401 and 403 → [`Error::Authentication`], `HTTP {status} {code}: {message}` (the
///   code left out when absent or equal to the message); a 401 → [`Error::Vendor`]
///   instead when `unauthorized` is [`Unauthorized::Renewable`];
/// * anything else → [`Error::Vendor`] with the status, code, message and request id.
///
/// Code, message and request id come from `parsed` (the vendor's hook), else from
/// the generic reading of [`default_error`]; a request id not in the body comes from
/// the usual headers ([`request_id`]). All three are scrubbed of secrets
/// ([`Response::scrub`]) and truncated ([`MAX_MESSAGE_BYTES`], [`MAX_CODE_BYTES`]).
pub fn map_error(
    response: &Response,
    hints: &RateLimitHints,
    parsed: Option<VendorError>,
    unauthorized: Unauthorized,
) -> Error {
    let status = response.status().as_u16();
    if status == 429 {
        return Error::RateLimited {
            retry_after: hints.retry_after,
        };
    }
    let VendorError {
        code,
        message,
        request_id: body_request_id,
    } = parsed.unwrap_or_else(|| generic_error_body(response));
    let message = truncate_on_char(&response.scrub(&message), MAX_MESSAGE_BYTES);
    let code = code
        .map(|c| truncate_on_char(&response.scrub(&c), MAX_CODE_BYTES))
        .filter(|c| !c.is_empty());
    // Servers echo odd things into "ids"; it is text like any other.
    let request_id = body_request_id
        .or_else(|| request_id(response.headers()))
        .map(|id| truncate_on_char(&response.scrub(&id), MAX_CODE_BYTES));
    match (status, unauthorized) {
        (401, Unauthorized::Authentication) | (403, _) => Error::Authentication {
            message: format!(
                "HTTP {status}{}: {message}",
                code.filter(|c| *c != message)
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            ),
        },
        _ => Error::Vendor {
            system: response.system().to_owned(),
            status,
            code,
            message,
            request_id,
        },
    }
}

/// The mapping of a non-success response for a vendor without an error parser:
/// [`map_error`] over the generic reading of the body:
///
/// * a JSON body → the message and code found in the usual places (`message`,
///   `error.message`, `errors[0].message`, `localizedMessage`, `errorMessage`,
///   `detail`, `title`; `code`, `errorCode`, `errors[0].type`: see [`error_fields`]);
/// * anything else (an HTML error page from a proxy, an empty body) → the status, its
///   reason and the page title if any — a 502, 503 or 504 page is therefore
///   retryable like any other.
///
/// The request id comes from `x-request-id`, `request-id`, `x-correlation-id` or
/// `x-amzn-requestid`.
pub fn default_error(response: &Response, hints: &RateLimitHints) -> Error {
    map_error(response, hints, None, Unauthorized::Authentication)
}

/// The generic reading of an error body: JSON fields, else a description of the page.
fn generic_error_body(response: &Response) -> VendorError {
    let (code, message) = if response.is_json() || looks_like_json(response.body()) {
        match serde_json::from_slice::<Value>(response.body()) {
            Ok(v) => error_fields(&v),
            Err(_) => (None, None),
        }
    } else {
        (None, None)
    };
    VendorError {
        code,
        message: message.unwrap_or_else(|| describe_non_json(response)),
        request_id: None,
    }
}

fn looks_like_json(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[')
}

/// The code and message of a JSON error body, from the places vendors put them.
pub fn error_fields(body: &Value) -> (Option<String>, Option<String>) {
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let roots = [
        Some(body),
        body.get("error"),
        body.get("errors").and_then(|e| e.get(0)),
        body.get("data"),
    ];
    let mut code = None;
    let mut message = None;
    for root in roots.into_iter().flatten() {
        if message.is_none() {
            message = [
                "localizedMessage",
                "message",
                "errorMessage",
                "detail",
                "title",
                "error_description",
            ]
            .iter()
            .find_map(|k| text(root.get(*k)));
            if message.is_none() && root.is_string() {
                message = text(Some(root));
            }
        }
        if code.is_none() {
            code = ["code", "errorCode", "type", "error"]
                .iter()
                .find_map(|k| text(root.get(*k)));
        }
    }
    (code, message)
}

fn describe_non_json(response: &Response) -> String {
    let status = response.status();
    let reason = status.canonical_reason().unwrap_or("unknown status");
    let kind = match response.content_type() {
        Some(ct) => truncate_on_char(ct.split(';').next().unwrap_or(ct).trim(), 60),
        None if response.body().is_empty() => "empty body".to_owned(),
        None => "no content type".to_owned(),
    };
    let title = html_title(response.body())
        .map(|t| format!(": {:?}", truncate_on_char(&response.scrub(&t), 120)))
        .unwrap_or_default();
    format!(
        "{} {reason} (non-JSON response, {kind}){title}",
        status.as_u16()
    )
}

/// The text of an HTML page's `<title>`, whitespace collapsed.
fn html_title(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(8192)]);
    let lower = head.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let title: Vec<&str> = head[open_end..close].split_whitespace().collect();
    (!title.is_empty()).then(|| title.join(" "))
}

/// The vendor's request id from the usual headers.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    [
        "x-request-id",
        "request-id",
        "x-correlation-id",
        "x-amzn-requestid",
        "x-amz-request-id",
    ]
    .iter()
    .find_map(|h| headers.get(*h)?.to_str().ok())
    .map(|s| truncate_on_char(s, 100))
}

/// `Retry-After` as a duration from `now`: delta seconds, or an HTTP date (a date
/// in the past gives zero). `None` when absent or malformed.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    until_http_date(value, now)
}

/// The time from `now` until the HTTP date `value` (IMF-fixdate, RFC 850 or asctime;
/// surrounding whitespace ignored): zero for a date in the past, `None` when
/// malformed. For vendors whose reset headers are dates.
pub fn until_http_date(value: &str, now: SystemTime) -> Option<Duration> {
    let at = httpdate::parse_http_date(value.trim()).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An integer header (surrounding whitespace ignored); `None` when absent or not a
/// non-negative integer. For vendors' remaining-budget headers.
pub fn int_header(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("valid"));
        }
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let date = httpdate::fmt_http_date(now + Duration::from_secs(42));
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(42))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn error_fields_from_common_envelopes() {
        let f = |s: &str| error_fields(&serde_json::from_str(s).expect("json"));
        assert_eq!(
            f(r#"{"message":"m","code":"C"}"#),
            (Some("C".into()), Some("m".into()))
        );
        assert_eq!(
            f(r#"{"errors":[{"type":"input-validation","message":"bad"}]}"#),
            (Some("input-validation".into()), Some("bad".into()))
        );
        assert_eq!(
            f(r#"{"localizedMessage":"lm","code":"USER_INPUT_ERROR","rci":"R"}"#),
            (Some("USER_INPUT_ERROR".into()), Some("lm".into()))
        );
        assert_eq!(
            f(r#"{"data":{"success":false,"errorMessage":"x"}}"#),
            (None, Some("x".into()))
        );
        assert_eq!(
            f(r#"{"error":"invalid_grant"}"#),
            (Some("invalid_grant".into()), Some("invalid_grant".into()))
        );
    }

    #[test]
    fn html_titles() {
        assert_eq!(
            html_title(b"<html><head><TITLE>502 Bad\n Gateway</TITLE></head>").as_deref(),
            Some("502 Bad Gateway")
        );
        assert_eq!(html_title(b"<html>"), None);
    }
}
