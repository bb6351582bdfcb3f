//! The routes of the Visier emulator.

// The `Err` of the helpers here is the response to send, built at most once per
// request: its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use grantbridge_core::sandbox::json_response;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{ProfileDef, Shared, State, Tenant, Window};
use crate::wire::*;

type St = AxState<Arc<Shared>>;
type Q = Query<HashMap<String, String>>;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/admin/visierSecureToken", post(asid_token))
        .route("/v1/auth/oauth2/token", post(oauth2_token))
        .route("/v1/admin/profiles", get(all_profiles))
        .route(
            "/v1/admin/profiles/accessible-tenants",
            get(analytic_profiles),
        )
        .route(
            "/v1/admin/profiles/accessible-tenants/{id}",
            get(analytic_profile_detail),
        )
        .route(
            "/v1/admin/profiles/accessible-tenants/{id}/assign",
            put(assign_analytic),
        )
        .route(
            "/v1/admin/profiles/accessible-tenants/{id}/remove",
            axum::routing::delete(remove_analytic),
        )
        .route("/v1/admin/profiles/{id}", get(profile_detail))
        .route("/v1/admin/profiles/{id}/assign", put(assign_local))
        .route(
            "/v1/admin/profiles/{id}/remove",
            axum::routing::delete(remove_local),
        )
        .route("/v1/admin/users", get(users))
        .route("/v1/admin/users/{id}", get(user))
        .route("/v1/admin/users/{id}/profiles", get(user_profiles))
        .route(
            "/v1/admin/users/{id}/accessible-tenant-profiles",
            get(user_analytic_profiles),
        )
        .route("/v1/admin/user-groups", get(user_groups))
        .route(
            "/v1/admin/user-groups/users",
            put(add_group_users).delete(remove_group_users),
        )
        .route("/v1/admin/user-groups/{id}/users", get(group_users))
        .route("/v1/admin/permissions", get(permissions))
        .route(
            "/v1/admin/permissions/users",
            put(assign_permissions).delete(remove_permissions),
        )
        .route("/v1/admin/permissions/{id}/users", get(permission_users))
        .fallback(not_found_route)
        .with_state(shared)
}

// -- Helpers ------------------------------------------------------------------------

fn status_error(state: &mut State, status: StatusCode, code: &str, message: &str) -> Response {
    state.rci += 1;
    json_response(
        status,
        &json!({
            "code": code,
            "localizedMessage": message,
            "message": "",
            "rci": format!("RCI{:07}", state.rci),
            "userError": status.is_client_error(),
        }),
    )
}

fn ok<T: Serialize>(body: &T) -> Response {
    match serde_json::to_value(body) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"code": "INTERNAL_SERVER_ERROR", "localizedMessage": e.to_string()}),
        ),
    }
}

async fn not_found_route() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({"code": "USER_INPUT_ERROR", "localizedMessage": "No such API", "message": "",
                "rci": "RCI0000404", "userError": true}),
    )
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The API key and exactly one accepted token.
fn authorize(state: &mut State, headers: &HeaderMap) -> Result<(), Response> {
    if header_str(headers, "apikey") != Some(state.credentials.api_key.expose()) {
        return Err(status_error(
            state,
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "Missing or invalid API key",
        ));
    }
    let cookie_ok = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix("VisierASIDToken="))
        .any(|t| state.asid_tokens.contains(t));
    let bearer_ok = header_str(headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| state.bearer_tokens.contains(t.trim()));
    if cookie_ok || bearer_ok {
        Ok(())
    } else {
        Err(status_error(
            state,
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "Security token expired or invalid",
        ))
    }
}

