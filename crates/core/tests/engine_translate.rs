//! `translate_at` on hand-made snapshots, each expected result written out by hand
//! from the rules in `docs/architecture.md` and the mapping reference: which source items
//! are carried, which are skipped and why, and what the desired state holds. The
//! properties of `engine_props` only check that every source item is carried *or*
//! skipped; these pin down which, for the rules a target's capabilities decide
//! (windows, memberships, per-user limits), rule scopes, and one window per key.

use grantbridge_core::engine::{Desired, Mapping, SkipReason, Skipped, SkippedItem, Snapshot};
use grantbridge_core::{
    Assignment, Capabilities, Email, Feature, Group, GroupId, Membership, Principal, Profile,
    ProfileId, ResourceId, ResourceKind, Scope, ScopeKind, SystemId, TenantCode, Timestamp, User,
    UserId, Validity,
};

/// "Now" for every translation: windows are placed around it by hand.
const NOW: i64 = 1_000_000;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).expect("time")
}

fn window(from: Option<i64>, until: Option<i64>) -> Validity {
    Validity::new(from.map(at), until.map(at)).expect("window")
}

fn uid(s: &str) -> UserId {
    UserId::new(s).expect("id")
}

fn gid(s: &str) -> GroupId {
    GroupId::new(s).expect("id")
}

fn pid(s: &str) -> ProfileId {
    ProfileId::new(s).expect("id")
}

fn person(id: &str, email: &str) -> User {
    User::new(uid(id)).with_email(Email::new(email).expect("email"))
}

fn grant(user: &str, profile: &str, scope: Scope, validity: Validity) -> Assignment {
    Assignment::new(Principal::User(uid(user)), pid(profile), scope).with_validity(validity)
}

fn tenant(code: &str) -> Scope {
    Scope::Tenant {
        code: TenantCode::new(code).expect("code"),
        include_children: false,
    }
}

fn resource(id: &str) -> Scope {
    Scope::Resource {
        kind: ResourceKind::new("WORKSPACE").expect("kind"),
        id: ResourceId::new(id).expect("id"),
        labels: Default::default(),
    }
}

/// The source: users `s1`..`s4` (`a@x`..`d@x`), group `sg` ("Ops"), profiles `A`, `B`.
fn source(assignments: Vec<Assignment>, memberships: Vec<Membership>) -> Snapshot {
    Snapshot::from_parts(
        SystemId::new("src").expect("id"),
        at(NOW),
        Capabilities::full(),
        vec![
            person("s1", "a@x.test"),
            person("s2", "b@x.test"),
            person("s3", "c@x.test"),
            person("s4", "d@x.test"),
        ],
        vec![Group::new(gid("sg"), "Ops")],
        vec![
            Profile::new(pid("A"), "Alpha"),
            Profile::new(pid("B"), "Beta"),
        ],
        memberships,
        assignments,
    )
}

/// The target: the same people with other ids — in *reverse* id order (`a@x` is `t4`),
/// so that source order is not target order — group `tg` ("Ops") and `admins`
/// ("Admins"), profiles `TA`, `TB` and `TT` (assignable on tenants only).
fn target(caps: Capabilities) -> Snapshot {
    Snapshot::from_parts(
        SystemId::new("dst").expect("id"),
        at(NOW),
        caps,
        vec![
            person("t4", "a@x.test"),
            person("t3", "b@x.test"),
            person("t2", "c@x.test"),
            person("t1", "d@x.test"),
        ],
        vec![
            Group::new(gid("tg"), "Ops"),
            Group::new(gid("admins"), "Admins"),
        ],
        vec![
            Profile::new(pid("TA"), "Target Alpha"),
            Profile::new(pid("TB"), "Target Beta"),
            Profile::new(pid("TT"), "Tenant only").assignable_to([ScopeKind::Tenant]),
        ],
        Vec::new(),
        Vec::new(),
    )
}

fn mapping(text: &str) -> Mapping {
    Mapping::parse(text, "test.toml").expect("mapping")
}

