//! Credentials that never print, and the scrubber that keeps them out of errors.

use std::fmt;
use std::sync::{Arc, RwLock};

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::credentials::CREDENTIAL_NAMES;
use crate::{Error, Result};

/// What every secret prints as in `Debug`, `Display`, logs and error excerpts.
pub const REDACTED: &str = "[redacted]";

/// A credential (API key, token, password) held over [`secrecy::SecretString`].
///
/// `Debug` and `Display` print `[redacted]`; the value is zeroized on drop. The only
/// way to read it is [`Secret::expose`], which adapters call at the moment they put it
/// on the wire. A client told about a secret ([`crate::http::ClientOptions::secret_header`],
/// [`crate::http::HttpClient::register_secret`]) also scrubs it from error excerpts.
///
/// ```
/// use grantbridge_core::http::Secret;
///
/// let key = Secret::new("sk-live-123");
/// assert_eq!(format!("{key:?} {key}"), "[redacted] [redacted]");
/// assert_eq!(key.expose(), "sk-live-123");
/// ```
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// Reads a credential from an environment variable; `None` when unset or empty.
    pub fn from_env(var: &str) -> Option<Self> {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(Secret::new)
    }

    /// The credential itself. Call it only to put the value on the wire.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether the credential is the empty string.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    /// A header value `prefix + secret` (e.g. `"Bearer "`), marked sensitive so that
    /// `http`'s and hyper's own `Debug` output hide it.
    ///
    /// Fails with [`Error::InvalidInput`] (which names neither the value nor the
    /// prefix) if the result is not a valid header value, e.g. contains CR or LF.
    pub fn header_value(&self, prefix: &str) -> Result<HeaderValue> {
        let mut value =
            HeaderValue::from_str(&format!("{prefix}{}", self.expose())).map_err(|_| {
                Error::invalid(
                    "secret header value",
                    "contains characters not allowed in a header (CR, LF, NUL or other controls)",
                )
            })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

/// Removes known secrets and secret-looking values from text meant for errors.
///
/// Shared by a client and its responses; secrets registered later (a token obtained
/// at login) apply to every response read afterwards.
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    secrets: Arc<RwLock<Vec<Secret>>>,
}

/// Secrets shorter than this are not scrubbed by value (replacing every `a` in a
/// body would make excerpts useless and short secrets are not secret anyway).
const MIN_SCRUB_LEN: usize = 4;

impl Scrubber {
    /// Adds a secret to scrub from now on, with the spellings a server may echo it
    /// in: as sent in a form or query (`a+b%21`), percent-encoded (`a%20b%21`) and
    /// escaped in a JSON string (`a \"b\"`).
    pub(crate) fn add(&self, secret: &Secret) {
        let raw = secret.expose();
        if raw.len() < MIN_SCRUB_LEN {
            return;
        }
        let mut spellings = vec![raw.to_owned()];
        spellings.push(url::form_urlencoded::byte_serialize(raw.as_bytes()).collect());
        spellings.push(
            percent_encoding::utf8_percent_encode(raw, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
        if let Ok(json) = serde_json::to_string(raw) {
            spellings.push(json[1..json.len() - 1].to_owned());
        }
        // A poisoned lock only means another thread panicked mid-push; the list is
        // still a list of secrets, so keep using it.
        let mut list = self.secrets.write().unwrap_or_else(|p| p.into_inner());
        for spelling in spellings {
            if !list.iter().any(|s| s.expose() == spelling) {
                list.push(Secret::new(spelling));
            }
        }
        // Longest first, so a secret is replaced whole before a shorter spelling
        // that is part of it.
        list.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
    }

    /// `text` with every known secret and every value of a sensitive-looking key
    /// replaced by `[redacted]`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        {
            let list = self.secrets.read().unwrap_or_else(|p| p.into_inner());
            for secret in list.iter() {
                if out.contains(secret.expose()) {
                    out = out.replace(secret.expose(), REDACTED);
                }
            }
        }
        redact_sensitive_values(&out)
    }

