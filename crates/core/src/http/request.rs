//! Describing a request: method, path of literal parts and encoded parameters, query,
//! headers, body, endpoint class and idempotency.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Serialize;

use super::secret::Secret;
use crate::{Error, Result};

/// Everything but the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) is
/// encoded in a path parameter, so no parameter can add a segment, a query or a
/// fragment, or be read as a percent escape.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes `value` as exactly one path segment.
///
/// Fails with [`Error::InvalidInput`] for the empty string, `.` and `..`: URL parsers
/// (WHATWG, and the `url` crate that reqwest uses) treat `.`/`..` — and their
/// `%2E` spellings — as "this"/"parent" directory, so no encoding keeps them one
/// segment, and an empty segment changes the path (`/users//roles`).
///
/// ```
/// use grantbridge_core::http::encode_segment;
///
/// assert_eq!(encode_segment("a/b c?#%")?, "a%2Fb%20c%3F%23%25");
/// assert!(encode_segment("..").is_err());
/// # Ok::<(), grantbridge_core::Error>(())
/// ```
pub fn encode_segment(value: &str) -> Result<String> {
    match value {
        "" => Err(Error::invalid(
            "path parameter",
            "is empty (an empty segment would change the path)",
        )),
        "." | ".." => Err(Error::invalid(
            "path parameter",
            format!("{value:?} would be read as a relative path step"),
        )),
        _ => Ok(utf8_percent_encode(value, SEGMENT).to_string()),
    }
}

/// The class of an endpoint, for client-side rate limiting and per-class counters
/// (e.g. `"iam-mutation"`, `"read"`). Requests without one use
/// [`EndpointClass::DEFAULT`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointClass(pub(crate) String);

impl EndpointClass {
    /// The class of requests that name none.
    pub const DEFAULT: &'static str = "default";

    /// A class by name.
    pub fn new(name: impl Into<String>) -> Self {
        EndpointClass(name.into())
    }

    /// Its name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for EndpointClass {
    fn default() -> Self {
        EndpointClass(Self::DEFAULT.to_owned())
    }
}

impl fmt::Display for EndpointClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for EndpointClass {
    fn from(value: &str) -> Self {
        EndpointClass::new(value)
    }
}

#[derive(Clone)]
enum PathPart {
    /// A constant piece of the path, written by the adapter (may hold `/`).
    Literal(&'static str),
    /// A parameter, encoded as one segment.
    Param(String),
}

#[derive(Clone)]
pub(crate) enum HeaderSpec {
    Plain(String, String),
    Secret(String, String, Secret),
}

impl HeaderSpec {
    /// The secret this header carries: a secret header's, or the value of a plain
    /// header whose name says it is a credential ([`looks_sensitive`]).
    pub(crate) fn sensitive_value(&self) -> Option<Secret> {
        match self {
            HeaderSpec::Secret(_, _, s) => Some(s.clone()),
            HeaderSpec::Plain(name, value) if looks_sensitive(name) => {
                // `Bearer abc`: the scheme is not secret, and scrubbing the bare
                // value covers both spellings.
                let bare = value
                    .split_once(' ')
                    .filter(|(scheme, _)| {
                        scheme.eq_ignore_ascii_case("bearer")
                            || scheme.eq_ignore_ascii_case("basic")
                    })
                    .map_or(value.as_str(), |(_, v)| v);
                Some(Secret::new(bare))
            }
            HeaderSpec::Plain(..) => None,
        }
    }
}

/// Whether a header name says its value is a credential (`Authorization`,
/// `Cookie`, `X-Api-Key`, `apikey`, `X-Auth-Token`, …): it contains one of
/// [`CREDENTIAL_NAMES`](crate::credentials::CREDENTIAL_NAMES).
pub(crate) fn looks_sensitive(name: &str) -> bool {
    crate::credentials::is_credential_name(name)
}

/// A request body.
#[derive(Clone, Default)]
pub(crate) enum Body {
    #[default]
    None,
    Json(Vec<u8>),
    Form(String),
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

impl Body {
    pub(crate) fn len(&self) -> usize {
        match self {
            Body::None => 0,
            Body::Json(b) => b.len(),
            Body::Form(s) => s.len(),
            Body::Raw { bytes, .. } => bytes.len(),
        }
    }
}

/// One request, described independently of the base URL and transport.
///
/// The path is built from `&'static str` literals ([`Request::path`]) and parameters
/// ([`Request::param`]); each parameter is percent-encoded as exactly one segment,
/// and the *template* (`/users/{}/permissions`) is what logs and spans show, so ids
/// never reach them. Builder steps that can fail (bad header, unserializable body)
/// are reported by [`crate::http::HttpClient::send`], before anything is sent.
///
/// ```
/// use grantbridge_core::http::Request;
///
/// let req = Request::post("/users")
///     .param("a/b c")
///     .path("permissions")
///     .json(&serde_json::json!({"roleId": "r1"}))
///     .class("iam-mutation");
/// assert_eq!(req.template(), "/users/{}/permissions");
/// assert!(!req.is_idempotent());
/// ```
#[derive(Clone)]
pub struct Request {
    pub(crate) method: Method,
    parts: Vec<PathPart>,
    pub(crate) query: Vec<(String, String)>,
    raw_query: Option<String>,
    pub(crate) headers: Vec<HeaderSpec>,
    pub(crate) body: Body,
    pub(crate) class: EndpointClass,
    idempotent: Option<bool>,
    deferred: Option<Error>,
}

impl fmt::Debug for Request {
    /// Shows the method, template, class and query *names* only: parameters, query
    /// values, headers and bodies may carry ids or secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("template", &self.template())
            .field("class", &self.class.0)
            .field(
                "query",
                &self
                    .query
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .field("idempotent", &self.is_idempotent())
            .finish_non_exhaustive()
    }
}

impl Request {
    /// A request with `method` and the literal path `path` (e.g. `"/v1/users"`).
    pub fn new(method: Method, path: &'static str) -> Self {
        Request {
            method,
            parts: vec![PathPart::Literal(path)],
            query: Vec::new(),
            raw_query: None,
            headers: Vec::new(),
            body: Body::None,
            class: EndpointClass::default(),
            idempotent: None,
            deferred: None,
        }
    }

