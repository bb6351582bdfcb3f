//! The one error type of grantbridge.
//!
//! Adapters keep their own private error details and map them into [`Error`]; callers
//! match on variants or on [`Error::kind`], never on message strings. Errors are
//! `Clone` (a batch may report the same cause for several items) and serializable (a
//! run's journal and report record them); source chains are kept in memory only.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A shorthand for `Result<T, grantbridge_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A shared, clonable source error kept for `Error::source()` chains.
///
/// It is never serialized: journals and reports carry the message of the variant only.
#[derive(Clone)]
pub struct SourceError(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl SourceError {
    /// Wraps any error as a source.
    pub fn new<E: std::error::Error + Send + Sync + 'static>(error: E) -> Self {
        Self(Arc::new(error))
    }
}

impl fmt::Debug for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// What kind of thing was not found, refused or conflicting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    /// A user.
    User,
    /// A group.
    Group,
    /// A profile.
    Profile,
    /// An assignment.
    Assignment,
    /// A membership.
    Membership,
    /// A tenant.
    Tenant,
    /// A resource (Segment workspace, source, ...).
    Resource,
    /// A snapshot, plan, journal or other file.
    File,
    /// Something else the vendor API names (an endpoint, a token, ...).
    Other,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::User => "user",
            Entity::Group => "group",
            Entity::Profile => "profile",
            Entity::Assignment => "assignment",
            Entity::Membership => "membership",
            Entity::Tenant => "tenant",
            Entity::Resource => "resource",
            Entity::File => "file",
            Entity::Other => "object",
        })
    }
}

/// A capability a system may lack; named by [`Error::Unsupported`].
///
/// Each variant corresponds to a field of [`crate::Capabilities`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Assignments with a bounded validity window.
    ValidityWindows,
    /// Assignments scoped to the whole system.
    SystemScope,
    /// Assignments scoped to a tenant.
    TenantScopes,
    /// Assignments scoped to a resource.
    ResourceScopes,
    /// Assignments held by a user directly.
    UserPrincipals,
    /// Assignments held by a group.
    GroupPrincipals,
    /// Groups and memberships at all.
    Groups,
    /// Adding and removing memberships.
    MembershipWrite,
    /// Creating profiles.
    ProfileCreate,
    /// Deleting profiles.
    ProfileDelete,
    /// A profile assigned on a kind of scope it does not apply to.
    ProfileScope,
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Feature::ValidityWindows => "validity windows",
            Feature::SystemScope => "system-wide scope",
            Feature::TenantScopes => "tenant scopes",
            Feature::ResourceScopes => "resource scopes",
            Feature::UserPrincipals => "assignments to users",
            Feature::GroupPrincipals => "assignments to groups",
            Feature::Groups => "groups",
            Feature::MembershipWrite => "membership changes",
            Feature::ProfileCreate => "profile creation",
            Feature::ProfileDelete => "profile deletion",
            Feature::ProfileScope => "this profile on this kind of scope",
        })
    }
}

/// The class of an [`Error`], for matching without destructuring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::Unsupported`].
    Unsupported,
    /// See [`Error::InvalidInput`].
    InvalidInput,
    /// See [`Error::Conflict`].
    Conflict,
    /// See [`Error::Authentication`].
    Authentication,
    /// See [`Error::RateLimited`].
    RateLimited,
    /// See [`Error::Transport`].
    Transport,
    /// See [`Error::Decode`].
    Decode,
    /// See [`Error::Vendor`].
    Vendor,
    /// See [`Error::PartialFailure`].
    PartialFailure,
    /// See [`Error::Io`].
    Io,
    /// See [`Error::Mapping`].
    Mapping,
}

