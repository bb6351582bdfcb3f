//! Properties of the engine on `InMemorySystem`: random source and target systems,
//! random mappings (written as TOML, so the parser is exercised too) and several
//! target shapes (full, no validity windows, no group principals, no groups at all,
//! one assignment per user, minimal).
//!
//! Default case counts are modest so CI stays fast; `PROPTEST_CASES` overrides them.

use std::collections::{BTreeMap, BTreeSet};

use futures::executor::block_on;
use grantbridge_core::engine::{
    self, Change, Desired, ExecuteOptions, Mapping, Mode, Plan, RunReport, SkippedItem, Snapshot,
};
use grantbridge_core::{
    Assignment, AssignmentKey, Capabilities, Email, Group, InMemorySystem, Label, Membership,
    Outcome, Principal, Profile, ResourceId, ResourceKind, Scope, ScopeKind, TenantCode, Timestamp,
    User, Validity,
};
use proptest::prelude::*;

const SRC_USERS: usize = 5;
const TGT_USERS: usize = 5;
const GROUPS: usize = 3;
const SRC_PROFILES: usize = 4;
const TGT_PROFILES: usize = 3;
const SCOPES: usize = 4;
/// The translation time, in seconds since the epoch.
const NOW: i64 = 1_000_000;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// The target shapes the properties run against.
fn target_caps(i: usize) -> Capabilities {
    let full = Capabilities::full().with_max_batch(3);
    match i {
        0 => full,
        1 => full.with_validity_windows(false),
        2 => full.with_group_principals(false),
        3 => full
            .with_groups(false)
            .with_group_principals(false)
            .with_membership_write(false),
        // Pyramid-like: one (private) profile per user, no windows, no resources.
        4 => full
            .with_validity_windows(false)
            .with_resource_scopes(false)
            .with_max_assignments_per_user(Some(1)),
        _ => Capabilities::minimal().with_max_batch(2),
    }
}
const CAP_SETS: usize = 6;

fn ts(s: i64) -> Option<Timestamp> {
    Some(Timestamp::from_second(s).expect("in range"))
}

/// Windows relative to `NOW`: always, ended, active, future, open-ended, end only.
fn window(i: u8) -> Validity {
    let w = |f: Option<Timestamp>, u: Option<Timestamp>| Validity::new(f, u).expect("valid");
    match i % 6 {
        0 => Validity::ALWAYS,
        1 => w(ts(NOW - 200), ts(NOW - 100)),
        2 => w(ts(NOW - 100), ts(NOW + 100)),
        3 => w(ts(NOW + 100), ts(NOW + 200)),
        4 => w(ts(NOW - 50), None),
        _ => w(None, ts(NOW + 300)),
    }
}

fn scope(i: usize) -> Scope {
    match i % SCOPES {
        0 => Scope::System,
        1 => Scope::tenant(TenantCode::new("t1").expect("id"), true),
        2 => Scope::tenant(TenantCode::new("t2").expect("id"), false),
        _ => Scope::Resource {
            kind: ResourceKind::new("WORKSPACE").expect("id"),
            id: ResourceId::new("ws1").expect("id"),
            labels: [Label::new("env", "prod")].into(),
        },
    }
}

/// Address number `i`; the target spells it in capitals (matching ignores case).
fn email(i: u8, upper: bool) -> Email {
    let s = format!("person{i}@example.com");
    Email::new(if upper { s.to_uppercase() } else { s }).expect("email")
}

#[derive(Clone, Copy, Debug)]
enum Who {
    User(usize),
    Group(usize),
}

#[derive(Clone, Debug)]
enum Target {
    Profile(usize, Option<usize>),
    Group(usize),
}

#[derive(Clone, Debug)]
struct Scenario {
    caps: usize,
    src_emails: Vec<Option<u8>>,
    tgt_emails: Vec<Option<u8>>,
    tgt_groups: Vec<bool>,
    /// 0: any scope, 1: system only, 2: tenants only.
    tgt_profile_kinds: Vec<u8>,
    src_assignments: Vec<(Who, usize, usize, u8)>,
    src_memberships: Vec<(usize, usize)>,
    tgt_assignments: Vec<(Who, usize, usize, u8)>,
    tgt_memberships: Vec<(usize, usize)>,
    rules: Vec<(usize, bool, Vec<Target>)>,
    groups_none: bool,
    refuse: bool,
    scope_map: bool,
    mirror: bool,
}