/// The tenant a local operation runs in: `tenantCode` query, else `TargetTenantID`,
/// else the administrating tenant.
fn tenant_of(
    state: &mut State,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<String, Response> {
    let code = query
        .or_else(|| header_str(headers, "targettenantid"))
        .map(str::to_owned)
        .unwrap_or_else(|| state.admin.clone());
    if state.knows_tenant(&code) {
        Ok(code)
    } else {
        Err(status_error(
            state,
            StatusCode::BAD_REQUEST,
            "USER_INPUT_ERROR",
            "Unknown tenant code",
        ))
    }
}

fn require_admin(state: &mut State) -> Result<(), Response> {
    if state.administrating {
        Ok(())
    } else {
        Err(status_error(
            state,
            StatusCode::FORBIDDEN,
            "INSUFFICIENT_PRIVILEGES",
            "Only administrating tenants can manage analytic tenant profiles",
        ))
    }
}

/// A JSON body, or the legacy form `model=<json>` of Visier's curl samples.
fn body<T: DeserializeOwned>(
    state: &mut State,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<T, Response> {
    let is_form = header_str(headers, "content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let parsed = if is_form {
        url::form_urlencoded::parse(bytes)
            .find(|(k, _)| k == "model")
            .map(|(_, v)| serde_json::from_str::<T>(&v))
    } else {
        Some(serde_json::from_slice::<T>(bytes))
    };
    match parsed {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(status_error(
            state,
            StatusCode::BAD_REQUEST,
            "USER_INPUT_ERROR",
            &format!("Malformed request body: {e}"),
        )),
        None => Err(status_error(
            state,
            StatusCode::BAD_REQUEST,
            "USER_INPUT_ERROR",
            "Missing request body",
        )),
    }
}

fn qbool(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn page_args(
    state: &mut State,
    q: &HashMap<String, String>,
    max: u32,
) -> Result<(usize, usize), Response> {
    let parse = |k: &str, default: u32| -> Option<u32> {
        match q.get(k) {
            None => Some(default),
            Some(v) => v.parse().ok(),
        }
    };
    match (parse("limit", 100), parse("start", 0)) {
        (Some(limit), Some(start)) if limit >= 1 && limit <= max => {
            Ok((limit as usize, start as usize))
        }
        _ => Err(status_error(
            state,
            StatusCode::BAD_REQUEST,
            "USER_INPUT_ERROR",
            &format!("limit must be 1..={max} and start a non-negative integer"),
        )),
    }
}

fn profile_dto(id: &str, p: &ProfileDef) -> ProfileGetApiResponseDto {
    ProfileGetApiResponseDto {
        profile_id: Some(id.to_owned()),
        display_name: Some(p.name.clone()),
        capabilities: p.capabilities.clone(),
        additional_capabilities: p.additional.clone(),
    }
}

fn item_error(state: &mut State, message: &str) -> ErrorDto {
    state.rci += 1;
    ErrorDto {
        root_cause_id: Some(format!("RCI{:07}", state.rci)),
        error_code: Some("USER_INPUT_ERROR".to_owned()),
        error_message: Some(message.to_owned()),
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn window_of(start: Option<Millis>, end: Option<Millis>) -> Window {
    Window {
        start: start.unwrap_or(Millis::NO_START),
        end: end.unwrap_or(Millis::PERMANENT),
    }
}

fn local_assigned(t: &Tenant, user: &str) -> Vec<ProfileAssignedForLocalTenantDto> {
    t.local
        .range((user.to_owned(), String::new())..)
        .take_while(|((u, _), _)| u == user)
        .filter_map(|((_, pid), w)| {
            let p = t.profiles.get(pid)?;
            Some(ProfileAssignedForLocalTenantDto {
                profile_id: Some(pid.clone()),
                display_name: Some(p.name.clone()),
                validity_start_time: Some(w.start),
                validity_end_time: Some(w.end),
                capabilities: p.capabilities.clone(),
                additional_capabilities: p.additional.clone(),
            })
        })
        .collect()
}

// -- Tokens -------------------------------------------------------------------------

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

async fn asid_token(AxState(shared): St, headers: HeaderMap, bytes: Bytes) -> Response {
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

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim().trim_end_matches('=');
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

async fn oauth2_token(AxState(shared): St, headers: HeaderMap, bytes: Bytes) -> Response {
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

// -- Profiles -----------------------------------------------------------------------

async fn all_profiles(AxState(shared): St, headers: HeaderMap) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers) {
        return r;
    }
    let code = match tenant_of(&mut state, &headers, None) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let t = &state.tenants[&code];
    ok(&ProfilesGetApiResponseDto {
        profiles: t
            .profiles
            .iter()
            .map(|(id, p)| profile_dto(id, p))
            .collect(),
    })
}

async fn profile_detail(
    AxState(shared): St,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers) {
        return r;
    }
    let code = match tenant_of(&mut state, &headers, None) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match state.tenants[&code].profiles.get(&id) {
        Some(p) => ok(&profile_dto(&id, p)),
        None => status_error(
            &mut state,
            StatusCode::NOT_FOUND,
            "USER_INPUT_ERROR",
            "Profile not found",
        ),
    }
}

async fn analytic_profiles(AxState(shared): St, headers: HeaderMap) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers).and_then(|()| require_admin(&mut state)) {
        return r;
    }
    ok(&ProfilesGetApiResponseDto {
        profiles: state
            .analytic_profiles
            .iter()
            .map(|(id, p)| profile_dto(id, p))
            .collect(),
    })
}

async fn analytic_profile_detail(
    AxState(shared): St,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers).and_then(|()| require_admin(&mut state)) {
        return r;
    }
    match state.analytic_profiles.get(&id) {
        Some(p) => ok(&profile_dto(&id, p)),
        None => status_error(
            &mut state,
            StatusCode::NOT_FOUND,
            "USER_INPUT_ERROR",
            "Profile not found",
        ),
    }
}

async fn user_profiles(
    AxState(shared): St,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers) {
        return r;
    }
    let code = match tenant_of(&mut state, &headers, None) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let t = &state.tenants[&code];
    if !t.users.contains_key(&id) {
        return status_error(
            &mut state,
            StatusCode::NOT_FOUND,
            "USER_INPUT_ERROR",
            "User ID does not exist",
        );
    }
    ok(&AllProfileAssignedForLocalTenantDto {
        assigned_profiles: local_assigned(t, &id),
    })
}

