//! Users (`GET /v1/admin/users`) and the references a user carries: permissions, user
//! groups, last login.

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::{AllProfileAssignedForLocalTenantDto, Millis, lenient_opt_bool, nullable};

/// `AllUsersGetAPIResponseDTO`: a page of `GET /v1/admin/users`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AllUsersGetApiResponseDto {
    /// The users of this page.
    #[serde(deserialize_with = "nullable")]
    pub users: Vec<UserGetApiResponseDto>,
    /// The page size asked for.
    pub limit: Option<u32>,
    /// The offset of this page.
    pub start: Option<u32>,
}

/// `UserGetAPIResponseDTO`: one user.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGetApiResponseDto {
    /// The user's UUID.
    pub user_id: Option<String>,
    /// Login name (often an e-mail).
    pub username: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Employee id.
    pub employee_id: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Whether the account is enabled.
    #[serde(deserialize_with = "lenient_opt_bool")]
    pub account_enabled: Option<bool>,
    /// Profiles, when asked for with `assignedProfiles=true` (absent if none).
    pub profiles: Option<AllProfileAssignedForLocalTenantDto>,
    /// Permissions, when asked for with `assignedPermissions=true`.
    pub permissions: Option<UserPermissionsDto>,
    /// User groups, when asked for with `assignedUserGroups=true`.
    pub user_groups: Option<UserUserGroupsDto>,
    /// Last login.
    pub last_login: Option<LastLoginDto>,
}

/// `{assignedPermissions: [...]}` inside a user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserPermissionsDto {
    /// The permissions.
    #[serde(deserialize_with = "nullable")]
    pub assigned_permissions: Vec<PermissionRefDto>,
}

/// `{assignedUserGroups: [...]}` inside a user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserUserGroupsDto {
    /// The groups.
    #[serde(deserialize_with = "nullable")]
    pub assigned_user_groups: Vec<UserGroupRefDto>,
}

/// `{timestamp}` of a user's last login.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LastLoginDto {
    /// When.
    pub timestamp: Option<Millis>,
}

/// A permission reference `{permissionId, displayName, description}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionRefDto {
    /// The permission id.
    pub permission_id: Option<String>,
    /// Its name.
    pub display_name: Option<String>,
    /// Its description.
    pub description: Option<String>,
}

/// A user-group reference `{userGroupId, displayName}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupRefDto {
    /// The group id.
    pub user_group_id: Option<String>,
    /// Its name.
    pub display_name: Option<String>,
}
