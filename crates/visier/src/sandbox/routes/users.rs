//! Users V1: the users list and one user.

use std::collections::HashMap;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::sandbox::state::Tenant;
use crate::wire::*;

use super::{Q, St, authorize, local_assigned, ok, page_args, qbool, status_error, tenant_of};

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

pub(super) async fn users(AxState(shared): St, headers: HeaderMap, Query(q): Q) -> Response {
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

pub(super) async fn user(
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