fn translate(source: &Snapshot, mapping: &Mapping, target: &Snapshot) -> Desired {
    grantbridge_core::engine::translate_at(source, mapping, target, at(NOW)).expect("translate")
}

fn skipped(assignment: &Assignment, reason: SkipReason) -> Skipped {
    Skipped {
        item: SkippedItem::Assignment {
            assignment: assignment.clone(),
        },
        reason,
    }
}

fn no_windows() -> Capabilities {
    let mut caps = Capabilities::full();
    caps.validity_windows = false;
    caps
}

/// `A` → `TA` for everyone, with a validity policy.
fn a_to_ta(policy: &str) -> Mapping {
    mapping(&format!(
        r#"
version = 1
[validity]
on_unsupported = "{policy}"
[[rules]]
name = "alpha"
from = "A"
[[rules.to]]
profile = "TA"
"#
    ))
}

#[test]
fn refuse_skips_every_bounded_window_a_target_cannot_hold() {
    let running = grant(
        "s1",
        "A",
        Scope::System,
        window(Some(NOW - 10), Some(NOW + 10)),
    );
    let open_ended = grant("s2", "A", Scope::System, window(None, Some(NOW + 10)));
    let always = grant("s3", "A", Scope::System, Validity::ALWAYS);
    let src = source(
        vec![running.clone(), open_ended.clone(), always.clone()],
        vec![],
    );

    let d = translate(&src, &a_to_ta("refuse"), &target(no_windows()));
    assert_eq!(
        d.assignments,
        vec![grant("t2", "TA", Scope::System, Validity::ALWAYS)]
    );
    let lacks = SkipReason::TargetLacks {
        feature: Feature::ValidityWindows,
    };
    assert_eq!(
        d.skipped,
        vec![
            skipped(&running, lacks.clone()),
            skipped(&open_ended, lacks)
        ]
    );
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.carried_assignments, vec![2]);

    // A target with windows holds all three, windows kept.
    let d = translate(&src, &a_to_ta("refuse"), &target(Capabilities::full()));
    assert_eq!(
        d.assignments,
        vec![
            grant("t2", "TA", Scope::System, Validity::ALWAYS),
            grant("t3", "TA", Scope::System, window(None, Some(NOW + 10))),
            grant(
                "t4",
                "TA",
                Scope::System,
                window(Some(NOW - 10), Some(NOW + 10))
            ),
        ]
    );
    assert!(d.skipped.is_empty() && d.warnings.is_empty());
    assert_eq!(d.carried_assignments, vec![0, 1, 2]);
}

#[test]
fn drop_with_warning_drops_started_windows_and_skips_future_ones() {
    let started = grant(
        "s1",
        "A",
        Scope::System,
        window(Some(NOW - 10), Some(NOW + 10)),
    );
    let starts_now = grant("s2", "A", Scope::System, window(Some(NOW), Some(NOW + 10)));
    let future = grant("s3", "A", Scope::System, window(Some(NOW + 1), None));
    let src = source(vec![started, starts_now, future.clone()], vec![]);

    let d = translate(&src, &a_to_ta("drop-with-warning"), &target(no_windows()));
    // Started (or starting this very second) windows are carried without the window.
    assert_eq!(
        d.assignments,
        vec![
            grant("t3", "TA", Scope::System, Validity::ALWAYS),
            grant("t4", "TA", Scope::System, Validity::ALWAYS),
        ]
    );
    assert_eq!(
        d.skipped,
        vec![skipped(
            &future,
            SkipReason::FutureWindow { from: at(NOW + 1) }
        )]
    );
    assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
    assert!(
        d.warnings.iter().all(|w| w.contains("dropped")),
        "{:?}",
        d.warnings
    );
    assert_eq!(d.carried_assignments, vec![0, 1]);
}

#[test]
fn expired_and_unmapped_items_are_skipped_with_their_reason() {
    let ended = grant("s1", "A", Scope::System, window(Some(NOW - 20), Some(NOW)));
    let unmapped = grant("s2", "B", Scope::System, Validity::ALWAYS);
    let src = source(vec![ended.clone(), unmapped.clone()], vec![]);
    let d = translate(&src, &a_to_ta("refuse"), &target(Capabilities::full()));
    assert!(d.assignments.is_empty());
    assert_eq!(
        d.skipped,
        vec![
            skipped(&ended, SkipReason::Expired { until: at(NOW) }),
            skipped(&unmapped, SkipReason::NoRule { profile: pid("B") }),
        ]
    );
    assert!(d.carried_assignments.is_empty());
}

