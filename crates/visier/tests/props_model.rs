#![cfg(feature = "sandbox")]
//! Model-based test (issue 10): random *sequences* of grants, revokes and membership
//! changes, applied step by step through [`VisierSystem`] to a fresh sandbox and to
//! core's [`InMemorySystem`] holding the same capabilities and the same initial state.
//! After every step both give the same outcome kind per item and equal users,
//! memberships and assignments.
//!
//! Two tenants are exercised: the administrating tenant of `Seed::Fixtures` (local
//! profiles on the whole tenant, analytic profiles on tenant codes with and without
//! children, unknown tenant codes) and the plain tenant of `Seed::Generated` (local
//! profiles, groups and memberships; tenant scopes unsupported). Validity windows
//! include both unbounded sentinels. Every window ends in the future: Visier reads a
//! past end as "remove", which `InMemorySystem` cannot know (`sandbox_adapter.rs`
//! covers that path).

use std::collections::BTreeSet;

use grantbridge_core::engine::Snapshot;
use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::SandboxOptions;
use grantbridge_core::testing::{cases, outcome_feature_kind as kind, runtime};
use grantbridge_core::{
    Assignment, GroupId, InMemorySystem, Membership, Outcome, Principal, ProfileId, ResourceId,
    ResourceKind, Scope, SystemId, TenantCode, UserId, Validity,
};
use grantbridge_visier::VisierSystem;
use grantbridge_visier::sandbox::{Seed, VisierSandbox};
use proptest::prelude::*;

/// An index into the users, groups, profiles or tenants of the state (taken modulo
/// their number), or an id the tenant does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ix {
    At(usize),
    Unknown,
}

fn ix() -> impl Strategy<Value = Ix> {
    prop_oneof![12 => (0usize..8).prop_map(Ix::At), 1 => Just(Ix::Unknown)]
}

/// Where an item applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    /// The whole tenant (local profiles).
    System,
    /// A tenant code, with or without its children (analytic profiles).
    Tenant(Ix, bool),
    /// A scope kind Visier lacks.
    Resource,
}

/// A window bound: unbounded, or a millisecond offset.
#[derive(Clone, Copy, Debug)]
enum Window {
    /// `[NO_START, PERMANENT)`: the default, no window.
    Always,
    /// A start (or none) and an end (or none); the end is always in the future.
    Bounds(Option<i64>, Option<i64>),
}

/// 2030-01-01 in epoch milliseconds: later than the sandbox's clock.
const FUTURE: i64 = 1_893_456_000_000;

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        4 => Just(Window::Always),
        1 => (proptest::option::of(0i64..FUTURE), proptest::option::of(0i64..1_000_000_000_000))
            .prop_map(|(from, len)| Window::Bounds(from, len.map(|l| FUTURE + l))),
        // A few fixed values, so the same key is often re-granted with the same window.
        1 => Just(Window::Bounds(None, Some(FUTURE))),
        1 => Just(Window::Bounds(Some(1_546_550_635_000), None)),
    ]
}

#[derive(Clone, Debug)]
struct Item {
    group: bool,
    who: Ix,
    profile: Ix,
    scope: Where,
    window: Window,
}

fn item() -> impl Strategy<Value = Item> {
    (
        prop_oneof![12 => Just(false), 1 => Just(true)],
        ix(),
        ix(),
        prop_oneof![
            6 => Just(Where::System),
            6 => (ix(), any::<bool>()).prop_map(|(t, c)| Where::Tenant(t, c)),
            1 => Just(Where::Resource),
        ],
        window(),
    )
        .prop_map(|(group, who, profile, scope, window)| Item {
            group,
            who,
            profile,
            scope,
            window,
        })
}

#[derive(Clone, Debug)]
enum Step {
    Grant(Vec<Item>),
    Revoke(Vec<Item>),
    Join(Vec<(Ix, Ix)>),
    Leave(Vec<(Ix, Ix)>),
}

fn step() -> impl Strategy<Value = Step> {
    let items = || proptest::collection::vec(item(), 1..5);
    let pairs = || proptest::collection::vec((ix(), ix()), 1..4);
    prop_oneof![
        3 => items().prop_map(Step::Grant),
        2 => items().prop_map(Step::Revoke),
        1 => pairs().prop_map(Step::Join),
        1 => pairs().prop_map(Step::Leave),
    ]
}

