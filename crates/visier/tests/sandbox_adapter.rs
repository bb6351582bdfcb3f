#![cfg(feature = "sandbox")]
//! `VisierSystem` end to end on fresh sandboxes: the conformance suite, the number of
//! HTTP calls a snapshot costs, the auth flows against the emulator, and 429s.

use std::collections::BTreeSet;
use std::sync::Arc;

use grantbridge_core::conformance::{self, Checked, Fixture, Section, WritePath};
use grantbridge_core::engine::Snapshot;
use grantbridge_core::http::{RetryPolicy, Secret};
use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::{CutAnswers, RateWindow, SandboxOptions};
use grantbridge_core::{
    Assignment, ErrorKind, Principal, ProfileId, Scope, ScopeKind, TenantCode, UserId, Validity,
};
use grantbridge_visier::sandbox::{Seed, VisierSandbox};
use grantbridge_visier::{VisierClient, VisierConfig, VisierCredentials, VisierSystem};

async fn start(seed: Seed) -> VisierSandbox {
    VisierSandbox::start(seed, SandboxOptions::default())
        .await
        .expect("sandbox starts")
}

#[tokio::test]
async fn conformance_suite_passes_on_a_fresh_demo_sandbox() {
    let sandbox = start(Seed::Demo).await;
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect")
        // Small pages so that the suite's exhaustive-listing check crosses pages.
        .with_page_size(100);
    assert!(system.is_administrating());
    let steward = system
        .find_profile_by_name("Data Steward")
        .await
        .expect("unassigned local profile");
    let read_only = system
        .find_profile_by_name("PARTNER_READ_ONLY")
        .await
        .expect("unassigned analytic profile");
    assert!(steward.accepts(ScopeKind::System) && !steward.accepts(ScopeKind::Tenant));
    assert!(read_only.accepts(ScopeKind::Tenant));
    let users: Vec<UserId> = system
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .take(130)
        .collect();
    let groups = system.list_groups().await.expect("groups");
    let fixture = Fixture {
        users,
        groups: vec![groups[0].id.clone()],
        grants: vec![
            (steward.id.clone(), Scope::System),
            (
                read_only.id.clone(),
                Scope::tenant(TenantCode::new("WFF_grb~emea").expect("code"), false),
            ),
        ],
        unsupported_scopes: vec![],
        bulk: 120,
        // Writes take effect and their answers are cut: profile assigns are PUTs and
        // removes DELETEs under /v1/admin/profiles/ (reads there are GETs),
        // memberships PUT and DELETE /v1/admin/user-groups/users.
        answers: Some(Arc::new(
            CutAnswers::new(sandbox.controls())
                .path(WritePath::Grant, "PUT", "/v1/admin/profiles/")
                .path(WritePath::Revoke, "DELETE", "/v1/admin/profiles/")
                .path(
                    WritePath::AddMemberships,
                    "PUT",
                    "/v1/admin/user-groups/users",
                )
                .path(
                    WritePath::RemoveMemberships,
                    "DELETE",
                    "/v1/admin/user-groups/users",
                ),
        )),
    };
    let report = conformance::run(&system, &fixture).await;
    // Every section ran; the two Visier lacks checked that it refuses group
    // principals (Unsupported) and enforces no per-user limit. Sections: grant/list/
    // revoke, partial batch, validity, scopes, group principals, per-user limit,
    // memberships, exhaustive listing, unknown reads, lost answers.
    use Checked::{Absent, Ran};
    let expected: Vec<(Section, Checked)> = Section::ALL
        .into_iter()
        .zip([Ran, Ran, Ran, Ran, Absent, Absent, Ran, Ran, Ran, Ran])
        .collect();
    assert_eq!(report.sections, expected);
    // The lost-answer section really cut answers of every write path (and only writes).
    let cut: BTreeSet<(String, String)> = sandbox
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.fault == Some(grantbridge_core::sandbox::Fault::Truncated))
        .map(|e| {
            let path = if e.path.starts_with("/v1/admin/profiles/accessible-tenants/") {
                "analytic"
            } else if e.path.starts_with("/v1/admin/profiles/") {
                "local"
            } else {
                e.path.as_str()
            };
            (e.method.clone(), path.to_owned())
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("PUT", "local"),
        ("PUT", "analytic"),
        ("DELETE", "local"),
        ("DELETE", "analytic"),
        ("PUT", "/v1/admin/user-groups/users"),
        ("DELETE", "/v1/admin/user-groups/users"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_owned(), p.to_owned()))
    .collect();
    assert_eq!(cut, want);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn snapshot_of_5000_users_costs_the_minimum_number_of_calls() {
    const N: usize = 5000;
    let sandbox = start(Seed::Generated { users: N }).await;
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    // Connecting: one ASID login + one probe of the analytic profiles (403: this is not
    // an administrating tenant, so no per-user analytic reads will ever be needed).
    assert_eq!(sandbox.log().len(), 2);
    assert!(!system.is_administrating());
    sandbox.log().clear();

    let snapshot = Snapshot::take(&system).await.expect("snapshot");
    assert_eq!(snapshot.users.len(), N);
    assert_eq!(
        snapshot.assignments.len(),
        N,
        "each generated user holds one profile"
    );
    assert_eq!(snapshot.memberships.len(), N);
    assert_eq!(snapshot.profiles.len(), 3);
    assert_eq!(snapshot.groups.len(), 2);
    assert!(
        snapshot
            .assignments
            .iter()
            .any(|a| !a.validity.is_unbounded())
    );

    // The minimum the API allows: users, their profiles and groups come only from the
    // paged users list (at most 1000 per call, no total, so the end is known from a
    // short page: floor(N / 1000) + 1 calls), plus one user-groups page (< 1000
    // groups) and one profiles list (unpaginated). list_users, list_assignments and
    // list_memberships share the one scan.
    let minimum = N / 1000 + 1 + 1 + 1;
    let log = sandbox.log();
    let calls = log.len();
    println!("5000-user snapshot: {calls} HTTP calls (minimum {minimum})");
    assert_eq!(
        calls,
        minimum,
        "{:#?}",
        log.entries()
            .iter()
            .map(|e| e.raw_target.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(log.matching("GET", "/v1/admin/users").len(), N / 1000 + 1);
    assert!(log.entries().iter().all(|e| e.status == 200));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn snapshot_of_an_administrating_tenant_adds_one_analytic_read_per_user() {
    let sandbox = start(Seed::Demo).await;
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    sandbox.log().clear();
    let snapshot = Snapshot::take(&system).await.expect("snapshot");
    let n = snapshot.users.len();
    assert_eq!(n, 300);
    // Users list (1 page) + groups + local profiles + analytic profiles, and, as the
    // API has no bulk read of analytic assignments, one read per user.
    let expected = (n / 1000 + 1) + 1 + 1 + 1 + n;
    println!(
        "300-user administrating snapshot: {} HTTP calls",
        sandbox.log().len()
    );
    assert_eq!(sandbox.log().len(), expected);
    assert!(snapshot.assignments.iter().any(|a| matches!(
        &a.scope,
        Scope::Tenant {
            include_children: true,
            ..
        }
    )));
    assert!(
        snapshot
            .assignments
            .iter()
            .any(|a| a.scope == Scope::System && !a.validity.is_unbounded())
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn grants_are_batched_per_profile_and_window() {
    let sandbox = start(Seed::Generated { users: 2500 }).await;
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let users: Vec<UserId> = system
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .collect();
    let steward = system
        .find_profile_by_name("PARTNER_ADMIN")
        .await
        .expect("profile")
        .id;
    let window =
        Validity::from_millis(Some(1_800_000_000_000), Some(1_900_000_000_000)).expect("w");
    // 2 windows × 1500 users of whom a third already hold PARTNER_ADMIN unbounded.
    let items: Vec<Assignment> = users[..1500]
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let a = Assignment::new(Principal::User(u.clone()), steward.clone(), Scope::System);
            if i % 2 == 0 {
                a.with_validity(window)
            } else {
                a
            }
        })
        .collect();
    let before = system.list_assignments().await.expect("before");
    sandbox.log().clear();
    let outcomes = system.grant(&items).await;
    let applied = outcomes
        .iter()
        .filter(|o| matches!(o, grantbridge_core::Outcome::Applied))
        .count();
    let already = outcomes
        .iter()
        .filter(|o| matches!(o, grantbridge_core::Outcome::AlreadyInState))
        .count();
    assert_eq!(
        applied + already,
        1500,
        "{:?}",
        outcomes.iter().find(|o| !o.is_done())
    );
    // Already in state: exactly the unbounded items whose user held the profile unbounded.
    let held_before: BTreeSet<Assignment> = before.into_iter().collect();
    let expected_already = items.iter().filter(|a| held_before.contains(*a)).count();
    assert!(expected_already > 0);
    assert_eq!(already, expected_already);
    let assigns = sandbox.log().matching("PUT", "/v1/admin/profiles/");
    // One call per (profile, window): 750 windowed users, and the unbounded ones not
    // already holding it.
    assert_eq!(assigns.len(), 2);
    for a in &assigns {
        let body = a.body_json().expect("json");
        assert!(body["targetUserIds"].as_array().expect("ids").len() <= 1000);
    }
    // Pre-read by one scan (more than a handful of users), not one call per user.
    assert_eq!(sandbox.log().matching("GET", "/v1/admin/users").len(), 3);
    let listed = system.list_assignments().await.expect("list");
    assert!(listed.contains(&items[0]));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn oauth_and_supplied_tokens_work_against_the_sandbox() {
    let sandbox = start(Seed::Demo).await;
    let oauth = VisierConfig::new(sandbox.base_url(), sandbox.credentials().oauth2_login())
        .with_options(
            VisierConfig::default_options(&sandbox.base_url()).retry(RetryPolicy::none()),
        );
    let client = VisierClient::new(&oauth).expect("client");
    assert!(
        !client
            .get_all_profiles()
            .await
            .expect("bearer")
            .profiles
            .is_empty()
    );
    let bearer = sandbox
        .log()
        .entries()
        .last()
        .and_then(|e| e.header("authorization").map(str::to_owned))
        .expect("authorization sent");
    assert!(bearer.starts_with("Bearer sandbox-access-"));
    // A forged supplied token is refused once, without a renewal loop.
    let forged = VisierConfig::new(
        sandbox.base_url(),
        VisierCredentials::asid_token(sandbox.credentials().api_key.clone(), Secret::new("forged")),
    );
    let before = sandbox.log().len();
    let err = VisierClient::new(&forged)
        .expect("client")
        .get_all_profiles()
        .await
        .expect_err("401");
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert!(
        err.to_string()
            .contains("Security token expired or invalid"),
        "{err}"
    );
    assert_eq!(sandbox.log().len(), before + 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn rate_window_answers_429_with_visier_headers() {
    let sandbox = VisierSandbox::start(
        Seed::Demo,
        SandboxOptions::default().with_rate_limit(RateWindow::per_minute(3)),
    )
    .await
    .expect("sandbox");
    // Not adaptive: an adaptive client reads X-RateLimit-Remaining-Minute and waits
    // for the next window instead of running into the 429 this test wants to see.
    let config = sandbox.config();
    let options = config
        .options
        .clone()
        .rate_limits(grantbridge_core::http::RateLimitPolicy::unlimited().adaptive(false));
    let config = config.with_options(options);
    let client = VisierClient::new(&config).expect("client");
    client
        .get_all_profiles()
        .await
        .expect("1 (after the login)");
    let ok = sandbox.log().last().expect("entry");
    assert_eq!(ok.status, 200);
    let err = loop {
        match client.get_all_profiles().await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    let refused = sandbox.log().last().expect("entry");
    assert_eq!(refused.status, 429);
    assert!(refused.over_limit);
    sandbox.shutdown().await;
    // Budget headers are checked on the raw response.
    let sandbox = VisierSandbox::start(
        Seed::Demo,
        SandboxOptions::default().with_rate_limit(RateWindow::per_minute(100)),
    )
    .await
    .expect("sandbox");
    let client = VisierClient::new(&sandbox.config()).expect("client");
    let r = client
        .http()
        .send(
            grantbridge_core::http::Request::post("/v1/admin/visierSecureToken").form([
                ("username", sandbox.credentials().username.as_str()),
                ("password", sandbox.credentials().password.expose()),
            ]),
        )
        .await
        .expect("login");
    assert_eq!(r.header("x-ratelimit-limit-minute"), Some("100"));
    assert_eq!(r.header("x-ratelimit-remaining-minute"), Some("99"));
    assert_eq!(r.header("x-ratelimit-limit-hour"), Some("6000"));
    assert_eq!(r.header("x-ratelimit-remaining-hour"), Some("5999"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn revoking_a_windowed_assignment_removes_it_and_hostile_ids_are_typed() {
    let sandbox = start(Seed::Demo).await;
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let all = system.list_assignments().await.expect("list");
    let windowed = all
        .iter()
        .find(|a| a.scope == Scope::System && !a.validity.is_unbounded())
        .expect("a windowed local assignment in the demo")
        .clone();
    let analytic_windowed = all
        .iter()
        .find(|a| matches!(a.scope, Scope::Tenant { .. }) && !a.validity.is_unbounded())
        .expect("a windowed analytic assignment in the demo")
        .clone();
    // Revoke ignores the window: the key goes.
    let plain = Assignment {
        validity: Validity::ALWAYS,
        ..windowed.clone()
    };
    let outcomes = system.revoke(&[plain, analytic_windowed.clone()]).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, grantbridge_core::Outcome::Applied)),
        "{outcomes:?}"
    );
    let after = system.list_assignments().await.expect("list");
    assert!(
        !after
            .iter()
            .any(|a| a.key() == windowed.key() || a.key() == analytic_windowed.key())
    );

    // Hostile ids: a typed NotFound per item, and nothing escapes the path segment.
    let profile = ProfileId::new("07ca543c-b64b-3fab-a8c1-02655ae47ecd").expect("id");
    let hostile = ["../../v1/admin/profiles", "a/b?c#d", "%2e%2e"];
    let items: Vec<Assignment> = hostile
        .iter()
        .map(|h| {
            Assignment::new(
                Principal::User(UserId::new(*h).expect("id")),
                profile.clone(),
                Scope::System,
            )
        })
        .collect();
    sandbox.log().clear();
    let outcomes = system.grant(&items).await;
    for o in &outcomes {
        assert!(
            matches!(o, grantbridge_core::Outcome::Failed(e) if e.kind() == ErrorKind::NotFound),
            "{o:?}"
        );
    }
    let targets: BTreeSet<String> = sandbox
        .log()
        .entries()
        .iter()
        .map(|e| e.raw_target.clone())
        .collect();
    assert!(
        targets.contains("/v1/admin/users/..%2F..%2Fv1%2Fadmin%2Fprofiles/profiles"),
        "{targets:?}"
    );
    assert!(
        targets.contains("/v1/admin/users/a%2Fb%3Fc%23d/profiles"),
        "{targets:?}"
    );
    assert!(
        targets.contains("/v1/admin/users/%252e%252e/profiles"),
        "{targets:?}"
    );
    assert!(
        sandbox.log().matching("PUT", "/").is_empty(),
        "nothing assigned"
    );
    sandbox.shutdown().await;
}