async fn user_analytic_profiles(
    AxState(shared): St,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers).and_then(|()| require_admin(&mut state)) {
        return r;
    }
    let admin = state.admin.clone();
    if !state.tenants[&admin].users.contains_key(&id) {
        return status_error(
            &mut state,
            StatusCode::NOT_FOUND,
            "USER_INPUT_ERROR",
            "User ID does not exist",
        );
    }
    let list = state
        .analytic
        .range((id.clone(), String::new(), String::new(), false)..)
        .take_while(|((u, ..), _)| *u == id)
        .map(
            |((_, pid, code, children), w)| ProfileAssignedForAccessibleTenantDto {
                profile_id: Some(pid.clone()),
                display_name: state.analytic_profiles.get(pid).map(|p| p.name.clone()),
                tenant_code: Some(code.clone()),
                for_all_children: *children,
                validity_start_time: Some(w.start),
                validity_end_time: Some(w.end),
            },
        )
        .collect();
    ok(&AllProfileAssignedForAccessibleTenantDto {
        assigned_profiles_for_accessible_tenant: list,
    })
}

fn bad_window(state: &mut State, w: Window) -> Option<Response> {
    (w.start >= w.end).then(|| {
        status_error(
            state,
            StatusCode::BAD_REQUEST,
            "USER_INPUT_ERROR",
            "validityStartTime must be before validityEndTime",
        )
    })
}

async fn assign_local(
    AxState(shared): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers) {
        return r;
    }
    let code = match tenant_of(&mut state, &headers, None) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let req: LocalTenantProfileAssignmentRequestDto = match body(&mut state, &headers, &bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !state.tenants[&code].profiles.contains_key(&id) {
        return status_error(
            &mut state,
            StatusCode::NOT_FOUND,
            "USER_INPUT_ERROR",
            "Profile not found",
        );
    }
    let w = window_of(req.validity_start_time, req.validity_end_time);
    if let Some(r) = bad_window(&mut state, w) {
        return r;
    }
    let mut out = LocalTenantProfileAssignmentResponseDto::default();
    let expired = w.end.0 <= now_ms();
    for user in req.target_user_ids {
        if !state.tenants[&code].users.contains_key(&user) {
            let error = Some(item_error(&mut state, "User ID does not exist"));
            out.bad_user_ids.push(UserIdErrorDto {
                user_id: Some(user),
                error,
            });
            continue;
        }
        let t = state.tenants.get_mut(&code).expect("tenant checked above");
        if expired {
            t.local.remove(&(user.clone(), id.clone()));
        } else {
            t.local.insert((user.clone(), id.clone()), w);
        }
        out.successful_assignments.push(UserIdDto {
            user_id: Some(user),
        });
    }
    out.errors = !out.bad_user_ids.is_empty();
    ok(&out)
}