fn who(users: usize) -> impl Strategy<Value = Who> {
    prop_oneof![
        3 => (0..users).prop_map(Who::User),
        1 => (0..GROUPS).prop_map(Who::Group),
    ]
}

fn rule_target() -> impl Strategy<Value = Target> {
    prop_oneof![
        4 => (0..TGT_PROFILES, proptest::option::of(0..SCOPES))
            .prop_map(|(p, s)| Target::Profile(p, s)),
        1 => (0..GROUPS).prop_map(Target::Group),
    ]
}

/// E-mail numbers of `n` users: mostly their own number (so the two systems share
/// people), sometimes another one (shared or ambiguous addresses), sometimes none.
fn emails(n: usize) -> impl Strategy<Value = Vec<Option<u8>>> {
    proptest::collection::vec(
        prop_oneof![6 => Just(None::<u8>), 1 => proptest::option::of(0u8..7)],
        n,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, e)| match e {
                None => u8::try_from(i).ok(),
                Some(e) => e.checked_sub(1),
            })
            .collect()
    })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let people = (
        0..CAP_SETS,
        emails(SRC_USERS),
        emails(TGT_USERS),
        proptest::collection::vec(any::<bool>(), GROUPS),
        proptest::collection::vec(prop_oneof![3 => Just(0u8), 1 => 1u8..3], TGT_PROFILES),
    );
    let grants = (
        proptest::collection::vec((who(SRC_USERS), 0..SRC_PROFILES, 0..SCOPES, 0u8..6), 0..20),
        proptest::collection::vec((0..SRC_USERS, 0..GROUPS), 0..5),
        proptest::collection::vec((who(TGT_USERS), 0..TGT_PROFILES, 0..SCOPES, 0u8..6), 0..16),
        proptest::collection::vec((0..TGT_USERS, 0..GROUPS), 0..5),
    );
    let mapping = (
        proptest::collection::vec(
            (
                0..SRC_PROFILES,
                any::<bool>(),
                proptest::collection::vec(rule_target(), 1..3),
            ),
            1..7,
        ),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    );
    (people, grants, mapping).prop_map(
        |(
            (caps, src_emails, tgt_emails, tgt_groups, tgt_profile_kinds),
            (src_assignments, src_memberships, tgt_assignments, tgt_memberships),
            (rules, groups_none, refuse, scope_map, mirror),
        )| {
            // Group targets must name groups the target has (a dangling name is a
            // plan-time error, tested in mapping_errors.rs).
            let rules = rules
                .into_iter()
                .filter_map(|(from, by_name, to)| {
                    let to: Vec<Target> = to
                        .into_iter()
                        .filter(|t| {
                            !matches!(t, Target::Group(g) if !tgt_groups[*g] || !target_caps(caps).groups)
                        })
                        .collect();
                    (!to.is_empty()).then_some((from, by_name, to))
                })
                .collect();
            Scenario {
                caps,
                src_emails,
                tgt_emails,
                tgt_groups,
                tgt_profile_kinds,
                src_assignments,
                src_memberships,
                tgt_assignments,
                tgt_memberships,
                rules,
                groups_none,
                refuse,
                scope_map,
                mirror,
            }
        },
    )
}

fn id<T: TryFrom<String, Error = grantbridge_core::Error>>(s: String) -> T {
    T::try_from(s).expect("id")
}

fn principal(side: &str, w: Who) -> Principal {
    match w {
        Who::User(i) => Principal::User(id(format!("{side}-u{i}"))),
        Who::Group(i) => Principal::Group(id(format!("{side}-g{i}"))),
    }
}

