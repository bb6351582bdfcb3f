//! `plan` and `Plan` on hand-made inputs, where the properties of `engine_props` cannot
//! reach: repeated keys in a snapshot, unsorted desired lists, per-user limits without
//! held grants, the order rule, fingerprints, summaries and how a change reads.

use std::collections::BTreeSet;

use grantbridge_core::engine::{
    self, Change, Desired, Mode, Plan, SkipReason, Snapshot, SummaryKey,
};
use grantbridge_core::{
    Assignment, Capabilities, GroupId, Membership, Principal, ProfileId, Scope, SystemId,
    Timestamp, UserId, Validity,
};

fn user(i: usize) -> Principal {
    Principal::User(UserId::new(format!("u{i}")).expect("id"))
}

fn grant_of(i: usize, profile: &str) -> Assignment {
    Assignment::new(user(i), ProfileId::new(profile).expect("id"), Scope::System)
}

fn window(from: i64, until: i64) -> Validity {
    let t = |s| Some(Timestamp::from_second(s).expect("time"));
    Validity::new(t(from), t(until)).expect("window")
}

fn snapshot(caps: Capabilities, assignments: Vec<Assignment>) -> Snapshot {
    Snapshot::from_parts(
        SystemId::new("dst").expect("id"),
        Timestamp::from_second(0).expect("time"),
        caps,
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        assignments,
    )
}

fn desired(caps: Capabilities, assignments: Vec<Assignment>) -> Desired {
    Desired {
        source: SystemId::new("src").expect("id"),
        target: SystemId::new("dst").expect("id"),
        target_capabilities: caps,
        as_of: Timestamp::from_second(0).expect("time"),
        assignments,
        memberships: Vec::new(),
        manages_memberships: false,
        skipped: Vec::new(),
        warnings: Vec::new(),
        carried_assignments: Vec::new(),
        carried_memberships: Vec::new(),
    }
}

#[test]
fn a_key_a_snapshot_lists_twice_is_held_with_its_last_window() {
    let caps = Capabilities::full();
    let (early, late) = (window(0, 10), window(5, 20));
    // Snapshots sort assignments, so the later window is listed last.
    let current = snapshot(
        caps,
        vec![
            grant_of(1, "p").with_validity(late),
            grant_of(1, "p").with_validity(early),
        ],
    );
    let same = desired(caps, vec![grant_of(1, "p").with_validity(late)]);
    assert_eq!(engine::plan(&same, &current, Mode::Mirror).changes, vec![]);
    let other = desired(caps, vec![grant_of(1, "p").with_validity(early)]);
    assert_eq!(
        engine::plan(&other, &current, Mode::Mirror).changes,
        vec![Change::Grant {
            assignment: grant_of(1, "p").with_validity(early),
            previous: Some(late),
        }]
    );
}

#[test]
fn an_unsorted_desired_list_plans_as_a_sorted_one() {
    let caps = Capabilities::full();
    let current = snapshot(caps, vec![grant_of(2, "p"), grant_of(4, "p")]);
    let sorted: Vec<Assignment> = (0..6).map(|i| grant_of(i, "p")).collect();
    let mut unsorted = sorted.clone();
    unsorted.reverse();
    for mode in [Mode::Additive, Mode::Mirror] {
        let a = engine::plan(&desired(caps, sorted.clone()), &current, mode);
        let b = engine::plan(&desired(caps, unsorted.clone()), &current, mode);
        assert_eq!(a.changes, b.changes, "{mode:?}");
        assert_eq!(a.changes.len(), 4, "{mode:?}: {:?}", a.changes);
    }
}

#[test]
fn additive_per_user_limits_count_new_grants_too() {
    let caps = Capabilities::full().with_max_assignments_per_user(Some(1));
    // u1 holds nothing and is (by hand) wanted twice: one grant fits, one is skipped.
    let current = snapshot(caps, Vec::new());
    let wanted = desired(caps, vec![grant_of(1, "a"), grant_of(1, "b")]);
    let plan = engine::plan(&wanted, &current, Mode::Additive);
    assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
    assert_eq!(plan.skipped.len(), 1);
    assert_eq!(plan.skipped[0].reason, SkipReason::PerUserLimit { max: 1 });
}

