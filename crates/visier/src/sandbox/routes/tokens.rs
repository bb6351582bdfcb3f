//! The token endpoints: the ASID token and the OAuth 2.0 password and refresh-token
//! grants.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use grantbridge_core::sandbox::json_response;
use serde_json::json;

use crate::sandbox::state::State;
use crate::wire::*;

use super::{St, header_str, ok, status_error};

fn form_map(bytes: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(bytes)
        // The SDK writes unset fields as the literal `None`.
        .filter(|(_, v)| v != "None" && !v.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn issue(state: &mut State, kind: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    state.issued += 1;
    // Unguessable enough for a test server: a per-process random hasher over a counter.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(state.issued);
    format!("sandbox-{kind}-{:06}-{:016x}", state.issued, h.finish())
}

pub(super) async fn asid_token(AxState(shared): St, headers: HeaderMap, bytes: Bytes) -> Response {
    let mut state = shared.lock();
    // The SDK's built-in login sends no apikey; a wrong one is still refused.
    if let Some(key) = header_str(&headers, "apikey")
        && key != state.credentials.api_key.expose()
    {
        return status_error(
            &mut state,
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "Invalid API key",
        );
    }
    let form = form_map(&bytes);
    let good = form.get("username") == Some(&state.credentials.username)
        && form.get("password").map(String::as_str) == Some(state.credentials.password.expose());
    if !good {
        return status_error(
            &mut state,
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "Invalid username or password",
        );
    }
    let token = issue(&mut state, "asid");
    state.asid_tokens.insert(token.clone());
    ([(header::CONTENT_TYPE, "text/plain")], token).into_response()
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Standard base64, lenient on read as the emulator always was: padding optional,
/// stray low bits ignored.
const BASIC_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    BASIC_B64.decode(s.trim().trim_end_matches('=')).ok()
}

pub(super) async fn oauth2_token(
    AxState(shared): St,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let mut state = shared.lock();
    let oauth_error = |status: StatusCode, error: &str| {
        json_response(status, &json!({"error": error, "error_description": error}))
    };
    if header_str(&headers, "apikey") != Some(state.credentials.api_key.expose()) {
        return status_error(
            &mut state,
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "Missing or invalid API key",
        );
    }
    let form = form_map(&bytes);
    // Client authentication: HTTP Basic (secret form-encoded, as the SDK, or raw, as
    // curl -u) or client_id + client_secret in the form.
    let want_id = state.credentials.client_id.clone();
    let want_secret = state.credentials.client_secret.expose().to_owned();
    let basic_ok = header_str(&headers, "authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(base64_decode)
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let id_ok = id == want_id || percent_decode(id) == want_id;
            let secret_ok = secret == want_secret || percent_decode(secret) == want_secret;
            Some(id_ok && secret_ok)
        })
        .unwrap_or(false);
    let form_ok =
        form.get("client_id") == Some(&want_id) && form.get("client_secret") == Some(&want_secret);
    if !basic_ok && !form_ok {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    match form.get("grant_type").map(String::as_str) {
        Some("password") => {
            let good = form.get("username") == Some(&state.credentials.username)
                && form.get("password").map(String::as_str)
                    == Some(state.credentials.password.expose());
            if !good {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
        }
        Some("refresh_token") => {
            let Some(rt) = form.get("refresh_token") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            };
            // Refresh tokens are single-use: a new one comes with the new access token.
            if !state.refresh_tokens.remove(rt) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
    let access = issue(&mut state, "access");
    let refresh = issue(&mut state, "refresh");
    state.bearer_tokens.insert(access.clone());
    state.refresh_tokens.insert(refresh.clone());
    ok(&OAuth2TokenResponse {
        access_token: Some(access),
        refresh_token: Some(refresh),
        id_token: Some("sandbox-id-token".to_owned()),
        token_type: Some("Bearer".to_owned()),
        expires_in: Some(3600),
    })
}
