//! Segment's conventions for the shared transport: its rate-limit hints and its error
//! envelope.

use std::time::{Duration, SystemTime};

use grantbridge_core::http::{
    RateLimitHints, Response, VendorError, VendorHooks, header::HeaderMap, int_header, retry_after,
    until_http_date,
};
use serde_json::Value;

use crate::wire::ErrorEnvelope;

/// Segment's reading of responses: rate-limit hints ([`segment_hints`]) and the
/// `{"errors":[…]}` envelope ([`parse_error`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct SegmentHooks;

impl VendorHooks for SegmentHooks {
    fn rate_limit_hints(&self, response: &Response) -> RateLimitHints {
        segment_hints(response)
    }

    fn parse_error(&self, response: &Response) -> Option<VendorError> {
        parse_error(response.body())
    }
}

/// Segment's error envelope `{"errors":[…]}`: the code is the first error's `type`,
/// the message lists every entry (`field: message`, joined with `; `). `None` for
/// any other body (an HTML page), which the transport reads the generic way.
pub fn parse_error(body: &[u8]) -> Option<VendorError> {
    let envelope = serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .filter(|e| !e.errors.is_empty())?;
    let message = envelope
        .errors
        .iter()
        .map(|e| {
            let msg = e.message.clone().unwrap_or_else(|| e.kind.clone());
            match &e.field {
                Some(field) => format!("{field}: {msg}"),
                None => msg,
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some(VendorError {
        code: Some(envelope.errors[0].kind.clone()),
        message,
        request_id: None,
    })
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
        .and_then(|v| until_http_date(v, now));
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

#[cfg(test)]
mod tests {
    use super::*;
    use grantbridge_core::testing::header_map as headers;

    /// An IMF-fixdate `secs` after the Unix epoch.
    fn http_date(secs: i64) -> String {
        jiff::Timestamp::from_second(secs)
            .expect("in range")
            .strftime("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    }

    // Moved from core's `segment_and_visier_hints` (issue 14), assertions unchanged.
    #[test]
    fn segment_hints() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let reset = http_date(1_700_000_030);
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
    }

    #[test]
    fn error_envelopes() {
        let body = br#"{"errors":[{"type":"input-validation","field":"userIds.0","message":"bad"},{"type":"x","message":"worse"}]}"#;
        assert_eq!(
            parse_error(body),
            Some(VendorError {
                code: Some("input-validation".to_owned()),
                message: "userIds.0: bad; worse".to_owned(),
                request_id: None,
            })
        );
        assert_eq!(parse_error(br#"{"errors":[]}"#), None);
        assert_eq!(parse_error(b"<html>502</html>"), None);
    }
}
