//! Permissions: the list, assigning and removing them, and who holds one.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::sandbox::state::Shared;
use crate::wire::*;

use super::{Q, St, authorize, body, ok, page_args, status_error, tenant_of};

pub(super) async fn permissions(AxState(shared): St, headers: HeaderMap, Query(q): Q) -> Response {
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

pub(super) async fn assign_permissions(
    AxState(shared): St,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    change_permissions(&shared, &headers, &bytes, true)
}

pub(super) async fn remove_permissions(
    AxState(shared): St,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    change_permissions(&shared, &headers, &bytes, false)
}

pub(super) async fn permission_users(
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
