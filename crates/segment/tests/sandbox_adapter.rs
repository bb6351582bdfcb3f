#![cfg(feature = "sandbox")]
//! The adapter on a fresh sandbox: the conformance suite, the read-modify-write
//! guarantees, invites, memberships, and the call count of a large sync.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::TryStreamExt;
use grantbridge_core::conformance::{self, Checked, Fixture, Section, WritePath};
use grantbridge_core::engine::{Change, ExecuteOptions, Plan, Snapshot, execute};
use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::{CutAnswers, Fault, RateWindow, SandboxOptions};
use grantbridge_core::{
    AccessSystem, AccessSystemExt, Assignment, Email, ErrorKind, GroupId, Label, Membership,
    Outcome, Principal, ProfileId, ResourceId, ResourceKind, Scope, UserId, UserStatus, Validity,
};
use grantbridge_segment::SegmentSystem;
use grantbridge_segment::sandbox::{Seed, SegmentSandbox};
use grantbridge_segment::wire::PaginationInput;

const OWNER: &str = "1WDUuRLxv84rrfCNUwvkrRtkxnS";
const MINIMAL: &str = "1aEWAcU0fArxScocwH9xxLgW7r3";
const SOURCE_ADMIN: &str = "2TiI1YfY1nBO7WnH3nPSSVx9cZ8";
const SOURCE_READ: &str = "2TiI1YfY1nBO7WnH3nPSSVx9cZ9";

/// Windows far above what a test sends, so Segment's 60/min is not what is tested.
fn fast() -> SandboxOptions {
    SandboxOptions::default()
        .with_class_rate_limit("iam-mutation", RateWindow::per_minute(100_000))
        .with_class_rate_limit("default", RateWindow::per_minute(100_000))
}

async fn start(seed: Seed, page_size: u32) -> (SegmentSandbox, SegmentSystem) {
    let sandbox = SegmentSandbox::start(seed, fast()).await.expect("sandbox");
    let system = SegmentSystem::connect(sandbox.config())
        .await
        .expect("connect")
        .page_size(page_size);
    (sandbox, system)
}

fn pid(s: &str) -> ProfileId {
    ProfileId::new(s).expect("id")
}

fn scope(kind: &str, id: &str, labels: &[(&str, &str)]) -> Scope {
    Scope::Resource {
        kind: ResourceKind::new(kind).expect("kind"),
        id: ResourceId::new(id).expect("id"),
        labels: labels.iter().map(|(k, v)| Label::new(*k, *v)).collect(),
    }
}

async fn sources(system: &SegmentSystem) -> Vec<String> {
    system
        .client()
        .list_sources(&PaginationInput::first(50))
        .await
        .expect("sources")
        .sources
        .into_iter()
        .map(|s| s.id)
        .collect()
}