async fn remove_local(
    AxState(shared): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers) {
        return r;
    }
    let code = match tenant_of(&mut state, &headers, None) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let req: LocalTenantProfileRevokeRequestDto = match body(&mut state, &headers, &bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !state.tenants[&code].profiles.contains_key(&id) {
        return status_error(
            &mut state,
            StatusCode::NOT_FOUND,
            "USER_INPUT_ERROR",
            "Profile not found",
        );
    }
    let t = state.tenants.get_mut(&code).expect("tenant checked above");
    let mut out = LocalTenantProfileRevokeResponseDto::default();
    for user in req.target_user_ids {
        if !t.users.contains_key(&user) {
            out.failed.push(FailedLocalRevokeDto {
                user_id: Some(user),
                message: Some("User ID does not exist".to_owned()),
            });
            continue;
        }
        t.local.remove(&(user.clone(), id.clone()));
        out.succeeded.push(UserIdDto {
            user_id: Some(user),
        });
    }
    ok(&out)
}

async fn assign_analytic(
    AxState(shared): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers).and_then(|()| require_admin(&mut state)) {
        return r;
    }
    let req: AccessibleTenantProfileAssignmentRequestDto = match body(&mut state, &headers, &bytes)
    {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !state.analytic_profiles.contains_key(&id) {
        return status_error(
            &mut state,
            StatusCode::NOT_FOUND,
            "USER_INPUT_ERROR",
            "Profile not found",
        );
    }
    let w = window_of(req.validity_start_time, req.validity_end_time);
    if let Some(r) = bad_window(&mut state, w) {
        return r;
    }
    let expired = w.end.0 <= now_ms();
    let mut out = AccessibleTenantProfileAssignmentResponseDto::default();
    let mut tenants = Vec::new();
    for t in req.target_tenant_codes {
        let code = t.tenant_code.clone().unwrap_or_default();
        if state.knows_tenant(&code) {
            tenants.push((code, t.for_all_children.unwrap_or(false)));
        } else {
            let error = Some(item_error(&mut state, "Tenant code does not exist"));
            out.bad_tenant_codes.push(TenantCodeErrorDto {
                tenant_code: t.tenant_code,
                for_all_children: t.for_all_children,
                error,
            });
        }
    }
    let admin = state.admin.clone();
    for user in req.target_user_ids {
        if !state.tenants[&admin].users.contains_key(&user) {
            let error = Some(item_error(&mut state, "User ID does not exist"));
            out.bad_user_ids.push(UserIdErrorDto {
                user_id: Some(user),
                error,
            });
            continue;
        }
        for (code, children) in &tenants {
            let key = (user.clone(), id.clone(), code.clone(), *children);
            if expired {
                state.analytic.remove(&key);
            } else {
                state.analytic.insert(key, w);
            }
            out.successful_assignments
                .push(SuccessfulAccessibleAssignmentDto {
                    user_id: Some(user.clone()),
                    tenant_code: Some(code.clone()),
                    for_all_children: Some(*children),
                });
        }
    }
    out.errors = !out.bad_user_ids.is_empty() || !out.bad_tenant_codes.is_empty();
    ok(&out)
}

