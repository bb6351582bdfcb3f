//! A response read in full (size-capped), with JSON decoding that keeps context.

use std::fmt;
use std::sync::Arc;

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::secret::{Scrubber, truncate_on_char};
use crate::{Error, Result};

/// How many bytes of a body an error excerpt keeps.
pub const EXCERPT_BYTES: usize = 512;

/// A response whose body has been read (up to the client's size cap).
///
/// `Debug` shows status, content type and body length only: headers may hold
/// cookies, bodies may hold tokens.
#[derive(Clone)]
pub struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) system: Arc<str>,
    pub(crate) method: Method,
    pub(crate) template: Arc<str>,
    pub(crate) attempts: u32,
    pub(crate) scrubber: Scrubber,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status.as_u16())
            .field("method", &self.method)
            .field("template", &self.template)
            .field("content_type", &self.content_type())
            .field("body_len", &self.body.len())
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Content-Type` header, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.header(CONTENT_TYPE.as_str())
    }

    /// Whether the content type is JSON (`application/json`, `…+json`).
    pub fn is_json(&self) -> bool {
        self.content_type().is_some_and(|ct| {
            let essence = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, consuming the response.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The name of the system that answered.
    pub fn system(&self) -> &str {
        &self.system
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request's path template (`/users/{}`).
    pub fn template(&self) -> &str {
        &self.template
    }

    /// How many attempts it took (1 without retries).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Decodes the body as JSON; an empty body decodes as JSON `null` (so `()` and
    /// `Option<T>` accept it). A body that is not UTF-8 is a decode error even where
    /// the invalid bytes sit in a field the type ignores.
    ///
    /// Fails with [`Error::Decode`] carrying the status, content type, the decoder's
    /// message and a truncated excerpt of the body, with secrets scrubbed from both.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return serde_json::from_str("null").map_err(|e| self.decode_error(&e.to_string()));
        }
        // JSON text is UTF-8; serde_json checks that only in the strings it keeps, so
        // invalid bytes in an ignored field would otherwise pass.
        let text = self.text()?;
        serde_json::from_str(text).map_err(|e| self.decode_error(&e.to_string()))
    }

    /// The body as UTF-8 text, or [`Error::Decode`].
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|e| self.decode_error(&e.to_string()))
    }

    /// A [`Error::Decode`] about this response, with `message` and the body excerpt
    /// scrubbed of secrets. Adapters use it when a body parses but makes no sense.
    pub fn decode_error(&self, message: &str) -> Error {
        Error::Decode {
            status: self.status.as_u16(),
            content_type: self.content_type().map(|ct| truncate_on_char(ct, 100)),
            message: truncate_on_char(&self.scrub(message), EXCERPT_BYTES),
            excerpt: self.excerpt(),
        }
    }

    /// The start of the body ([`EXCERPT_BYTES`] at most), lossy UTF-8, secrets scrubbed.
    pub fn excerpt(&self) -> String {
        self.scrubber.excerpt(&self.body, EXCERPT_BYTES)
    }

    /// `text` with the client's known secrets and secret-looking values removed; use
    /// it on anything taken from the body into an error.
    pub fn scrub(&self, text: &str) -> String {
        self.scrubber.scrub(text)
    }
}