fn source(sc: &Scenario) -> InMemorySystem {
    let mut b = InMemorySystem::builder(id("src".into()));
    for (i, e) in sc.src_emails.iter().enumerate() {
        let mut u = User::new(id(format!("s-u{i}")));
        if let Some(e) = e {
            u = u.with_email(email(*e, false));
        }
        b = b.user(u);
    }
    for g in 0..GROUPS {
        b = b.group(Group::new(id(format!("s-g{g}")), format!("Group {g}")));
    }
    for p in 0..SRC_PROFILES {
        b = b.profile(Profile::new(id(format!("SP{p}")), format!("Source {p}")));
    }
    for &(w, p, s, v) in &sc.src_assignments {
        b = b.assignment(
            Assignment::new(principal("s", w), id(format!("SP{p}")), scope(s))
                .with_validity(window(v)),
        );
    }
    for &(u, g) in &sc.src_memberships {
        b = b.membership(Membership::new(
            id(format!("s-u{u}")),
            id(format!("s-g{g}")),
        ));
    }
    b.build()
}

fn target_profile(sc: &Scenario, p: usize) -> Profile {
    let profile = Profile::new(id(format!("TP{p}")), format!("Target {p}"));
    match sc.tgt_profile_kinds[p] {
        1 => profile.assignable_to([ScopeKind::System]),
        2 => profile.assignable_to([ScopeKind::Tenant]),
        _ => profile,
    }
}

/// The target's seed data respects its own shape (as a real system's would).
fn target_system(sc: &Scenario) -> InMemorySystem {
    let caps = target_caps(sc.caps);
    let mut b = InMemorySystem::builder(id("dst".into())).capabilities(caps);
    for (i, e) in sc.tgt_emails.iter().enumerate() {
        let mut u = User::new(id(format!("t-u{i}")));
        if let Some(e) = e {
            u = u.with_email(email(*e, true));
        }
        b = b.user(u);
    }
    for (g, present) in sc.tgt_groups.iter().enumerate() {
        if *present {
            b = b.group(Group::new(id(format!("t-g{g}")), format!("Group {g}")));
        }
    }
    for p in 0..TGT_PROFILES {
        b = b.profile(target_profile(sc, p));
    }
    for s in 0..SCOPES {
        b = b.scope(&scope(s));
    }
    let mut per_user = std::collections::BTreeMap::new();
    let mut seen = BTreeSet::new();
    for &(w, p, s, v) in &sc.tgt_assignments {
        let v = if caps.validity_windows {
            window(v)
        } else {
            Validity::ALWAYS
        };
        let a = Assignment::new(principal("t", w), id(format!("TP{p}")), scope(s)).with_validity(v);
        if caps.missing_for(&a).is_some() || !target_profile(sc, p).accepts(a.scope.kind()) {
            continue;
        }
        if let Who::Group(g) = w
            && !sc.tgt_groups[g]
        {
            continue;
        }
        if !seen.insert(a.key()) {
            continue;
        }
        if let (Some(max), Who::User(u)) = (caps.max_assignments_per_user, w) {
            let n = per_user.entry(u).or_insert(0u32);
            if *n >= max {
                continue;
            }
            *n += 1;
        }
        b = b.assignment(a);
    }
    if caps.groups {
        for &(u, g) in &sc.tgt_memberships {
            if sc.tgt_groups[g] {
                b = b.membership(Membership::new(
                    id(format!("t-u{u}")),
                    id(format!("t-g{g}")),
                ));
            }
        }
    }
    b.build()
}

fn scope_toml(i: usize) -> &'static str {
    match i % SCOPES {
        0 => r#"{ type = "system" }"#,
        1 => r#"{ type = "tenant", code = "t1", include_children = true }"#,
        2 => r#"{ type = "tenant", code = "t2" }"#,
        _ => r#"{ type = "resource", kind = "WORKSPACE", id = "ws1", labels = { env = "prod" } }"#,
    }
}