#[test]
fn removals_go_first_exactly_when_the_plan_says_so() {
    let revoke = Change::Revoke {
        assignment: grant_of(1, "a"),
    };
    let grant = Change::Grant {
        assignment: grant_of(2, "b"),
        previous: None,
    };
    let target = SystemId::new("dst").expect("id");
    let first = |removals_first| {
        Plan::from_changes(
            target.clone(),
            vec![grant.clone(), revoke.clone()],
            removals_first,
        )
        .changes
    };
    assert_eq!(first(true), vec![revoke.clone(), grant.clone()]);
    assert_eq!(first(false), vec![grant.clone(), revoke.clone()]);
}

#[test]
fn fingerprints_tell_plans_apart() {
    let target = SystemId::new("dst").expect("id");
    let prints: BTreeSet<String> = (0..40)
        .map(|i| {
            let change = Change::Grant {
                assignment: grant_of(i, "p"),
                previous: None,
            };
            Plan::from_changes(target.clone(), vec![change], false).fingerprint()
        })
        .collect();
    assert_eq!(prints.len(), 40, "{prints:?}");
}

#[test]
fn the_summary_counts_each_kind_of_change_per_profile_and_group() {
    let target = SystemId::new("dst").expect("id");
    let g = GroupId::new("g").expect("id");
    let changes = vec![
        Change::Grant {
            assignment: grant_of(1, "a"),
            previous: None,
        },
        Change::Grant {
            assignment: grant_of(2, "a"),
            previous: None,
        },
        Change::Grant {
            assignment: grant_of(3, "a").with_validity(window(0, 10)),
            previous: Some(Validity::ALWAYS),
        },
        Change::Revoke {
            assignment: grant_of(4, "b"),
        },
        Change::AddMember {
            membership: Membership::new(UserId::new("u1").expect("id"), g.clone()),
        },
        Change::RemoveMember {
            membership: Membership::new(UserId::new("u2").expect("id"), g),
        },
    ];
    let plan = Plan::from_changes(target, changes, false);
    let summary = plan.summary();
    let row = |k: SummaryKey| {
        let r = &summary.rows[&k];
        (r.grants, r.updates, r.revokes, r.skipped)
    };
    let profile = |id: &str| SummaryKey::Profile(ProfileId::new(id).expect("id"));
    assert_eq!(row(profile("a")), (2, 1, 0, 0));
    assert_eq!(row(profile("b")), (0, 0, 1, 0));
    assert_eq!(
        row(SummaryKey::Group(GroupId::new("g").expect("id"))),
        (1, 0, 1, 0)
    );
    // The JSON keeps the printed keys, in their order: groups before profiles.
    let text = serde_json::to_string(&summary).expect("json");
    let at = |key: &str| text.find(&format!("\"{key}\":")).expect(key);
    assert!(
        at("group g") < at("profile a") && at("profile a") < at("profile b"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&text).expect("parse");
    assert_eq!(json["rows"]["profile a"]["grants"], 2);
    let t = summary.totals();
    assert_eq!((t.grants, t.updates, t.revokes, t.skipped), (3, 1, 2, 0));
    let table = summary.to_string();
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().eq(["total", "3", "1", "2", "0"])),
        "{table}"
    );
    assert!(!table.contains("warning"), "{table}");
    let mut warned = summary.clone();
    warned.warnings = 1;
    assert!(warned.to_string().contains("1 warning(s)"));

    // A plan file round trip, and a save that cannot happen is an error.
    let path = std::env::temp_dir().join(format!("grantbridge-plan-{}.json", std::process::id()));
    plan.save(&path).expect("save");
    assert_eq!(Plan::load(&path).expect("load"), plan);
    let _ = std::fs::remove_file(&path);
    let nowhere = std::env::temp_dir()
        .join("grantbridge-no-such-dir")
        .join("p.json");
    assert!(plan.save(&nowhere).is_err());
}

#[test]
fn a_change_reads_as_its_verb_and_what_it_touches() {
    let grant = Change::Grant {
        assignment: grant_of(1, "admin"),
        previous: None,
    };
    assert_eq!(grant.to_string(), "grant user:u1 holds admin on system");
    let join = Change::AddMember {
        membership: Membership::new(
            UserId::new("u1").expect("id"),
            GroupId::new("g").expect("id"),
        ),
    };
    assert_eq!(join.to_string(), "add-member user:u1 group:g");
}
