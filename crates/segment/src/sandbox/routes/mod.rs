//! The emulated endpoints: every IAM operation of the spec, the workspace and the
//! resource lists, with Segment's envelopes, statuses and query encodings.

mod groups;
mod invites;
mod query;
mod roles;
mod users;
mod workspace;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use self::groups::{
    add_permissions_to_user_group, add_users_to_user_group, create_user_group, delete_user_group,
    get_user_group, list_invites_from_user_group, list_user_groups, list_users_from_user_group,
    remove_users_from_user_group, replace_permissions_for_user_group, replace_users_in_user_group,
    update_user_group,
};
use self::invites::{create_invites, delete_invites, list_invites};
use self::roles::list_roles;
use self::users::{
    add_permissions_to_user, delete_users, get_user, list_user_groups_from_user, list_users,
    replace_permissions_for_user,
};
use self::workspace::{
    get_workspace, list_functions, list_labels, list_sources, list_spaces, list_warehouses,
};
use super::state::{Store, StoredGroup, StoredPermission};
use crate::wire::{PermissionInput, PermissionResource, ResourceType};

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
