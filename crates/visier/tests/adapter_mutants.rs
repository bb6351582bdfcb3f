#![cfg(feature = "sandbox")]
//! Behaviour that cargo-mutants found unguarded in the Visier adapter (see
//! docs/testing.md), each pinned against the emulator: its request log is the oracle.

use grantbridge_core::ErrorKind;
use grantbridge_core::http::Secret;
use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::SandboxOptions;
use grantbridge_visier::auth::{ASID_TOKEN_PATH, OAUTH2_TOKEN_PATH};
use grantbridge_visier::sandbox::{Seed, VisierSandbox};
use grantbridge_visier::{VisierConfig, VisierCredentials, VisierSystem};

async fn start() -> (VisierSandbox, VisierSystem) {
    let sandbox = VisierSandbox::start(Seed::Demo, SandboxOptions::default())
        .await
        .expect("sandbox");
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    (sandbox, system)
}

#[tokio::test]
async fn debug_shows_the_system_and_never_a_secret() {
    let (sandbox, system) = start().await;
    let shown = format!("{system:?}");
    assert!(shown.contains("VisierSystem"), "{shown}");
    assert!(shown.contains("administrating: true"), "{shown}");
    assert!(shown.contains("page_size: 1000"), "{shown}");
    let c = sandbox.credentials();
    for secret in [&c.password, &c.api_key, &c.client_secret] {
        assert!(!shown.contains(secret.expose()), "a secret in {shown}");
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn page_size_and_concurrency_keep_their_bounds_and_reach_the_wire() {
    let (sandbox, system) = start().await;
    assert_eq!(system.page_size(), 1000);
    assert_eq!(system.concurrency(), 8);
    let system = system.with_concurrency(0);
    assert_eq!(system.concurrency(), 1, "at least one read at a time");
    let system = system.with_concurrency(3).with_page_size(0);
    assert_eq!(system.concurrency(), 3);
    assert_eq!(system.page_size(), 1, "at least one user a page");
    assert_eq!(system.with_page_size(5000).page_size(), 1000);

    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect")
        .with_page_size(120);
    let users = system.list_users().await.expect("users");
    assert_eq!(users.len(), 300, "every page read");
    let pages: Vec<String> = sandbox
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.method == "GET" && e.path == "/v1/admin/users")
        .map(|e| e.raw_target.clone())
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    for (query, start) in pages.iter().zip(["start=0", "start=120", "start=240"]) {
        assert!(
            query.contains("limit=120") && query.contains(start),
            "{query}"
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_refused_login_fails_the_connection_rather_than_hiding_analytics() {
    // The probe of analytic profiles is the first call: a wrong password must not be
    // read as "this tenant administers no others".
    let sandbox = VisierSandbox::start(Seed::Demo, SandboxOptions::default())
        .await
        .expect("sandbox");
    let c = sandbox.credentials();
    let wrong = VisierCredentials::password(
        c.api_key.clone(),
        c.username.clone(),
        Secret::new("not-the-password"),
    );
    let mut config = VisierConfig::new(sandbox.base_url(), wrong);
    config.options = sandbox.config().options;
    match VisierSystem::connect(config).await {
        Ok(system) => panic!("connected with a wrong password: {system:?}"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Authentication, "{e}"),
    }
    sandbox.shutdown().await;
}

fn kind_of(p: &grantbridge_core::Profile) -> Option<&str> {
    p.extra.get("visier_profile_kind").and_then(|v| v.as_str())
}

#[tokio::test]
async fn a_profile_is_found_by_id_as_local_or_analytic() {
    let (sandbox, system) = start().await;
    let local = system.client().get_all_profiles().await.expect("local");
    let analytic = system
        .client()
        .get_analytic_profiles()
        .await
        .expect("analytic");
    let (Some(l), Some(a)) = (local.profiles.first(), analytic.profiles.first()) else {
        panic!("the demo has profiles of both kinds");
    };
    for (raw, kind) in [(l, "local"), (a, "analytic")] {
        let id = grantbridge_core::ProfileId::new(raw.profile_id.clone().expect("id")).expect("id");
        let p = system.get_profile(&id).await.expect("found");
        assert_eq!(p.id, id);
        assert_eq!(kind_of(&p), Some(kind), "{p:?}");
    }
    let unknown =
        grantbridge_core::ProfileId::new("00000000-0000-0000-0000-00000000dead").expect("id");
    let err = system.get_profile(&unknown).await.expect_err("unknown");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_tenant_without_analytics_never_asks_for_analytic_profiles() {
    let sandbox = VisierSandbox::start(Seed::Generated { users: 3 }, SandboxOptions::default())
        .await
        .expect("sandbox");
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    assert!(!system.is_administrating());
    let mark = sandbox.log().last().map_or(0, |e| e.seq);
    let unknown =
        grantbridge_core::ProfileId::new("00000000-0000-0000-0000-00000000dead").expect("id");
    let err = system.get_profile(&unknown).await.expect_err("unknown");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let asked: Vec<String> = sandbox
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.seq > mark)
        .map(|e| e.path)
        .collect();
    assert!(
        asked.iter().all(|p| !p.contains("accessible-tenants")),
        "{asked:?}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn groups_carry_their_permission_ids_only_when_they_have_some() {
    let (sandbox, system) = start().await;
    let raw = system.client().get_all_user_groups().await.expect("groups");
    let groups = system.list_groups().await.expect("groups");
    assert_eq!(groups.len(), raw.len());
    for g in &groups {
        let wire = raw
            .iter()
            .find(|r| r.user_group_id.as_deref() == Some(g.id.as_str()))
            .expect("the same group");
        let held = wire
            .permissions
            .iter()
            .filter(|p| p.permission_id.is_some())
            .count();
        match g.extra.get("permission_ids") {
            Some(v) => {
                assert!(held > 0, "an empty list is no list: {g:?}");
                assert_eq!(v.as_array().map(Vec::len), Some(held), "{g:?}");
            }
            None => assert_eq!(held, 0, "{g:?}"),
        }
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_disabled_account_is_a_disabled_user_and_only_then() {
    let (sandbox, system) = start().await;
    let users = system.list_users().await.expect("users");
    let raw = system
        .client()
        .get_all_users(&grantbridge_visier::UsersQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .expect("raw users");
    let mut seen = (0, 0);
    for u in &users {
        let wire = raw
            .users
            .iter()
            .find(|w| w.user_id.as_deref() == Some(u.id.as_str()))
            .expect("the same user");
        let disabled = wire.account_enabled == Some(false);
        assert_eq!(
            u.status == grantbridge_core::UserStatus::Disabled,
            disabled,
            "{u:?}"
        );
        if disabled {
            seen.0 += 1;
        } else {
            seen.1 += 1;
        }
    }
    assert!(seen.0 > 0 && seen.1 > 0, "both kinds in the demo: {seen:?}");
    sandbox.shutdown().await;
}

/// Requests after `mark`: (per-user reads, users scans, writes).
fn reads_and_writes(sandbox: &VisierSandbox, mark: u64) -> (usize, usize, usize) {
    let log: Vec<_> = sandbox
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.seq > mark)
        .collect();
    let per_user = log
        .iter()
        .filter(|e| e.method == "GET" && e.path.starts_with("/v1/admin/users/"))
        .count();
    let scans = log
        .iter()
        .filter(|e| e.method == "GET" && e.path == "/v1/admin/users")
        .count();
    let writes = log
        .iter()
        .filter(|e| matches!(e.method.as_str(), "PUT" | "POST" | "DELETE"))
        .filter(|e| e.path != ASID_TOKEN_PATH && e.path != OAUTH2_TOKEN_PATH)
        .count();
    (per_user, scans, writes)
}

#[tokio::test]
async fn up_to_twenty_users_are_read_one_by_one_and_more_by_one_scan() {
    let (sandbox, system) = start().await;
    let steward = system
        .find_profile_by_name("Data Steward")
        .await
        .expect("profile");
    let users = system.list_users().await.expect("users");
    for (n, expected) in [(20, (20, 0)), (21, (0, 1))] {
        let items: Vec<grantbridge_core::Assignment> = users
            .iter()
            .skip(if n == 20 { 0 } else { 40 })
            .take(n)
            .map(|u| {
                grantbridge_core::Assignment::new(
                    grantbridge_core::Principal::User(u.id.clone()),
                    steward.id.clone(),
                    grantbridge_core::Scope::System,
                )
            })
            .collect();
        let mark = sandbox.log().last().map_or(0, |e| e.seq);
        let outcomes = system.grant(&items).await;
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, grantbridge_core::Outcome::Applied)),
            "{outcomes:?}"
        );
        let (per_user, scans, _) = reads_and_writes(&sandbox, mark);
        assert_eq!((per_user, scans), expected, "{n} users");
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_grant_already_held_sends_no_write_local_or_analytic() {
    let (sandbox, system) = start().await;
    let held = system.list_assignments().await.expect("assignments");
    let local = held
        .iter()
        .find(|a| a.scope == grantbridge_core::Scope::System)
        .expect("a local assignment");
    let analytic = held
        .iter()
        .find(|a| matches!(a.scope, grantbridge_core::Scope::Tenant { .. }))
        .expect("an analytic assignment");
    for a in [local, analytic] {
        let mark = sandbox.log().last().map_or(0, |e| e.seq);
        let outcomes = system.grant(std::slice::from_ref(a)).await;
        assert!(
            matches!(outcomes[..], [grantbridge_core::Outcome::AlreadyInState]),
            "{outcomes:?}"
        );
        assert_eq!(reads_and_writes(&sandbox, mark).2, 0, "no write for {a:?}");
    }
    sandbox.shutdown().await;
}

fn window(from: &str, until: &str) -> grantbridge_core::Validity {
    let ts = |s: &str| s.parse::<grantbridge_core::Timestamp>().expect("timestamp");
    grantbridge_core::Validity::new(Some(ts(from)), Some(ts(until))).expect("window")
}

#[tokio::test]
async fn a_later_window_of_one_key_supersedes_the_earlier_and_spares_the_rest() {
    let (sandbox, system) = start().await;
    let steward = system
        .find_profile_by_name("Data Steward")
        .await
        .expect("profile");
    let users = system.list_users().await.expect("users");
    let grant = |u: &grantbridge_core::User, w: grantbridge_core::Validity| {
        grantbridge_core::Assignment::new(
            grantbridge_core::Principal::User(u.id.clone()),
            steward.id.clone(),
            grantbridge_core::Scope::System,
        )
        .with_validity(w)
    };
    let w1 = window("2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z");
    let w2 = window("2027-01-01T00:00:00Z", "2029-01-01T00:00:00Z");
    let items = [
        grant(&users[0], w1),
        grant(&users[1], w1),
        grant(&users[0], w2),
    ];
    let outcomes = system.grant(&items).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, grantbridge_core::Outcome::Applied)),
        "{outcomes:?}"
    );
    let held = system.list_assignments().await.expect("assignments");
    assert!(held.contains(&items[1]), "the other user's grant was made");
    assert!(held.contains(&items[2]), "the later window won");
    assert!(!held.contains(&items[0]));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_lost_analytic_write_is_settled_by_the_profile_and_the_tenant_together() {
    // The user holds another analytic profile on the same tenant; the write never
    // reached the server. The read-back must not take that other profile for this one.
    let (sandbox, system) = start().await;
    let held = system.list_assignments().await.expect("assignments");
    let existing = held
        .iter()
        .find(|a| matches!(a.scope, grantbridge_core::Scope::Tenant { .. }))
        .expect("an analytic assignment");
    let analytic = system
        .client()
        .get_analytic_profiles()
        .await
        .expect("analytic");
    let other = analytic
        .profiles
        .iter()
        .filter_map(|p| p.profile_id.clone())
        .find(|id| {
            id.as_str() != existing.profile.as_str()
                && !held
                    .iter()
                    .any(|a| a.principal == existing.principal && a.profile.as_str() == id.as_str())
        })
        .expect("another analytic profile");
    let mut item = existing.clone();
    item.profile = grantbridge_core::ProfileId::new(other).expect("id");
    sandbox.controls().set_faults(
        grantbridge_core::sandbox::FaultPlan::none()
            .with_reset(1.0)
            .with_method("PUT")
            .with_path_prefix("/v1/admin/profiles/accessible-tenants/"),
    );
    let outcomes = system.grant(std::slice::from_ref(&item)).await;
    sandbox
        .controls()
        .set_faults(grantbridge_core::sandbox::FaultPlan::none());
    assert!(
        matches!(outcomes[..], [grantbridge_core::Outcome::Failed(_)]),
        "{outcomes:?}"
    );
    let after = system.list_assignments().await.expect("assignments");
    assert!(!after.contains(&item), "the write never took effect");
    sandbox.shutdown().await;
}
