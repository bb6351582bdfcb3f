//! What every response shares: the `{"data": …}` and `{"errors": […]}` envelopes,
//! pagination in and out, the status of deletes, the [`Paged`] list shape, and the
//! lenient reading of counts.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

/// `PaginationInput`: what to ask for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaginationInput {
    /// Items per page, 1..=1000.
    pub count: u32,
    /// Opaque cursor from a previous page; `None` for the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl PaginationInput {
    /// The first page of `count` items.
    pub fn first(count: u32) -> Self {
        PaginationInput {
            count,
            cursor: None,
        }
    }
}

/// `PaginationOutput`: where a page sits.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginationOutput {
    /// This page's cursor.
    #[serde(default)]
    pub current: String,
    /// The next page's cursor; absent **or** null on the last page.
    #[serde(default)]
    pub next: Option<String>,
    /// The previous page's cursor; absent or null on the first.
    #[serde(default)]
    pub previous: Option<String>,
    /// Items in all pages, when the server computed it (`3` or `3.0`).
    #[serde(
        default,
        deserialize_with = "lenient_opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_entries: Option<u64>,
}

/// `{"data": …}`: every success body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The payload.
    pub data: T,
}

/// `RequestError`: one entry of an error body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestError {
    /// `input-validation`, `RequestError`, `not-found`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The offending field, for validation errors (`pagination.count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Extra data (`msBeforeNext`, … on a 429).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// The HTTP status, when repeated in the body.
    #[serde(
        default,
        deserialize_with = "lenient_opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<u64>,
}

/// `{"errors": [...]}`: every failure body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// One entry per problem (one per failed field for a 422).
    pub errors: Vec<RequestError>,
}

/// `{"status":"SUCCESS"}` of the deletes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusOutput {
    /// `SUCCESS` (the only documented value).
    pub status: String,
}

/// A paginated list response: its items and where it sits.
pub trait Paged {
    /// The item type.
    type Item;
    /// The wire name of the item array (`users`, `roles`, …).
    const FIELD: &'static str;
    /// Splits the page into items and pagination.
    fn into_parts(self) -> (Vec<Self::Item>, PaginationOutput);
    /// Where the page sits.
    fn pagination(&self) -> &PaginationOutput;
}

macro_rules! paged {
    ($(#[$doc:meta])* $name:ident, $field:ident, $wire:literal, $item:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            /// The page's items.
            #[serde(rename = $wire, default)]
            pub $field: Vec<$item>,
            /// Where the page sits.
            #[serde(default)]
            pub pagination: PaginationOutput,
        }

        impl Paged for $name {
            type Item = $item;
            const FIELD: &'static str = $wire;
            fn into_parts(self) -> (Vec<$item>, PaginationOutput) {
                (self.$field, self.pagination)
            }
            fn pagination(&self) -> &PaginationOutput {
                &self.pagination
            }
        }
    };
}
pub(crate) use paged;

/// A count that may arrive as `3` or `3.0` (the spec types it `number`).
pub(super) fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    number_to_count(&n).ok_or_else(|| {
        de::Error::invalid_value(
            de::Unexpected::Other(&n.to_string()),
            &"a non-negative whole number",
        )
    })
}

fn lenient_opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n = Option::<serde_json::Number>::deserialize(d)?;
    match n {
        None => Ok(None),
        Some(n) => number_to_count(&n).map(Some).ok_or_else(|| {
            de::Error::invalid_value(
                de::Unexpected::Other(&n.to_string()),
                &"a non-negative whole number",
            )
        }),
    }
}

fn number_to_count(n: &serde_json::Number) -> Option<u64> {
    if let Some(u) = n.as_u64() {
        return Some(u);
    }
    let f = n.as_f64()?;
    // 2^53: beyond it f64 no longer holds every whole number.
    (f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0).then_some(f as u64)
}
