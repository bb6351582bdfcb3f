//! The per-vendor hooks: reading rate-limit hints and turning error responses into
//! [`Error`]s, with ready-made pieces for the vendors' conventions.

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

/// What an adapter plugs into the shared client for its vendor.
///
/// Both methods have defaults: [`RateLimitHints::from_retry_after`] and
/// [`default_error`]. An adapter overrides them to read its vendor's reset headers
/// (see [`segment_hints`], [`visier_hints`]) or error envelope, falling back to the
/// defaults for the rest.
///
/// ```
/// use grantbridge_core::Error;
/// use grantbridge_core::http::{RateLimitHints, Response, VendorHooks, default_error, segment_hints};
///
/// #[derive(Debug)]
/// struct SegmentHooks;
///
/// impl VendorHooks for SegmentHooks {
///     fn rate_limit_hints(&self, response: &Response) -> RateLimitHints {
///         segment_hints(response)
///     }
///     fn map_error(&self, response: &Response, hints: &RateLimitHints) -> Error {
///         default_error(response, hints)
///     }
/// }
/// ```
pub trait VendorHooks: Send + Sync + std::fmt::Debug + 'static {
    /// Reads rate-limit hints from any response, success or not. The client feeds
    /// them to its limiter and honours `retry_after` when it retries.
    fn rate_limit_hints(&self, response: &Response) -> RateLimitHints {
        RateLimitHints::from_retry_after(response.headers())
    }

    /// Turns a non-success response (after retries, if any) into an error. Anything
    /// taken from the body must go through [`Response::scrub`].
    fn map_error(&self, response: &Response, hints: &RateLimitHints) -> Error {
        default_error(response, hints)
    }
}

/// The hooks every vendor gets unless it brings its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultHooks;

impl VendorHooks for DefaultHooks {}

/// The default mapping of a non-success response:
///
/// * 401 and 403 → [`Error::Authentication`];
/// * 429 → [`Error::RateLimited`] with the hint's `retry_after`;
/// * a JSON body → [`Error::Vendor`] with the message and code found in the usual
///   places (`message`, `error.message`, `errors[0].message`, `localizedMessage`,
///   `errorMessage`, `detail`, `title`; `code`, `errorCode`, `errors[0].type`);
/// * anything else (an HTML error page from a proxy, an empty body) →
///   [`Error::Vendor`] with the status, its reason and the page title if any — a 502,
///   503 or 504 page is therefore retryable like any other.
///
/// The request id comes from `x-request-id`, `request-id`, `x-correlation-id` or
/// `x-amzn-requestid`. Messages are scrubbed and truncated.
pub fn default_error(response: &Response, hints: &RateLimitHints) -> Error {
    let status = response.status().as_u16();
    let (code, message) = if response.is_json() || looks_like_json(response.body()) {
        match serde_json::from_slice::<Value>(response.body()) {
            Ok(v) => error_fields(&v),
            Err(_) => (None, None),
        }
    } else {
        (None, None)
    };
    let message = match message {
        Some(m) => truncate_on_char(&response.scrub(&m), 300),
        None => describe_non_json(response),
    };
    match status {
        401 | 403 => Error::Authentication {
            message: format!("HTTP {status}: {message}"),
        },
        429 => Error::RateLimited {
            retry_after: hints.retry_after,
        },
        _ => Error::Vendor {
            system: response.system().to_owned(),
            status,
            code: code.map(|c| truncate_on_char(&response.scrub(&c), 100)),
            message,
            // Servers echo odd things into "ids"; it is header text like any other.
            request_id: request_id(response.headers()).map(|id| response.scrub(&id)),
        },
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
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An integer header.
fn int_header(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Segment's hints: `Retry-After` (whole seconds), `X-RateLimit-Remaining`,
/// `X-RateLimit-Reset` (an HTTP date: when the next window starts) and, on a 429,
/// the body's `msBeforeNext` (`{"errors":[{"data":{"msBeforeNext":57647,…}}]}`).
///
/// On a 429 the wait is `Retry-After` if sent (Segment: "prefer this"), else
/// `msBeforeNext`, else the time to the reset date.
pub fn segment_hints(response: &Response) -> RateLimitHints {
    segment_hints_at(
        response.headers(),
        response.body(),
        response.status().as_u16(),
        SystemTime::now(),
    )
}

/// [`segment_hints`] on raw parts, at a given wall-clock `now` (for tests).
pub fn segment_hints_at(
    headers: &HeaderMap,
    body: &[u8],
    status: u16,
    now: SystemTime,
) -> RateLimitHints {
    let reset_after = headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v.trim()).ok())
        .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO));
    let ms_before_next = if status == 429 {
        serde_json::from_slice::<Value>(body).ok().and_then(|v| {
            let data = v
                .get("errors")
                .and_then(|e| e.get(0))
                .and_then(|e| e.get("data"))
                .or_else(|| v.get("data"))?;
            data.get("msBeforeNext")?
                .as_u64()
                .map(Duration::from_millis)
        })
    } else {
        None
    };
    let retry_after = retry_after(headers, now)
        .or(ms_before_next)
        .or(if status == 429 { reset_after } else { None });
    RateLimitHints {
        retry_after,
        remaining: int_header(headers, "x-ratelimit-remaining"),
        reset_after,
    }
}

