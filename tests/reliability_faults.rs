#![cfg(all(
    feature = "sandbox",
    feature = "visier",
    feature = "segment",
    feature = "pyramid"
))]
//! Fault-injection migrations (issue 9, part 1; figures in `docs/reliability.md`).
//!
//! About 1,000 Visier users are migrated to Segment and to Pyramid while the *target*
//! emulators inject 10 % 5xx, 5 % 429 with `Retry-After`, 2 % connection resets, 1 %
//! truncated (but effective) responses and latency spikes, from fixed seeds. Then, with
//! the faults switched off:
//!
//! * every item the run reported `Failed` is really absent from the target, and every
//!   `Applied` / `AlreadyInState` item is present;
//! * re-running `failures_plan()` (faults still on) converges;
//! * a fresh snapshot equals the desired state (planning again gives nothing to do);
//! * the raw vendor state, read through the vendor clients, holds no duplicate
//!   permission, binding or membership.
//!
//! The generated seeds of the three emulators use different e-mail schemes
//! (`user.000042@`, `user-00042@`, `user0043@`), so the test writes an explicit
//! `[principals.users]` map into the mapping it generates.
//!
//! The tests run on tokio's paused clock: the emulators and the clients share the
//! test's runtime, so every wait (backoff, a 1 s `Retry-After`, a latency spike) is
//! skipped as idle time and the run takes seconds, not minutes. The clients therefore
//! have no request timeout (it would fire as soon as the runtime idles).
//!
//! Reproduce: `cargo test -p grantbridge --all-features --test reliability_faults --
//! --nocapture` (figures are printed); the long variant adds `--ignored`.

mod support;

use std::collections::BTreeSet;

use futures::TryStreamExt;
use grantbridge::core::engine::{self, Change, Mapping, Snapshot};
use grantbridge::{core, pyramid, segment};
use support::faults::{
    Figures, Tap, assert_additive_result, assert_every_fault_kind_struck, faults, holds,
    migrate_under_faults, principal_map, pyramid_at, pyramid_write, segment_at, segment_write,
    visier_at,
};

/// Seeds of the two target emulators' fault generators.
const SEGMENT_FAULT_SEED: u64 = 0x5e6_2026;
const PYRAMID_FAULT_SEED: u64 = 0x9a_2026;

fn segment_mapping(source: &Snapshot, target: &Snapshot, workspace: &str) -> Mapping {
    let text = format!(
        r#"version = 1
[principals]
match = "email"
{users}
[groups]
match = "name"            # "Generated group 0/1" exist on both sides
[validity]
on_unsupported = "drop-with-warning"

[[scopes]]
from = {{ type = "system" }}
to = {{ type = "resource", kind = "WORKSPACE", id = "{workspace}" }}
[[scopes]]
from = {{ type = "tenant" }}
to = {{ type = "resource", kind = "WORKSPACE", id = "{workspace}" }}

[[rules]]
from = "PARTNER_ADMIN"
to = [{{ profile = "Workspace Owner" }}]
[[rules]]
from = "Analyst"
to = [{{ profile = "Workspace Member" }}, {{ profile = "Tracking Plan Read-only" }}]
[[rules]]
from = "Viewer"
to = [{{ profile = "Unify and Engage Read-only" }}]
"#,
        users = principal_map(source, target, 0),
    );
    Mapping::parse(&text, "generated-visier-to-segment.toml").expect("generated mapping parses")
}

fn pyramid_mapping(source: &Snapshot, target: &Snapshot, tenant: &str) -> Mapping {
    let text = format!(
        r#"version = 1
[principals]
match = "email"
{users}
[groups]
match = "name"
[validity]
on_unsupported = "drop-with-warning"

[[scopes]]
from = {{ type = "system" }}
to = {{ type = "tenant", code = "{tenant}" }}
[[scopes]]
from = {{ type = "tenant" }}
to = {{ type = "tenant", code = "{tenant}" }}

[[rules]]
from = "PARTNER_ADMIN"
to = [{{ group = "Group A" }}]
[[rules]]
from = "Analyst"
to = [{{ profile = "Profile B" }}]
[[rules]]
from = "Viewer"
to = [{{ group = "Group C" }}]
"#,
        users = principal_map(source, target, 1),
    );
    Mapping::parse(&text, "generated-visier-to-pyramid.toml").expect("generated mapping parses")
}

// ---- raw vendor state: no duplicates --------------------------------------------------