/// The ids a test case works with.
struct Ids {
    users: Vec<UserId>,
    groups: Vec<GroupId>,
    profiles: Vec<ProfileId>,
    tenants: Vec<TenantCode>,
}

fn pick<T: Clone>(list: &[T], i: Ix, unknown: impl FnOnce() -> T) -> T {
    match i {
        Ix::At(n) if !list.is_empty() => list[n % list.len()].clone(),
        _ => unknown(),
    }
}

impl Ids {
    fn user(&self, i: Ix) -> UserId {
        pick(&self.users, i, || {
            UserId::new("00000000-0000-4000-8000-00000000dead").expect("id")
        })
    }

    fn group(&self, i: Ix) -> GroupId {
        pick(&self.groups, i, || {
            GroupId::new("00000000-0000-4000-8000-00000000beef").expect("id")
        })
    }

    fn profile(&self, i: Ix) -> ProfileId {
        pick(&self.profiles, i, || {
            ProfileId::new("00000000-0000-4000-8000-00000000cafe").expect("id")
        })
    }

    fn tenant(&self, i: Ix) -> TenantCode {
        pick(&self.tenants, i, || {
            TenantCode::new("WFF_zzz~nope").expect("code")
        })
    }

    fn assignment(&self, item: &Item) -> Assignment {
        let principal = if item.group {
            Principal::Group(self.group(item.who))
        } else {
            Principal::User(self.user(item.who))
        };
        let scope = match item.scope {
            Where::System => Scope::System,
            Where::Tenant(t, children) => Scope::tenant(self.tenant(t), children),
            Where::Resource => Scope::resource(
                ResourceKind::new("DASHBOARD").expect("kind"),
                ResourceId::new("d-1").expect("id"),
            ),
        };
        let a = Assignment::new(principal, self.profile(item.profile), scope);
        match item.window {
            Window::Always => a,
            Window::Bounds(from, until) => {
                a.with_validity(Validity::from_millis(from, until).expect("window"))
            }
        }
    }

    fn membership(&self, (u, g): (Ix, Ix)) -> Membership {
        Membership::new(self.user(u), self.group(g))
    }
}

/// The parts of a snapshot that steps may change, plus the catalog, for comparison.
fn state_of(s: &Snapshot) -> impl PartialEq + std::fmt::Debug + use<> {
    let sorted = |mut v: Vec<Assignment>| {
        v.sort();
        v
    };
    (
        s.users.clone(),
        s.memberships.iter().cloned().collect::<BTreeSet<_>>(),
        sorted(s.assignments.clone()),
        s.groups.clone(),
    )
}

