//! The emulated endpoints: every IAM operation of the spec, the workspace and the
//! resource lists, with Segment's envelopes, statuses and query encodings.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::store::{KIND_CREATED, Store, StoredGroup, StoredInvite, StoredPermission, make_id};
use crate::wire::{
    CreateInvitesInput, Emails, GroupName, PermissionInput, PermissionResource, PermissionsInput,
    ResourceType,
};

/// The shared state behind the router.
pub(crate) type Shared = Arc<Mutex<Store>>;

fn lock(state: &Shared) -> MutexGuard<'_, Store> {
    // Handlers never leave the store half-written across an await or a panic point
    // that matters; a poisoned lock still holds a consistent store.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// `{"data": …}` with a status.
fn data(status: StatusCode, value: Value) -> Response {
    crate_json(status, &json!({ "data": value }))
}

fn crate_json(status: StatusCode, body: &Value) -> Response {
    grantbridge_core::sandbox::json_response(status, body)
}

/// `{"errors":[{type, message, field?, status}]}`.
pub(crate) fn error(
    status: StatusCode,
    kind: &str,
    message: &str,
    field: Option<&str>,
) -> Response {
    let mut e = json!({ "type": kind, "message": message, "status": status.as_u16() });
    if let Some(field) = field {
        e["field"] = Value::from(field);
    }
    crate_json(status, &json!({ "errors": [e] }))
}

/// A refusal, rendered as Segment's error envelope.
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.status, self.kind, &self.message, self.field.as_deref())
    }
}

fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        kind: "not-found",
        message: "Resource not found".to_owned(),
        field: None,
    }
}

fn invalid(message: &str, field: &str) -> ApiError {
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        kind: "input-validation",
        message: message.to_owned(),
        field: Some(field.to_owned()),
    }
}

type Answer = Result<Response, ApiError>;

// ---- query parsing: dotted, bracket, Python's JSON and repeated forms ---------------

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<String>) -> Query {
        let raw = raw.unwrap_or_default();
        Query(
            url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, keys: &[&str]) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| keys.contains(&k.as_str()))
            .map(|(_, v)| v.as_str())
    }

    /// `name.0=…` (documented), `name[0]=…` (TS SDK) and repeated `name=…` (Python
    /// SDK), in index order then arrival order.
    fn array(&self, name: &str) -> Result<Vec<String>, ApiError> {
        let mut indexed: Vec<(usize, String)> = Vec::new();
        let mut plain: Vec<String> = Vec::new();
        for (k, v) in &self.0 {
            if k == name {
                plain.push(v.clone());
                continue;
            }
            let index = k.strip_prefix(name).and_then(|rest| {
                rest.strip_prefix('.')
                    .or_else(|| rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')))
            });
            if let Some(index) = index {
                let i = index
                    .parse::<usize>()
                    .map_err(|_| invalid(&format!("\"{k}\" is not a valid index"), name))?;
                indexed.push((i, v.clone()));
            }
        }
        indexed.sort_by_key(|(i, _)| *i);
        let mut out: Vec<String> = indexed.into_iter().map(|(_, v)| v).collect();
        out.extend(plain);
        if out.is_empty() {
            return Err(invalid(&format!("\"{name}\" is required"), name));
        }
        Ok(out)
    }

    /// `(offset, count)` from any of the pagination encodings; no pagination at all
    /// means the first 200.
    fn pagination(&self) -> Result<(usize, usize), ApiError> {
        let mut count: Option<String> = self
            .get(&["pagination.count", "pagination[count]"])
            .map(str::to_owned);
        let mut cursor: Option<String> = self
            .get(&["pagination.cursor", "pagination[cursor]"])
            .map(str::to_owned);
        if let Some(json) = self.get(&["pagination"]) {
            let v: Value = serde_json::from_str(json)
                .map_err(|_| invalid("\"pagination\" must be an object", "pagination"))?;
            if let Some(c) = v.get("count") {
                count = Some(c.to_string());
            }
            match v.get("cursor") {
                Some(Value::String(c)) => cursor = Some(c.clone()),
                Some(Value::Null) | None => {}
                Some(_) => {
                    return Err(invalid("\"cursor\" must be a string", "pagination.cursor"));
                }
            }
        }
        let count = match count {
            None => 200,
            Some(c) => match c.trim().parse::<i64>() {
                Ok(n) if (1..=1000).contains(&n) => n as usize,
                Ok(_) => {
                    return Err(invalid(
                        "\"count\" must be between 1 and 1000",
                        "pagination.count",
                    ));
                }
                Err(_) => {
                    return Err(invalid("\"count\" must be a number", "pagination.count"));
                }
            },
        };
        let offset = match cursor {
            None => 0,
            Some(c) => decode_cursor(&c)
                .ok_or_else(|| invalid("\"cursor\" is invalid", "pagination.cursor"))?,
        };
        Ok((offset, count))
    }
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Cursors are base64 of the decimal offset, as in every documented example
/// (`MA==` = 0, `Mg==` = 2).
fn encode_cursor(offset: usize) -> String {
    let bytes = offset.to_string().into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = cursor.trim_end_matches('=').as_bytes();
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = Vec::new();
    for &c in bytes {
        let v = B64.iter().position(|&x| x == c)? as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push(((bits >> nbits) & 0xFF) as u8);
        }
    }
    let text = String::from_utf8(out).ok()?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 12 {
        return None;
    }
    text.parse().ok()
}