#[tokio::test]
async fn conformance_suite_passes_on_a_fresh_sandbox() {
    let (sandbox, system) = start(Seed::Generated { users: 30 }, 10).await;
    let users: Vec<UserId> = system
        .client()
        .stream_users(100)
        .map_ok(|u| UserId::new(u.id).expect("id"))
        .try_collect()
        .await
        .expect("users");
    let groups: Vec<GroupId> = system
        .client()
        .stream_user_groups(100)
        .map_ok(|g| GroupId::new(g.id).expect("id"))
        .try_collect()
        .await
        .expect("groups");
    let src = sources(&system).await;
    let ws = system.workspace().id.clone();
    let fixture = Fixture {
        users,
        groups,
        grants: vec![
            (pid(SOURCE_ADMIN), scope("SOURCE", &src[0], &[])),
            (pid(OWNER), scope("WORKSPACE", &ws, &[])),
            (
                pid(SOURCE_READ),
                scope("WORKSPACE", &ws, &[("environment", "prod")]),
            ),
        ],
        unsupported_scopes: vec![],
        bulk: 15,
        // Writes take effect and their answers are cut: grants and revokes are one
        // PUT /users/{id}/permissions or /groups/{id}/permissions (every PUT is a
        // write); memberships are POST /groups/{id}/users and DELETE /group/{id}/users.
        answers: Some(std::sync::Arc::new(
            CutAnswers::new(sandbox.controls())
                .path(WritePath::Grant, "PUT", "/")
                .path(WritePath::Revoke, "PUT", "/")
                .path(WritePath::AddMemberships, "POST", "/groups/")
                .path(WritePath::RemoveMemberships, "DELETE", "/group/"),
        )),
    };
    let report = conformance::run(&system, &fixture).await;
    // Every section ran; the two Segment lacks checked that it refuses validity
    // windows (Unsupported) and enforces no per-user limit. Sections: grant/list/
    // revoke, partial batch, validity, scopes, group principals, per-user limit,
    // memberships, exhaustive listing, unknown reads, lost answers.
    use Checked::{Absent, Ran};
    let expected: Vec<(Section, Checked)> = Section::ALL
        .into_iter()
        .zip([Ran, Ran, Absent, Ran, Ran, Absent, Ran, Ran, Ran, Ran])
        .collect();
    assert_eq!(report.sections, expected);
    // (method, first and last path segment): ids left out.
    let cut: BTreeSet<String> = sandbox
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.fault == Some(Fault::Truncated))
        .map(|e| {
            let segments: Vec<&str> = e.path.split('/').filter(|s| !s.is_empty()).collect();
            format!(
                "{} {} {}",
                e.method,
                segments.first().unwrap_or(&""),
                segments.last().unwrap_or(&"")
            )
        })
        .collect();
    assert_eq!(
        cut,
        BTreeSet::from([
            "PUT users permissions".to_owned(),
            "PUT groups permissions".to_owned(),
            "POST groups users".to_owned(),
            "DELETE group users".to_owned(),
        ]),
        "the lost-answer section cut every write path"
    );
    sandbox.shutdown().await;
}