async fn assert_no_duplicates_segment(client: &segment::SegmentClient) {
    let users: Vec<segment::wire::User> = client
        .stream_users(200)
        .try_collect()
        .await
        .expect("list users");
    let mut pairs_total = 0;
    for user in &users {
        let mut pairs = BTreeSet::new();
        for p in user.permissions.iter().flatten() {
            for r in &p.resources {
                pairs_total += 1;
                assert!(
                    pairs.insert((p.role_id.clone(), r.id.clone(), format!("{:?}", r.kind))),
                    "segment user {} holds role {} on {} twice: {:?}",
                    user.id,
                    p.role_id,
                    r.id,
                    user.permissions
                );
            }
        }
    }
    assert!(pairs_total > users.len(), "the check saw the permissions");
    let groups: Vec<segment::wire::UserGroup> = client
        .stream_user_groups(200)
        .try_collect()
        .await
        .expect("list groups");
    for group in &groups {
        let members: Vec<segment::wire::MinimalUser> = client
            .stream_users_from_user_group(&group.id, 200)
            .try_collect()
            .await
            .expect("list members");
        let ids: BTreeSet<&str> = members.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids.len(),
            members.len(),
            "segment group {} lists a member twice",
            group.id
        );
    }
}

async fn assert_no_duplicates_pyramid(system: &pyramid::PyramidSystem) {
    let client = system.client();
    let tenant = system.tenant().as_str().to_owned();
    let roles = client
        .get_all_non_private_roles_by_tenant(&tenant)
        .await
        .expect("roles");
    let mut members_total = 0;
    for role in &roles {
        let Some(id) = role.role_id.as_deref() else {
            continue;
        };
        let users = client.get_users_by_role(id).await.expect("users of role");
        members_total += users.len();
        let ids: BTreeSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(
            ids.len(),
            users.len(),
            "pyramid role {} lists a user twice",
            role.role_name
        );
    }
    assert!(members_total > 0, "the check saw the role members");
    let profiles = client
        .get_all_profiles_by_tenant_id(&tenant)
        .await
        .expect("profiles");
    let mut bindings_total = 0;
    for profile in &profiles {
        let Some(id) = profile.profile_id.as_deref() else {
            continue;
        };
        let bound = client
            .get_all_roles_by_profile_id(id)
            .await
            .expect("bindings");
        bindings_total += bound.len();
        let ids: BTreeSet<Option<&str>> = bound.iter().map(|r| r.role_id.as_deref()).collect();
        assert_eq!(
            ids.len(),
            bound.len(),
            "pyramid profile {} bound twice to a role",
            profile.name
        );
    }
    // The mapping binds no profile to a role: the run must not have made any.
    assert_eq!(bindings_total, 0, "pyramid profile bindings appeared");
    // A private profile is one id per user on the wire, so it cannot be doubled; the
    // memberships are checked once more from the users' side.
    let users = client
        .get_all_users_by_tenant(&tenant)
        .await
        .expect("users");
    let mut held = 0;
    for user in &users {
        let Some(id) = user.id.as_deref() else {
            continue;
        };
        let roles = client
            .get_all_roles_by_user(id)
            .await
            .expect("roles of user");
        held += roles.len();
        let ids: BTreeSet<Option<&str>> = roles.iter().map(|r| r.id.as_deref()).collect();
        assert_eq!(
            ids.len(),
            roles.len(),
            "pyramid user {id} is in a role twice"
        );
    }
    assert!(
        held >= members_total,
        "the users' side shows the memberships"
    );
}

// ---- the scenario ---------------------------------------------------------------------

async fn scenario(users: usize, seed_offset: u64) -> (Figures, Figures) {
    // The source is quiet: faults strike the targets only.
    let (visier_sb, visier) = visier_at(users, 0).await;
    let source = Snapshot::take(&visier).await.expect("source snapshot");
    assert_eq!(source.users.len(), users);

    // --- Segment ---
    let (segment_sb, segment) = segment_at(users, SEGMENT_FAULT_SEED + seed_offset).await;
    let before = Snapshot::take(&segment).await.expect("segment snapshot");
    let mapping = segment_mapping(&source, &before, &segment.workspace().id);
    let tap = Tap::new(segment_sb.log(), segment_write);
    let seg_stats = || segment.client().http().stats();
    let seg = migrate_under_faults(
        "segment",
        &faults(),
        users,
        &source,
        &segment,
        &mapping,
        &segment_sb.controls(),
        &tap,
        &seg_stats,
    )
    .await;
    assert_every_fault_kind_struck("segment", &seg.log);
    assert_no_duplicates_segment(segment.client()).await;
    println!("{seg}");

    // --- Pyramid ---
    let (pyramid_sb, pyramid) = pyramid_at(users, PYRAMID_FAULT_SEED + seed_offset).await;
    let before = Snapshot::take(&pyramid).await.expect("pyramid snapshot");
    let mapping = pyramid_mapping(&source, &before, pyramid.tenant().as_str());
    let tap = Tap::new(pyramid_sb.log(), pyramid_write);
    let pyr_stats = || pyramid.client().http().stats();
    let pyr = migrate_under_faults(
        "pyramid",
        &faults(),
        users,
        &source,
        &pyramid,
        &mapping,
        &pyramid_sb.controls(),
        &tap,
        &pyr_stats,
    )
    .await;
    assert_every_fault_kind_struck("pyramid", &pyr.log);
    assert_no_duplicates_pyramid(&pyramid).await;
    println!("{pyr}");

    visier_sb.shutdown().await;
    segment_sb.shutdown().await;
    pyramid_sb.shutdown().await;
    (seg, pyr)
}