async fn run(seed: Seed, tenants: &[&str], steps: Vec<Step>) -> Result<(), TestCaseError> {
    let sandbox = VisierSandbox::start(seed, SandboxOptions::default())
        .await
        .expect("sandbox");
    let real = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let start = Snapshot::take(&real).await.expect("snapshot");
    let ids = Ids {
        users: start.users.iter().map(|u| u.id.clone()).collect(),
        groups: start.groups.iter().map(|g| g.id.clone()).collect(),
        profiles: start.profiles.iter().map(|p| p.id.clone()).collect(),
        tenants: tenants
            .iter()
            .map(|c| TenantCode::new(*c).expect("code"))
            .collect(),
    };
    let mut builder = InMemorySystem::builder(SystemId::new("model").expect("id"))
        .capabilities(real.capabilities())
        .users(start.users.clone())
        .groups(start.groups.clone())
        .profiles(start.profiles.clone())
        .memberships(start.memberships.clone())
        .assignments(start.assignments.clone());
    for code in &ids.tenants {
        for children in [false, true] {
            builder = builder.scope(&Scope::tenant(code.clone(), children));
        }
    }
    let model = builder.build();
    for (n, step) in steps.iter().enumerate() {
        let (got, want) = match step {
            Step::Grant(items) | Step::Revoke(items) => {
                let batch: Vec<Assignment> = items.iter().map(|i| ids.assignment(i)).collect();
                if matches!(step, Step::Grant(_)) {
                    (real.grant(&batch).await, model.grant(&batch).await)
                } else {
                    (real.revoke(&batch).await, model.revoke(&batch).await)
                }
            }
            Step::Join(pairs) | Step::Leave(pairs) => {
                let batch: Vec<Membership> = pairs.iter().map(|&p| ids.membership(p)).collect();
                if matches!(step, Step::Join(_)) {
                    (
                        real.add_memberships(&batch).await,
                        model.add_memberships(&batch).await,
                    )
                } else {
                    (
                        real.remove_memberships(&batch).await,
                        model.remove_memberships(&batch).await,
                    )
                }
            }
        };
        prop_assert_eq!(got.len(), want.len(), "one outcome per item");
        let mut got: Vec<String> = got.iter().map(kind).collect();
        let want: Vec<String> = want.iter().map(kind).collect();
        // An item with an unknown user *and* a shape Visier refuses (a local profile
        // on a tenant code, …) may name either fault: the adapter checks shapes before
        // it reads the users, the reference checks the user first. Both are typed
        // refusals; the order is not part of the contract.
        if let Step::Grant(items) | Step::Revoke(items) = step {
            for (k, it) in items.iter().enumerate() {
                if it.who == Ix::Unknown
                    && got[k].starts_with("unsupported:")
                    && want[k] == "failed:NotFound"
                {
                    got[k] = want[k].clone();
                }
            }
        }
        prop_assert_eq!(got, want, "outcomes of step {}: {:?}", n, step);
        let real_now = Snapshot::take(&real).await.expect("snapshot");
        let model_now = Snapshot::take(&model).await.expect("snapshot");
        prop_assert_eq!(
            state_of(&real_now),
            state_of(&model_now),
            "state after step {}: {:?}",
            n,
            step
        );
    }
    // Per user, unknown ones included, both answer alike at the end.
    let principals = ids
        .users
        .iter()
        .cloned()
        .chain([ids.user(Ix::Unknown)])
        .map(Principal::User);
    for p in principals {
        let sorted = |r: grantbridge_core::Result<Vec<Assignment>>| {
            r.map(|mut v| {
                v.sort();
                v
            })
            .map_err(|e| e.kind())
        };
        prop_assert_eq!(
            sorted(real.list_assignments_for(&p).await),
            sorted(model.list_assignments_for(&p).await),
            "assignments of {}",
            p
        );
    }
    sandbox.shutdown().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(16), max_shrink_iters: 1024, ..ProptestConfig::default() })]

    /// Administrating tenant: local and analytic profiles, tenant codes with and
    /// without children, windows; after every step the adapter over the sandbox and
    /// the reference system agree on each outcome and on the whole state.
    #[test]
    fn administrating_tenant_matches_the_reference_after_every_step(
        steps in proptest::collection::vec(step(), 1..=12),
    ) {
        runtime().block_on(run(Seed::Fixtures, &["WFF_j1r", "WFF_j1r~c7o", "WFF_j1r~d8p"], steps))?;
    }

    /// Plain tenant with groups: local profiles and memberships; tenant scopes are
    /// `Unsupported` on both sides.
    #[test]
    fn plain_tenant_matches_the_reference_after_every_step(
        users in 1usize..=4,
        steps in proptest::collection::vec(step(), 1..=12),
    ) {
        runtime().block_on(run(Seed::Generated { users }, &["WFF_grb"], steps))?;
    }
}

// -- Regressions found by the properties above --------------------------------------

async fn fixtures() -> (VisierSandbox, VisierSystem, UserId, ProfileId, ProfileId) {
    let sandbox = VisierSandbox::start(Seed::Fixtures, SandboxOptions::default())
        .await
        .expect("sandbox");
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let user = system.list_users().await.expect("users")[1].id.clone();
    let profiles = system.list_profiles().await.expect("profiles");
    let local = profiles
        .iter()
        .find(|p| p.accepts(grantbridge_core::ScopeKind::System))
        .expect("local profile")
        .id
        .clone();
    let analytic = profiles
        .iter()
        .find(|p| p.accepts(grantbridge_core::ScopeKind::Tenant))
        .expect("analytic profile")
        .id
        .clone();
    (sandbox, system, user, local, analytic)
}