fn mapping(sc: &Scenario) -> Mapping {
    let mut t = String::from("version = 1\n");
    if sc.groups_none {
        t.push_str("[groups]\nmatch = \"none\"\n");
    }
    if sc.refuse {
        t.push_str("[validity]\non_unsupported = \"refuse\"\n");
    }
    if sc.scope_map {
        t.push_str(&format!(
            "[[scopes]]\nfrom = {{ type = \"tenant\", code = \"t2\" }}\nto = {}\n",
            scope_toml(3)
        ));
    }
    for (n, (from, by_name, to)) in sc.rules.iter().enumerate() {
        let from = if *by_name {
            format!("Source {from}")
        } else {
            format!("id:SP{from}")
        };
        t.push_str(&format!(
            "[[rules]]\nname = \"rule {n}\"\nfrom = \"{from}\"\n"
        ));
        for target in to {
            t.push_str("[[rules.to]]\n");
            match target {
                Target::Profile(p, s) => {
                    t.push_str(&format!("profile = \"Target {p}\"\n"));
                    if let Some(s) = s {
                        t.push_str(&format!("scope = {}\n", scope_toml(*s)));
                    }
                }
                Target::Group(g) => t.push_str(&format!("group = \"Group {g}\"\n")),
            }
        }
    }
    Mapping::parse(&t, "prop.toml").unwrap_or_else(|e| panic!("{e}\n{t}"))
}

fn at() -> Timestamp {
    Timestamp::from_second(NOW).expect("in range")
}

fn mode(sc: &Scenario) -> Mode {
    if sc.mirror {
        Mode::Mirror
    } else {
        Mode::Additive
    }
}

struct World {
    source: Snapshot,
    target: InMemorySystem,
    before: Snapshot,
    desired: Desired,
    plan: Plan,
}

fn world(sc: &Scenario) -> World {
    block_on(async {
        let src = source(sc);
        let target = target_system(sc);
        let source = Snapshot::take(&src).await.expect("snapshot");
        let before = Snapshot::take(&target).await.expect("snapshot");
        let desired =
            engine::translate_at(&source, &mapping(sc), &before, at()).expect("translate");
        let plan = engine::plan(&desired, &before, mode(sc));
        World {
            source,
            target,
            before,
            desired,
            plan,
        }
    })
}

fn options() -> ExecuteOptions {
    ExecuteOptions {
        concurrency: 2,
        ..ExecuteOptions::default()
    }
}

fn run(plan: &Plan, system: &InMemorySystem) -> RunReport {
    block_on(engine::execute(plan, system, &options())).expect("execute")
}

fn snap(system: &InMemorySystem) -> Snapshot {
    block_on(Snapshot::take(system)).expect("snapshot")
}

/// What a system grants: assignments (with windows) and memberships.
fn state(s: &Snapshot) -> (Vec<Assignment>, Vec<Membership>) {
    (s.assignments.clone(), s.memberships.clone())
}

/// A window as plain numbers, for the oracle below: `None` bounds are -inf / +inf.
type Window = (Option<i64>, Option<i64>);

fn window_of(v: Validity) -> Window {
    (
        v.from().map(|t| t.as_second()),
        v.until().map(|t| t.as_second()),
    )
}

fn validity_of((from, until): Window) -> Validity {
    let t = |s: Option<i64>| s.map(|s| Timestamp::from_second(s).expect("in range"));
    Validity::new(t(from), t(until)).expect("valid")
}

/// What Additive makes of a held window `h` and a wanted one `w`, written out from the
/// documented rule (`Mode::Additive`), not from the engine: `h` stays when it covers
/// `w` or when the two neither overlap nor touch; otherwise it grows to their hull.
fn additive_window(h: Window, w: Window) -> Window {
    let lo = |x: Option<i64>| x.unwrap_or(i64::MIN);
    let hi = |x: Option<i64>| x.unwrap_or(i64::MAX);
    let covers = lo(h.0) <= lo(w.0) && hi(w.1) <= hi(h.1);
    let meet = lo(h.0) <= hi(w.1) && lo(w.0) <= hi(h.1);
    if covers || !meet {
        return h;
    }
    let from = h.0.zip(w.0).map(|(a, b)| a.min(b));
    let until = h.1.zip(w.1).map(|(a, b)| a.max(b));
    (from, until)
}

