//! The request log tests read: what reached the sandbox, exactly as received.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::faults::Fault;

/// At most this many bytes of each request body are kept in the log.
pub const LOGGED_BODY_CAP: usize = 1024 * 1024;

/// The log keeps the most recent this-many requests (older ones are dropped), so a
/// long-running demo sandbox does not grow without bound.
pub const LOG_CAPACITY: usize = 10_000;

/// One request as the sandbox received it, and what became of it.
///
/// `Debug` redacts credentials: values of every header whose name contains a
/// credential name (`authorization`, `cookie`, `apikey`, `api-key`, `token`, `secret`,
/// `password`, `auth`, `session`, …: see [`is_sensitive_name`]) print as
/// `[redacted]`; so do query values under such names; the body prints as its length only (bodies carry passwords and
/// client secrets on the vendors' token endpoints). The fields themselves hold the
/// real values, for assertions.
#[derive(Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Arrival order, from 0, per sandbox.
    pub seq: u64,
    /// The method, e.g. `"GET"`.
    pub method: String,
    /// The path as received, still percent-encoded (`/users/a%2Fb`).
    pub path: String,
    /// The request target as received: path, and `?query` when a query was sent,
    /// byte for byte (`%2F`, `+` and `%5B` preserved).
    pub raw_target: String,
    /// Request headers in arrival order, names lowercase (values not valid UTF-8 are
    /// converted lossily).
    pub headers: Vec<(String, String)>,
    /// The request body, cut at [`LOGGED_BODY_CAP`] bytes.
    pub body: Bytes,
    /// The status sent (for a truncated response, the status of its head); 0 when no
    /// status line was sent (connection reset, or a dropped body-less response).
    pub status: u16,
    /// The fault injected into this request, if any.
    pub fault: Option<Fault>,
    /// True when the request was refused with a 429 because its rate window was
    /// exhausted (not an injected fault).
    pub over_limit: bool,
    /// True when a latency spike was added.
    pub spiked: bool,
    /// True when the vendor handler ran, i.e. the request took effect (whatever the
    /// client saw: a truncated response also counts).
    pub handled: bool,
}

impl LoggedRequest {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The raw query string (after `?`, still encoded), if one was sent.
    pub fn query(&self) -> Option<&str> {
        self.raw_target.split_once('?').map(|(_, q)| q)
    }

    /// The body as UTF-8 text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON, `None` when it is not JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Whether the vendor handler ran for this request (its effect happened); the same
    /// as [`handled`](Self::handled).
    pub fn handler_ran(&self) -> bool {
        self.handled
    }
}

/// True for header (and query-parameter) names whose values are credentials: names
/// containing one of the transport's credential names (`authorization`, `cookie`,
/// `token`, `secret`, `auth`, `session`, …; one list for the whole crate).
pub fn is_sensitive_name(name: &str) -> bool {
    crate::credentials::is_credential_name(name)
}

fn redact_target(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_sensitive_name(key) => format!("{key}=[redacted]"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

impl fmt::Debug for LoggedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'a>(&'a [(String, String)]);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut list = f.debug_list();
                for (name, value) in self.0 {
                    if is_sensitive_name(name) {
                        list.entry(&(name, "[redacted]"));
                    } else {
                        list.entry(&(name, value));
                    }
                }
                list.finish()
            }
        }
        f.debug_struct("LoggedRequest")
            .field("seq", &self.seq)
            .field("method", &self.method)
            .field("path", &redact_target(&self.path))
            .field("raw_target", &redact_target(&self.raw_target))
            .field("headers", &Headers(&self.headers))
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("status", &self.status)
            .field("fault", &self.fault)
            .field("over_limit", &self.over_limit)
            .field("spiked", &self.spiked)
            .field("handled", &self.handled)
            .finish()
    }
}

/// The shared, cloneable log of a sandbox's requests (clones see the same log).
///
/// Entries are appended when the sandbox has decided the response, so an entry exists
/// by the time its client has the status line; [`entries`](Self::entries) returns them
/// in arrival order (`seq`).
#[derive(Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<VecDeque<LoggedRequest>>>,
}

impl fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestLog")
            .field("len", &self.len())
            .finish()
    }
}

impl RequestLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<LoggedRequest>> {
        // A panic while holding the lock cannot leave the deque inconsistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn push(&self, entry: LoggedRequest) {
        let mut log = self.lock();
        if log.len() >= LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(entry);
    }

    /// A copy of every entry, in arrival order.
    pub fn entries(&self) -> Vec<LoggedRequest> {
        let mut entries: Vec<LoggedRequest> = self.lock().iter().cloned().collect();
        entries.sort_by_key(|entry| entry.seq);
        entries
    }

    /// The most recent entry by arrival order.
    pub fn last(&self) -> Option<LoggedRequest> {
        self.lock().iter().max_by_key(|entry| entry.seq).cloned()
    }

    /// How many entries the log holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when the log holds no entry.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Forgets every entry (sequence numbers keep counting).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Entries with this method (case-insensitive) whose raw path starts with
    /// `path_prefix`, in arrival order.
    pub fn matching(&self, method: &str, path_prefix: &str) -> Vec<LoggedRequest> {
        self.entries()
            .into_iter()
            .filter(|entry| {
                entry.method.eq_ignore_ascii_case(method) && entry.path.starts_with(path_prefix)
            })
            .collect()
    }

    /// The injected faults in arrival order (`None` for requests without one).
    pub fn faults(&self) -> Vec<Option<Fault>> {
        self.entries().iter().map(|entry| entry.fault).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_names() {
        for name in [
            "Authorization",
            "cookie",
            "apikey",
            "X-API-Key",
            "x-auth-token",
            "client_secret",
            "paToken",
        ] {
            assert!(is_sensitive_name(name), "{name}");
        }
        for name in ["content-type", "accept", "user-agent", "targettenantid"] {
            assert!(!is_sensitive_name(name), "{name}");
        }
    }

    #[test]
    fn every_credential_name_is_redacted_from_debug() {
        for name in crate::credentials::CREDENTIAL_NAMES {
            assert!(is_sensitive_name(name), "{name}");
            let entry = LoggedRequest {
                seq: 0,
                method: "GET".to_owned(),
                path: "/a".to_owned(),
                raw_target: format!("/a?{name}=v4lue-q"),
                headers: vec![(format!("x-{name}"), "v4lue-h".to_owned())],
                body: Bytes::new(),
                status: 200,
                fault: None,
                over_limit: false,
                spiked: false,
                handled: true,
            };
            let shown = format!("{entry:?}");
            assert!(!shown.contains("v4lue"), "{name}: {shown}");
        }
    }

    #[test]
    fn query_redaction_keeps_other_pairs() {
        assert_eq!(
            redact_target("/a?token=abc&x=1&flag"),
            "/a?token=[redacted]&x=1&flag"
        );
        assert_eq!(redact_target("/a%2Fb"), "/a%2Fb");
    }
}
