//! User groups: the group (with its permissions), the minimal group of a user's group
//! list, the rename body and the group and member list responses.

use serde::{Deserialize, Serialize};

use super::envelope::{Paged, PaginationOutput, lenient_count, paged};
use super::{MinimalUser, Permission};

/// `UserGroupV1`: a user group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserGroup {
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: String,
    /// Members (`3` or `3.0` on the wire).
    #[serde(default, deserialize_with = "lenient_count")]
    pub member_count: u64,
    /// The group's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
}

/// `MinimalUserGroupV1`: a group without permissions or count (a user's groups).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinimalUserGroup {
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: String,
}

/// `{name: string}`: create/rename a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupName {
    /// The name.
    pub name: String,
}

/// `{userGroup: UserGroupV1}`: get/create/update group, add/replace users.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserGroupOutput {
    /// The group.
    pub user_group: UserGroup,
}

paged!(
    /// `{groups: MinimalUserGroupV1[], pagination}`.
    ListUserGroupsFromUserOutput, groups, "groups", MinimalUserGroup
);

paged!(
    /// `{userGroups: UserGroupV1[], pagination}`.
    ListUserGroupsOutput, user_groups, "userGroups", UserGroup
);

paged!(
    /// `{users: MinimalUserV1[], pagination}`.
    ListUsersFromUserGroupOutput, users, "users", MinimalUser
);

paged!(
    /// `{emails: string[], pagination}`.
    ListInvitesFromUserGroupOutput, emails, "emails", String
);
