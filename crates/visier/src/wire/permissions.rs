//! Permissions: the list, the assign and revoke requests with their answers, and who
//! holds a permission.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;

use super::{PermissionRefDto, TargetProjectForTenantsListDto, nullable};

/// `{permissions: [PermissionDTO]}`: answer of `GET /v1/admin/permissions`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionsListDto {
    /// The permissions.
    #[serde(deserialize_with = "nullable")]
    pub permissions: Vec<PermissionDto>,
}

/// `PermissionDTO`; its security configuration is kept verbatim in `extra`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionDto {
    /// The permission id.
    pub permission_id: Option<String>,
    /// Its name.
    pub display_name: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// Caller-chosen correlation id.
    pub correlation_id: Option<String>,
    /// Every other field (data security, capabilities, content packages), verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `AssignRevokePermissionsRequestDTO`: body of `PUT|DELETE /v1/admin/permissions/users`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignRevokePermissionsRequestDto {
    /// Users per permission.
    #[serde(deserialize_with = "nullable")]
    pub permissions: Vec<PermissionUsersDto>,
    /// Optional projects per tenant.
    pub target_project_for_tenants_list: Option<TargetProjectForTenantsListDto>,
}

/// `{permissionId, userIds}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionUsersDto {
    /// The permission.
    pub permission_id: Option<String>,
    /// The users.
    #[serde(deserialize_with = "nullable")]
    pub user_ids: Vec<String>,
}

/// `AssignRevokePermissionsResponseDTO`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignRevokePermissionsResponseDto {
    /// Results per tenant.
    #[serde(deserialize_with = "nullable")]
    pub tenants: Vec<AssignRevokePermissionsTenantDto>,
    /// Session repository id (session-based permissions).
    pub session_repo_id: Option<String>,
}

/// One tenant's result of a permission assignment.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignRevokePermissionsTenantDto {
    /// The tenant.
    pub tenant_code: Option<String>,
    /// `Succeed`, `Failed` or `Unknown`.
    pub status: Option<String>,
    /// Why, when it failed.
    pub message: Option<String>,
    /// The project, if any.
    pub project_id: Option<String>,
    /// Per permission, the users affected.
    #[serde(deserialize_with = "nullable")]
    pub permissions: Vec<PermissionAssignmentDto>,
}

/// `{permission, users}` in a permission-assignment answer.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionAssignmentDto {
    /// The permission.
    pub permission: Option<PermissionRefDto>,
    /// The users affected.
    #[serde(deserialize_with = "nullable")]
    pub users: Vec<PermissionUserDto>,
}

/// `{userId, username, message}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionUserDto {
    /// The user.
    pub user_id: Option<String>,
    /// The login name.
    pub username: Option<String>,
    /// A per-user message.
    pub message: Option<String>,
}

/// `PermissionAssignedUsersDTO`: a page of `GET /v1/admin/permissions/{id}/users`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionAssignedUsersDto {
    /// Users per tenant.
    #[serde(deserialize_with = "nullable")]
    pub tenants: Vec<PermissionAssignedUsersForTenantDto>,
    /// The page size asked for.
    pub limit: Option<u32>,
    /// The offset of this page.
    pub start: Option<u32>,
}

/// Users holding a permission in one tenant.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionAssignedUsersForTenantDto {
    /// The tenant.
    pub tenant_code: Option<String>,
    /// The users.
    #[serde(deserialize_with = "nullable")]
    pub users: Vec<PermissionAssignedUserDto>,
}

/// `{userId, username, permissionFrom}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionAssignedUserDto {
    /// The user.
    pub user_id: Option<String>,
    /// The login name.
    pub username: Option<String>,
    /// `User`, `UserGroup` or `UserAndUserGroup`.
    pub permission_from: Option<String>,
}
