//! `/users`: list, get and delete users, a user's groups, add and replace a user's
//! permissions.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::json;

use super::query::{Query, page, page_of};
use super::{
    Answer, Shared, body, data, lock, permissions_json, same_email, user_index, user_json,
    validate_permissions,
};
use crate::wire::PermissionsInput;

pub(super) async fn list_users(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    Ok(page_of("users", store.users.len(), offset, count, |i| {
        user_json(&store, i)
    }))
}

pub(super) async fn delete_users(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let ids = Query::parse(q).array("userIds")?;
    let mut store = lock(&s);
    let removed: Vec<String> = store
        .users
        .iter()
        .filter(|u| ids.contains(&u.id))
        .map(|u| u.email.clone())
        .collect();
    store.users.retain(|u| !ids.contains(&u.id));
    for g in &mut store.groups {
        g.members
            .retain(|m| !removed.iter().any(|e| same_email(e, m)));
    }
    Ok(data(StatusCode::OK, json!({ "status": "SUCCESS" })))
}

pub(super) async fn get_user(State(s): State<Shared>, Path(id): Path<String>) -> Answer {
    let store = lock(&s);
    let i = user_index(&store, &id)?;
    Ok(data(
        StatusCode::OK,
        json!({ "user": user_json(&store, i) }),
    ))
}

pub(super) async fn list_user_groups_from_user(
    State(s): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let i = user_index(&store, &id)?;
    let email = store.users[i].email.clone();
    let items = store
        .groups
        .iter()
        .filter(|g| g.members.iter().any(|m| same_email(m, &email)))
        .map(|g| json!({ "id": g.id, "name": g.name }))
        .collect();
    Ok(page("groups", items, offset, count))
}

async fn change_user_permissions(s: Shared, id: String, bytes: Bytes, replace: bool) -> Answer {
    let input: PermissionsInput = body(&bytes)?;
    let mut store = lock(&s);
    let i = user_index(&store, &id)?;
    let perms = validate_permissions(&store, &input.permissions)?;
    let answer = if replace {
        store.users[i].permissions = perms;
        permissions_json(&store, &store.users[i].permissions)
    } else {
        // Appends, as the API does ("Policy Created"): a duplicate is stored twice.
        store.users[i].permissions.extend(perms.iter().cloned());
        permissions_json(&store, &perms)
    };
    Ok(data(StatusCode::OK, json!({ "permissions": answer })))
}

pub(super) async fn add_permissions_to_user(
    State(s): State<Shared>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    change_user_permissions(s, id, bytes, false).await
}

pub(super) async fn replace_permissions_for_user(
    State(s): State<Shared>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    change_user_permissions(s, id, bytes, true).await
}
