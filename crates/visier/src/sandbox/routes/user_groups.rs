//! User groups: the groups, their members, and adding and removing members.

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::sandbox::state::Shared;
use crate::wire::*;

use super::{Q, St, authorize, body, ok, page_args, status_error, tenant_of};

pub(super) async fn user_groups(AxState(shared): St, headers: HeaderMap, Query(q): Q) -> Response {
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

pub(super) async fn group_users(
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

pub(super) async fn add_group_users(
    AxState(shared): St,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    change_group_users(&shared, &headers, &bytes, true)
}

pub(super) async fn remove_group_users(
    AxState(shared): St,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    change_group_users(&shared, &headers, &bytes, false)
}
