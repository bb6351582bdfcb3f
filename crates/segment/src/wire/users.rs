//! Users: a workspace user (with its direct permissions), the minimal user of group
//! member lists, and their responses.

use serde::{Deserialize, Serialize};

use super::Permission;
use super::envelope::{Paged, PaginationOutput, paged};

/// `UserV1`: a workspace user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Direct permissions (not those inherited through groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
}

/// `MinimalUserV1`: a user without permissions (group member lists).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinimalUser {
    /// User id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// E-mail address.
    pub email: String,
}

/// `{user: UserV1}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetUserOutput {
    /// The user.
    pub user: User,
}

paged!(
    /// `{users: UserV1[], pagination}`.
    ListUsersOutput, users, "users", User
);