/// The three bugs of a well-known open-source connector, on the wire.
#[tokio::test]
async fn grants_and_revokes_keep_the_principals_other_permissions() {
    let (sandbox, system) = start(Seed::Demo, 200).await;
    let src = sources(&system).await;
    let (s, t) = (&src[0], &src[1]);
    let ws = system.workspace().id.clone();
    let user = system
        .client()
        .stream_users(200)
        .try_filter(|u| futures::future::ready(u.email.starts_with("colleague.002")))
        .try_next()
        .await
        .expect("read")
        .expect("a colleague");
    let who = Principal::User(UserId::new(user.id.clone()).expect("id"));
    // Start: R on T and Q on the workspace.
    let r_on_t = Assignment::new(who.clone(), pid(SOURCE_ADMIN), scope("SOURCE", t, &[]));
    let q_on_ws = Assignment::new(who.clone(), pid(MINIMAL), scope("WORKSPACE", &ws, &[]));
    let r_on_s = Assignment::new(who.clone(), pid(SOURCE_ADMIN), scope("SOURCE", s, &[]));
    system
        .client()
        .replace_permissions_for_user(&user.id, &[])
        .await
        .expect("reset");
    assert_eq!(
        system.grant(&[r_on_t.clone(), q_on_ws.clone()]).await,
        [Outcome::Applied, Outcome::Applied]
    );

    let writes = || {
        sandbox
            .log()
            .entries()
            .into_iter()
            .filter(|e| e.method == "PUT" && e.path == format!("/users/{}/permissions", user.id))
            .count()
    };
    let before = writes();
    assert!(system.grant_one(&r_on_s).await.expect("grant"));
    assert_eq!(writes(), before + 1, "one write for one changed principal");
    let held: Vec<Assignment> = system.list_assignments_for(&who).await.expect("read");
    for a in [&r_on_s, &r_on_t, &q_on_ws] {
        assert!(
            held.contains(a),
            "{a} missing after granting R on S: {held:?}"
        );
    }
    assert_eq!(held.len(), 3, "no duplicates: {held:?}");
    // The raw wire state has no duplicate pair either.
    let raw = system.client().get_user(&user.id).await.expect("user");
    let pairs: usize = raw
        .permissions
        .iter()
        .flatten()
        .map(|p| p.resources.len())
        .sum();
    assert_eq!(pairs, 3, "{raw:?}");

    // Granting the same thing again sends no write.
    let before = writes();
    assert!(!system.grant_one(&r_on_s).await.expect("again"));
    assert_eq!(writes(), before, "an already-held grant must not write");

    // Revoking R on S leaves R on T and Q on the workspace.
    assert!(system.revoke_one(&r_on_s).await.expect("revoke"));
    let held = system.list_assignments_for(&who).await.expect("read");
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(
        held.contains(&r_on_t) && held.contains(&q_on_ws),
        "{held:?}"
    );
    // A labelled pair is a different scope: revoking it leaves the unlabelled one.
    let labelled = Assignment::new(
        who.clone(),
        pid(MINIMAL),
        scope("WORKSPACE", &ws, &[("environment", "prod")]),
    );
    assert!(!system.revoke_one(&labelled).await.expect("absent"));
    assert!(
        system
            .list_assignments_for(&who)
            .await
            .expect("read")
            .contains(&q_on_ws)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_batch_writes_once_per_principal_and_reports_every_item() {
    let (sandbox, system) = start(Seed::Generated { users: 20 }, 50).await;
    let ids: Vec<String> = system
        .client()
        .stream_users(50)
        .map_ok(|u| u.id)
        .try_collect()
        .await
        .expect("users");
    let src = sources(&system).await;
    let ws = system.workspace().id.clone();
    let u = |i: usize| Principal::User(UserId::new(ids[i].clone()).expect("id"));
    let batch = vec![
        Assignment::new(u(0), pid(SOURCE_ADMIN), scope("SOURCE", &src[0], &[])),
        Assignment::new(u(1), pid(SOURCE_ADMIN), scope("SOURCE", &src[0], &[])),
        Assignment::new(u(0), pid(SOURCE_READ), scope("SOURCE", &src[1], &[])),
        Assignment::new(u(0), pid(SOURCE_ADMIN), scope("SOURCE", &src[0], &[])), // duplicate item
        Assignment::new(u(1), pid(MINIMAL), scope("WORKSPACE", &ws, &[])), // already held (seed)
        Assignment::new(u(2), pid(SOURCE_READ), scope("TENANT", "x", &[])), // not a Segment kind
        Assignment::new(u(2), pid(SOURCE_READ), Scope::System),            // unsupported scope
        Assignment::new(u(2), pid(SOURCE_READ), scope("SOURCE", &src[0], &[]))
            .with_validity(Validity::from_millis(Some(0), None).expect("window")),
        Assignment::new(
            u(3),
            pid(SOURCE_READ),
            scope("SOURCE", "no-such-source", &[]),
        ),
    ];
    sandbox.log().clear();
    let got = system.grant(&batch).await;
    assert_eq!(got.len(), batch.len());
    assert!(matches!(got[0], Outcome::Applied));
    assert!(matches!(got[1], Outcome::Applied));
    assert!(matches!(got[2], Outcome::Applied));
    assert!(matches!(got[3], Outcome::AlreadyInState), "{:?}", got[3]);
    assert!(matches!(got[4], Outcome::AlreadyInState), "{:?}", got[4]);
    assert_eq!(
        got[5].error().map(|e| e.kind()),
        Some(ErrorKind::InvalidInput)
    );
    assert_eq!(
        got[6].error().map(|e| e.kind()),
        Some(ErrorKind::Unsupported)
    );
    assert_eq!(
        got[7].error().map(|e| e.kind()),
        Some(ErrorKind::Unsupported)
    );
    // The server refuses the unknown source: that item fails with the vendor's 422.
    match got[8].error() {
        Some(grantbridge_core::Error::Vendor { status: 422, .. }) => {}
        other => panic!("{other:?}"),
    }
    let puts = sandbox
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.method == "PUT")
        .count();
    assert_eq!(
        puts, 3,
        "users 0, 1 and 3 (the failed one) get one write each"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn invites_are_users_with_an_invited_status_and_join_groups_by_email() {
    let (sandbox, system) = start(Seed::Demo, 100).await;
    let users = system.list_users().await.expect("users");
    let invited: Vec<_> = users
        .iter()
        .filter(|u| u.status == UserStatus::Invited)
        .collect();
    assert!(!invited.is_empty());
    let invite = invited[0].clone();
    assert_eq!(
        invite.email.as_ref().map(Email::as_str),
        Some(invite.id.as_str())
    );
    // Core staff are all there, with their e-mails (one holds a `+`).
    for p in &grantbridge_core::sandbox::DEMO_PEOPLE[..grantbridge_core::sandbox::CORE_STAFF] {
        let email = Email::new(p.email).expect("email");
        assert!(
            users
                .iter()
                .any(|u| u.email.as_ref() == Some(&email) && u.status == UserStatus::Active),
            "{}",
            p.email
        );
    }
    // Assignments to an invite are refused with a conflict, not a silent no-op.
    let ws = system.workspace().id.clone();
    let a = Assignment::new(
        Principal::User(invite.id.clone()),
        pid(MINIMAL),
        scope("WORKSPACE", &ws, &[]),
    );
    assert_eq!(
        system.grant_one(&a).await.expect_err("invite").kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        system
            .list_assignments_for(&a.principal)
            .await
            .expect("none"),
        vec![]
    );

    // Membership by e-mail, for a user whose address holds a `+` and for an invite.
    let groups = system.list_groups().await.expect("groups");
    let group = groups
        .iter()
        .find(|g| g.name == "Legal")
        .map(|g| g.id.clone())
        .unwrap_or_else(|| groups[0].id.clone());
    let li = users
        .iter()
        .find(|u| u.email.as_ref().map(Email::as_str) == Some("li.wei+ops@example.com"))
        .expect("li");
    let items = [
        Membership::new(li.id.clone(), group.clone()),
        Membership::new(invite.id.clone(), group.clone()),
    ];
    let before = system.list_memberships().await.expect("read");
    let adds: Vec<bool> = items.iter().map(|m| !before.contains(m)).collect();
    let got = system.add_memberships(&items).await;
    for (o, added) in got.iter().zip(&adds) {
        assert_eq!(
            o,
            if *added {
                &Outcome::Applied
            } else {
                &Outcome::AlreadyInState
            }
        );
    }
    let after = system.list_memberships().await.expect("read");
    assert!(items.iter().all(|m| after.contains(m)));
    let removed = system.remove_memberships(&items).await;
    assert!(
        removed.iter().all(|o| *o == Outcome::Applied),
        "{removed:?}"
    );
    let raw = sandbox
        .log()
        .entries()
        .into_iter()
        .find(|e| e.method == "DELETE" && e.path.starts_with("/group/"))
        .expect("singular path");
    assert!(
        raw.raw_target.contains("li.wei%2Bops%40example.com"),
        "{}",
        raw.raw_target
    );
    sandbox.shutdown().await;
}

/// A snapshot of a 2,000-user workspace, then a sync of changes, costs exactly the
/// pages needed plus one write per changed principal.
#[tokio::test]
async fn syncing_a_2000_user_workspace_costs_pages_plus_one_write_per_changed_principal() {
    const USERS: usize = 2000;
    const PAGE: u32 = 200;
    let (sandbox, system) = start(Seed::Generated { users: USERS }, PAGE).await;
    let system = system.reuse_listed_state(Duration::from_secs(600));
    let pages = |n: usize| n.div_ceil(PAGE as usize).max(1) as u64;
    let invites = USERS / 50;
    let groups = 5usize;
    let members_per_group = USERS / groups;
    let roles = 13;

    let before = system.client().http().stats().requests;
    let snapshot = Snapshot::take(&system).await.expect("snapshot");
    let reads = system.client().http().stats().requests - before;
    // Users pages (shared by list_users and list_assignments), invites, groups pages
    // (shared by list_groups, list_memberships and list_assignments), roles, then per
    // group its users and its invites.
    let expected_reads = pages(USERS)
        + pages(invites)
        + pages(groups)
        + pages(roles)
        + groups as u64 * (pages(members_per_group) + pages(0));
    assert_eq!(reads, expected_reads, "snapshot reads");
    assert_eq!(snapshot.users.len(), USERS + invites);
    assert_eq!(snapshot.assignments.len(), USERS);

    // Changes: 150 users get a source role, 50 of them two; 40 already hold what is
    // asked; one group gets a role.
    let src = sources(&system).await;
    let ws = system.workspace().id.clone();
    let mut changes = Vec::new();
    let users: Vec<&grantbridge_core::User> = snapshot
        .users
        .iter()
        .filter(|u| u.status == UserStatus::Active)
        .collect();
    for (i, u) in users.iter().take(190).enumerate() {
        let who = Principal::User(u.id.clone());
        let assignment = if i < 150 {
            Assignment::new(
                who.clone(),
                pid(SOURCE_READ),
                scope("SOURCE", &src[i % 4], &[]),
            )
        } else {
            Assignment::new(who.clone(), pid(MINIMAL), scope("WORKSPACE", &ws, &[])) // held
        };
        changes.push(Change::Grant {
            assignment,
            previous: None,
        });
        if i < 50 {
            let assignment = Assignment::new(
                who,
                pid(SOURCE_ADMIN),
                scope("WORKSPACE", &ws, &[("environment", "staging")]),
            );
            changes.push(Change::Grant {
                assignment,
                previous: None,
            });
        }
    }
    let group = snapshot.groups[0].id.clone();
    changes.push(Change::Grant {
        assignment: Assignment::new(
            Principal::Group(group),
            pid(SOURCE_READ),
            scope("SOURCE", &src[0], &[]),
        ),
        previous: None,
    });
    let plan = Plan::from_changes(system.id().clone(), changes, false);
    sandbox.log().clear();
    let before = system.client().http().stats().requests;
    let report = execute(
        &plan,
        &system,
        &ExecuteOptions {
            batch_size: Some(1000),
            concurrency: 1,
            ..ExecuteOptions::default()
        },
    )
    .await
    .expect("run");
    let calls = system.client().http().stats().requests - before;
    assert!(!report.has_failures(), "{:?}", report.counts());
    let changed_principals = 150 + 1;
    assert_eq!(
        calls, changed_principals,
        "one write per changed principal, no reads"
    );
    let log = sandbox.log().entries();
    assert_eq!(log.len() as u64, calls);
    assert!(
        log.iter().all(|e| e.method == "PUT" && e.status == 200),
        "every write is a replace"
    );
    println!(
        "2000-user sync: {reads} snapshot reads (= pages needed) + {calls} writes for {changed_principals} changed principals"
    );

    // Without reusing the listed state, each changed or checked principal costs one
    // read more: the safe default.
    let fresh = SegmentSystem::connect(sandbox.config())
        .await
        .expect("connect")
        .page_size(PAGE);
    let before = fresh.client().http().stats().requests;
    let again = fresh
        .grant(&[Assignment::new(
            Principal::User(users[0].id.clone()),
            pid(SOURCE_READ),
            scope("SOURCE", &src[0], &[]),
        )])
        .await;
    assert_eq!(again, [Outcome::AlreadyInState]);
    // One roles page (to validate the profile) and one getUser; no write.
    assert_eq!(fresh.client().http().stats().requests - before, 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn one_bad_item_does_not_fail_the_principals_other_items() {
    let (sandbox, system) = start(Seed::Generated { users: 5 }, 50).await;
    let ids: Vec<String> = system
        .client()
        .stream_users(50)
        .map_ok(|u| u.id)
        .try_collect()
        .await
        .expect("users");
    let src = sources(&system).await;
    let who = Principal::User(UserId::new(ids[0].clone()).expect("id"));
    let good = Assignment::new(who.clone(), pid(SOURCE_READ), scope("SOURCE", &src[0], &[]));
    let bad = Assignment::new(who.clone(), pid(SOURCE_READ), scope("SOURCE", "gone", &[]));
    let good2 = Assignment::new(
        who.clone(),
        pid(SOURCE_ADMIN),
        scope("SOURCE", &src[1], &[]),
    );
    let got = system.grant(&[good.clone(), bad, good2.clone()]).await;
    assert_eq!(got[0], Outcome::Applied);
    assert!(
        matches!(
            &got[1],
            Outcome::Failed(grantbridge_core::Error::Vendor { status: 422, .. })
        ),
        "{:?}",
        got[1]
    );
    assert_eq!(got[2], Outcome::Applied);
    let held = system.list_assignments_for(&who).await.expect("read");
    assert!(held.contains(&good) && held.contains(&good2), "{held:?}");
    assert_eq!(
        held.len(),
        3,
        "the seeded role, plus the two good grants: {held:?}"
    );

    // Memberships: an address that is neither a user nor an invite fails alone.
    let group = system.list_groups().await.expect("groups")[0].id.clone();
    let stranger = UserId::new("stranger@example.com").expect("id");
    let member = UserId::new(ids[1].clone()).expect("id");
    let items = [
        Membership::new(stranger, group.clone()),
        Membership::new(member.clone(), group.clone()),
    ];
    let got = system.add_memberships(&items).await;
    // NotFound, like an unknown user id (see props_model's
    // membership_of_an_unknown_invite_is_not_found).
    assert_eq!(
        got[0].error().map(|e| e.kind()),
        Some(ErrorKind::NotFound),
        "{got:?}"
    );
    assert_eq!(got[1], Outcome::Applied, "{got:?}");
    assert!(
        system
            .list_memberships()
            .await
            .expect("read")
            .contains(&items[1])
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_demo_snapshot_splits_permissions_per_resource_and_keeps_labels() {
    let (sandbox, system) = start(Seed::Demo, 100).await;
    let snapshot = Snapshot::take(&system).await.expect("snapshot");
    // Ana Ruiz (Engineering) holds Source Admin on two sources through one permission.
    let ana = snapshot
        .users
        .iter()
        .find(|u| u.email.as_ref().map(Email::as_str) == Some("ana.ruiz@example.com"))
        .expect("ana");
    let raw = system
        .client()
        .get_user(ana.id.as_str())
        .await
        .expect("raw");
    let admin = raw
        .permissions
        .iter()
        .flatten()
        .find(|p| p.role_id == SOURCE_ADMIN)
        .expect("one permission");
    assert_eq!(admin.resources.len(), 2);
    let split: Vec<&Assignment> = snapshot
        .assignments
        .iter()
        .filter(|a| {
            a.principal == Principal::User(ana.id.clone()) && a.profile == pid(SOURCE_ADMIN)
        })
        .collect();
    assert_eq!(
        split.len(),
        2,
        "one assignment per (role, resource): {split:?}"
    );
    // The Engineering group's label restriction is part of its scope.
    let engineering = snapshot
        .groups
        .iter()
        .find(|g| g.name == "Engineering")
        .expect("group");
    let ws = system.workspace().id.clone();
    let labelled = Assignment::new(
        Principal::Group(engineering.id.clone()),
        pid(SOURCE_ADMIN),
        scope("WORKSPACE", &ws, &[("environment", "staging")]),
    );
    assert!(snapshot.assignments.contains(&labelled), "{labelled}");
    // Profiles are the roles, opaque and resource-scoped.
    assert!(
        snapshot
            .profiles
            .iter()
            .any(|p| p.name == "Workspace Owner")
    );
    assert!(snapshot.profiles.iter().all(|p| p.capabilities.is_empty()));
    assert!(snapshot.users.len() > 250, "{}", snapshot.users.len());
    sandbox.shutdown().await;
}
