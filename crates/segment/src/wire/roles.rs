//! Roles: a role (a core `Profile`) and the role list page.

use serde::{Deserialize, Serialize};

use super::envelope::{Paged, PaginationOutput, paged};

/// `RoleV1`: a role (a core `Profile`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Role id.
    pub id: String,
    /// Role name, e.g. `Workspace Owner`.
    pub name: String,
    /// What the role allows.
    #[serde(default)]
    pub description: String,
}

paged!(
    /// `{roles: RoleV1[], pagination}`.
    ListRolesOutput, roles, "roles", Role
);