/// The state a correct run leaves, computed from `before` and `desired` by set
/// arithmetic only (never through `plan`), for user and group principals, windows
/// and scopes alike.
///
/// Mirror: exactly the desired assignments and, when the mapping governs memberships,
/// exactly the desired memberships. Additive: everything held stays; every desired key
/// not held is added, except where a per-user limit leaves no room (then which of a
/// user's candidates gets the room is the engine's choice, so [`expect_state`] checks
/// those users by count); held windows change only as [`additive_window`] says.
struct Expected {
    assignments: BTreeMap<AssignmentKey, Window>,
    /// Per limited user: the candidate keys and how many of them must be added.
    limited: BTreeMap<Principal, (BTreeMap<AssignmentKey, Window>, usize)>,
    memberships: BTreeSet<Membership>,
}

fn expected_state(sc: &Scenario, before: &Snapshot, desired: &Desired) -> Expected {
    let held: BTreeMap<AssignmentKey, Window> = before
        .assignments
        .iter()
        .map(|a| (a.key(), window_of(a.validity)))
        .collect();
    let mut wanted: BTreeMap<AssignmentKey, Window> = BTreeMap::new();
    for a in &desired.assignments {
        wanted.insert(a.key(), window_of(a.validity));
    }
    let desired_members: BTreeSet<Membership> = desired.memberships.iter().cloned().collect();
    let before_members: BTreeSet<Membership> = before.memberships.iter().cloned().collect();
    let mut limited = BTreeMap::new();
    let (assignments, memberships) = match mode(sc) {
        Mode::Mirror => {
            let members = if desired.manages_memberships {
                desired_members
            } else {
                &before_members | &desired_members
            };
            (wanted, members)
        }
        Mode::Additive => {
            let mut out = held.clone();
            let limit = target_caps(sc.caps).max_assignments_per_user;
            let mut candidates: BTreeMap<Principal, BTreeMap<AssignmentKey, Window>> =
                BTreeMap::new();
            for (k, w) in wanted {
                match held.get(&k) {
                    Some(h) => {
                        out.insert(k, additive_window(*h, w));
                    }
                    None if limit.is_some() && matches!(k.principal, Principal::User(_)) => {
                        candidates
                            .entry(k.principal.clone())
                            .or_default()
                            .insert(k, w);
                    }
                    None => {
                        out.insert(k, w);
                    }
                }
            }
            if let Some(max) = limit {
                for (p, keys) in candidates {
                    let holds = held.keys().filter(|k| k.principal == p).count();
                    let room = usize::try_from(max).expect("small").saturating_sub(holds);
                    let n = room.min(keys.len());
                    limited.insert(p, (keys, n));
                }
            }
            (out, &before_members | &desired_members)
        }
    };
    Expected {
        assignments,
        limited,
        memberships,
    }
}

/// Checks `after` against [`expected_state`].
fn expect_state(sc: &Scenario, w: &World, after: &Snapshot) -> Result<(), TestCaseError> {
    let exp = expected_state(sc, &w.before, &w.desired);
    let mut got: BTreeMap<AssignmentKey, Window> = BTreeMap::new();
    for a in &after.assignments {
        prop_assert!(
            got.insert(a.key(), window_of(a.validity)).is_none(),
            "{a} held twice"
        );
    }
    for (p, (candidates, n)) in &exp.limited {
        let added: Vec<AssignmentKey> = got
            .keys()
            .filter(|k| &k.principal == p && !exp.assignments.contains_key(*k))
            .cloned()
            .collect();
        prop_assert_eq!(added.len(), *n, "{:?}: {:?} of {:?}", p, added, candidates);
        for k in added {
            let window = got.remove(&k).expect("listed");
            prop_assert_eq!(candidates.get(&k), Some(&window), "{:?} not wanted", k);
        }
    }
    let show = |m: &BTreeMap<AssignmentKey, Window>| -> Vec<String> {
        m.iter()
            .map(|(k, w)| {
                let a = Assignment::new(k.principal.clone(), k.profile.clone(), k.scope.clone());
                a.with_validity(validity_of(*w)).to_string()
            })
            .collect()
    };
    prop_assert_eq!(show(&got), show(&exp.assignments));
    let members: BTreeSet<Membership> = after.memberships.iter().cloned().collect();
    prop_assert_eq!(members, exp.memberships);
    Ok(())
}