/// One page of `items` as `{<field>: [...], pagination: {...}}`.
fn page(field: &str, items: Vec<Value>, offset: usize, count: usize) -> Response {
    let total = items.len();
    page_of(field, total, offset, count, |i| items[i].clone())
}

/// One page of `total` items, rendering only those on the page.
fn page_of(
    field: &str,
    total: usize,
    offset: usize,
    count: usize,
    render: impl Fn(usize) -> Value,
) -> Response {
    let slice: Vec<Value> = (offset.min(total)..(offset.saturating_add(count)).min(total))
        .map(render)
        .collect();
    let mut pagination = json!({
        "current": encode_cursor(offset),
        "totalEntries": total,
        "previous": if offset == 0 { Value::Null } else { Value::from(encode_cursor(offset.saturating_sub(count))) },
    });
    if offset + count < total {
        pagination["next"] = Value::from(encode_cursor(offset + count));
    }
    data(
        StatusCode::OK,
        json!({ field: slice, "pagination": pagination }),
    )
}

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| invalid(&format!("the request body is not valid: {e}"), "body"))
}

// ---- rendering ---------------------------------------------------------------

fn role_name(store: &Store, role_id: &str) -> String {
    store
        .roles
        .iter()
        .find(|r| r.id == role_id)
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

fn resource_json(r: &PermissionResource) -> Value {
    json!({
        "id": r.id,
        "type": r.kind.as_str(),
        "labels": r.labels.iter().map(|l| json!({"key": l.key, "value": l.value})).collect::<Vec<_>>(),
    })
}

fn permission_json(store: &Store, p: &StoredPermission) -> Value {
    json!({
        "roleId": p.role_id,
        "roleName": role_name(store, &p.role_id),
        "resources": p.resources.iter().map(resource_json).collect::<Vec<_>>(),
    })
}

fn permissions_json(store: &Store, perms: &[StoredPermission]) -> Value {
    Value::from(
        perms
            .iter()
            .map(|p| permission_json(store, p))
            .collect::<Vec<_>>(),
    )
}

fn user_json(store: &Store, i: usize) -> Value {
    let u = &store.users[i];
    json!({ "id": u.id, "name": u.name, "email": u.email,
            "permissions": permissions_json(store, &u.permissions) })
}

fn group_json(store: &Store, g: &StoredGroup) -> Value {
    json!({ "id": g.id, "name": g.name, "memberCount": g.members.len(),
            "permissions": permissions_json(store, &g.permissions) })
}

fn same_email(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn user_index(store: &Store, id: &str) -> Result<usize, ApiError> {
    store
        .users
        .iter()
        .position(|u| u.id == id)
        .ok_or_else(not_found)
}

fn group_index(store: &Store, id: &str) -> Result<usize, ApiError> {
    store
        .groups
        .iter()
        .position(|g| g.id == id)
        .ok_or_else(not_found)
}

/// Checks permission inputs against the roles and resources of the workspace.
fn validate_permissions(
    store: &Store,
    perms: &[PermissionInput],
) -> Result<Vec<StoredPermission>, ApiError> {
    let mut out = Vec::with_capacity(perms.len());
    for (i, p) in perms.iter().enumerate() {
        if !store.roles.iter().any(|r| r.id == p.role_id) {
            return Err(invalid(
                &format!("role {:?} does not exist", p.role_id),
                &format!("permissions.{i}.roleId"),
            ));
        }
        for (j, r) in p.resources.iter().enumerate() {
            let field = format!("permissions.{i}.resources.{j}");
            check_resource(store, &r.kind, &r.id, &field)?;
            if !r.labels.is_empty() && r.kind != ResourceType::Workspace {
                return Err(invalid(
                    "labels are exclusive to Workspace-level permissions",
                    &format!("{field}.labels"),
                ));
            }
        }
        out.push(StoredPermission {
            role_id: p.role_id.clone(),
            resources: p.resources.clone(),
        });
    }
    Ok(out)
}

fn check_resource(
    store: &Store,
    kind: &ResourceType,
    id: &str,
    field: &str,
) -> Result<(), ApiError> {
    let exists = match kind {
        ResourceType::Workspace => store.workspace.id == id,
        ResourceType::Source => store.sources.iter().any(|s| s.id == id),
        ResourceType::Warehouse => store.warehouses.iter().any(|w| w.id == id),
        ResourceType::Space => store.spaces.iter().any(|s| s.id == id),
        ResourceType::Function => store.functions.iter().any(|f| f.id.as_deref() == Some(id)),
        ResourceType::Other(other) => {
            return Err(invalid(
                &format!(
                    "\"type\" must be one of FUNCTION, SOURCE, SPACE, WAREHOUSE, WORKSPACE, not {other:?}"
                ),
                &format!("{field}.type"),
            ));
        }
    };
    if exists {
        Ok(())
    } else {
        Err(invalid(
            &format!("{kind} {id:?} does not exist in this workspace"),
            &format!("{field}.id"),
        ))
    }
}

fn check_member_emails(store: &Store, emails: &[String]) -> Result<(), ApiError> {
    for (i, e) in emails.iter().enumerate() {
        let known = store.users.iter().any(|u| same_email(&u.email, e))
            || store.invites.iter().any(|v| same_email(&v.email, e));
        if !known {
            return Err(invalid(
                &format!("{e:?} is neither a workspace user nor a pending invite"),
                &format!("emails.{i}"),
            ));
        }
    }
    Ok(())
}

// ---- handlers ------------------------------------------------------------------

async fn get_workspace(State(s): State<Shared>) -> Response {
    let store = lock(&s);
    data(StatusCode::OK, json!({ "workspace": store.workspace }))
}

async fn list_users(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    Ok(page_of("users", store.users.len(), offset, count, |i| {
        user_json(&store, i)
    }))
}

async fn delete_users(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
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

async fn get_user(State(s): State<Shared>, Path(id): Path<String>) -> Answer {
    let store = lock(&s);
    let i = user_index(&store, &id)?;
    Ok(data(
        StatusCode::OK,
        json!({ "user": user_json(&store, i) }),
    ))
}

async fn list_user_groups_from_user(
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

async fn add_permissions_to_user(
    State(s): State<Shared>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    change_user_permissions(s, id, bytes, false).await
}

async fn replace_permissions_for_user(
    State(s): State<Shared>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    change_user_permissions(s, id, bytes, true).await
}

async fn list_invites(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let items = store
        .invites
        .iter()
        .map(|v| Value::from(v.email.clone()))
        .collect();
    Ok(page("invites", items, offset, count))
}

async fn create_invites(State(s): State<Shared>, bytes: Bytes) -> Answer {
    let input: CreateInvitesInput = body(&bytes)?;
    if input.invites.is_empty() {
        return Err(invalid("\"invites\" must not be empty", "invites"));
    }
    let mut store = lock(&s);
    for (i, invite) in input.invites.iter().enumerate() {
        let email_ok = invite
            .email
            .rsplit_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
            && !invite.email.chars().any(char::is_whitespace);
        if !email_ok {
            return Err(invalid(
                "\"email\" must be a valid email",
                &format!("invites.{i}.email"),
            ));
        }
        if store
            .users
            .iter()
            .any(|u| same_email(&u.email, &invite.email))
        {
            return Err(invalid(
                &format!("{:?} already belongs to a workspace user", invite.email),
                &format!("invites.{i}.email"),
            ));
        }
        for (j, p) in invite.permissions.iter().flatten().enumerate() {
            if !store.roles.iter().any(|r| r.id == p.role_id) {
                return Err(invalid(
                    &format!("role {:?} does not exist", p.role_id),
                    &format!("invites.{i}.permissions.{j}.roleId"),
                ));
            }
            for (k, r) in p.resources.iter().flatten().enumerate() {
                check_resource(
                    &store,
                    &r.kind,
                    &r.id,
                    &format!("invites.{i}.permissions.{j}.resources.{k}"),
                )?;
            }
        }
    }
    let mut emails = Vec::new();
    for invite in input.invites {
        let permissions = invite.permissions.unwrap_or_default();
        match store
            .invites
            .iter_mut()
            .find(|v| same_email(&v.email, &invite.email))
        {
            Some(existing) => existing.permissions = permissions,
            None => store.invites.push(StoredInvite {
                email: invite.email.clone(),
                permissions,
            }),
        }
        emails.push(invite.email);
    }
    Ok(data(StatusCode::CREATED, json!({ "emails": emails })))
}

async fn delete_invites(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let emails = Query::parse(q).array("emails")?;
    let mut store = lock(&s);
    let removed: Vec<String> = store
        .invites
        .iter()
        .filter(|v| emails.iter().any(|e| same_email(e, &v.email)))
        .map(|v| v.email.clone())
        .collect();
    store
        .invites
        .retain(|v| !removed.iter().any(|e| same_email(e, &v.email)));
    for g in &mut store.groups {
        g.members
            .retain(|m| !removed.iter().any(|e| same_email(e, m)));
    }
    Ok(data(StatusCode::OK, json!({ "status": "SUCCESS" })))
}

async fn list_roles(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let items = store.roles.iter().map(|r| json!(r)).collect();
    Ok(page("roles", items, offset, count))
}

async fn list_user_groups(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
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

async fn create_user_group(State(s): State<Shared>, bytes: Bytes) -> Answer {
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

async fn get_user_group(State(s): State<Shared>, Path(id): Path<String>) -> Answer {
    let store = lock(&s);
    let i = group_index(&store, &id)?;
    Ok(data(
        StatusCode::OK,
        json!({ "userGroup": group_json(&store, &store.groups[i]) }),
    ))
}

async fn update_user_group(
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

async fn delete_user_group(State(s): State<Shared>, Path(id): Path<String>) -> Answer {
    let mut store = lock(&s);
    let i = group_index(&store, &id)?;
    store.groups.remove(i);
    Ok(data(StatusCode::OK, json!({ "status": "SUCCESS" })))
}

async fn add_users_to_user_group(
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

async fn replace_users_in_user_group(
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

async fn remove_users_from_user_group(
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

async fn list_users_from_user_group(
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

async fn list_invites_from_user_group(
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

async fn add_permissions_to_user_group(
    State(s): State<Shared>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    change_group_permissions(s, id, bytes, false).await
}

async fn replace_permissions_for_user_group(
    State(s): State<Shared>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    change_group_permissions(s, id, bytes, true).await
}

async fn list_sources(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let items = store
        .sources
        .iter()
        .map(|x| {
            let mut v = json!(x);
            v["writeKeys"] = json!([]);
            v["metadata"] = json!({});
            v
        })
        .collect();
    Ok(page("sources", items, offset, count))
}

async fn list_warehouses(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let items = store
        .warehouses
        .iter()
        .map(|x| {
            let mut v = json!(x);
            v["metadata"] = json!({});
            v
        })
        .collect();
    Ok(page("warehouses", items, offset, count))
}

async fn list_spaces(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let items = store.spaces.iter().map(|x| json!(x)).collect();
    Ok(page("spaces", items, offset, count))
}

async fn list_functions(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let query = Query::parse(q);
    let (offset, count) = query.pagination()?;
    let kind = query
        .get(&["resourceType"])
        .ok_or_else(|| invalid("\"resourceType\" is required", "resourceType"))?
        .to_owned();
    if !["DESTINATION", "INSERT_DESTINATION", "SOURCE"].contains(&kind.as_str()) {
        return Err(invalid(
            "\"resourceType\" must be one of DESTINATION, INSERT_DESTINATION, SOURCE",
            "resourceType",
        ));
    }
    let store = lock(&s);
    let items = store
        .functions
        .iter()
        .filter(|f| f.resource_type.as_deref() == Some(kind.as_str()))
        .map(|x| json!(x))
        .collect();
    Ok(page("functions", items, offset, count))
}

async fn list_labels(State(s): State<Shared>) -> Response {
    let store = lock(&s);
    data(StatusCode::OK, json!({ "labels": store.labels }))
}

async fn fallback() -> Response {
    not_found().into_response()
}

async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        None,
    )
}

/// The media types the API produces and consumes.
fn acceptable(value: &str) -> bool {
    value.split(',').any(|part| {
        let essence = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            essence.as_str(),
            "*/*"
                | "application/*"
                | "application/json"
                | "application/vnd.segment.v1+json"
                | "application/vnd.segment.v1beta+json"
                | "application/vnd.segment.v1alpha+json"
        )
    })
}

/// Bearer auth, `Accept` and `Content-Type` checks in front of every endpoint.
async fn gate(State(s): State<Shared>, request: Request, next: Next) -> Response {
    let headers: &HeaderMap = request.headers();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let known = !token.is_empty() && lock(&s).tokens.iter().any(|t| t == token);
    if !known {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Missing or invalid token",
            None,
        );
    }
    if let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
        && !acceptable(accept)
    {
        return error(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            "Accept must allow application/json or application/vnd.segment.v1+json",
            None,
        );
    }
    let has_body = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH
    );
    if has_body {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !acceptable(ct) || ct.trim().starts_with('*') {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Content-Type must be application/json",
                None,
            );
        }
    }
    next.run(request).await
}

/// The router of the whole emulated API over `state`.
pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(get_workspace))
        .route("/users", get(list_users).delete(delete_users))
        .route("/users/{id}", get(get_user))
        .route("/users/{id}/groups", get(list_user_groups_from_user))
        .route(
            "/users/{id}/permissions",
            axum::routing::post(add_permissions_to_user).put(replace_permissions_for_user),
        )
        .route(
            "/invites",
            get(list_invites)
                .post(create_invites)
                .delete(delete_invites),
        )
        .route("/roles", get(list_roles))
        .route("/groups", get(list_user_groups).post(create_user_group))
        .route(
            "/groups/{id}",
            get(get_user_group)
                .patch(update_user_group)
                .delete(delete_user_group),
        )
        .route(
            "/groups/{id}/users",
            get(list_users_from_user_group).post(add_users_to_user_group),
        )
        .route("/groups/{id}/invites", get(list_invites_from_user_group))
        .route(
            "/groups/{id}/permissions",
            axum::routing::post(add_permissions_to_user_group)
                .put(replace_permissions_for_user_group),
        )
        .route(
            "/group/{id}/users",
            axum::routing::put(replace_users_in_user_group).delete(remove_users_from_user_group),
        )
        .route("/sources", get(list_sources))
        .route("/warehouses", get(list_warehouses))
        .route("/spaces", get(list_spaces))
        .route("/functions", get(list_functions))
        .route("/labels", get(list_labels))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_base64_offsets() {
        assert_eq!(encode_cursor(0), "MA==");
        assert_eq!(encode_cursor(2), "Mg==");
        assert_eq!(encode_cursor(3), "Mw==");
        assert_eq!(encode_cursor(200), "MjAw");
        assert_eq!(encode_cursor(1000), "MTAwMA==");
        for n in [0, 1, 2, 10, 99, 200, 1234, 99999] {
            assert_eq!(decode_cursor(&encode_cursor(n)), Some(n));
        }
        for bad in ["", "!!", "YWJj", "MA==MA=="] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_query_encoding_reads_the_same() {
        let q = |s: &str| Query::parse(Some(s.to_owned()));
        for raw in [
            "pagination.count=2&pagination.cursor=Mg%3D%3D",
            "pagination%5Bcursor%5D=Mg%3D%3D&pagination%5Bcount%5D=2",
            "pagination=%7B%22cursor%22%3A%20%22Mg%3D%3D%22%2C%20%22count%22%3A%202%7D",
        ] {
            assert_eq!(q(raw).pagination().ok(), Some((2, 2)), "{raw}");
        }
        assert_eq!(q("").pagination().ok(), Some((0, 200)));
        assert!(q("pagination%5Bcount%5D=5000").pagination().is_err());
        for raw in [
            "emails.0=a%2Bb%40example.com&emails.1=c%40example.com",
            "emails%5B0%5D=a%2Bb%40example.com&emails%5B1%5D=c%40example.com",
            "emails=a%2Bb%40example.com&emails=c%40example.com",
            "emails.1=c%40example.com&emails.0=a%2Bb%40example.com",
        ] {
            assert_eq!(
                q(raw).array("emails").ok(),
                Some(vec![
                    "a+b@example.com".to_owned(),
                    "c@example.com".to_owned()
                ]),
                "{raw}"
            );
        }
        assert!(q("other=1").array("emails").is_err());
    }
}
