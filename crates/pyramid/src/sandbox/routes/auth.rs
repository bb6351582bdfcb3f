//! `auth/authenticateUser`: checks the credentials and issues a token.

use axum::http::StatusCode;
use serde_json::Value;

use super::{Reply, param};
use crate::sandbox::state::Store;
use crate::wire::UserStatusId;

impl Store {
    /// `auth/authenticateUser`.
    pub(super) fn authenticate_user(&mut self, body: &Value) -> Reply {
        let creds = param(body, &["data", "userCredentials"])
            .cloned()
            .unwrap_or_default();
        let user_name = creds
            .get("userName")
            .or_else(|| creds.get("username"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let password = creds
            .get("password")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let found = self.users.values().find(|u| {
            u.object.user_name.as_deref() == Some(user_name)
                && !u.password.is_empty()
                && u.password == password
                && u.object.status_id != Some(UserStatusId::Disabled)
        });
        match found {
            Some(user) => {
                let user_id = user.object.id.clone();
                self.next_id += 1;
                let token = token_text(self.next_id, &user_id);
                self.tokens.insert(token.clone(), (user_id, true));
                Reply::Token(token)
            }
            None => Reply::Text(StatusCode::UNAUTHORIZED, "Invalid credentials".to_owned()),
        }
    }
}

/// A base64-looking token (hex digits are base64 characters) unique per login.
fn token_text(n: u64, user: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in user.bytes().chain(n.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("cHlyYW1pZC1{n:08x}{h:016x}")
}
