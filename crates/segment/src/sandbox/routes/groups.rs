//! `/groups` (and `/group/{id}/users`): user groups, their members (users and
//! invites) and their permissions.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::query::{Query, page, page_of};
use super::{
    Answer, ApiError, Shared, body, check_member_emails, data, group_index, group_json, invalid,
    lock, permissions_json, same_email, validate_permissions,
};
use crate::sandbox::state::{KIND_CREATED, StoredGroup, make_id};
use crate::wire::{Emails, GroupName, PermissionsInput};

pub(super) async fn list_user_groups(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let items = store.groups.iter().map(|g| group_json(&store, g)).collect();
    Ok(page("userGroups", items, offset, count))
}

fn group_name(bytes: &Bytes) -> Result<String, ApiError> {
    let input: GroupName = body(bytes)?;
    let name = input.name.trim();
    if name.is_empty() || name.len() > 255 {
        return Err(invalid("\"name\" must be 1 to 255 characters", "name"));
    }
    Ok(input.name)
}

pub(super) async fn create_user_group(State(s): State<Shared>, bytes: Bytes) -> Answer {
    let name = group_name(&bytes)?;
    let mut store = lock(&s);
    store.next_id += 1;
    let id = make_id(KIND_CREATED, store.next_id);
    store.groups.push(StoredGroup {
        id,
        name,
        members: Vec::new(),
        permissions: Vec::new(),
    });
    let g = store.groups.last().map(|g| group_json(&store, g));
    Ok(data(StatusCode::OK, json!({ "userGroup": g })))
}

pub(super) async fn get_user_group(State(s): State<Shared>, Path(id): Path<String>) -> Answer {
    let store = lock(&s);
    let i = group_index(&store, &id)?;
    Ok(data(
        StatusCode::OK,
        json!({ "userGroup": group_json(&store, &store.groups[i]) }),
    ))
}

pub(super) async fn update_user_group(
    State(s): State<Shared>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let mut store = lock(&s);
    let i = group_index(&store, &id)?;
    let name = group_name(&bytes)?;
    store.groups[i].name = name;
    Ok(data(
        StatusCode::OK,
        json!({ "userGroup": group_json(&store, &store.groups[i]) }),
    ))
}

pub(super) async fn delete_user_group(State(s): State<Shared>, Path(id): Path<String>) -> Answer {
    let mut store = lock(&s);
    let i = group_index(&store, &id)?;
    store.groups.remove(i);
    Ok(data(StatusCode::OK, json!({ "status": "SUCCESS" })))
}

pub(super) async fn add_users_to_user_group(
    State(s): State<Shared>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let mut store = lock(&s);
    let i = group_index(&store, &id)?;
    let input: Emails = body(&bytes)?;
    if input.emails.is_empty() {
        return Err(invalid("\"emails\" must not be empty", "emails"));
    }
    check_member_emails(&store, &input.emails)?;
    for e in input.emails {
        if !store.groups[i].members.iter().any(|m| same_email(m, &e)) {
            store.groups[i].members.push(e);
        }
    }
    Ok(data(
        StatusCode::OK,
        json!({ "userGroup": group_json(&store, &store.groups[i]) }),
    ))
}

pub(super) async fn replace_users_in_user_group(
    State(s): State<Shared>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let mut store = lock(&s);
    let i = group_index(&store, &id)?;
    let input: Emails = body(&bytes)?;
    check_member_emails(&store, &input.emails)?;
    let mut members: Vec<String> = Vec::new();
    for e in input.emails {
        if !members.iter().any(|m| same_email(m, &e)) {
            members.push(e);
        }
    }
    store.groups[i].members = members;
    Ok(data(
        StatusCode::OK,
        json!({ "userGroup": group_json(&store, &store.groups[i]) }),
    ))
}

pub(super) async fn remove_users_from_user_group(
    State(s): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Answer {
    let emails = Query::parse(q).array("emails")?;
    let mut store = lock(&s);
    let i = group_index(&store, &id)?;
    store.groups[i]
        .members
        .retain(|m| !emails.iter().any(|e| same_email(e, m)));
    Ok(data(StatusCode::OK, json!({ "status": "SUCCESS" })))
}

pub(super) async fn list_users_from_user_group(
    State(s): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let i = group_index(&store, &id)?;
    let by_email: HashMap<String, usize> = store
        .users
        .iter()
        .enumerate()
        .map(|(n, u)| (u.email.to_ascii_lowercase(), n))
        .collect();
    let members: Vec<usize> = store.groups[i]
        .members
        .iter()
        .filter_map(|m| by_email.get(&m.to_ascii_lowercase()).copied())
        .collect();
    Ok(page_of("users", members.len(), offset, count, |n| {
        let u = &store.users[members[n]];
        json!({ "id": u.id, "name": u.name, "email": u.email })
    }))
}

pub(super) async fn list_invites_from_user_group(
    State(s): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let i = group_index(&store, &id)?;
    let invites: HashSet<String> = store
        .invites
        .iter()
        .map(|v| v.email.to_ascii_lowercase())
        .collect();
    let items = store.groups[i]
        .members
        .iter()
        .filter(|m| invites.contains(&m.to_ascii_lowercase()))
        .map(|m| Value::from(m.clone()))
        .collect();
    Ok(page("emails", items, offset, count))
}

async fn change_group_permissions(s: Shared, id: String, bytes: Bytes, replace: bool) -> Answer {
    let mut store = lock(&s);
    let i = group_index(&store, &id)?;
    let input: PermissionsInput = body(&bytes)?;
    let perms = validate_permissions(&store, &input.permissions)?;
    if replace {
        store.groups[i].permissions = perms;
    } else {
        store.groups[i].permissions.extend(perms);
    }
    // Group add answers "the updated set" (unlike user add).
    Ok(data(
        StatusCode::OK,
        json!({ "permissions": permissions_json(&store, &store.groups[i].permissions) }),
    ))
}

pub(super) async fn add_permissions_to_user_group(
    State(s): State<Shared>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    change_group_permissions(s, id, bytes, false).await
}

pub(super) async fn replace_permissions_for_user_group(
    State(s): State<Shared>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    change_group_permissions(s, id, bytes, true).await
}