async fn remove_analytic(
    AxState(shared): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers).and_then(|()| require_admin(&mut state)) {
        return r;
    }
    let req: AccessibleTenantProfileRevokeRequestDto = match body(&mut state, &headers, &bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !state.analytic_profiles.contains_key(&id) {
        return status_error(
            &mut state,
            StatusCode::NOT_FOUND,
            "USER_INPUT_ERROR",
            "Profile not found",
        );
    }
    let mut out = AccessibleTenantProfileRevokeResponseDto::default();
    let mut tenants = Vec::new();
    for t in req.target_tenant_codes {
        let code = t.tenant_code.clone().unwrap_or_default();
        if state.knows_tenant(&code) {
            tenants.push((code, t.for_all_children.unwrap_or(false)));
        } else {
            out.bad_tenant_codes.push(TenantCodeErrorDto {
                tenant_code: t.tenant_code,
                for_all_children: t.for_all_children,
                error: Some(ErrorDto {
                    error_message: Some("Tenant code does not exist".to_owned()),
                    ..ErrorDto::default()
                }),
            });
        }
    }
    let admin = state.admin.clone();
    for user in req.target_user_ids {
        if !state.tenants[&admin].users.contains_key(&user) {
            out.bad_user_ids.push(UserIdErrorDto {
                user_id: Some(user),
                error: Some(ErrorDto {
                    error_message: Some("User ID does not exist".to_owned()),
                    ..ErrorDto::default()
                }),
            });
            continue;
        }
        let mut removed = false;
        for (code, children) in &tenants {
            removed |= state
                .analytic
                .remove(&(user.clone(), id.clone(), code.clone(), *children))
                .is_some();
        }
        let entry = UserIdDto {
            user_id: Some(user),
        };
        if removed {
            out.succeeded.push(entry);
        } else {
            out.unaffected_users.push(entry);
        }
    }
    ok(&out)
}

// -- Users --------------------------------------------------------------------------

fn user_dto(t: &Tenant, id: &str, q: &HashMap<String, String>) -> Option<UserGetApiResponseDto> {
    let u = t.users.get(id)?;
    let profiles = qbool(q, "assignedProfiles")
        .then(|| local_assigned(t, id))
        .filter(|p| !p.is_empty())
        .map(|assigned_profiles| AllProfileAssignedForLocalTenantDto { assigned_profiles });
    let groups = qbool(q, "assignedUserGroups").then(|| UserUserGroupsDto {
        assigned_user_groups: t
            .groups
            .iter()
            .filter(|(_, g)| g.members.contains(id))
            .map(|(gid, g)| UserGroupRefDto {
                user_group_id: Some(gid.clone()),
                display_name: Some(g.name.clone()),
            })
            .collect(),
    });
    let permissions = qbool(q, "assignedPermissions").then(|| UserPermissionsDto {
        assigned_permissions: t
            .permission_users
            .iter()
            .filter(|(_, u)| u == id)
            .map(|(p, _)| PermissionRefDto {
                permission_id: Some(p.clone()),
                display_name: t.permissions.get(p).map(|x| x.0.clone()),
                description: t.permissions.get(p).map(|x| x.1.clone()),
            })
            .collect(),
    });
    Some(UserGetApiResponseDto {
        user_id: Some(id.to_owned()),
        username: Some(u.username.clone()),
        display_name: Some(u.display_name.clone()),
        employee_id: Some(u.employee_id.clone()),
        email: Some(u.email.clone()),
        account_enabled: Some(u.enabled),
        profiles,
        permissions,
        user_groups: groups,
        last_login: u.last_login.map(|ms| LastLoginDto {
            timestamp: Some(Millis(ms)),
        }),
    })
}

