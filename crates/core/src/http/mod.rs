//! The shared HTTP transport of the adapters (feature `http`).
//!
//! One [`HttpClient`], configured by [`ClientOptions`], sends every adapter request:
//!
//! * **Safe URLs**: the base URL must be `https` (plain `http` only on loopback or
//!   with [`ClientOptions::allow_insecure_http`]); a request's path is built from
//!   constant literals and parameters, each parameter percent-encoded as exactly one
//!   segment ([`encode_segment`]); header values are checked for CR/LF.
//! * **Retries** ([`RetryPolicy`]): exponential backoff with full jitter on 429,
//!   500/502/503/504 and network failures, honouring `Retry-After` and the vendor's
//!   reset hints, and never repeating a non-idempotent request whose outcome is
//!   unknown. See [`HttpClient::send`] for the exact rules.
//! * **Rate limits** ([`RateLimitPolicy`]): a sliding window per endpoint class,
//!   tightened by the server's remaining-budget headers (less the requests still in
//!   flight, so concurrent tasks do not overshoot it), plus a cap on requests in
//!   flight; all shared by the client's clones. A class the server holds for longer
//!   than [`RetryPolicy::max_retry_after`] fails fast with
//!   [`Error::RateLimited`](crate::Error::RateLimited) instead of waiting.
//! * **Responses** ([`Response`]): size-capped bodies; decode errors keep status,
//!   content type and a short excerpt of the body with secrets scrubbed.
//! * **Vendor hooks** ([`VendorHooks`]): where a vendor's rate-limit hints are and
//!   how to read its error body ([`VendorError`]), with generic pieces
//!   ([`retry_after`], [`until_http_date`], [`int_header`], [`request_id`],
//!   [`error_fields`]). The status → [`Error`](crate::Error) mapping, scrubbing and
//!   truncation happen in one place for every vendor ([`map_error`]).
//! * **Secrets** ([`Secret`]): print as `[redacted]`, travel in sensitive headers,
//!   and are scrubbed from error messages, codes, request ids and excerpts (also
//!   when echoed form-, percent- or JSON-encoded); plain headers named like
//!   credentials ([`CREDENTIAL_NAMES`]: `Authorization`, `Cookie`, `*api-key*`,
//!   `*token*`, …) are treated the same way; spans (`http.request`, with system,
//!   method, path *template*, class, attempt, status, elapsed) never carry headers,
//!   bodies or path parameters.
//! * **Pagination** ([`PageGuard`]): one guard, and one error, for a server that
//!   repeats a page or a cursor.
//! * **Counters** ([`Stats`]): requests, retries, 429s, transport errors, bytes,
//!   time in backoff and in the limiter, in total and per class.
//!
//! Retries are a small loop rather than `backon` (docs/design.md §7): each decision needs
//! the response, the request's idempotency and whether it was sent, the wait is a
//! floor taken from the server, and every attempt must go back through the rate
//! limiter and update counters and the span — expressible with backon's `when` and
//! `adjust`, but less plainly than in thirty lines. Sleeping is
//! `tokio::time::sleep`, so tests drive it with tokio's paused clock.
//!
//! Core without this feature has no network stack and no tokio runtime.

mod client;
mod hooks;
mod limiter;
mod metrics;
mod options;
mod paging;
mod request;
mod response;
mod secret;

pub use crate::credentials::{CREDENTIAL_NAMES, is_credential_name};
pub use client::HttpClient;
pub use hooks::{
    DefaultHooks, MAX_CODE_BYTES, MAX_MESSAGE_BYTES, RateLimitHints, Unauthorized, VendorError,
    VendorHooks, default_error, error_fields, int_header, map_error, request_id, retry_after,
    until_http_date,
};
pub use limiter::{Permit, RateLimiter};
pub use metrics::Stats;
pub use options::{ClientOptions, RateLimit, RateLimitPolicy, RetryPolicy};
pub use paging::PageGuard;
pub use request::{EndpointClass, Request, encode_segment};
pub use response::{EXCERPT_BYTES, Response};
pub use secret::{REDACTED, Secret, truncate_on_char};

/// Re-exported so adapters name methods, statuses and headers with the same types.
pub use reqwest::{Method, StatusCode, header};
