//! The routes of the Visier emulator: the router, and the helpers every route uses
//! (authorization, tenants, bodies, pages, errors); one file per resource.

// The `Err` of the helpers here is the response to send, built at most once per
// request: its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post, put};
use grantbridge_core::sandbox::json_response;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::state::{ProfileDef, Shared, State, Tenant, Window};
use crate::wire::*;

mod permissions;
mod profiles;
mod tokens;
mod user_groups;
mod users;

use permissions::{assign_permissions, permission_users, permissions, remove_permissions};
use profiles::{
    all_profiles, analytic_profile_detail, analytic_profiles, assign_analytic, assign_local,
    profile_detail, remove_analytic, remove_local, user_analytic_profiles, user_profiles,
};
use tokens::{asid_token, oauth2_token};
use user_groups::{add_group_users, group_users, remove_group_users, user_groups};
use users::{user, users};

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
