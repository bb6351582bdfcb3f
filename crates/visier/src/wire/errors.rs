//! Visier's error bodies, in each of their shapes.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;

use super::{lenient_opt_bool, nullable};

/// An error body in any of Visier's shapes: `Status {code, localizedMessage, message,
/// rci, userError}`, google.rpc.Status `{code: int, message, details}`, or the gateway's
/// `{errorCode, message, rci}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StatusDto {
    /// A string classification (`USER_INPUT_ERROR`) or a google.rpc integer code.
    pub code: Option<Value>,
    /// The gateway form's classification.
    pub error_code: Option<String>,
    /// The localized root-cause message.
    pub localized_message: Option<String>,
    /// A message (unused by the current spec).
    pub message: Option<String>,
    /// Root cause identifier, e.g. `RCI9000001`.
    pub rci: Option<String>,
    /// Whether the caller is at fault.
    #[serde(deserialize_with = "lenient_opt_bool")]
    pub user_error: Option<bool>,
    /// google.rpc details.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Value>,
}

impl StatusDto {
    /// The classification: `code` (string or number) or `errorCode`.
    pub fn code_text(&self) -> Option<String> {
        match &self.code {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => self.error_code.clone().filter(|s| !s.is_empty()),
        }
    }

    /// The best message: `localizedMessage`, else `message`.
    pub fn message_text(&self) -> Option<String> {
        [&self.localized_message, &self.message]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
            .cloned()
    }
}