/// Visier's hints: `X-RateLimit-Remaining-Minute` and `-Hour` (the smaller is the
/// remaining budget), plus `Retry-After` if the server sends one (not documented).
///
/// Visier gives no reset time, only which window binds: the budget is taken to hold
/// for at most that window (a minute, or an hour when the hourly budget is the
/// smaller), so an exhausted hourly budget is not retried every minute.
pub fn visier_hints(headers: &HeaderMap) -> RateLimitHints {
    let minute = int_header(headers, "x-ratelimit-remaining-minute");
    let hour = int_header(headers, "x-ratelimit-remaining-hour");
    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);
    let (remaining, reset_after) = match (minute, hour) {
        (Some(m), Some(h)) if h < m => (Some(h), Some(HOUR)),
        (Some(m), _) => (Some(m), Some(MINUTE)),
        (None, Some(h)) => (Some(h), Some(HOUR)),
        (None, None) => (None, None),
    };
    RateLimitHints {
        retry_after: retry_after(headers, SystemTime::now()),
        remaining,
        reset_after,
    }
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
    fn segment_and_visier_hints() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let reset = httpdate::fmt_http_date(now + Duration::from_secs(30));
        let body = br#"{"errors":[{"type":"RequestError","message":"Too many requests","data":{"remainingPoints":0,"msBeforeNext":57647,"consumedPoints":21}}]}"#;
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ]);
        let hints = segment_hints_at(&h, body, 429, now);
        assert_eq!(hints.retry_after, Some(Duration::from_millis(57647)));
        assert_eq!(hints.remaining, Some(0));
        assert_eq!(hints.reset_after, Some(Duration::from_secs(30)));
        let hints = segment_hints_at(&h, b"", 429, now);
        assert_eq!(hints.retry_after, Some(Duration::from_secs(30)));
        let ok = segment_hints_at(&h, body, 200, now);
        assert_eq!(ok.retry_after, None);
        let v = visier_hints(&headers(&[
            ("x-ratelimit-remaining-minute", "12"),
            ("x-ratelimit-remaining-hour", "5000"),
        ]));
        assert_eq!(v.remaining, Some(12));
        assert_eq!(v.reset_after, Some(Duration::from_secs(60)));
        let v = visier_hints(&headers(&[
            ("x-ratelimit-remaining-minute", "40"),
            ("x-ratelimit-remaining-hour", "0"),
        ]));
        assert_eq!(v.remaining, Some(0));
        assert_eq!(v.reset_after, Some(Duration::from_secs(3600)));
        assert_eq!(visier_hints(&HeaderMap::new()), RateLimitHints::default());
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