    /// A `GET` of `path`.
    pub fn get(path: &'static str) -> Self {
        Self::new(Method::GET, path)
    }

    /// A `POST` to `path`.
    pub fn post(path: &'static str) -> Self {
        Self::new(Method::POST, path)
    }

    /// A `PUT` to `path`.
    pub fn put(path: &'static str) -> Self {
        Self::new(Method::PUT, path)
    }

    /// A `PATCH` of `path`.
    pub fn patch(path: &'static str) -> Self {
        Self::new(Method::PATCH, path)
    }

    /// A `DELETE` of `path`.
    pub fn delete(path: &'static str) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// Appends literal path text (one or more segments, `/`-separated), e.g.
    /// `"permissions"` or `"v1/admin"`. It must be a constant: data goes in
    /// [`Request::param`].
    pub fn path(mut self, literal: &'static str) -> Self {
        self.parts.push(PathPart::Literal(literal));
        self
    }

    /// Appends one path parameter, percent-encoded as exactly one segment (see
    /// [`encode_segment`]).
    pub fn param(mut self, value: impl fmt::Display) -> Self {
        self.parts.push(PathPart::Param(value.to_string()));
        self
    }

    /// Appends a query parameter, `application/x-www-form-urlencoded` as browsers and
    /// most SDKs send it (`pagination[count]` → `pagination%5Bcount%5D`).
    pub fn query(mut self, key: impl Into<String>, value: impl fmt::Display) -> Self {
        self.query.push((key.into(), value.to_string()));
        self
    }

    /// Sets a query string the adapter has already encoded in its vendor's convention.
    /// It may hold only printable ASCII other than `#` (checked before sending).
    pub fn raw_query(mut self, encoded: impl Into<String>) -> Self {
        self.raw_query = Some(encoded.into());
        self
    }

    /// Adds a header. Names and values are validated before sending (no CR, LF, NUL or
    /// other control characters); an invalid one fails the request with
    /// [`Error::InvalidInput`] that does not repeat the value.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .push(HeaderSpec::Plain(name.into(), value.into()));
        self
    }

    /// Adds a header carrying a secret as `prefix + secret` (e.g. `"Bearer "`), marked
    /// sensitive; the secret is also scrubbed from this request's errors.
    pub fn secret_header(
        mut self,
        name: impl Into<String>,
        prefix: impl Into<String>,
        secret: &Secret,
    ) -> Self {
        self.headers.push(HeaderSpec::Secret(
            name.into(),
            prefix.into(),
            secret.clone(),
        ));
        self
    }

