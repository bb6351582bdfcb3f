//! How a vendor's gateway looks: rate classes, 429s, budget headers, error pages.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use super::rate::RateInfo;

/// How the emulated vendor answers the things the shared plumbing produces: rate-limit
/// refusals, remaining-budget headers, injected server errors and oversized requests.
///
/// Every method has a default (the generic [`PlainStyle`]); a vendor sandbox overrides
/// what its spec documents. The defaults are small free functions in this module
/// ([`plain_rate_limited`], [`plain_budget_headers`], [`plain_server_error`],
/// [`plain_payload_too_large`]) so an override can reuse them.
///
/// ```
/// use axum::http::{HeaderMap, HeaderValue, Method};
/// use grantbridge_core::sandbox::{RateInfo, VendorStyle};
///
/// /// Writes count against a "mutation" budget, reads against the default one.
/// struct MyVendor;
///
/// impl VendorStyle for MyVendor {
///     fn rate_class(&self, method: &Method, _path: &str) -> &'static str {
///         if method == Method::GET { "default" } else { "mutation" }
///     }
///     fn budget_headers(&self, info: &RateInfo, headers: &mut HeaderMap) {
///         headers.insert("x-budget-left", HeaderValue::from(info.remaining));
///     }
/// }
/// ```
pub trait VendorStyle: Send + Sync + 'static {
    /// A short name for tracing (`"visier"`, …).
    fn name(&self) -> &'static str {
        "sandbox"
    }

    /// The rate class of a request: requests of one class share one
    /// [`RateWindow`](super::RateWindow). `path` is the raw (percent-encoded) path
    /// without the query. Default: everything is `"default"`.
    fn rate_class(&self, method: &Method, path: &str) -> &'static str {
        let _ = (method, path);
        "default"
    }

    /// The vendor's 429, for a request over its window or an injected
    /// [`Fault::RateLimited`](super::Fault::RateLimited). Default:
    /// [`plain_rate_limited`].
    ///
    /// For a request over its window, `info` is that window's budget (`remaining` 0).
    /// For an injected 429, `info.reset_after` is
    /// [`FaultPlan::retry_after`](super::FaultPlan::retry_after), `remaining` is 0 and
    /// `limit`/`consumed`/`window`/`global` describe the class's window (or the global
    /// one) if one is configured (else `limit` and `consumed` are 0 and `window` is
    /// `retry_after`). When the global window refuses, `info.class` is
    /// [`GLOBAL_RATE_CLASS`](super::GLOBAL_RATE_CLASS).
    fn rate_limited(&self, info: &RateInfo) -> Response {
        plain_rate_limited(info)
    }

    /// The vendor's 429 for an injected [`Fault::RateLimited`](super::Fault::RateLimited)
    /// (`info.reset_after` is the fault plan's wait). Default: the same answer as
    /// [`VendorStyle::rate_limited`]. A vendor whose documented 429 cannot say how long
    /// to wait (Visier gives budgets, not reset times) overrides this to add the wait,
    /// so that a fault costs the client what the fault plan asked for.
    fn injected_rate_limited(&self, info: &RateInfo) -> Response {
        self.rate_limited(info)
    }

    /// Adds remaining-budget headers to every response the vendor handler produced
    /// (including truncated ones) when a window is configured for the request's class
    /// or a global window is (see [`RateInfo::global`]).
    /// Not called for 429s, injected 5xx or 413s. Default: [`plain_budget_headers`].
    fn budget_headers(&self, info: &RateInfo, headers: &mut HeaderMap) {
        plain_budget_headers(info, headers);
    }

    /// The answer of an injected [`Fault::ServerError`](super::Fault::ServerError)
    /// (500, 502 or 503). Default: [`plain_server_error`] (502 is an HTML gateway page).
    fn server_error(&self, status: StatusCode) -> Response {
        plain_server_error(status)
    }

    /// The answer to a request body larger than
    /// [`SandboxOptions::max_request_body`](super::SandboxOptions::max_request_body).
    /// Default: [`plain_payload_too_large`].
    fn payload_too_large(&self, limit: usize) -> Response {
        plain_payload_too_large(limit)
    }
}

/// The generic style: every [`VendorStyle`] default, one rate class `"default"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainStyle;

impl VendorStyle for PlainStyle {}

/// A JSON response with the given status.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Generic 429: `Retry-After` (whole seconds), the [`plain_budget_headers`] with a
/// remaining budget of 0, and `{"error":"rate_limited","message":"Too many requests",
/// "retryAfterMs":…}`.
pub fn plain_rate_limited(info: &RateInfo) -> Response {
    let body = serde_json::json!({
        "error": "rate_limited",
        "message": "Too many requests",
        "retryAfterMs": info.reset_after_ms(),
    });
    let mut response = json_response(StatusCode::TOO_MANY_REQUESTS, &body);
    let headers = response.headers_mut();
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from(info.retry_after_secs()),
    );
    plain_budget_headers(info, headers);
    response
}

/// Generic budget headers: `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
/// `X-RateLimit-Reset` (whole seconds until the window resets).
pub fn plain_budget_headers(info: &RateInfo, headers: &mut HeaderMap) {
    headers.insert(
        HeaderName::from_static("x-ratelimit-limit"),
        HeaderValue::from(info.limit),
    );
    headers.insert(
        HeaderName::from_static("x-ratelimit-remaining"),
        HeaderValue::from(info.remaining),
    );
    headers.insert(
        HeaderName::from_static("x-ratelimit-reset"),
        HeaderValue::from(info.reset_after.as_secs()),
    );
}

/// Generic server error: 502 is an HTML page as a load balancer would send it (clients
/// must cope with non-JSON error bodies); any other status is
/// `{"error":"<reason>","status":<code>}`.
pub fn plain_server_error(status: StatusCode) -> Response {
    if status == StatusCode::BAD_GATEWAY {
        let page = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n\
                    <body><h1>Bad Gateway</h1><p>The upstream server did not answer \
                    in time.</p></body></html>\n";
        let mut response = Response::new(Body::from(page));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return response;
    }
    let reason = status.canonical_reason().unwrap_or("Server Error");
    json_response(
        status,
        &serde_json::json!({ "error": reason, "status": status.as_u16() }),
    )
}

/// Generic 413: `{"error":"Payload Too Large","limit":<bytes>}`.
pub fn plain_payload_too_large(limit: usize) -> Response {
    json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        &serde_json::json!({ "error": "Payload Too Large", "limit": limit }),
    )
}