/// `A` → membership of "Admins".
fn a_to_admins(policy: &str) -> Mapping {
    mapping(&format!(
        r#"
version = 1
[validity]
on_unsupported = "{policy}"
[[rules]]
name = "alpha admins"
from = "A"
[[rules.to]]
group = "Admins"
"#
    ))
}

#[test]
fn a_group_target_carries_users_as_members_under_the_same_window_policy() {
    let always = grant("s1", "A", Scope::System, Validity::ALWAYS);
    let started = grant(
        "s2",
        "A",
        Scope::System,
        window(Some(NOW - 10), Some(NOW + 10)),
    );
    let future = grant("s3", "A", Scope::System, window(Some(NOW + 5), None));
    let starts_now = grant("s4", "A", Scope::System, window(Some(NOW), Some(NOW + 5)));
    let by_group = Assignment::new(Principal::Group(gid("sg")), pid("A"), Scope::System);
    let src = source(
        vec![
            always,
            started.clone(),
            future.clone(),
            starts_now.clone(),
            by_group.clone(),
        ],
        vec![],
    );
    // Memberships have no windows even on a target whose assignments do.
    let full = target(Capabilities::full());

    let d = translate(&src, &a_to_admins("drop-with-warning"), &full);
    assert!(d.assignments.is_empty());
    assert_eq!(
        d.memberships,
        vec![
            Membership::new(uid("t1"), gid("admins")),
            Membership::new(uid("t3"), gid("admins")),
            Membership::new(uid("t4"), gid("admins")),
        ]
    );
    assert_eq!(
        d.skipped,
        vec![
            skipped(&future, SkipReason::FutureWindow { from: at(NOW + 5) }),
            skipped(&by_group, SkipReason::GroupInGroup),
        ]
    );
    assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
    assert!(
        d.warnings
            .iter()
            .all(|w| w.contains("memberships have no windows")),
        "{:?}",
        d.warnings
    );
    assert_eq!(d.carried_assignments, vec![0, 1, 3]);
    assert!(d.manages_memberships);
    // How the skips read (the CLI prints them as they are).
    assert_eq!(
        d.skipped[1].to_string(),
        "group:sg holds A on system: a group cannot be made a member of a group"
    );

    let d = translate(&src, &a_to_admins("refuse"), &full);
    assert_eq!(
        d.memberships,
        vec![Membership::new(uid("t4"), gid("admins"))]
    );
    let lacks = SkipReason::TargetLacks {
        feature: Feature::ValidityWindows,
    };
    assert_eq!(
        d.skipped,
        vec![
            skipped(&started, lacks.clone()),
            skipped(&future, lacks.clone()),
            skipped(&starts_now, lacks),
            skipped(&by_group, SkipReason::GroupInGroup),
        ]
    );
    assert!(d.warnings.is_empty());
    assert_eq!(d.carried_assignments, vec![0]);
}