async fn users(AxState(shared): St, headers: HeaderMap, Query(q): Q) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers) {
        return r;
    }
    let code = match tenant_of(
        &mut state,
        &headers,
        q.get("tenantCode").map(String::as_str),
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (limit, start) = match page_args(&mut state, &q, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = &state.tenants[&code];
    let users = t
        .users
        .keys()
        .skip(start)
        .take(limit)
        .filter_map(|id| user_dto(t, id, &q))
        .collect();
    ok(&AllUsersGetApiResponseDto {
        users,
        limit: Some(limit as u32),
        start: Some(start as u32),
    })
}

async fn user(
    AxState(shared): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers) {
        return r;
    }
    let code = match tenant_of(
        &mut state,
        &headers,
        q.get("tenantCode").map(String::as_str),
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match user_dto(&state.tenants[&code], &id, &q) {
        Some(u) => ok(&u),
        None => status_error(
            &mut state,
            StatusCode::NOT_FOUND,
            "USER_INPUT_ERROR",
            "User ID does not exist",
        ),
    }
}

// -- User groups --------------------------------------------------------------------

async fn user_groups(AxState(shared): St, headers: HeaderMap, Query(q): Q) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers) {
        return r;
    }
    let code = match tenant_of(
        &mut state,
        &headers,
        q.get("tenantCode").map(String::as_str),
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (limit, start) = match page_args(&mut state, &q, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let groups = state.tenants[&code]
        .groups
        .iter()
        .skip(start)
        .take(limit)
        .map(|(id, g)| UserGroupGetApiResponseDto {
            user_group_id: Some(id.clone()),
            display_name: Some(g.name.clone()),
            permissions: Vec::new(),
        })
        .collect();
    ok(&UserGroupsGetApiResponseDto {
        user_groups: groups,
        limit: Some(limit as u32),
        start: Some(start as u32),
    })
}

async fn group_users(
    AxState(shared): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers) {
        return r;
    }
    let code = match tenant_of(&mut state, &headers, None) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (limit, start) = match page_args(&mut state, &q, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = &state.tenants[&code];
    let Some(g) = t.groups.get(&id) else {
        return status_error(
            &mut state,
            StatusCode::NOT_FOUND,
            "USER_INPUT_ERROR",
            "User group not found",
        );
    };
    let users = g
        .members
        .iter()
        .skip(start)
        .take(limit)
        .map(|u| UserRefDto {
            user_id: Some(u.clone()),
            username: t.users.get(u).map(|x| x.username.clone()),
        })
        .collect();
    ok(&UserGroupsUsersDto {
        tenants: vec![UserGroupsUsersForTenantDto {
            tenant_code: Some(code.clone()),
            users,
        }],
        limit: Some(limit as u32),
        start: Some(start as u32),
    })
}

fn change_group_users(shared: &Shared, headers: &HeaderMap, bytes: &[u8], add: bool) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, headers) {
        return r;
    }
    let code = match tenant_of(&mut state, headers, None) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let req: UsersToUserGroupsRequestDto = match body(&mut state, headers, bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let t = state.tenants.get_mut(&code).expect("tenant checked above");
    let mut problems = Vec::new();
    let mut assignments = Vec::new();
    for g in req.user_groups {
        let gid = g.user_group_id.unwrap_or_default();
        let Some(group) = t.groups.get_mut(&gid) else {
            problems.push(format!("user group {gid:?} not found"));
            continue;
        };
        let mut users = Vec::new();
        for u in g.user_ids {
            let Some(rec) = t.users.get(&u) else {
                problems.push(format!("user {u:?} not found"));
                continue;
            };
            if add {
                group.members.insert(u.clone());
            } else {
                group.members.remove(&u);
            }
            users.push(UserRefDto {
                user_id: Some(u),
                username: Some(rec.username.clone()),
            });
        }
        assignments.push(SecurityAssignmentDto {
            id: Some(gid),
            name: Some(group.name.clone()),
            users,
        });
    }
    ok(&SecurityAssignmentResponseDto {
        tenants: vec![SecurityAssignmentTenantDto {
            tenant_code: Some(code),
            status: Some(
                if problems.is_empty() {
                    "Succeed"
                } else {
                    "Failed"
                }
                .to_owned(),
            ),
            message: (!problems.is_empty()).then(|| problems.join("; ")),
            project_id: None,
            assignments,
        }],
    })
}

async fn add_group_users(AxState(shared): St, headers: HeaderMap, bytes: Bytes) -> Response {
    change_group_users(&shared, &headers, &bytes, true)
}

async fn remove_group_users(AxState(shared): St, headers: HeaderMap, bytes: Bytes) -> Response {
    change_group_users(&shared, &headers, &bytes, false)
}

