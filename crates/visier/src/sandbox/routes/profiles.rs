//! Profiles: local and analytic profiles, a user's profiles, and assigning and removing
//! them.

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::sandbox::state::{State, Window};
use crate::wire::*;

use super::{
    St, authorize, body, item_error, local_assigned, now_ms, ok, profile_dto, require_admin,
    status_error, tenant_of, window_of,
};

pub(super) async fn all_profiles(AxState(shared): St, headers: HeaderMap) -> Response {
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

pub(super) async fn profile_detail(
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

pub(super) async fn analytic_profiles(AxState(shared): St, headers: HeaderMap) -> Response {
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

pub(super) async fn analytic_profile_detail(
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

pub(super) async fn user_profiles(
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

pub(super) async fn user_analytic_profiles(
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

pub(super) async fn assign_local(
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

pub(super) async fn remove_local(
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

pub(super) async fn assign_analytic(
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

pub(super) async fn remove_analytic(
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
