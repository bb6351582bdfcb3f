//! Behaviour that cargo-mutants found unguarded in the Segment adapter (see
//! docs/testing.md): each test names the decision it pins, against a scripted server
//! whose request log is the oracle.

use std::time::Duration;

use grantbridge_core::http::{RetryPolicy, Secret};
use grantbridge_core::prelude::*;
use grantbridge_core::{
    Assignment, Error, ErrorKind, Feature, GroupId, Membership, Outcome, Principal, ProfileId,
    ResourceId, ResourceKind, Scope, UserId,
};
use grantbridge_segment::{SegmentConfig, SegmentSystem};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LAST_PAGE: &str = "MA==";

fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "data": data }))
}

fn refused(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"errors": [{"type": "bad-request", "message": "no"}]}))
}

async fn config(server: &MockServer) -> SegmentConfig {
    answer(
        server,
        "GET",
        "/",
        ok(json!({"workspace": {"id": "W", "slug": "w", "name": "W"}})),
    )
    .await;
    answer(
        server,
        "GET",
        "/roles",
        ok(json!({"roles": [
            {"id": "R", "name": "Source Admin", "description": "Edits sources"},
            {"id": "Q", "name": "Workspace Owner", "description": ""}],
            "pagination": {"current": LAST_PAGE}})),
    )
    .await;
    let mut config = SegmentConfig::new(server.uri(), Secret::new("sgp_mutant_token_7"));
    config.options = config.options.retry(RetryPolicy::none());
    config
}

async fn system(server: &MockServer) -> SegmentSystem {
    SegmentSystem::connect(config(server).await)
        .await
        .expect("connect")
}

/// Answers `verb` requests on exactly `at` with `response`.
async fn answer(server: &MockServer, verb: &str, at: impl AsRef<str>, response: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(at.as_ref()))
        .respond_with(response)
        .mount(server)
        .await;
}

/// How many requests of `verb` the server saw on exactly `at`.
async fn seen(server: &MockServer, verb: &str, at: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == at)
        .count()
}

fn workspace_grant(user: &str, role: &str) -> Assignment {
    Assignment::new(
        Principal::User(UserId::new(user).expect("id")),
        ProfileId::new(role).expect("id"),
        Scope::Resource {
            kind: ResourceKind::new("WORKSPACE").expect("kind"),
            id: ResourceId::new("W").expect("id"),
            labels: Default::default(),
        },
    )
}

fn user_with(role: Option<(&str, &str)>) -> Value {
    let permissions: Vec<Value> = role
        .into_iter()
        .map(|(id, name)| {
            json!({"roleId": id, "roleName": name,
                   "resources": [{"id": "W", "type": "WORKSPACE", "labels": []}]})
        })
        .collect();
    json!({"user": {"id": "u1", "name": "U", "email": "u@example.com",
                    "permissions": permissions}})
}

fn membership(user: &str, group: &str) -> Membership {
    Membership::new(
        UserId::new(user).expect("id"),
        GroupId::new(group).expect("id"),
    )
}

#[tokio::test]
async fn debug_names_the_workspace_and_never_the_token() {
    let server = MockServer::start().await;
    let system = system(&server).await;
    let shown = format!("{system:?}");
    assert!(shown.contains("SegmentSystem"), "{shown}");
    assert!(shown.contains("workspace: \"W\""), "{shown}");
    assert!(!shown.contains("sgp_mutant_token_7"), "{shown}");
}

#[tokio::test]
async fn a_role_keeps_its_description_and_an_empty_one_is_none() {
    let server = MockServer::start().await;
    let system = system(&server).await;
    let described = system
        .get_profile(&ProfileId::new("R").expect("id"))
        .await
        .expect("role R");
    assert_eq!(described.name, "Source Admin");
    assert_eq!(described.description.as_deref(), Some("Edits sources"));
    let bare = system
        .get_profile(&ProfileId::new("Q").expect("id"))
        .await
        .expect("role Q");
    assert_eq!(bare.description, None);
}