#[tokio::test(start_paused = true)]
async fn thousand_user_migrations_survive_faults_and_converge() {
    let (seg, pyr) = scenario(1_000, 0).await;
    for f in [&seg, &pyr] {
        assert!(
            f.planned >= f.users,
            "{}: the run moves at least one change per user, planned {}",
            f.target,
            f.planned
        );
        // Faults were injected at roughly the asked-for rates (loose bounds: a few
        // thousand draws from a fixed seed).
        let n = f.log.requests as f64;
        assert!(n > 1_000.0, "{}: {n} requests", f.target);
        let share = f.log.injected() as f64 / n;
        assert!(
            (0.10..0.27).contains(&share),
            "{}: {share} of requests faulted",
            f.target
        );
    }
}

/// The long variant: 10x the users under one more fault seed, then five more seeds at
/// 1,000 users. Figures in docs/reliability.md.
#[tokio::test(start_paused = true)]
#[ignore = "long: 10,000 users, then 1,000 users under five more fault seeds; run with --ignored"]
async fn long_migrations_ten_thousand_users_and_more_fault_seeds() {
    scenario(10_000, 1).await;
    for offset in 2..=6 {
        scenario(1_000, offset).await;
    }
}

#[test]
fn changes_of_a_plan_are_checked_against_snapshots() {
    // `holds` must be able to say no: an empty snapshot holds no grant.
    let empty = Snapshot::from_parts(
        core::SystemId::new("t").expect("id"),
        core::Timestamp::now(),
        core::Capabilities::full(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let grant = Change::AddMember {
        membership: core::Membership::new(
            core::UserId::new("u").expect("id"),
            core::GroupId::new("g").expect("id"),
        ),
    };
    assert!(!holds(&grant, &empty));
    assert!(holds(&grant.inverse(), &empty));

    // The independent oracle must be able to say no as well: a desired membership or
    // grant the target lacks, or one it holds without being asked to.
    let Change::AddMember { membership } = grant else {
        unreachable!()
    };
    let assignment = core::Assignment::new(
        core::Principal::Group(core::GroupId::new("g").expect("id")),
        core::ProfileId::new("p").expect("id"),
        core::Scope::System,
    );
    let desired = |assignments: Vec<core::Assignment>, memberships| engine::Desired {
        source: core::SystemId::new("s").expect("id"),
        target: core::SystemId::new("t").expect("id"),
        target_capabilities: core::Capabilities::full(),
        as_of: core::Timestamp::now(),
        assignments,
        memberships,
        manages_memberships: false,
        skipped: Vec::new(),
        warnings: Vec::new(),
        carried_assignments: Vec::new(),
        carried_memberships: Vec::new(),
    };
    let holding = |assignments, memberships| {
        Snapshot::from_parts(
            core::SystemId::new("t").expect("id"),
            core::Timestamp::now(),
            core::Capabilities::full(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            memberships,
            assignments,
        )
    };
    let wanted = desired(vec![assignment.clone()], vec![membership.clone()]);
    let done = holding(vec![assignment.clone()], vec![membership.clone()]);
    assert_additive_result("ok", &empty, &wanted, &done);
    let fails = |after: Snapshot, wanted: engine::Desired| {
        std::panic::catch_unwind(|| assert_additive_result("x", &empty, &wanted, &after)).is_err()
    };
    assert!(fails(
        holding(vec![], vec![membership.clone()]),
        wanted.clone()
    ));
    assert!(fails(
        holding(vec![assignment.clone()], vec![]),
        wanted.clone()
    ));
    assert!(fails(
        done.clone(),
        desired(vec![], vec![membership.clone()])
    ));
    assert!(fails(done, desired(vec![assignment], vec![])));
}