/// The error type of grantbridge.
#[derive(Clone, Debug, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Error {
    /// The named object does not exist in the system.
    #[error("{entity} not found: {id:?}")]
    NotFound {
        /// What was looked for.
        entity: Entity,
        /// The id (or name) that was looked for.
        id: String,
    },

    /// The system cannot do this at all; see [`crate::Capabilities`].
    #[error("unsupported by {system}: {feature}")]
    Unsupported {
        /// The system that refused.
        system: String,
        /// The missing capability.
        feature: Feature,
    },

    /// The input was refused before anything was sent.
    #[error("invalid {what}: {why}")]
    InvalidInput {
        /// What was invalid (a field, an id, a file position).
        what: String,
        /// Why it was refused.
        why: String,
    },

    /// The request conflicts with the current state (e.g. a user already holds the
    /// only profile the system allows them).
    #[error("conflict on {entity} {id:?}: {why}")]
    Conflict {
        /// The kind of object in conflict.
        entity: Entity,
        /// Its id.
        id: String,
        /// What conflicts.
        why: String,
    },

    /// Credentials were missing, wrong or expired (and could not be refreshed).
    #[error("authentication failed: {message}")]
    Authentication {
        /// The vendor's message, free of secrets.
        message: String,
    },

    /// The vendor refused the request for its rate limit, after any retries.
    #[error("rate limited{}", match .retry_after { Some(d) => format!(" (retry after {d:?})"), None => String::new() })]
    RateLimited {
        /// How long the vendor asked to wait, when it said.
        retry_after: Option<Duration>,
    },

    /// The request could not be completed on the network (connect, reset, timeout).
    #[error("transport error: {message}")]
    Transport {
        /// What went wrong, free of secrets.
        message: String,
        /// Whether the request timed out.
        timed_out: bool,
        /// The underlying error, in memory only.
        #[serde(skip)]
        #[source]
        source: Option<SourceError>,
    },

    /// A response arrived but could not be understood (not JSON, wrong shape, too big).
    #[error(
        "cannot decode response (HTTP {status}, {content_type:?}): {message}; body starts {excerpt:?}"
    )]
    Decode {
        /// HTTP status of the response.
        status: u16,
        /// Its content type, if any.
        content_type: Option<String>,
        /// What the decoder said.
        message: String,
        /// The start of the body, truncated and free of secrets.
        excerpt: String,
    },

    /// The vendor answered with an error.
    #[error("{system} error (HTTP {status}{}): {message}{}",
        match .code { Some(c) => format!(", code {c}"), None => String::new() },
        match .request_id { Some(r) => format!(" [request id {r}]"), None => String::new() })]
    Vendor {
        /// The system that answered.
        system: String,
        /// HTTP status (200 for failures reported inside a successful envelope).
        status: u16,
        /// The vendor's own error code, when it gives one.
        code: Option<String>,
        /// The vendor's message.
        message: String,
        /// The vendor's request or correlation id, for support tickets.
        request_id: Option<String>,
    },

    /// Some items of a batch failed; each item's own outcome says which and why.
    #[error("{failed} of {total} items failed")]
    PartialFailure {
        /// Items in the batch.
        total: usize,
        /// Items that failed.
        failed: usize,
    },

    /// A mapping file is malformed or points at something that does not exist.
    #[error("{file}:{line}:{column}: {}{message}", match .rule { Some(r) => format!("rule {r}: "), None => String::new() })]
    Mapping {
        /// The mapping file (or `<inline>`).
        file: String,
        /// 1-based line of the offending item.
        line: usize,
        /// 1-based column of the offending item.
        column: usize,
        /// The rule concerned, by name or position (`rules[2]`), if any.
        rule: Option<String>,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// Reading or writing a local file (snapshot, plan, journal) failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::Authentication { .. } => ErrorKind::Authentication,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Transport { .. } => ErrorKind::Transport,
            Error::Decode { .. } => ErrorKind::Decode,
            Error::Vendor { .. } => ErrorKind::Vendor,
            Error::PartialFailure { .. } => ErrorKind::PartialFailure,
            Error::Io { .. } => ErrorKind::Io,
            Error::Mapping { .. } => ErrorKind::Mapping,
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(entity: Entity, id: impl Into<String>) -> Self {
        Error::NotFound {
            entity,
            id: id.into(),
        }
    }

    /// Shorthand for [`Error::Unsupported`].
    pub fn unsupported(system: impl Into<String>, feature: Feature) -> Self {
        Error::Unsupported {
            system: system.into(),
            feature,
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::InvalidInput {
            what: what.into(),
            why: why.into(),
        }
    }

    /// Shorthand for [`Error::Transport`] without a source.
    pub fn transport(message: impl Into<String>) -> Self {
        Error::Transport {
            message: message.into(),
            timed_out: false,
            source: None,
        }
    }

    /// Shorthand for [`Error::Io`] about a local file.
    pub fn io(path: impl AsRef<std::path::Path>, error: impl fmt::Display) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            message: error.to_string(),
        }
    }

    /// Whether trying the same request again later may succeed: rate limits, network
    /// failures and the vendor's 502/503/504 (and 500, which vendors use for overload).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::Transport { .. } => true,
            Error::Vendor { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// Whether a failed *write* may nevertheless have taken effect, so that its outcome
    /// must be settled by reading the state back rather than reported as a failure.
    ///
    /// True when the answer was lost ([`Error::Transport`]: a reset or timeout after
    /// sending), garbled ([`Error::Decode`]), or came from a crashing server or a
    /// gateway after the request was passed on ([`Error::Vendor`] with HTTP 500, 502 or
    /// 504), or arrived without a word about the item
    /// ([`OutcomeSlots::unconfirmed`](crate::OutcomeSlots::unconfirmed), whose code is
    /// [`UNCONFIRMED_CODE`](crate::UNCONFIRMED_CODE)). A 503 or a rate limit (429,
    /// [`Error::RateLimited`]) means the server refused before doing any work; every
    /// other error is a refusal too.
    ///
    /// ```
    /// use grantbridge_core::Error;
    ///
    /// assert!(Error::transport("connection reset").outcome_unknown());
    /// let unavailable = Error::Vendor {
    ///     system: "demo".into(),
    ///     status: 503,
    ///     code: None,
    ///     message: "try later".into(),
    ///     request_id: None,
    /// };
    /// assert!(!unavailable.outcome_unknown());
    /// ```
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Decode { .. } => true,
            Error::Vendor { status, code, .. } => {
                matches!(status, 500 | 502 | 504)
                    || (*status == 200
                        && code.as_deref() == Some(crate::outcomes::UNCONFIRMED_CODE))
            }
            _ => false,
        }
    }

    /// How long the vendor asked to wait before retrying, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