#[test]
fn memberships_need_groups_and_membership_writes_on_the_target() {
    let always = grant("s1", "A", Scope::System, Validity::ALWAYS);
    let member = Membership::new(uid("s2"), gid("sg"));
    let src = source(vec![always.clone()], vec![member.clone()]);
    let by_name = mapping(
        r#"
version = 1
[groups]
match = "name"
[[rules]]
name = "alpha admins"
from = "A"
[[rules.to]]
group = "Admins"
"#,
    );
    let lacks = SkipReason::TargetLacks {
        feature: Feature::MembershipWrite,
    };
    let mut read_only = Capabilities::full();
    read_only.membership_write = false;
    let mut no_groups = Capabilities::full();
    no_groups.groups = false;
    for caps in [read_only, no_groups] {
        let d = translate(&src, &by_name, &target(caps));
        assert!(d.memberships.is_empty(), "{caps:?}: {:?}", d.memberships);
        assert_eq!(
            d.skipped,
            vec![
                skipped(&always, lacks.clone()),
                Skipped {
                    item: SkippedItem::Membership {
                        membership: member.clone(),
                    },
                    reason: lacks.clone(),
                },
            ],
            "{caps:?}"
        );
        assert!(d.carried_assignments.is_empty() && d.carried_memberships.is_empty());
    }

    let d = translate(&src, &by_name, &target(Capabilities::full()));
    assert_eq!(
        d.memberships,
        vec![
            Membership::new(uid("t3"), gid("tg")),
            Membership::new(uid("t4"), gid("admins")),
        ]
    );
    assert!(d.skipped.is_empty(), "{:?}", d.skipped);
    assert_eq!(
        (d.carried_assignments, d.carried_memberships),
        (vec![0], vec![0])
    );
}

#[test]
fn who_manages_memberships() {
    let src = source(vec![], vec![]);
    let dst = target(Capabilities::full());
    let manages = |text: &str| translate(&src, &mapping(text), &dst).manages_memberships;
    let profile_rule = "[[rules]]\nname = \"r\"\nfrom = \"A\"\n[[rules.to]]\nprofile = \"TA\"\n";
    let group_rule = "[[rules]]\nname = \"r\"\nfrom = \"A\"\n[[rules.to]]\ngroup = \"Admins\"\n";
    let none = "version = 1\n[groups]\nmatch = \"none\"\n";
    let by_name = "version = 1\n[groups]\nmatch = \"name\"\n";
    assert!(!manages(&format!("{none}{profile_rule}")));
    assert!(manages(&format!("{none}{group_rule}")));
    assert!(manages(&format!("{by_name}{profile_rule}")));
    let mapped = "version = 1\n[groups]\nmatch = \"none\"\n[groups.map]\nsg = \"tg\"\n";
    assert!(manages(&format!("{mapped}{profile_rule}")));
}

#[test]
fn a_rule_scope_wins_over_the_scope_table_which_wins_over_the_source_scope() {
    let on_t1 = grant("s1", "A", tenant("T1"), Validity::ALWAYS);
    let on_t2 = grant("s2", "A", tenant("T2"), Validity::ALWAYS);
    let beta_on_t1 = grant("s3", "B", tenant("T1"), Validity::ALWAYS);
    let src = source(vec![on_t1, on_t2, beta_on_t1], vec![]);
    let m = mapping(
        r#"
version = 1
[[scopes]]
from = { type = "tenant", code = "T1" }
to = { type = "resource", kind = "WORKSPACE", id = "w1" }
[[rules]]
name = "alpha"
from = "A"
[[rules.to]]
profile = "TA"
[[rules]]
name = "beta, pinned"
from = "B"
[[rules.to]]
profile = "TB"
scope = { type = "resource", kind = "WORKSPACE", id = "w9" }
"#,
    );
    let d = translate(&src, &m, &target(Capabilities::full()));
    assert_eq!(
        d.assignments,
        vec![
            grant("t2", "TB", resource("w9"), Validity::ALWAYS),
            grant("t3", "TA", tenant("T2"), Validity::ALWAYS),
            grant("t4", "TA", resource("w1"), Validity::ALWAYS),
        ]
    );
    assert!(d.skipped.is_empty(), "{:?}", d.skipped);
}

/// `A` and `B` both → `TA`: two source items meet on one target key.
fn both_to_ta() -> Mapping {
    mapping(
        r#"
version = 1
[[rules]]
name = "alpha"
from = "A"
[[rules.to]]
profile = "TA"
[[rules]]
name = "beta"
from = "B"
[[rules.to]]
profile = "TA"
"#,
    )
}