    /// Sets a JSON body (`Content-Type: application/json`).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body = Body::Json(bytes),
            Err(e) => {
                self.deferred.get_or_insert(Error::invalid(
                    "request body",
                    format!("cannot be serialized as JSON: {e}"),
                ));
            }
        }
        self
    }

    /// Sets an `application/x-www-form-urlencoded` body.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            ser.append_pair(k.as_ref(), v.as_ref());
        }
        self.body = Body::Form(ser.finish());
        self
    }

    /// Sets a body of any content type.
    pub fn body(mut self, content_type: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Raw {
            content_type: content_type.into(),
            bytes: bytes.into(),
        };
        self
    }

    /// Sets the endpoint class used for rate limiting and counters.
    pub fn class(mut self, class: impl Into<EndpointClass>) -> Self {
        self.class = class.into();
        self
    }

    /// Declares whether sending this request twice has the same effect as once.
    ///
    /// By default `GET`, `HEAD`, `OPTIONS`, `PUT` and `DELETE` are idempotent and
    /// `POST` and `PATCH` are not. Mark a `POST` idempotent when the vendor's
    /// operation is (an "add these permissions" that ignores duplicates, a search);
    /// only idempotent requests are retried after an outcome-unknown failure.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// Whether this request may be retried when its outcome is unknown.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent.unwrap_or(matches!(
            self.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
        ))
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The endpoint class.
    pub fn endpoint_class(&self) -> &EndpointClass {
        &self.class
    }

    /// The path with each parameter shown as `{}`: safe for logs and metrics.
    pub fn template(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            let piece = match part {
                PathPart::Literal(l) => l,
                PathPart::Param(_) => "{}",
            };
            push_path(&mut out, piece);
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }

    /// The encoded path (starting with `/`) and query, or why they are invalid.
    pub(crate) fn encoded_path(&self) -> Result<String> {
        if let Some(e) = &self.deferred {
            return Err(e.clone());
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                PathPart::Literal(l) => {
                    check_literal(l)?;
                    push_path(&mut out, l);
                }
                PathPart::Param(p) => push_path(&mut out, &encode_segment(p)?),
            }
        }
        Ok(out)
    }

    /// The encoded query string without `?`, if any.
    pub(crate) fn encoded_query(&self) -> Result<Option<String>> {
        let mut query = String::new();
        if !self.query.is_empty() {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &self.query {
                ser.append_pair(k, v);
            }
            query = ser.finish();
        }
        if let Some(raw) = &self.raw_query {
            if !raw.bytes().all(|b| b.is_ascii_graphic() && b != b'#') {
                return Err(Error::invalid(
                    "raw query",
                    "may hold only printable ASCII without `#` and spaces (encode it first)",
                ));
            }
            if !query.is_empty() && !raw.is_empty() {
                query.push('&');
            }
            query.push_str(raw.trim_start_matches('?'));
        }
        Ok((!query.is_empty()).then_some(query))
    }

    /// The validated headers.
    pub(crate) fn header_pairs(&self) -> Result<Vec<(HeaderName, HeaderValue)>> {
        self.headers.iter().map(header_pair).collect()
    }

    /// The secrets carried by this request's headers (see
    /// [`HeaderSpec::sensitive_value`]).
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        self.headers
            .iter()
            .filter_map(HeaderSpec::sensitive_value)
            .collect()
    }
}

/// Validates one header; errors name the header but never its value.
pub(crate) fn header_pair(spec: &HeaderSpec) -> Result<(HeaderName, HeaderValue)> {
    let (name, value) = match spec {
        HeaderSpec::Plain(name, value) => {
            let mut header = HeaderValue::from_str(value).map_err(|_| {
                Error::invalid(
                    format!("header {}", printable_name(name)),
                    "value contains CR, LF, NUL or another control character",
                )
            })?;
            // hyper and `http` hide sensitive values from their own Debug output.
            header.set_sensitive(looks_sensitive(name));
            (name, header)
        }
        HeaderSpec::Secret(name, prefix, secret) => (name, secret.header_value(prefix)?),
    };
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        Error::invalid(
            format!("header name {:?}", printable_name(name)),
            "is not a valid HTTP header name",
        )
    })?;
    Ok((name, value))
}

/// A header name safe to put in an error (names are not secret, but may be garbage).
fn printable_name(name: &str) -> String {
    super::secret::truncate_on_char(&name.escape_default().to_string(), 64)
}

