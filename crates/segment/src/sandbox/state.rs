//! The emulated workspace's state: users, invites, groups, roles, resources and the
//! tokens it accepts, and its ids.

use crate::wire::{
    Function, InvitePermission, Label, PermissionResource, Role, Source, Space, Warehouse,
    Workspace,
};

/// A stored permission: role and resources (labels inside resources, as written).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StoredPermission {
    pub role_id: String,
    pub resources: Vec<PermissionResource>,
}

#[derive(Clone, Debug)]
pub(crate) struct StoredUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub permissions: Vec<StoredPermission>,
}

#[derive(Clone, Debug)]
pub(crate) struct StoredInvite {
    pub email: String,
    /// Kept as sent; the API never returns them.
    #[allow(dead_code)]
    pub permissions: Vec<InvitePermission>,
}

#[derive(Clone, Debug)]
pub(crate) struct StoredGroup {
    pub id: String,
    pub name: String,
    /// Member e-mails (users and invites), as added.
    pub members: Vec<String>,
    pub permissions: Vec<StoredPermission>,
}

/// The whole workspace.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pub tokens: Vec<String>,
    pub workspace: Workspace,
    pub roles: Vec<Role>,
    pub users: Vec<StoredUser>,
    pub invites: Vec<StoredInvite>,
    pub groups: Vec<StoredGroup>,
    pub sources: Vec<Source>,
    pub warehouses: Vec<Warehouse>,
    pub spaces: Vec<Space>,
    pub functions: Vec<Function>,
    pub labels: Vec<Label>,
    pub next_id: u64,
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A 22-character id in Segment's style, deterministic in `(kind, n)`.
pub(crate) fn make_id(kind: u64, n: u64) -> String {
    // splitmix64 over (kind, n): well spread, reproducible.
    let mut x = kind
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(n.wrapping_add(1));
    let mut out = String::with_capacity(22);
    while out.len() < 22 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        for _ in 0..5 {
            out.push(char::from(BASE62[(z % 62) as usize]));
            z /= 62;
            if out.len() == 22 {
                break;
            }
        }
    }
    out
}

pub(crate) const KIND_USER: u64 = 1;
pub(crate) const KIND_GROUP: u64 = 2;
pub(crate) const KIND_SOURCE: u64 = 3;
pub(crate) const KIND_OTHER: u64 = 4;
pub(crate) const KIND_CREATED: u64 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_distinct_and_segment_shaped() {
        let a = make_id(KIND_USER, 1);
        assert_eq!(a, make_id(KIND_USER, 1));
        assert_eq!(a.len(), 22);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        let ids: std::collections::HashSet<String> =
            (0..5000).map(|n| make_id(KIND_USER, n)).collect();
        assert_eq!(ids.len(), 5000);
        assert_ne!(make_id(KIND_GROUP, 1), a);
    }
}
