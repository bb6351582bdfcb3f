//! Segment Public API IAM types, exactly as on the wire.
//!
//! Field names are the API's (`roleId`, `memberCount`, …). Reading is lenient:
//! unknown fields (`policyId`, `subjectId`, `subjectType` in the docs' samples) are
//! ignored, `labels` may be absent or `[]`, and `memberCount` / `totalEntries` may be
//! `3` or `3.0`. Writing is exact: optional fields left empty are omitted, as the
//! official SDKs omit them.
//!
//! Permissions come in three shapes (docs/specs/segment.md §7):
//!
//! * [`PermissionInput`] — what add/replace take: labels live **inside**
//!   `resources[]` ([`PermissionResource::labels`]);
//! * [`InvitePermission`] — what invites take: labels at permission level, plain
//!   [`Resource`]s without labels;
//! * [`Permission`] / [`AccessPermission`] — what reads and write responses return.
//!
//! One private file per resource family; every type is re-exported here.

mod envelope;
mod groups;
mod invites;
mod permissions;
mod roles;
mod users;
mod workspace;

pub use envelope::{
    Envelope, ErrorEnvelope, Paged, PaginationInput, PaginationOutput, RequestError, StatusOutput,
};
pub use groups::{
    GroupName, ListInvitesFromUserGroupOutput, ListUserGroupsFromUserOutput, ListUserGroupsOutput,
    ListUsersFromUserGroupOutput, MinimalUserGroup, UserGroup, UserGroupOutput,
};
pub use invites::{
    CreateInvitesInput, Emails, Invite, InvitePermission, ListInvitesOutput, Resource,
};
pub use permissions::{
    AccessPermission, Label, Permission, PermissionInput, PermissionResource, PermissionsInput,
    PermissionsOutput, ResourceType,
};
pub use roles::{ListRolesOutput, Role};
pub use users::{GetUserOutput, ListUsersOutput, MinimalUser, User};
pub use workspace::{
    Function, GetWorkspaceOutput, ListFunctionsOutput, ListLabelsOutput, ListSourcesOutput,
    ListSpacesOutput, ListWarehousesOutput, Source, Space, Warehouse, Workspace,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accept_integral_floats_only() {
        let g: UserGroup =
            serde_json::from_str(r#"{"id":"g","name":"n","memberCount":3.0}"#).expect("float");
        assert_eq!(g.member_count, 3);
        for bad in ["3.5", "-1", "\"3\""] {
            let json = format!(r#"{{"id":"g","name":"n","memberCount":{bad}}}"#);
            assert!(serde_json::from_str::<UserGroup>(&json).is_err(), "{bad}");
        }
        let p: PaginationOutput =
            serde_json::from_str(r#"{"current":"MA==","next":null,"totalEntries":2.0}"#)
                .expect("pagination");
        assert_eq!(p.total_entries, Some(2));
        assert_eq!(p.next, None);
    }

    #[test]
    fn write_shapes_are_exact() {
        let input = PermissionsInput {
            permissions: vec![PermissionInput {
                role_id: "r".into(),
                resources: vec![PermissionResource::new(ResourceType::Workspace, "w")],
            }],
        };
        assert_eq!(
            serde_json::to_string(&input).expect("ser"),
            r#"{"permissions":[{"roleId":"r","resources":[{"id":"w","type":"WORKSPACE"}]}]}"#
        );
        let invite = Invite {
            email: "a@example.com".into(),
            permissions: Some(vec![InvitePermission {
                role_id: "r".into(),
                resources: None,
                labels: Some(vec![Label::new("environment", "prod")]),
            }]),
        };
        assert_eq!(
            serde_json::to_string(&invite).expect("ser"),
            r#"{"email":"a@example.com","permissions":[{"roleId":"r","labels":[{"key":"environment","value":"prod"}]}]}"#
        );
        let unknown: ResourceType = serde_json::from_str("\"DESTINATION\"").expect("other");
        assert_eq!(unknown, ResourceType::Other("DESTINATION".into()));
        assert_eq!(
            serde_json::to_string(&unknown).expect("ser"),
            "\"DESTINATION\""
        );
    }
}