fn failures(report: &RunReport) -> Vec<String> {
    report
        .items
        .iter()
        .filter_map(|i| match &i.outcome {
            Some(Outcome::Failed(e)) => Some(format!("{}: {e}", i.change)),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    /// Every source assignment and membership is carried into the desired state or
    /// listed in `skipped` with a reason; skipped items are real source items.
    #[test]
    fn no_silent_loss(sc in scenario()) {
        let w = world(&sc);
        let carried: BTreeSet<usize> = w.desired.carried_assignments.iter().copied().collect();
        let skipped_assignments: Vec<&Assignment> = w
            .plan
            .skipped
            .iter()
            .filter_map(|s| match &s.item {
                SkippedItem::Assignment { assignment } => Some(assignment),
                SkippedItem::Membership { .. } => None,
            })
            .collect();
        for (i, a) in w.source.assignments.iter().enumerate() {
            prop_assert!(
                carried.contains(&i) || skipped_assignments.contains(&a),
                "source assignment {a} is neither carried nor skipped"
            );
            if a.validity.has_ended_by(at()) {
                prop_assert!(!carried.contains(&i), "expired {a} was carried");
            }
        }
        let carried_m: BTreeSet<usize> = w.desired.carried_memberships.iter().copied().collect();
        for (i, m) in w.source.memberships.iter().enumerate() {
            let skipped = w.plan.skipped.iter().any(|s| {
                matches!(&s.item, SkippedItem::Membership { membership } if membership == m)
            });
            prop_assert!(carried_m.contains(&i) || skipped, "membership {m:?} lost");
        }
        // Every skipped assignment is a source item (or, for per-user limits in
        // additive plans, a desired one), never something invented.
        for a in skipped_assignments {
            prop_assert!(
                w.source.assignments.contains(a) || w.desired.assignments.contains(a),
                "skipped {a} comes from nowhere"
            );
        }
        // ... and the plan loses nothing of the desired state: each desired
        // assignment is held with a window Additive keeps, planned under its key, or
        // listed in the plan's skipped items.
        let held: BTreeMap<AssignmentKey, Window> = w
            .before
            .assignments
            .iter()
            .map(|a| (a.key(), window_of(a.validity)))
            .collect();
        for a in &w.desired.assignments {
            let want = window_of(a.validity);
            let kept = held.get(&a.key()).is_some_and(|h| match mode(&sc) {
                Mode::Mirror => *h == want,
                Mode::Additive => additive_window(*h, want) == *h,
            });
            let planned = w.plan.changes.iter().any(|c| {
                matches!(c, Change::Grant { assignment, .. } if assignment.key() == a.key())
            });
            let skipped = w.plan.skipped.iter().any(|s| {
                matches!(&s.item, SkippedItem::Assignment { assignment } if assignment == a)
            });
            prop_assert!(kept || planned || skipped, "desired {a} is lost by the plan");
        }
        let desired_keys: BTreeSet<AssignmentKey> =
            w.desired.assignments.iter().map(Assignment::key).collect();
        prop_assert_eq!(desired_keys.len(), w.desired.assignments.len(), "a key twice");
        // The desired state fits the target's shape.
        let caps = target_caps(sc.caps);
        for a in &w.desired.assignments {
            prop_assert_eq!(caps.missing_for(a), None, "{}", a);
            prop_assert!(!a.validity.has_ended_by(at()), "{}", a);
        }
    }

    /// execute(plan) reaches the plan's goal: nothing fails, a fresh snapshot gives a
    /// plan with nothing left to do (also after translating again), and the state is
    /// the one [`expected_state`] computes from `before` and `desired` alone.
    #[test]
    fn convergence(sc in scenario()) {
        let w = world(&sc);
        let report = run(&w.plan, &w.target);
        prop_assert_eq!(failures(&report), Vec::<String>::new());
        prop_assert_eq!(report.counts().applied, w.plan.changes.len());
        let after = snap(&w.target);
        let again = engine::plan(&w.desired, &after, mode(&sc));
        prop_assert!(again.is_empty(), "left to do: {:?}", again.changes);
        let retranslated = engine::translate_at(&w.source, &mapping(&sc), &after, at())
            .expect("translate");
        prop_assert!(engine::plan(&retranslated, &after, mode(&sc)).is_empty());

        expect_state(&sc, &w, &after)?;
    }

    /// Executing the same plan a second time changes nothing.
    #[test]
    fn idempotence(sc in scenario()) {
        let w = world(&sc);
        run(&w.plan, &w.target);
        let once = snap(&w.target);
        let applied = w.target.stats().items_applied;
        let second = run(&w.plan, &w.target);
        prop_assert_eq!(second.counts().applied, 0);
        prop_assert_eq!(second.counts().already_in_state, w.plan.changes.len());
        prop_assert_eq!(w.target.stats().items_applied, applied);
        prop_assert_eq!(state(&snap(&w.target)), state(&once));
    }

    /// execute(plan.inverse()) restores the original target exactly, windows included;
    /// so does the run report's own rollback plan.
    #[test]
    fn rollback(sc in scenario()) {
        let w = world(&sc);
        let report = run(&w.plan, &w.target);
        let back = run(&w.plan.inverse(), &w.target);
        prop_assert_eq!(failures(&back), Vec::<String>::new());
        prop_assert_eq!(state(&snap(&w.target)), state(&w.before));

        // Again, undoing with the report of the run instead of the plan.
        run(&w.plan, &w.target);
        let undo = report.rollback_plan();
        let back = run(&undo, &w.target);
        prop_assert_eq!(failures(&back), Vec::<String>::new());
        prop_assert_eq!(state(&snap(&w.target)), state(&w.before));
    }

    /// Mirror revokes exactly what the target holds beyond the desired state (and
    /// memberships only when the mapping governs them); Additive revokes nothing and
    /// narrows no window.
    #[test]
    fn mirror_revokes_exactly_the_extras(sc in scenario()) {
        let w = world(&sc);
        let desired_keys: BTreeSet<_> = w.desired.assignments.iter().map(Assignment::key).collect();
        let revoked: BTreeSet<Assignment> = w
            .plan
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::Revoke { assignment } => Some(assignment.clone()),
                _ => None,
            })
            .collect();
        let removed: BTreeSet<Membership> = w
            .plan
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::RemoveMember { membership } => Some(membership.clone()),
                _ => None,
            })
            .collect();
        match mode(&sc) {
            Mode::Mirror => {
                let extras: BTreeSet<Assignment> = w
                    .before
                    .assignments
                    .iter()
                    .filter(|a| !desired_keys.contains(&a.key()))
                    .cloned()
                    .collect();
                prop_assert_eq!(revoked, extras);
                let extra_members: BTreeSet<Membership> = if w.desired.manages_memberships {
                    w.before
                        .memberships
                        .iter()
                        .filter(|m| !w.desired.memberships.contains(m))
                        .cloned()
                        .collect()
                } else {
                    BTreeSet::new()
                };
                prop_assert_eq!(removed, extra_members);
            }
            Mode::Additive => {
                prop_assert!(revoked.is_empty() && removed.is_empty());
                // Nor does it narrow a held window: an update only happens when the
                // held window misses part of the wanted one.
                for c in &w.plan.changes {
                    if let Change::Grant { assignment, previous: Some(held) } = c {
                        let w = assignment.validity;
                        let starts = held.from().is_none_or(|h| w.from().is_some_and(|f| h <= f));
                        let lasts = held.until().is_none_or(|h| w.until().is_some_and(|u| u <= h));
                        prop_assert!(!(starts && lasts), "{held} covers {w}, yet updated");
                        // ... and the new window contains the held one.
                        let keeps_start = w.from().is_none_or(|f| held.from().is_some_and(|h| f <= h));
                        let keeps_end = w.until().is_none_or(|u| held.until().is_some_and(|h| h <= u));
                        prop_assert!(keeps_start && keeps_end, "{w} narrows {held}");
                    }
                }
            }
        }
    }

    /// The same inputs give the same plan, byte for byte, whatever order the
    /// snapshots' lists come in.
    #[test]
    fn determinism(sc in scenario(), seed in any::<u64>()) {
        let w = world(&sc);
        let m = mapping(&sc);
        let again = engine::plan(
            &engine::translate_at(&w.source, &m, &w.before, at()).expect("translate"),
            &w.before,
            mode(&sc),
        );
        prop_assert_eq!(w.plan.to_json().expect("json"), again.to_json().expect("json"));

        // Shuffled lists (as a paging vendor might return them) and a JSON round trip.
        let shuffle = |s: &Snapshot| {
            let mut s = Snapshot::from_json(&s.to_json().expect("json")).expect("parse");
            let rot = |n: usize| if n == 0 { 0 } else { (seed as usize) % n };
            let (u, a, m) = (rot(s.users.len()), rot(s.assignments.len()), rot(s.memberships.len()));
            s.users.rotate_left(u);
            s.assignments.reverse();
            s.assignments.rotate_left(a);
            s.memberships.rotate_left(m);
            Snapshot::from_parts(
                s.system, s.taken_at, s.capabilities, s.users, s.groups, s.profiles,
                s.memberships, s.assignments,
            )
        };
        let (src, dst) = (shuffle(&w.source), shuffle(&w.before));
        let third = engine::plan(
            &engine::translate_at(&src, &m, &dst, at()).expect("translate"),
            &dst,
            mode(&sc),
        );
        prop_assert_eq!(w.plan.to_json().expect("json"), third.to_json().expect("json"));
    }
}

