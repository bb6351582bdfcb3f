//! User groups: pages of groups and of their members, and the membership writes with
//! their answers.

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::{PermissionRefDto, nullable};

/// `UserGroupsGetAPIResponseDTO`: a page of `GET /v1/admin/user-groups`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupsGetApiResponseDto {
    /// The groups of this page.
    #[serde(deserialize_with = "nullable")]
    pub user_groups: Vec<UserGroupGetApiResponseDto>,
    /// The page size asked for.
    pub limit: Option<u32>,
    /// The offset of this page.
    pub start: Option<u32>,
}

/// `UserGroupGetAPIResponseDTO`: one group with its permissions.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupGetApiResponseDto {
    /// The group id.
    pub user_group_id: Option<String>,
    /// Its name.
    pub display_name: Option<String>,
    /// Its permissions.
    #[serde(deserialize_with = "nullable")]
    pub permissions: Vec<PermissionRefDto>,
}

/// `UserGroupsUsersDTO`: a page of `GET /v1/admin/user-groups/{id}/users`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupsUsersDto {
    /// Members per tenant.
    #[serde(deserialize_with = "nullable")]
    pub tenants: Vec<UserGroupsUsersForTenantDto>,
    /// The page size asked for.
    pub limit: Option<u32>,
    /// The offset of this page.
    pub start: Option<u32>,
}

/// Members of a group in one tenant.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupsUsersForTenantDto {
    /// The tenant.
    pub tenant_code: Option<String>,
    /// The members.
    #[serde(deserialize_with = "nullable")]
    pub users: Vec<UserRefDto>,
}

/// A user reference `{userId, username}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserRefDto {
    /// The user id.
    pub user_id: Option<String>,
    /// The login name.
    pub username: Option<String>,
}

/// `UsersToUserGroupsRequestDTO`: body of `PUT|DELETE /v1/admin/user-groups/users`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UsersToUserGroupsRequestDto {
    /// Users per group.
    #[serde(deserialize_with = "nullable")]
    pub user_groups: Vec<UserGroupUsersDto>,
    /// Optional projects per tenant.
    pub target_project_for_tenants_list: Option<TargetProjectForTenantsListDto>,
}

/// `{userGroupId, userIds}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupUsersDto {
    /// The group.
    pub user_group_id: Option<String>,
    /// The users.
    #[serde(deserialize_with = "nullable")]
    pub user_ids: Vec<String>,
}

/// `TargetProjectForTenantsListDTO`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetProjectForTenantsListDto {
    /// Projects per tenant.
    #[serde(deserialize_with = "nullable")]
    pub target_project_for_tenants: Vec<TargetProjectForTenantDto>,
}

/// `{tenantCode, projectId}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetProjectForTenantDto {
    /// The tenant.
    pub tenant_code: Option<String>,
    /// The project.
    pub project_id: Option<String>,
}

/// `SecurityAssignmentResponseDTO`: answer of the group-membership writes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityAssignmentResponseDto {
    /// Results per tenant.
    #[serde(deserialize_with = "nullable")]
    pub tenants: Vec<SecurityAssignmentTenantDto>,
}

/// One tenant's result of a membership write.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityAssignmentTenantDto {
    /// The tenant.
    pub tenant_code: Option<String>,
    /// `Succeed`, `Failed` or `Unknown`.
    pub status: Option<String>,
    /// Why, when it failed.
    pub message: Option<String>,
    /// The project, if any.
    pub project_id: Option<String>,
    /// What was assigned (or removed), per group.
    #[serde(deserialize_with = "nullable")]
    pub assignments: Vec<SecurityAssignmentDto>,
}

/// `{id, name, users}`: the users affected in one group.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityAssignmentDto {
    /// The group (or permission) id.
    pub id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// The users affected.
    #[serde(deserialize_with = "nullable")]
    pub users: Vec<UserRefDto>,
}