    /// A scrubbed excerpt of at most `max` bytes of `body` (lossy UTF-8).
    pub(crate) fn excerpt(&self, body: &[u8], max: usize) -> String {
        // Scrub a little more than we keep so a secret cut by the limit is still
        // recognised whole before truncation. A secret cut by the end of that window
        // is not recognised; scrubbing shrinks long secrets to `[redacted]`, which
        // can bring the window's end into what is kept. So the window grows until
        // what is kept ends more than a secret's length before the window's end.
        let longest = {
            let list = self.secrets.read().unwrap_or_else(|p| p.into_inner());
            list.iter().map(|s| s.expose().len()).max().unwrap_or(0)
        };
        let mut window = max.saturating_mul(4).max(4096);
        loop {
            let end = body.len().min(window);
            let text = self.scrub(&String::from_utf8_lossy(&body[..end]));
            // `+ 4`: a char cut by the window turns into U+FFFD, up to 2 bytes more.
            if end == body.len() || text.len() >= max.saturating_add(longest).saturating_add(4) {
                return truncate_on_char(&text, max);
            }
            window = window.saturating_mul(2);
        }
    }
}

/// The longest prefix of `text` of at most `max` bytes ending on a char boundary,
/// with `…` appended when something was cut.
///
/// ```
/// use grantbridge_core::http::truncate_on_char;
///
/// assert_eq!(truncate_on_char("short", 10), "short");
/// assert_eq!(truncate_on_char("ééé", 3), "é…");
/// ```
pub fn truncate_on_char(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Replaces the value after any key containing a credential name
/// ([`CREDENTIAL_NAMES`]: `"token": "…"`, `password=…`,
/// `Authorization: Bearer …`) with `[redacted]`.
fn redact_sensitive_values(text: &str) -> String {
    // ASCII lowercasing keeps byte offsets, so indices into `lower` are indices into
    // `text`; keys are matched on bytes because `i` may sit inside a multi-byte char.
    let lower = text.to_ascii_lowercase();
    let lower_bytes = lower.as_bytes();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0; // bytes of `text` already copied to `out`
    let mut i = 0;
    while i < bytes.len() {
        let Some(key_len) = CREDENTIAL_NAMES
            .iter()
            .find(|k| lower_bytes[i..].starts_with(k.as_bytes()))
            .map(|k| k.len())
        else {
            i += 1;
            continue;
        };
        // Skip the rest of the key name (`access_token`, `x-api-key`, `"apiKey"`).
        let mut j = i + key_len;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || b"_-".contains(&bytes[j])) {
            j += 1;
        }
        // A separator: optional quote, spaces, then `:` or `=`, spaces, optional quote.
        let mut k = j;
        if k < bytes.len() && (bytes[k] == b'"' || bytes[k] == b'\'') {
            k += 1;
        }
        while k < bytes.len() && bytes[k] == b' ' {
            k += 1;
        }
        if k >= bytes.len() || !(bytes[k] == b':' || bytes[k] == b'=') {
            i = j.max(i + 1);
            continue;
        }
        k += 1;
        while k < bytes.len() && bytes[k] == b' ' {
            k += 1;
        }
        let quoted = k < bytes.len() && (bytes[k] == b'"' || bytes[k] == b'\'');
        let start = if quoted { k + 1 } else { k };
        let mut end = start;
        if quoted {
            let q = bytes[k];
            while end < bytes.len() && bytes[end] != q {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            end = end.min(bytes.len());
        } else {
            // `Bearer abc`: the scheme is not secret, the credential after it is.
            if lower[start..].starts_with("bearer ") || lower[start..].starts_with("basic ") {
                end = start + lower[start..].find(' ').map_or(0, |p| p + 1);
            }
            let value_start = end;
            while end < bytes.len() && !b"&,;}] \t\r\n\"'<".contains(&bytes[end]) {
                end += 1;
            }
            if value_start == end {
                i = k;
                continue;
            }
            if lower[start..].starts_with("bearer ") || lower[start..].starts_with("basic ") {
                out.push_str(&text[copied..value_start]);
                out.push_str(REDACTED);
                copied = end;
                i = end;
                continue;
            }
        }
        // Objects and arrays (`"auth": {…}`) are not values we can bound cheaply;
        // their inner keys are scanned on their own.
        if !quoted && start < bytes.len() && (bytes[start] == b'{' || bytes[start] == b'[') {
            i = start;
            continue;
        }
        if end > start {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
        }
        i = end.max(i + 1);
    }
    if copied < text.len() {
        out.push_str(&text[copied..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2-long");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(s.to_string(), REDACTED);
        let h = s.header_value("Bearer ").expect("valid");
        assert!(h.is_sensitive());
        assert!(!format!("{h:?}").contains("hunter2"));
        assert!(Secret::new("a\r\nb").header_value("").is_err());
    }

    #[test]
    fn scrubber_removes_known_and_keyed_values() {
        let sc = Scrubber::default();
        sc.add(&Secret::new("s3cr3t-value"));
        let text = r#"{"message":"bad s3cr3t-value","access_token":"abc.def","apiKey": "k1", "nested":{"password":"p w"}} password=xyz&a=1 Authorization: Bearer tok123 auth=null"#;
        let out = sc.scrub(text);
        for leaked in ["s3cr3t-value", "abc.def", "k1", "p w", "xyz", "tok123"] {
            assert!(!out.contains(leaked), "{leaked} leaked in {out}");
        }
        assert!(out.contains("\"a=1") || out.contains("a=1"), "{out}");
        assert!(out.contains("bad [redacted]"), "{out}");
        sc.add(&Secret::new("pa ss\"w/rd!"));
        let echoed = r#"got pa+ss%22w%2Frd%21 and pa%20ss%22w%2Frd%21 and "pa ss\"w/rd!" in x"#;
        let out = sc.scrub(echoed);
        assert_eq!(
            out, "got [redacted] and [redacted] and \"[redacted]\" in x",
            "{out}"
        );
    }

    #[test]
    fn every_credential_name_is_scrubbed() {
        let sc = Scrubber::default();
        for name in CREDENTIAL_NAMES {
            for text in [
                format!(r#"{{"{name}":"v4lue-x"}}"#),
                format!(r#"{{"x_{name}_y": "v4lue-x"}}"#),
                format!("a=1&{name}=v4lue-x"),
                format!("{}: v4lue-x", name.to_ascii_uppercase()),
            ] {
                let out = sc.scrub(&text);
                assert!(!out.contains("v4lue-x"), "{name}: {out}");
                assert!(out.contains(REDACTED), "{name}: {out}");
            }
        }
    }

    #[test]
    fn excerpt_truncates_on_char_boundary() {
        let sc = Scrubber::default();
        let body = "é".repeat(400);
        let ex = sc.excerpt(body.as_bytes(), 11);
        assert_eq!(ex, format!("{}…", "é".repeat(5)));
        assert_eq!(sc.excerpt(b"short", 512), "short");
    }

    #[test]
    fn a_long_secret_cut_by_the_scrub_window_does_not_leak() {
        // A 900-byte token echoed 5 times: the first scrub window (4096 bytes for a
        // 512-byte excerpt) cuts the 5th echo, and the 4 before it shrink to 40
        // bytes, so the unrecognised piece of the 5th used to be kept.
        let token: String = (0..900)
            .map(|i| char::from(b'0' + (i % 10) as u8))
            .collect();
        let sc = Scrubber::default();
        sc.add(&Secret::new(token.clone()));
        let body = format!("{token} ").repeat(5);
        assert_eq!(sc.excerpt(body.as_bytes(), 512), "[redacted] ".repeat(5));
    }

    #[test]
    fn scrub_handles_odd_input() {
        let sc = Scrubber::default();
        for text in [
            "token",
            "token=",
            "token:\"",
            "\"token\":\"a\\",
            "tokentoken=1",
            "é token=ü",
        ] {
            let out = sc.scrub(text);
            assert!(out.len() <= text.len() + REDACTED.len() * 2, "{out}");
        }
        assert_eq!(sc.scrub("é token=ü x"), "é token=[redacted] x");
    }

    /// The spellings a server may echo `secret` in, written out by hand (not with the
    /// encoders the scrubber uses): as sent, form-encoded, percent-encoded, and
    /// escaped inside a JSON string.
    fn echoed(secret: &str, spelling: usize) -> String {
        let hex = |c: char, keep: &dyn Fn(char) -> bool| {
            let mut buf = [0u8; 4];
            if keep(c) {
                return c.to_string();
            }
            c.encode_utf8(&mut buf)
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        };
        match spelling % 4 {
            0 => secret.to_owned(),
            1 => secret
                .chars()
                .map(|c| match c {
                    ' ' => "+".to_owned(),
                    c => hex(c, &|c| c.is_ascii_alphanumeric() || "*-._".contains(c)),
                })
                .collect(),
            2 => secret
                .chars()
                .map(|c| hex(c, &|c| c.is_ascii_alphanumeric()))
                .collect(),
            _ => secret.replace('\\', "\\\\").replace('"', "\\\""),
        }
    }

    /// Every character a piece of a secret made of digits and `!/+"-` can show as,
    /// in any spelling of [`echoed`] (hex letters aside: they only follow a `%`).
    const SECRET_CHARS: &str = "0123456789!/+\"-%\\";

    proptest::proptest! {
        /// Any text, however odd, scrubs and excerpts without panicking and without
        /// the secret; an excerpt is the scrubbed text cut on a char boundary to at
        /// most `max` bytes, `…` marking a cut.
        #[test]
        fn scrub_never_panics_nor_leaks(
            before in "\\PC{0,40}",
            after in "(\\PC|[\\\\\"'=:&{} ]){0,40}",
            // With a digit, so it cannot be part of `[redacted]` itself.
            secret in "[a-zA-Z0-9 \"!/+%-]{3,19}[0-9]",
            spelling in 0usize..4,
            max in 0usize..100,
        ) {
            let sc = Scrubber::default();
            sc.add(&Secret::new(secret.clone()));
            let echo = echoed(&secret, spelling);
            let text = format!("{before}{echo}{after}");
            let out = sc.scrub(&text);
            proptest::prop_assert!(!out.contains(&secret), "{out}");
            proptest::prop_assert!(!out.contains(&echo), "{out}");
            let excerpt = sc.excerpt(text.as_bytes(), max);
            proptest::prop_assert!(!excerpt.contains(&secret), "{excerpt}");
            proptest::prop_assert!(!excerpt.contains(&echo), "{excerpt}");
            match excerpt.strip_suffix('…') {
                Some(kept) if out.len() > max => {
                    proptest::prop_assert!(kept.len() <= max && max - kept.len() < 4, "{excerpt}");
                    proptest::prop_assert!(out.starts_with(kept), "{excerpt} of {out}");
                }
                _ => proptest::prop_assert_eq!(&excerpt, &out),
            }
        }

        /// However long the body, however often the secret is echoed in it and
        /// wherever the excerpt is cut, no piece of the secret shows: the text around
        /// the echoes has none of the characters a piece of the secret is made of, so
        /// any such character in the excerpt came from the secret.
        #[test]
        fn an_excerpt_never_shows_a_piece_of_a_secret(
            secret in "[0-9!/+\"-]{3,60}[0-9]",
            parts in proptest::collection::vec(("[^0-9!/+\"%\\\\-]{0,4}", 0usize..4), 0..300),
            max in 0usize..2048,
        ) {
            let sc = Scrubber::default();
            sc.add(&Secret::new(secret.clone()));
            let text: String = parts
                .iter()
                .map(|(filler, spelling)| format!("{filler}{}", echoed(&secret, *spelling)))
                .collect();
            let excerpt = sc.excerpt(text.as_bytes(), max);
            proptest::prop_assert!(
                !excerpt.contains(|c| SECRET_CHARS.contains(c)),
                "a piece of {secret:?} in the {}-byte excerpt of a {}-byte body: {excerpt:?}",
                max,
                text.len()
            );
            proptest::prop_assert!(excerpt.len() <= max + '…'.len_utf8(), "{excerpt}");
        }
    }
}
