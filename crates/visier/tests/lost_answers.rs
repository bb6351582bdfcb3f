#![cfg(feature = "sandbox")]
//! Visier writes whose answers are lost after they took effect (issue 25): every item
//! in effect is reported `Applied`, settled by one read-back per write call, never one
//! call per item. Oracle: the emulator's request log (what was sent and read) and a
//! fresh listing after the faults are off.

use std::collections::BTreeSet;

use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::{Fault, FaultPlan, LoggedRequest, SandboxOptions};
use grantbridge_core::{Assignment, Membership, Outcome, Principal, Scope, TenantCode, UserId};
use grantbridge_visier::VisierSystem;
use grantbridge_visier::sandbox::{Seed, VisierSandbox};

async fn start() -> (VisierSandbox, VisierSystem) {
    let sandbox = VisierSandbox::start(Seed::Demo, SandboxOptions::default())
        .await
        .expect("sandbox");
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    (sandbox, system)
}

async fn users(system: &VisierSystem, n: usize) -> Vec<UserId> {
    let users: Vec<UserId> = system
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .take(n)
        .collect();
    assert_eq!(users.len(), n, "the demo seed has enough users");
    users
}

/// Requests logged after `seq`.
fn since(sandbox: &VisierSandbox, seq: u64) -> Vec<LoggedRequest> {
    sandbox
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.seq > seq)
        .collect()
}

fn last_seq(sandbox: &VisierSandbox) -> u64 {
    sandbox.log().last().map_or(0, |e| e.seq)
}

/// Cuts the answers of `method` requests under `prefix` after they took effect.
fn cut(sandbox: &VisierSandbox, method: &'static str, prefix: &'static str) {
    sandbox.controls().set_faults(
        FaultPlan::none()
            .with_truncated(1.0)
            .with_method(method)
            .with_path_prefix(prefix),
    );
}

fn count(log: &[LoggedRequest], method: &str, pred: impl Fn(&str) -> bool) -> usize {
    log.iter()
        .filter(|e| e.method == method && pred(&e.path))
        .count()
}

#[tokio::test]
async fn a_lost_local_assign_answer_is_settled_by_one_users_scan() {
    let (sandbox, system) = start().await;
    let steward = system
        .find_profile_by_name("Data Steward")
        .await
        .expect("profile");
    // More users than the adapter reads one by one: the state comes from the scan.
    let people = users(&system, 40).await;
    let items: Vec<Assignment> = people
        .iter()
        .map(|u| {
            Assignment::new(
                Principal::User(u.clone()),
                steward.id.clone(),
                Scope::System,
            )
        })
        .collect();
    let seq = last_seq(&sandbox);
    cut(&sandbox, "PUT", "/v1/admin/profiles/");
    let got = system.grant(&items).await;
    sandbox.controls().set_faults(FaultPlan::none());
    assert!(
        got.iter().all(|o| *o == Outcome::Applied),
        "every grant is in effect: {got:?}"
    );
    let log = since(&sandbox, seq);
    let puts: Vec<&LoggedRequest> = log.iter().filter(|e| e.method == "PUT").collect();
    assert_eq!(puts.len(), 1, "one assign call for 40 users, not retried");
    assert_eq!(puts[0].fault, Some(Fault::Truncated));
    // One scan before the write, one to settle it (the demo's users fit one page).
    assert_eq!(count(&log, "GET", |p| p == "/v1/admin/users"), 2);
    assert_eq!(
        count(&log, "GET", |p| p.starts_with("/v1/admin/users/")),
        0,
        "no per-user reads"
    );
    let held: BTreeSet<_> = system
        .list_assignments()
        .await
        .expect("list")
        .iter()
        .map(Assignment::key)
        .collect();
    assert!(items.iter().all(|a| held.contains(&a.key())));

    // The same with the remove's answer lost (a DELETE with a body).
    let seq = last_seq(&sandbox);
    cut(&sandbox, "DELETE", "/v1/admin/profiles/");
    let got = system.revoke(&items).await;
    sandbox.controls().set_faults(FaultPlan::none());
    assert!(got.iter().all(|o| *o == Outcome::Applied), "{got:?}");
    let log = since(&sandbox, seq);
    let deletes: Vec<&LoggedRequest> = log.iter().filter(|e| e.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].fault, Some(Fault::Truncated));
    assert_eq!(count(&log, "GET", |p| p == "/v1/admin/users"), 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_lost_analytic_assign_answer_is_settled_per_user_not_per_item() {
    let (sandbox, system) = start().await;
    assert!(system.is_administrating());
    let profile = system
        .find_profile_by_name("PARTNER_READ_ONLY")
        .await
        .expect("analytic profile");
    let people = users(&system, 3).await;
    let tenant = TenantCode::new("WFF_grb~emea").expect("code");
    let items: Vec<Assignment> = people
        .iter()
        .map(|u| {
            Assignment::new(
                Principal::User(u.clone()),
                profile.id.clone(),
                Scope::tenant(tenant.clone(), false),
            )
        })
        .collect();
    let seq = last_seq(&sandbox);
    cut(&sandbox, "PUT", "/v1/admin/profiles/accessible-tenants/");
    let got = system.grant(&items).await;
    sandbox.controls().set_faults(FaultPlan::none());
    assert!(got.iter().all(|o| *o == Outcome::Applied), "{got:?}");
    let log = since(&sandbox, seq);
    assert_eq!(count(&log, "PUT", |_| true), 1, "one call for the three");
    // Analytic assignments have no bulk read: one read per user before the write and
    // one per user to settle it.
    let per_user = |p: &str| p.ends_with("/accessible-tenant-profiles");
    assert_eq!(count(&log, "GET", per_user), 2 * people.len());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_lost_membership_answer_is_settled_by_one_members_read_per_group() {
    let (sandbox, system) = start().await;
    let group = system.list_groups().await.expect("groups")[0].id.clone();
    let members: BTreeSet<Membership> = system
        .list_memberships()
        .await
        .expect("memberships")
        .into_iter()
        .collect();
    let items: Vec<Membership> = users(&system, 60)
        .await
        .into_iter()
        .map(|u| Membership::new(u, group.clone()))
        .filter(|m| !members.contains(m))
        .take(30)
        .collect();
    assert_eq!(items.len(), 30);
    for (method, add) in [("PUT", true), ("DELETE", false)] {
        let seq = last_seq(&sandbox);
        cut(&sandbox, method, "/v1/admin/user-groups/users");
        let got = if add {
            system.add_memberships(&items).await
        } else {
            system.remove_memberships(&items).await
        };
        sandbox.controls().set_faults(FaultPlan::none());
        assert!(
            got.iter().all(|o| *o == Outcome::Applied),
            "{method}: {got:?}"
        );
        let log = since(&sandbox, seq);
        assert_eq!(count(&log, method, |_| true), 1);
        let member_reads = count(&log, "GET", |p| {
            p.starts_with("/v1/admin/user-groups/") && p.ends_with("/users")
        });
        assert_eq!(member_reads, 2, "{method}: one read before, one to settle");
        let now: BTreeSet<Membership> = system
            .list_memberships()
            .await
            .expect("memberships")
            .into_iter()
            .collect();
        assert!(items.iter().all(|m| now.contains(m) == add), "{method}");
    }
    sandbox.shutdown().await;
}
