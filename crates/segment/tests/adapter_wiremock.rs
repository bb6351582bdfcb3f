//! The adapter against a scripted server: hostile vendor data becomes typed errors,
//! and a rewrite carries everything it read, even what it does not understand.

use grantbridge_core::http::{RetryPolicy, Secret};
use grantbridge_core::prelude::*;
use grantbridge_core::{
    Assignment, ErrorKind, Outcome, Principal, ProfileId, ResourceId, ResourceKind, Scope, UserId,
};
use grantbridge_segment::{SegmentConfig, SegmentSystem};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "data": data }))
}

async fn system(server: &MockServer) -> SegmentSystem {
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(ok(
            json!({"workspace": {"id": "W", "slug": "w", "name": "W"}}),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/roles"))
        .respond_with(ok(json!({"roles": [
            {"id": "R", "name": "Source Admin", "description": ""},
            {"id": "Q", "name": "Workspace Owner", "description": ""}],
            "pagination": {"current": "MA=="}})))
        .mount(server)
        .await;
    let mut config = SegmentConfig::new(server.uri(), Secret::new("sgp_test_token_9"));
    config.options = config.options.retry(RetryPolicy::none());
    SegmentSystem::connect(config).await.expect("connect")
}

#[tokio::test]
async fn hostile_ids_from_the_vendor_are_typed_errors() {
    let server = MockServer::start().await;
    let system = system(&server).await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .respond_with(ok(json!({"users": [
            {"id": "ok1", "name": "A", "email": "a@example.com"},
            {"id": "bad\nid", "name": "B", "email": "b@example.com"}],
            "pagination": {"current": "MA=="}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/groups"))
        .respond_with(ok(
            json!({"userGroups": [], "pagination": {"current": "MA=="}}),
        ))
        .mount(&server)
        .await;
    let err = system.list_users().await.expect_err("control character");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = system
        .list_assignments()
        .await
        .expect_err("control character");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_rewrite_keeps_resources_of_kinds_it_does_not_know() {
    let server = MockServer::start().await;
    let system = system(&server).await;
    Mock::given(method("GET"))
        .and(path("/users/u1"))
        .respond_with(ok(
            json!({"user": {"id": "u1", "name": "U", "email": "u@example.com",
            "permissions": [
                {"roleId": "Q", "roleName": "Workspace Owner", "policyId": "p1",
                 "resources": [{"id": "D1", "type": "DESTINATION", "labels": []}]},
                {"roleId": "R", "roleName": "Source Admin",
                 "resources": [], "labels": [{"key": "environment", "value": "prod"}]},
                {"roleId": "Q", "roleName": "Workspace Owner", "resources": []}]}}),
        ))
        .mount(&server)
        .await;
    let expected = json!({"permissions": [
        {"roleId": "Q", "resources": [{"id": "D1", "type": "DESTINATION"}]},
        {"roleId": "R", "resources": [
            {"id": "W", "type": "WORKSPACE", "labels": [{"key": "environment", "value": "prod"}]},
            {"id": "S1", "type": "SOURCE"}]},
        {"roleId": "Q", "resources": []}]});
    Mock::given(method("PUT"))
        .and(path("/users/u1/permissions"))
        .and(move |req: &Request| {
            serde_json::from_slice::<Value>(&req.body).ok().as_ref() == Some(&expected)
        })
        .respond_with(ok(json!({"permissions": []})))
        .expect(1)
        .mount(&server)
        .await;
    let who = Principal::User(UserId::new("u1").expect("id"));
    let listed = system.list_assignments_for(&who).await.expect("read");
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().any(
        |a| matches!(&a.scope, Scope::Resource { kind, .. } if kind.as_str() == "DESTINATION")
    ));
    let grant = Assignment::new(
        who,
        ProfileId::new("R").expect("id"),
        Scope::resource(
            ResourceKind::new("SOURCE").expect("kind"),
            ResourceId::new("S1").expect("id"),
        ),
    );
    assert_eq!(system.grant(&[grant]).await, [Outcome::Applied]);
}
