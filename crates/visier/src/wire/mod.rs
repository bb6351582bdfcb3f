//! The Visier wire format: serde types exactly as on the wire.
//!
//! Names follow the vendor's DTOs (`ProfileGetAPIResponseDTO` is
//! [`ProfileGetApiResponseDto`]; each type's doc names its wire DTO, so one grep finds
//! it). The rules of the spec (`docs/specs/visier.md` §2, §4, §9):
//!
//! * every field is optional; unknown fields are ignored, an absent or `null` list is
//!   empty and an absent bool is false;
//! * times are epoch milliseconds sent as **decimal strings** ([`Millis`]); a JSON
//!   number is accepted on read; `i64::MIN` / `i64::MAX` mean "no start" / "permanent";
//! * `forAllChildren` and the other booleans are JSON booleans on write, and the strings
//!   `"true"` / `"false"` are accepted on read (Visier's own curl samples send them);
//! * `additionalCapabilities` is a plain array in [`ProfileGetApiResponseDto`] but an
//!   object `{additionalCapabilities: [...]}` in [`ProfileAssignedForLocalTenantDto`];
//!   both forms are read everywhere, each is written in its own DTO's form;
//! * a profile detail wrapped as `{"profiles":[…]}` (the docs' form) reads as its first
//!   element.
//!
//! Requests omit `None` fields (as the official SDK does) and keep `false`.
//!
//! The types live in one file per resource family (profiles, users, user groups,
//! permissions, auth, errors), all re-exported here; the scalars are below.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

mod auth;
mod errors;
mod permissions;
mod profiles;
mod user_groups;
mod users;

pub use auth::*;
pub use errors::*;
pub use permissions::*;
pub use profiles::*;
pub use user_groups::*;
pub use users::*;

// ---------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------

/// Epoch milliseconds (UTC), written as a decimal string (`"1571122800000"`).
///
/// Reads a string or a JSON number. [`Millis::NO_START`] (`Long.MIN_VALUE`) and
/// [`Millis::PERMANENT`] (`Long.MAX_VALUE`) are Visier's "unbounded" sentinels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Millis(pub i64);

impl Millis {
    /// `"-9223372036854775808"`: the window has no start.
    pub const NO_START: Millis = Millis(i64::MIN);
    /// `"9223372036854775807"`: the window never ends.
    pub const PERMANENT: Millis = Millis(i64::MAX);

    /// A window start as an optional bound: absent or [`Millis::NO_START`] is `None`.
    pub fn start_bound(value: Option<Millis>) -> Option<i64> {
        value.filter(|m| *m != Millis::NO_START).map(|m| m.0)
    }

    /// A window end as an optional bound: absent or [`Millis::PERMANENT`] is `None`.
    pub fn end_bound(value: Option<Millis>) -> Option<i64> {
        value.filter(|m| *m != Millis::PERMANENT).map(|m| m.0)
    }

    /// The wire value of an optional start (unbounded: [`Millis::NO_START`]).
    pub fn from_start(bound: Option<i64>) -> Millis {
        bound.map_or(Millis::NO_START, Millis)
    }

    /// The wire value of an optional end (unbounded: [`Millis::PERMANENT`]).
    pub fn from_end(bound: Option<i64>) -> Millis {
        bound.map_or(Millis::PERMANENT, Millis)
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Millis;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("epoch milliseconds as a decimal string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Millis, E> {
                v.trim()
                    .parse::<i64>()
                    .map(Millis)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Millis, E> {
                Ok(Millis(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Millis, E> {
                i64::try_from(v)
                    .map(Millis)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Reads a bool, also from the strings `"true"`/`"false"` (any case); `null` is absent.
fn lenient_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean or the string \"true\"/\"false\"")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// [`lenient_opt_bool`] with absent/`null` as false.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    lenient_opt_bool(d).map(Option::unwrap_or_default)
}

/// A field that may be `null`: `null` reads as the default (an empty list).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// `additionalCapabilities` in either form: `[..]` or `{"additionalCapabilities":[..]}`.
fn either_capabilities<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        Object {
            #[serde(
                default,
                rename = "additionalCapabilities",
                deserialize_with = "nullable"
            )]
            additional_capabilities: Vec<String>,
        },
        Null(()),
    }
    Ok(match Either::deserialize(d)? {
        Either::List(v) => v,
        Either::Object {
            additional_capabilities,
        } => additional_capabilities,
        Either::Null(()) => Vec::new(),
    })
}

/// Writes capabilities in the object form of `AdditionalCapabilitiesDTO`.
fn capabilities_as_object<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Obj<'a> {
        #[serde(rename = "additionalCapabilities")]
        additional_capabilities: &'a [String],
    }
    Obj {
        additional_capabilities: v,
    }
    .serialize(s)
}
