//! Every documented response body in `tests/fixtures/responses` (see
//! `tests/fixtures/README.md`) deserializes into the matching wire type, with the values
//! it holds.

use grantbridge_core::testing::Fixtures;
use grantbridge_segment::wire::*;

/// Response bodies in `tests/fixtures/responses` today.
const RESPONSE_FILES: usize = 19;

/// The fixture folder; panics if it is missing or holds fewer files than today.
fn fixture_dir() -> Fixtures {
    Fixtures::open(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/responses"),
        RESPONSE_FILES,
    )
}

fn fixture(name: &str) -> String {
    fixture_dir().text(name)
}

fn data<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_str::<Envelope<T>>(&fixture(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .data
}

#[test]
fn every_fixture_file_is_covered() {
    let names = fixture_dir().names();
    let covered = [
        "add_permissions_to_user.json",
        "add_permissions_to_user_docs_example.json",
        "add_permissions_to_user_group.json",
        "create_invites.json",
        "delete_users.json",
        "error_422_validation.json",
        "error_429_rate_limited_docs_example.json",
        "get_user.json",
        "get_user_group.json",
        "get_workspace.json",
        "list_invites.json",
        "list_roles.json",
        "list_user_groups.json",
        "list_user_groups_from_user.json",
        "list_users_page1.json",
        "list_users_page2.json",
        "replace_permissions_for_user.json",
        "replace_permissions_for_user_docs_example.json",
        "update_user_group.json",
    ];
    assert_eq!(names, covered, "a fixture file has no test here");
}

#[test]
fn users_pages() {
    let p1: ListUsersOutput = data("list_users_page1.json");
    assert_eq!(p1.users.len(), 2);
    assert_eq!(p1.pagination.next.as_deref(), Some("Mg=="));
    assert_eq!(p1.pagination.previous, None);
    assert_eq!(p1.pagination.total_entries, Some(3));
    let grace = &p1.users[1];
    let perms = grace.permissions.as_ref().expect("permissions");
    assert_eq!(perms[1].role_name, "Source Read-only");
    assert_eq!(perms[1].resources[0].kind, ResourceType::Source);
    assert!(
        perms[1].resources[0].labels.is_empty(),
        "absent labels read as []"
    );
    let p2: ListUsersOutput = data("list_users_page2.json");
    assert_eq!(p2.pagination.next, None, "last page has no next");
    assert_eq!(p2.pagination.previous.as_deref(), Some("MA=="));
    let labels = &p2.users[0].permissions.as_ref().expect("perms")[0].resources[0].labels;
    assert_eq!(labels, &[Label::new("environment", "prod")]);
}

#[test]
fn single_objects() {
    let u: GetUserOutput = data("get_user.json");
    assert_eq!(u.user.id, "sgJDWk3K21k6LE3tLU9nRK");
    assert_eq!(u.user.email, "ada@example.com");
    let g: UserGroupOutput = data("get_user_group.json");
    assert_eq!(g.user_group.member_count, 3);
    let g: UserGroupOutput = data("update_user_group.json");
    assert_eq!(g.user_group.name, "Renamed Group");
    assert_eq!(g.user_group.permissions, Some(vec![]));
    let w: GetWorkspaceOutput = data("get_workspace.json");
    assert_eq!(w.workspace.id, "9aQ1Lj62S4bomZKLF4DPqW");
    assert_eq!(w.workspace.slug, "acme-corp");
}

#[test]
fn lists() {
    let i: ListInvitesOutput = data("list_invites.json");
    assert_eq!(i.invites, ["pending1@example.com", "pending2@example.com"]);
    assert_eq!(i.pagination.next, None);
    let r: ListRolesOutput = data("list_roles.json");
    let names: Vec<&str> = r.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Workspace Owner",
            "Minimal Workspace Access",
            "Source Admin",
            "Source Read-only"
        ]
    );
    let g: ListUserGroupsOutput = data("list_user_groups.json");
    assert_eq!(g.user_groups.len(), 2);
    assert_eq!(g.user_groups[1].member_count, 1);
    let g: ListUserGroupsFromUserOutput = data("list_user_groups_from_user.json");
    assert_eq!(g.groups[0].name, "Engineering");
}

#[test]
fn write_responses() {
    let c: Emails = data("create_invites.json");
    assert_eq!(c.emails.len(), 3);
    let d: StatusOutput = data("delete_users.json");
    assert_eq!(d.status, "SUCCESS");
    for name in [
        "add_permissions_to_user.json",
        "add_permissions_to_user_docs_example.json",
        "replace_permissions_for_user_docs_example.json",
    ] {
        let p: PermissionsOutput = data(name);
        assert_eq!(p.permissions.len(), 1, "{name}");
        assert_eq!(p.permissions[0].role_name, "Workspace Owner", "{name}");
    }
    let p: PermissionsOutput = data("replace_permissions_for_user.json");
    assert_eq!(p.permissions[0].resources[0].labels[0].key, "environment");
    let p: PermissionsOutput = data("add_permissions_to_user_group.json");
    assert_eq!(p.permissions.len(), 2);
}

#[test]
fn error_bodies() {
    let e: ErrorEnvelope =
        serde_json::from_str(&fixture("error_422_validation.json")).expect("422");
    assert_eq!(e.errors[0].kind, "input-validation");
    assert_eq!(e.errors[0].field.as_deref(), Some("pagination.count"));
    assert_eq!(e.errors[0].status, Some(422));
    let e: ErrorEnvelope =
        serde_json::from_str(&fixture("error_429_rate_limited_docs_example.json")).expect("429");
    let data = e.errors[0].data.as_ref().expect("data");
    assert_eq!(data["msBeforeNext"], 57647);
}

#[test]
fn unknown_fields_and_float_counts_are_tolerated() {
    let json = r#"{"data":{"userGroups":[{"id":"g","name":"G","memberCount":2.0,"future":1}],
        "pagination":{"current":"MA==","next":null,"totalEntries":1.0}}}"#;
    let g: Envelope<ListUserGroupsOutput> = serde_json::from_str(json).expect("lenient");
    assert_eq!(g.data.user_groups[0].member_count, 2);
    assert_eq!(g.data.pagination.total_entries, Some(1));
}