#[tokio::test]
async fn a_system_wide_grant_is_refused_as_system_scope() {
    let server = MockServer::start().await;
    let system = system(&server).await;
    let mut item = workspace_grant("u1", "R");
    item.scope = Scope::System;
    let outcomes = system.grant(&[item]).await;
    match &outcomes[..] {
        [Outcome::Failed(Error::Unsupported { feature, .. })] => {
            assert_eq!(*feature, Feature::SystemScope);
        }
        other => panic!("expected an unsupported system scope, got {other:?}"),
    }
    assert_eq!(seen(&server, "PUT", "/users/u1/permissions").await, 0);
}

#[tokio::test]
async fn an_unknown_user_is_not_looked_for_among_invites() {
    // Only an address can be an invite: an unknown plain id is NotFound at once.
    let server = MockServer::start().await;
    let system = system(&server).await;
    answer(
        &server,
        "GET",
        "/users/ghost",
        ResponseTemplate::new(404)
            .set_body_json(json!({"errors": [{"type": "not-found", "message": "no such user"}]})),
    )
    .await;
    let outcomes = system.grant(&[workspace_grant("ghost", "R")]).await;
    assert!(
        matches!(&outcomes[..], [Outcome::Failed(e)] if e.kind() == ErrorKind::NotFound),
        "{outcomes:?}"
    );
    assert_eq!(seen(&server, "GET", "/invites").await, 0);
}

#[tokio::test]
async fn an_invite_member_keeps_the_error_of_the_invites_listing() {
    // The invites could not be listed: the item says so, it is not "unknown user".
    let server = MockServer::start().await;
    let system = system(&server).await;
    answer(&server, "GET", "/invites", refused(403)).await;
    let outcomes = system
        .add_memberships(&[membership("new.hire@example.com", "G")])
        .await;
    assert!(
        matches!(&outcomes[..], [Outcome::Failed(e)] if e.kind() == ErrorKind::Authentication),
        "{outcomes:?}"
    );
    assert_eq!(seen(&server, "POST", "/groups/G/users").await, 0);
}

async fn group_g_with_no_members(server: &MockServer) {
    answer(
        server,
        "GET",
        "/groups/G/users",
        ok(json!({"users": [], "pagination": {"current": LAST_PAGE}})),
    )
    .await;
    answer(
        server,
        "GET",
        "/groups/G/invites",
        ok(json!({"emails": [], "pagination": {"current": LAST_PAGE}})),
    )
    .await;
    for (id, email) in [("u1", "one@example.com"), ("u2", "two@example.com")] {
        answer(
            server,
            "GET",
            format!("/users/{id}"),
            ok(json!({"user": {"id": id, "name": id, "email": email, "permissions": []}})),
        )
        .await;
    }
}

#[tokio::test]
async fn members_accepted_together_are_added_in_one_call() {
    let server = MockServer::start().await;
    let system = system(&server).await;
    group_g_with_no_members(&server).await;
    answer(
        &server,
        "POST",
        "/groups/G/users",
        ok(json!({"userGroup": {"id": "G", "name": "G"}})),
    )
    .await;
    let outcomes = system
        .add_memberships(&[membership("u1", "G"), membership("u2", "G")])
        .await;
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Applied)),
        "{outcomes:?}"
    );
    assert_eq!(seen(&server, "POST", "/groups/G/users").await, 1);
}

#[tokio::test]
async fn a_refused_single_member_is_not_sent_again() {
    let server = MockServer::start().await;
    let system = system(&server).await;
    group_g_with_no_members(&server).await;
    answer(&server, "POST", "/groups/G/users", refused(400)).await;
    let outcomes = system.add_memberships(&[membership("u1", "G")]).await;
    assert!(
        matches!(&outcomes[..], [Outcome::Failed(e)] if e.kind() == ErrorKind::Vendor),
        "{outcomes:?}"
    );
    assert_eq!(seen(&server, "POST", "/groups/G/users").await, 1);
}