/// Appends a `/`-separated piece to a path, with exactly one `/` between pieces.
fn push_path(out: &mut String, piece: &str) {
    let piece = piece.trim_matches('/');
    if piece.is_empty() {
        return;
    }
    out.push('/');
    out.push_str(piece);
}

/// Literal path text is adapter code, but a typo must not turn into a query, a
/// fragment or a path traversal.
fn check_literal(literal: &str) -> Result<()> {
    let bad_char = literal
        .bytes()
        .any(|b| !b.is_ascii_graphic() || b"?#%\\".contains(&b));
    let bad_segment = literal
        .trim_matches('/')
        .split('/')
        .any(|s| s == "." || s == ".." || (s.is_empty() && !literal.trim_matches('/').is_empty()));
    if bad_char || bad_segment {
        return Err(Error::invalid(
            "request path",
            format!(
                "literal {literal:?} must be plain `/`-separated segments (put data in params)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credential_name_marks_a_plain_header_sensitive() {
        for name in crate::credentials::CREDENTIAL_NAMES {
            for header in [
                name.to_string(),
                format!("X-{}-Id", name.to_ascii_uppercase()),
            ] {
                let spec = HeaderSpec::Plain(header.clone(), "Bearer v4lue-h".to_owned());
                let secret = spec.sensitive_value();
                assert_eq!(
                    secret.as_ref().map(Secret::expose),
                    Some("v4lue-h"),
                    "{header}"
                );
            }
        }
        let plain = HeaderSpec::Plain("accept".to_owned(), "application/json".to_owned());
        assert!(plain.sensitive_value().is_none());
    }

    #[test]
    fn params_are_one_segment_and_templates_hide_them() {
        let req = Request::get("/v1/users/")
            .param("a/b")
            .path("/roles/")
            .param("ü ?");
        assert_eq!(
            req.encoded_path().expect("valid"),
            "/v1/users/a%2Fb/roles/%C3%BC%20%3F"
        );
        assert_eq!(req.template(), "/v1/users/{}/roles/{}");
        assert_eq!(Request::get("/").template(), "/");
        assert_eq!(Request::get("").encoded_path().expect("valid"), "");
    }

    #[test]
    fn bad_literals_and_params_are_refused() {
        // (URL parsers read `\` as `/` in http URLs.)
        for lit in [
            "/a?b", "/a#b", "/a/../b", "/a//b", "/a b", "/a%2Fb", "/a\\b",
        ] {
            assert!(Request::get(lit).encoded_path().is_err(), "{lit}");
        }
        for p in ["", ".", ".."] {
            assert!(Request::get("/u").param(p).encoded_path().is_err(), "{p:?}");
        }
        assert!(Request::get("/u").param("...").encoded_path().is_ok());
    }

    #[test]
    fn query_and_headers() {
        let req = Request::get("/u")
            .query("pagination[count]", 2)
            .query("q", "a b&c")
            .raw_query("x=1");
        assert_eq!(
            req.encoded_query().expect("valid").as_deref(),
            Some("pagination%5Bcount%5D=2&q=a+b%26c&x=1")
        );
        assert!(Request::get("/u").raw_query("a b").encoded_query().is_err());
        let err = Request::get("/u")
            .header("x-a", "ok\r\nInjected: yes")
            .header_pairs()
            .expect_err("CRLF refused");
        assert!(!err.to_string().contains("Injected"));
        assert!(
            Request::get("/u")
                .header("bad name", "v")
                .header_pairs()
                .is_err()
        );
        // Credentials passed as plain headers are still treated as secrets.
        let req = Request::get("/u")
            .header("Authorization", "Bearer tok-123")
            .header("X-Api-Key", "k-456")
            .header("accept", "application/json");
        let pairs = req.header_pairs().expect("valid");
        let sensitive: Vec<bool> = pairs.iter().map(|(_, v)| v.is_sensitive()).collect();
        assert_eq!(sensitive, [true, true, false]);
        let secrets: Vec<String> = req
            .secrets()
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        assert_eq!(secrets, ["tok-123", "k-456"]);
    }

    #[test]
    fn idempotency_defaults_follow_the_method() {
        assert!(Request::get("/").is_idempotent());
        assert!(Request::put("/").is_idempotent());
        assert!(Request::delete("/").is_idempotent());
        assert!(!Request::post("/").is_idempotent());
        assert!(!Request::patch("/").is_idempotent());
        assert!(Request::post("/").idempotent(true).is_idempotent());
    }
}