// -- Permissions --------------------------------------------------------------------

async fn permissions(AxState(shared): St, headers: HeaderMap, Query(q): Q) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers) {
        return r;
    }
    let code = match tenant_of(
        &mut state,
        &headers,
        q.get("tenantCode").map(String::as_str),
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    ok(&PermissionsListDto {
        permissions: state.tenants[&code]
            .permissions
            .iter()
            .map(|(id, (name, desc))| PermissionDto {
                permission_id: Some(id.clone()),
                display_name: Some(name.clone()),
                description: Some(desc.clone()),
                correlation_id: None,
                extra: BTreeMap::new(),
            })
            .collect(),
    })
}

fn change_permissions(shared: &Shared, headers: &HeaderMap, bytes: &[u8], add: bool) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, headers) {
        return r;
    }
    let code = match tenant_of(&mut state, headers, None) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let req: AssignRevokePermissionsRequestDto = match body(&mut state, headers, bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let t = state.tenants.get_mut(&code).expect("tenant checked above");
    let mut failed = false;
    let mut results = Vec::new();
    for p in req.permissions {
        let pid = p.permission_id.unwrap_or_default();
        let Some((name, desc)) = t.permissions.get(&pid).cloned() else {
            failed = true;
            continue;
        };
        let mut users = Vec::new();
        for u in p.user_ids {
            let message = match t.users.get(&u) {
                Some(_) => {
                    if add {
                        t.permission_users.insert((pid.clone(), u.clone()));
                    } else {
                        t.permission_users.remove(&(pid.clone(), u.clone()));
                    }
                    None
                }
                None => {
                    failed = true;
                    Some("User ID does not exist".to_owned())
                }
            };
            users.push(PermissionUserDto {
                username: t.users.get(&u).map(|x| x.username.clone()),
                user_id: Some(u),
                message,
            });
        }
        results.push(PermissionAssignmentDto {
            permission: Some(PermissionRefDto {
                permission_id: Some(pid),
                display_name: Some(name),
                description: Some(desc),
            }),
            users,
        });
    }
    ok(&AssignRevokePermissionsResponseDto {
        tenants: vec![AssignRevokePermissionsTenantDto {
            tenant_code: Some(code),
            status: Some(if failed { "Failed" } else { "Succeed" }.to_owned()),
            message: failed.then(|| "Some permissions or users do not exist".to_owned()),
            project_id: None,
            permissions: results,
        }],
        session_repo_id: None,
    })
}

async fn assign_permissions(AxState(shared): St, headers: HeaderMap, bytes: Bytes) -> Response {
    change_permissions(&shared, &headers, &bytes, true)
}

async fn remove_permissions(AxState(shared): St, headers: HeaderMap, bytes: Bytes) -> Response {
    change_permissions(&shared, &headers, &bytes, false)
}

async fn permission_users(
    AxState(shared): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let mut state = shared.lock();
    if let Err(r) = authorize(&mut state, &headers) {
        return r;
    }
    let code = match tenant_of(&mut state, &headers, None) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (limit, start) = match page_args(&mut state, &q, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = &state.tenants[&code];
    if !t.permissions.contains_key(&id) {
        return status_error(
            &mut state,
            StatusCode::NOT_FOUND,
            "USER_INPUT_ERROR",
            "Permission not found",
        );
    }
    let holders: BTreeSet<&String> = t
        .permission_users
        .iter()
        .filter(|(p, _)| *p == id)
        .map(|(_, u)| u)
        .collect();
    let users = holders
        .into_iter()
        .skip(start)
        .take(limit)
        .map(|u| PermissionAssignedUserDto {
            user_id: Some(u.clone()),
            username: t.users.get(u).map(|x| x.username.clone()),
            permission_from: Some("User".to_owned()),
        })
        .collect();
    ok(&PermissionAssignedUsersDto {
        tenants: vec![PermissionAssignedUsersForTenantDto {
            tenant_code: Some(code.clone()),
            users,
        }],
        limit: Some(limit as u32),
        start: Some(start as u32),
    })
}