#[tokio::test]
async fn a_refused_batch_is_retried_one_by_one_so_only_the_bad_member_fails() {
    let server = MockServer::start().await;
    let system = system(&server).await;
    group_g_with_no_members(&server).await;
    // The two-member call is refused; alone, u1 is accepted and u2 refused.
    Mock::given(method("POST"))
        .and(path("/groups/G/users"))
        .and(wiremock::matchers::body_partial_json(
            json!({"emails": ["one@example.com", "two@example.com"]}),
        ))
        .respond_with(refused(400))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/groups/G/users"))
        .and(wiremock::matchers::body_json(
            json!({"emails": ["one@example.com"]}),
        ))
        .respond_with(ok(json!({"userGroup": {"id": "G", "name": "G"}})))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/groups/G/users"))
        .respond_with(refused(400))
        .with_priority(3)
        .mount(&server)
        .await;
    let outcomes = system
        .add_memberships(&[membership("u1", "G"), membership("u2", "G")])
        .await;
    assert!(matches!(outcomes[0], Outcome::Applied), "{outcomes:?}");
    assert!(matches!(outcomes[1], Outcome::Failed(_)), "{outcomes:?}");
    assert_eq!(seen(&server, "POST", "/groups/G/users").await, 3);
}

#[tokio::test]
async fn a_failed_write_is_never_rewritten_from_the_state_it_replaced() {
    // With listed state reused, a write whose outcome is unknown and whose read-back
    // failed must drop what was remembered: the next write reads afresh and keeps
    // the role the first one may have added.
    let server = MockServer::start().await;
    let system = SegmentSystem::connect(config(&server).await)
        .await
        .expect("connect")
        .reuse_listed_state(Duration::from_secs(3600));
    answer(
        &server,
        "GET",
        "/users",
        ok(json!({"users": [
            {"id": "u1", "name": "U", "email": "u@example.com", "permissions": []}],
            "pagination": {"current": LAST_PAGE}})),
    )
    .await;
    answer(
        &server,
        "GET",
        "/groups",
        ok(json!({"userGroups": [], "pagination": {"current": LAST_PAGE}})),
    )
    .await;
    assert!(system.list_assignments().await.expect("listed").is_empty());

    // First write: the answer is lost and so is the read-back.
    Mock::given(method("PUT"))
        .and(path("/users/u1/permissions"))
        .respond_with(ResponseTemplate::new(504))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/u1"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    // From then on the server shows the first write in effect.
    Mock::given(method("GET"))
        .and(path("/users/u1"))
        .respond_with(ok(user_with(Some(("R", "Source Admin")))))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/users/u1/permissions"))
        .respond_with(ok(json!({"permissions": []})))
        .with_priority(2)
        .mount(&server)
        .await;
    let first = system.grant(&[workspace_grant("u1", "R")]).await;
    assert!(matches!(first[..], [Outcome::Failed(_)]), "{first:?}");

    let second = system.grant(&[workspace_grant("u1", "Q")]).await;
    assert!(matches!(second[..], [Outcome::Applied]), "{second:?}");
    let puts: Vec<Value> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "PUT")
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect();
    let last = puts.last().expect("a second PUT").to_string();
    assert!(
        last.contains("\"R\"") && last.contains("\"Q\""),
        "the second write dropped the first one's role: {last}"
    );
}

#[tokio::test]
async fn a_list_started_after_a_write_never_joins_a_read_from_before_it() {
    // A users listing is slow; a grant happens while it is in flight; a listing
    // asked for after the grant must read again rather than share the stale read.
    let server = MockServer::start().await;
    let system = system(&server).await;
    answer(
        &server,
        "GET",
        "/users",
        ok(json!({"users": [], "pagination": {"current": LAST_PAGE}}))
            .set_delay(Duration::from_millis(1500)),
    )
    .await;
    answer(
        &server,
        "GET",
        "/invites",
        ok(json!({"invites": [], "pagination": {"current": LAST_PAGE}})),
    )
    .await;
    answer(&server, "GET", "/users/u1", ok(user_with(None))).await;
    answer(
        &server,
        "PUT",
        "/users/u1/permissions",
        ok(json!({"permissions": []})),
    )
    .await;
    let before = system.list_users();
    let after = async {
        // Wait until the first listing is on the wire (not a timed guess).
        while seen(&server, "GET", "/users").await == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let outcomes = system.grant(&[workspace_grant("u1", "R")]).await;
        assert!(matches!(outcomes[..], [Outcome::Applied]), "{outcomes:?}");
        system.list_users().await
    };
    let (a, b) = futures::join!(before, after);
    a.expect("first listing");
    b.expect("second listing");
    // If the grant took longer than the delay the two reads did not overlap and
    // this proves nothing, but it cannot fail wrongly.
    assert_eq!(seen(&server, "GET", "/users").await, 2);
}