/// The properties above must be able to fail: a plan missing one grant does not
/// converge, and a plan whose inverse drops one change does not roll back.
#[test]
fn the_checks_can_fail() {
    let sc = Scenario {
        caps: 0,
        src_emails: vec![Some(1), None, None, None, None],
        tgt_emails: vec![Some(1), None, None, None, None],
        tgt_groups: vec![false; GROUPS],
        tgt_profile_kinds: vec![0; TGT_PROFILES],
        src_assignments: vec![(Who::User(0), 0, 0, 0), (Who::User(0), 1, 1, 2)],
        src_memberships: vec![],
        tgt_assignments: vec![(Who::User(0), 2, 0, 0)],
        tgt_memberships: vec![],
        rules: vec![
            (0, false, vec![Target::Profile(0, None)]),
            (1, true, vec![Target::Profile(1, None)]),
        ],
        groups_none: true,
        refuse: false,
        scope_map: false,
        mirror: true,
    };
    let w = world(&sc);
    assert_eq!(w.plan.changes.len(), 3, "{:?}", w.plan.changes);
    let mut short = w.plan.clone();
    short.changes.remove(0);
    run(&short, &w.target);
    assert!(!engine::plan(&w.desired, &snap(&w.target), Mode::Mirror).is_empty());

    // An Additive plan that drops its group grants leaves a state the oracle rejects,
    // although no failure is reported and the plan of what is left is empty when it is
    // made by the same faulty planner.
    let additive = Scenario {
        src_assignments: vec![(Who::User(0), 0, 0, 0), (Who::Group(1), 1, 0, 0)],
        tgt_groups: vec![true; GROUPS],
        groups_none: false,
        mirror: false,
        ..sc.clone()
    };
    let w = world(&additive);
    assert!(
        w.plan.changes.iter().any(|c| matches!(
            c,
            Change::Grant { assignment, .. } if matches!(assignment.principal, Principal::Group(_))
        )),
        "{:?}",
        w.plan.changes
    );
    let mut users_only = w.plan.clone();
    users_only
        .changes
        .retain(|c| !matches!(c.principal(), Principal::Group(_)));
    run(&users_only, &w.target);
    let after = snap(&w.target);
    assert!(expect_state(&additive, &w, &after).is_err());
    let w = world(&additive);
    run(&w.plan, &w.target);
    expect_state(&additive, &w, &snap(&w.target)).expect("the whole plan meets the oracle");

    let w = world(&sc);
    run(&w.plan, &w.target);
    let mut inverse = w.plan.inverse();
    inverse.changes.pop();
    run(&inverse, &w.target);
    assert_ne!(state(&snap(&w.target)), state(&w.before));
}