impl PartialEq for Error {
    /// Errors compare by their serialized content; sources are not compared.
    fn eq(&self, other: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(other).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_through_json_without_sources() {
        let e = Error::Transport {
            message: "connection reset".into(),
            timed_out: false,
            source: Some(SourceError::new(std::io::Error::other("reset by peer"))),
        };
        let json = serde_json::to_string(&e).expect("serializable");
        assert_eq!(
            json,
            r#"{"kind":"transport","message":"connection reset","timed_out":false}"#
        );
        let back: Error = serde_json::from_str(&json).expect("deserializable");
        assert_eq!(back, e);
        assert!(back.is_retryable());
        assert!(std::error::Error::source(&e).is_some());
    }

    fn vendor(status: u16) -> Error {
        Error::Vendor {
            system: "demo".into(),
            status,
            code: None,
            message: "m".into(),
            request_id: None,
        }
    }

    #[test]
    fn outcome_unknown_only_when_the_write_may_have_happened() {
        let unknown = [
            Error::transport("reset after sending"),
            Error::Transport {
                message: "timed out".into(),
                timed_out: true,
                source: None,
            },
            Error::Decode {
                status: 200,
                content_type: Some("application/json".into()),
                message: "EOF while parsing".into(),
                excerpt: "{\"data\":".into(),
            },
            vendor(500),
            vendor(502),
            vendor(504),
            // Spelled out, not built by `OutcomeSlots::unconfirmed`: the code is the contract.
            Error::Vendor {
                system: "demo".into(),
                status: 200,
                code: Some("grantbridge:unconfirmed".into()),
                message: "assign: the answer neither confirms nor refuses this item".into(),
                request_id: None,
            },
        ];
        for e in &unknown {
            assert!(e.outcome_unknown(), "{e}");
        }
        let refused = [
            vendor(503),
            vendor(429),
            vendor(400),
            vendor(404),
            vendor(422),
            vendor(200),
            // Another code on a 200 is a refusal inside the answer.
            Error::Vendor {
                system: "demo".into(),
                status: 200,
                code: Some("USER_NOT_FOUND".into()),
                message: "no such user".into(),
                request_id: None,
            },
            // The unconfirmed code on another status is not the marker.
            Error::Vendor {
                system: "demo".into(),
                status: 400,
                code: Some("grantbridge:unconfirmed".into()),
                message: "m".into(),
                request_id: None,
            },
            Error::RateLimited { retry_after: None },
            Error::not_found(Entity::User, "u1"),
            Error::unsupported("demo", Feature::Groups),
            Error::invalid("scope", "bad"),
            Error::Authentication {
                message: "HTTP 401".into(),
            },
            Error::Conflict {
                entity: Entity::User,
                id: "u1".into(),
                why: "one profile".into(),
            },
        ];
        for e in &refused {
            assert!(!e.outcome_unknown(), "{e}");
        }
    }

    #[test]
    fn display_names_what_and_why() {
        let e = Error::Vendor {
            system: "segment".into(),
            status: 422,
            code: Some("validation".into()),
            message: "count too large".into(),
            request_id: Some("r-1".into()),
        };
        assert_eq!(
            e.to_string(),
            "segment error (HTTP 422, code validation): count too large [request id r-1]"
        );
        assert!(!e.is_retryable());
        let e = Error::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(e.to_string(), "rate limited (retry after 3s)");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            Error::unsupported("mem", Feature::ValidityWindows).to_string(),
            "unsupported by mem: validity windows"
        );
    }
}
