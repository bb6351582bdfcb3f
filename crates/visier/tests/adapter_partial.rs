//! Per-user failures inside Visier's HTTP 200 answers (`badUserIds`,
//! `failedAssignments`, `failed`, `badTenantCodes`) become per-item `Failed` outcomes,
//! items the answer does not confirm fail too, and the rest apply.

use grantbridge_core::http::RetryPolicy;
use grantbridge_core::{
    Assignment, AssignmentStore, Error, ErrorKind, Outcome, Principal, ProfileId, Scope,
    TenantCode, UserId,
};
use grantbridge_visier::{VisierConfig, VisierCredentials, VisierSystem};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LOCAL: &str = "07ca543c-b64b-3fab-a8c1-02655ae47ecd";
const ANALYTIC: &str = "af1e7ba4-eef0-41db-9e44-5bac6151cd14";
const HOLDER: &str = "1f4a7176-7f45-0147-b21f-472ae2167285";
const HOLDER2: &str = "33ba5517-e4dc-a548-8d5f-b43f7a412506";

/// A documented response body from `tests/fixtures/responses`; panics if it is missing.
fn fixture(name: &str) -> Value {
    grantbridge_core::testing::Fixtures::open(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/responses"),
        1,
    )
    .json(name)
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    let json = |v: Value| ResponseTemplate::new(200).set_body_json(v);
    Mock::given(method("GET"))
        .and(path("/v1/admin/profiles"))
        .respond_with(json(
            json!({"profiles": [{"profileId": LOCAL, "displayName": "PARTNER_ADMIN"}]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/admin/profiles/accessible-tenants"))
        .respond_with(json(
            json!({"profiles": [{"profileId": ANALYTIC, "displayName": "MGR"}]}),
        ))
        .mount(&server)
        .await;
    // HOLDER and HOLDER2 hold the local profile; nobody holds anything analytic.
    for u in [HOLDER, HOLDER2] {
        Mock::given(method("GET"))
            .and(path(format!("/v1/admin/users/{u}/profiles")))
            .respond_with(json(json!({"assignedProfiles": [{"profileId": LOCAL,
                "validityStartTime": "-9223372036854775808", "validityEndTime": "9223372036854775807"}]})))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1/admin/users/[^/]+/profiles$"))
        .respond_with(json(json!({"assignedProfiles": []})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(
            r"^/v1/admin/users/[^/]+/accessible-tenant-profiles$",
        ))
        .respond_with(json(json!({})))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("/v1/admin/profiles/{LOCAL}/assign")))
        .respond_with(json(json!({
            "errors": true,
            "badUserIds": [{"userId": "u2", "error": {"rootCauseId": "RCI1", "errorCode": "USER_INPUT_ERROR", "errorMessage": "User ID does not exist"}}],
            "failedAssignments": [{"userId": "u3", "error": {"errorCode": "CONFLICT", "errorMessage": "locked"}}],
            "successfulAssignments": [{"userId": "u1"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!(
            "/v1/admin/profiles/accessible-tenants/{ANALYTIC}/assign"
        )))
        .respond_with(json(fixture(
            "assign_analytic_profile_partial_failure.json",
        )))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/admin/profiles/{LOCAL}/remove")))
        .respond_with(json(fixture("remove_profile.json")))
        .mount(&server)
        .await;
    server
}

async fn system(server: &MockServer) -> VisierSystem {
    VisierSystem::connect(
        VisierConfig::new(server.uri(), VisierCredentials::asid_token("k", "t"))
            .with_options(VisierConfig::default_options(&server.uri()).retry(RetryPolicy::none())),
    )
    .await
    .expect("connect")
}

fn local(user: &str) -> Assignment {
    Assignment::new(
        Principal::User(UserId::new(user).expect("id")),
        ProfileId::new(LOCAL).expect("id"),
        Scope::System,
    )
}

fn analytic(user: &str, code: &str, children: bool) -> Assignment {
    Assignment::new(
        Principal::User(UserId::new(user).expect("id")),
        ProfileId::new(ANALYTIC).expect("id"),
        Scope::tenant(TenantCode::new(code).expect("code"), children),
    )
}

fn vendor_message(o: &Outcome) -> String {
    match o {
        Outcome::Failed(Error::Vendor {
            status: 200,
            message,
            ..
        }) => message.clone(),
        other => panic!("expected a per-item vendor failure, got {other:?}"),
    }
}

#[tokio::test]
async fn local_assign_partial_failures_are_per_item() {
    let server = server().await;
    let s = system(&server).await;
    let got = s
        .grant(&[
            local("u1"),
            local("u2"),
            local("u3"),
            local("u4"),
            local(HOLDER),
        ])
        .await;
    assert_eq!(got.len(), 5);
    assert_eq!(got[0], Outcome::Applied);
    assert_eq!(vendor_message(&got[1]), "User ID does not exist");
    assert!(
        matches!(&got[1], Outcome::Failed(Error::Vendor { code: Some(c), request_id: Some(r), .. }) if c == "USER_INPUT_ERROR" && r == "RCI1")
    );
    assert_eq!(vendor_message(&got[2]), "locked");
    assert!(vendor_message(&got[3]).contains("neither confirms nor refuses"));
    assert_eq!(
        got[4],
        Outcome::AlreadyInState,
        "held with the same window: not sent"
    );
    let puts: Vec<_> = server
        .received_requests()
        .await
        .expect("r")
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .collect();
    assert_eq!(puts.len(), 1, "one call for the batch");
    let body: Value = serde_json::from_slice(&puts[0].body).expect("json");
    assert_eq!(body["targetUserIds"], json!(["u1", "u2", "u3", "u4"]));
    assert_eq!(body["validityStartTime"], json!("-9223372036854775808"));
}

#[tokio::test]
async fn analytic_assign_bad_user_ids_fail_only_their_items() {
    let server = server().await;
    let s = system(&server).await;
    let got = s
        .grant(&[
            analytic(HOLDER, "WFF_j1r", true),
            analytic(HOLDER2, "WFF_j1r", true),
            analytic(HOLDER2, "WFF_j1r~c7o", false),
            analytic(HOLDER2, "WFF_j1r~d8p", false),
        ])
        .await;
    assert_eq!(vendor_message(&got[0]), "Synthetic: user ID does not exist");
    assert_eq!(
        &got[1..],
        &[Outcome::Applied, Outcome::Applied, Outcome::Applied]
    );
    // Two tenant sets → two calls (HOLDER: {j1r}; HOLDER2: {j1r, c7o, d8p}).
    let puts = server
        .received_requests()
        .await
        .expect("r")
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .count();
    assert_eq!(puts, 2);
}

#[tokio::test]
async fn remove_failed_entries_fail_their_items() {
    let server = server().await;
    let s = system(&server).await;
    let got = s
        .revoke(&[local(HOLDER), local(HOLDER2), local("not-holding")])
        .await;
    assert_eq!(vendor_message(&got[0]), "User ID does not exist");
    assert_eq!(got[1], Outcome::Applied);
    assert_eq!(got[2], Outcome::AlreadyInState);
    let deletes: Vec<_> = server
        .received_requests()
        .await
        .expect("r")
        .into_iter()
        .filter(|r| r.method.as_str() == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1);
    let body: Value = serde_json::from_slice(&deletes[0].body).expect("json");
    assert_eq!(body, json!({"targetUserIds": [HOLDER, HOLDER2]}));
}

#[tokio::test]
async fn shape_errors_never_reach_the_wire() {
    let server = server().await;
    let s = system(&server).await;
    let before = server.received_requests().await.expect("r").len();
    let group = Assignment::new(
        Principal::Group(grantbridge_core::GroupId::new("g").expect("id")),
        ProfileId::new(LOCAL).expect("id"),
        Scope::System,
    );
    let wrong_kind = Assignment::new(
        Principal::User(UserId::new("u1").expect("id")),
        ProfileId::new(LOCAL).expect("id"),
        Scope::tenant(TenantCode::new("WFF_j1r").expect("code"), false),
    );
    let unknown = Assignment::new(
        Principal::User(UserId::new("u1").expect("id")),
        ProfileId::new("nope").expect("id"),
        Scope::System,
    );
    let got = s.grant(&[group, wrong_kind, unknown]).await;
    assert!(matches!(&got[0], Outcome::Failed(e) if e.kind() == ErrorKind::Unsupported));
    assert!(matches!(
        &got[1],
        Outcome::Failed(Error::Unsupported {
            feature: grantbridge_core::Feature::ProfileScope,
            ..
        })
    ));
    assert!(matches!(
        &got[2],
        Outcome::Failed(Error::NotFound {
            entity: grantbridge_core::Entity::Profile,
            ..
        })
    ));
    let after = server.received_requests().await.expect("r");
    assert!(
        after[before..].iter().all(|r| r.method.as_str() == "GET"),
        "only catalog reads"
    );
}