#[test]
fn windows_meeting_on_one_key_merge_when_they_touch_and_conflict_when_not() {
    let w = |from, until| window(Some(NOW + from), Some(NOW + until));
    // s1: touching windows merge; s2: disjoint ones keep the first (source order);
    // s3: equal windows are one item; s4: one item, left alone.
    let src = source(
        vec![
            grant("s1", "A", Scope::System, w(0, 10)),
            grant("s1", "B", Scope::System, w(10, 20)),
            grant("s2", "A", Scope::System, w(0, 10)),
            grant("s2", "B", Scope::System, w(15, 20)),
            grant("s3", "A", Scope::System, w(5, 6)),
            grant("s3", "B", Scope::System, w(5, 6)),
            grant("s4", "B", Scope::System, w(1, 2)),
        ],
        vec![],
    );
    let d = translate(&src, &both_to_ta(), &target(Capabilities::full()));
    assert_eq!(
        d.assignments,
        vec![
            grant("t1", "TA", Scope::System, w(1, 2)),
            grant("t2", "TA", Scope::System, w(5, 6)),
            grant("t3", "TA", Scope::System, w(0, 10)),
            grant("t4", "TA", Scope::System, w(0, 20)),
        ]
    );
    assert_eq!(
        d.skipped,
        vec![skipped(
            &grant("s2", "B", Scope::System, w(15, 20)),
            SkipReason::WindowConflict { kept: w(0, 10) }
        )]
    );
    assert_eq!(d.carried_assignments, vec![0, 1, 2, 4, 5, 6]);
}

#[test]
fn per_user_limits_keep_each_users_first_grants_and_spare_groups() {
    let mut caps = Capabilities::full();
    caps.max_assignments_per_user = Some(1);
    let m = mapping(
        r#"
version = 1
[[rules]]
name = "alpha"
from = "A"
[[rules.to]]
profile = "TA"
[[rules]]
name = "beta"
from = "B"
[[rules.to]]
profile = "TB"
"#,
    );
    let group = |p: &str| Assignment::new(Principal::Group(gid("sg")), pid(p), Scope::System);
    let over = grant("s1", "B", Scope::System, Validity::ALWAYS);
    let src = source(
        vec![
            grant("s1", "A", Scope::System, Validity::ALWAYS),
            over.clone(),
            grant("s2", "B", Scope::System, Validity::ALWAYS),
            group("A"),
            group("B"),
        ],
        vec![],
    );
    let d = translate(&src, &m, &target(caps));
    let tgroup = |p: &str| Assignment::new(Principal::Group(gid("tg")), pid(p), Scope::System);
    assert_eq!(
        d.assignments,
        vec![
            grant("t3", "TB", Scope::System, Validity::ALWAYS),
            grant("t4", "TA", Scope::System, Validity::ALWAYS),
            tgroup("TA"),
            tgroup("TB"),
        ]
    );
    assert_eq!(
        d.skipped,
        vec![skipped(&over, SkipReason::PerUserLimit { max: 1 })]
    );
    // Source indices follow the snapshot's sorted order (users, then groups).
    let index = |a: &Assignment| {
        src.assignments
            .iter()
            .position(|x| x == a)
            .expect("in source")
    };
    let mut want: Vec<usize> = src
        .assignments
        .iter()
        .filter(|a| **a != over)
        .map(index)
        .collect();
    want.sort();
    assert_eq!(d.carried_assignments, want);
}

#[test]
fn a_target_profile_is_only_granted_on_the_scope_kinds_it_accepts() {
    let on_system = grant("s1", "A", Scope::System, Validity::ALWAYS);
    let on_tenant = grant("s2", "A", tenant("T1"), Validity::ALWAYS);
    let src = source(vec![on_system.clone(), on_tenant], vec![]);
    let m = mapping(
        "version = 1\n[[rules]]\nname = \"r\"\nfrom = \"A\"\n[[rules.to]]\nprofile = \"TT\"\n",
    );
    let d = translate(&src, &m, &target(Capabilities::full()));
    assert_eq!(
        d.assignments,
        vec![grant("t3", "TT", tenant("T1"), Validity::ALWAYS)]
    );
    assert_eq!(
        d.skipped,
        vec![skipped(
            &on_system,
            SkipReason::ProfileScope {
                profile: pid("TT"),
                scope: Scope::System,
            }
        )]
    );
    assert_eq!(d.carried_assignments, vec![1]);
}
