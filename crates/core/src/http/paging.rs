//! The guard every paginated listing uses against a server that repeats itself.

use std::collections::HashSet;

use crate::Error;

/// Remembers what a pagination has seen (cursors handed out, ids that start a page)
/// and stops it with one error when the server repeats a page or a cursor, which
/// would otherwise loop forever.
///
/// The error is [`Error::Decode`] (status 200: the answers parsed but make no sense)
/// naming the operation: `"GET /users repeated a page/cursor; stopping instead of
/// looping"`.
///
/// ```
/// use grantbridge_core::ErrorKind;
/// use grantbridge_core::http::PageGuard;
///
/// let mut guard = PageGuard::new("GET /users");
/// guard.check("cursor-1")?;
/// guard.check("cursor-2")?;
/// let err = guard.check("cursor-1").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Decode);
/// assert!(err.to_string().contains("GET /users repeated a page/cursor"));
/// # Ok::<(), grantbridge_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct PageGuard {
    operation: String,
    seen: HashSet<String>,
}

impl PageGuard {
    /// A guard for the listing `operation` (`"GET /users"`), named in its error.
    pub fn new(operation: impl Into<String>) -> Self {
        PageGuard {
            operation: operation.into(),
            seen: HashSet::new(),
        }
    }

    /// Records `key` (a cursor, or an id that starts a page); fails with
    /// [`PageGuard::repeated`] if it was seen before.
    pub fn check(&mut self, key: &str) -> Result<(), Error> {
        if self.seen.contains(key) {
            return Err(self.repeated());
        }
        self.seen.insert(key.to_owned());
        Ok(())
    }

    /// Records `key` without checking it (the cursor a page was asked with, the
    /// other ids of a page).
    pub fn remember(&mut self, key: &str) {
        if !self.seen.contains(key) {
            self.seen.insert(key.to_owned());
        }
    }

    /// Whether `key` was seen.
    pub fn has_seen(&self, key: &str) -> bool {
        self.seen.contains(key)
    }

    /// The error for a repeated page or cursor.
    pub fn repeated(&self) -> Error {
        Error::Decode {
            status: 200,
            content_type: None,
            message: format!(
                "{} repeated a page/cursor; stopping instead of looping",
                self.operation
            ),
            excerpt: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_fails_and_remembered_keys_count() {
        let mut guard = PageGuard::new("GET /things");
        guard.remember("a");
        assert!(guard.has_seen("a"));
        assert!(guard.check("b").is_ok());
        for key in ["a", "b"] {
            match guard.check(key) {
                Err(Error::Decode {
                    status: 200,
                    message,
                    ..
                }) => assert_eq!(
                    message,
                    "GET /things repeated a page/cursor; stopping instead of looping"
                ),
                other => panic!("{other:?}"),
            }
        }
    }
}