/// Regression (found by `plain_tenant_matches_the_reference_after_every_step`, same
/// shape for assignments): a key named twice in one batch was written twice and both
/// items answered `Applied`, and two windows for one key were written in an order of
/// their own, so the window kept was not the last one asked.
#[tokio::test]
async fn a_key_twice_in_one_batch_applies_in_item_order() {
    let (sandbox, system, user, local, analytic) = fixtures().await;
    let tenant = Scope::tenant(TenantCode::new("WFF_j1r~c7o").expect("code"), false);
    let late = Validity::from_millis(None, Some(FUTURE)).expect("window");
    let early = Validity::from_millis(Some(1_000), Some(FUTURE + 5)).expect("window");
    for (profile, scope) in [(local, Scope::System), (analytic, tenant)] {
        let a = Assignment::new(Principal::User(user.clone()), profile, scope);
        let batch = vec![
            a.clone().with_validity(late),
            a.clone().with_validity(late),
            a.clone().with_validity(early),
        ];
        let got: Vec<String> = system.grant(&batch).await.iter().map(kind).collect();
        assert_eq!(got, ["applied", "already", "applied"]);
        let held = system
            .list_assignments_for(&a.principal)
            .await
            .expect("read");
        let held: Vec<&Assignment> = held.iter().filter(|h| h.key() == a.key()).collect();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].validity, early, "the last window asked is kept");
        let got: Vec<String> = system
            .revoke(&[a.clone(), a.clone()])
            .await
            .iter()
            .map(kind)
            .collect();
        assert_eq!(got, ["applied", "already"]);
    }
    sandbox.shutdown().await;
}

/// Regression (found by `plain_tenant_matches_the_reference_after_every_step`): the
/// same membership twice in one batch answered `Applied` twice.
#[tokio::test]
async fn a_membership_twice_in_one_batch_reports_the_repeat_as_already() {
    let sandbox = VisierSandbox::start(Seed::Generated { users: 2 }, SandboxOptions::default())
        .await
        .expect("sandbox");
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let user = system.list_users().await.expect("users")[0].id.clone();
    let groups = system.list_groups().await.expect("groups");
    let members = system.list_memberships().await.expect("members");
    let group = groups
        .iter()
        .map(|g| g.id.clone())
        .find(|g| !members.iter().any(|m| m.user == user && &m.group == g))
        .expect("a group the user is not in");
    let m = Membership::new(user, group);
    for add in [true, false] {
        let batch = [m.clone(), m.clone()];
        let got = if add {
            system.add_memberships(&batch).await
        } else {
            system.remove_memberships(&batch).await
        };
        let got: Vec<String> = got.iter().map(kind).collect();
        assert_eq!(got, ["applied", "already"], "add: {add}");
    }
    sandbox.shutdown().await;
}

/// Regression (found by `administrating_tenant_matches_the_reference_after_every_step`):
/// a grant on a tenant code Visier does not know failed as a generic `Vendor` error,
/// and a revoke on it answered `AlreadyInState` without asking Visier.
#[tokio::test]
async fn an_unknown_tenant_code_is_not_found_on_grant_and_revoke() {
    let (sandbox, system, user, _, analytic) = fixtures().await;
    let a = Assignment::new(
        Principal::User(user),
        analytic,
        Scope::tenant(TenantCode::new("WFF_j1r~zzz").expect("code"), true),
    );
    for got in [
        system.grant(std::slice::from_ref(&a)).await,
        system.revoke(&[a]).await,
    ] {
        assert!(
            matches!(
                &got[..],
                [Outcome::Failed(grantbridge_core::Error::NotFound {
                    entity: grantbridge_core::Entity::Tenant,
                    ..
                })]
            ),
            "{got:?}"
        );
    }
    sandbox.shutdown().await;
}

/// Regression (found by `plain_tenant_matches_the_reference_after_every_step`):
/// removing an unknown user from a group answered `AlreadyInState`, and adding one
/// failed as a generic `Vendor` error; both are `NotFound` for the user.
#[tokio::test]
async fn an_unknown_user_joining_or_leaving_a_group_is_not_found() {
    let sandbox = VisierSandbox::start(Seed::Generated { users: 2 }, SandboxOptions::default())
        .await
        .expect("sandbox");
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let group = system.list_groups().await.expect("groups")[0].id.clone();
    let m = Membership::new(
        UserId::new("00000000-0000-4000-8000-00000000dead").expect("id"),
        group,
    );
    for got in [
        system.add_memberships(std::slice::from_ref(&m)).await,
        system.remove_memberships(&[m]).await,
    ] {
        assert!(
            matches!(
                &got[..],
                [Outcome::Failed(grantbridge_core::Error::NotFound {
                    entity: grantbridge_core::Entity::User,
                    ..
                })]
            ),
            "{got:?}"
        );
    }
    sandbox.shutdown().await;
}
