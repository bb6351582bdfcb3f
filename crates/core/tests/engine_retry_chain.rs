//! Retry chains stay reversible (issue 25, part 2): a run made from `failures_plan()`
//! continues the run before it; a change that run left with an unknown outcome and
//! that the retry finds in place is the chain's, and rolling back every run of the
//! chain restores the state before the first.
//!
//! The target is an `InMemorySystem` behind a wrapper that loses answers the way a
//! network does: the write takes effect and the caller gets a transport error (as an
//! adapter whose read-back also failed reports it), or the write is refused before it
//! happens (a 503). Oracle: the target's own lists, read before the chain and after
//! its rollback, never the engine's plans or reports.

use std::collections::BTreeSet;
use std::sync::Mutex;

use async_trait::async_trait;
use futures::executor::block_on;
use grantbridge_core::engine::{self, Change, ExecuteOptions, Plan, RunReport};
use grantbridge_core::prelude::*;
use grantbridge_core::testing::{Intercept, Intercepted, cases};
use grantbridge_core::{
    Assignment, AssignmentKey, Error, Group, GroupId, InMemorySystem, Outcome, Principal, Profile,
    ProfileId, Scope, SystemId, User, UserId,
};
use proptest::prelude::*;

const USERS: usize = 8;

fn uid(i: usize) -> UserId {
    UserId::new(format!("u{i}")).expect("id")
}

fn grant_of(i: usize) -> Assignment {
    Assignment::new(
        Principal::User(uid(i)),
        ProfileId::new("reader").expect("id"),
        Scope::System,
    )
}

/// What happens to one user's grant in the first run.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fate {
    /// Applied, answer whole.
    Whole,
    /// Applied, answer lost: reported failed with an unknown outcome.
    Lost,
    /// Refused before anything happened (503): reported failed, not in effect.
    Refused,
}

/// Grants meet the fate set per user while `faulty`.
struct Lossy {
    fates: Mutex<Vec<Fate>>,
    faulty: Mutex<bool>,
}

impl Lossy {
    fn fate(&self, a: &Assignment) -> Fate {
        if !*self.faulty.lock().expect("lock") {
            return Fate::Whole;
        }
        let i: usize = a.principal.id_str()[1..].parse().expect("u<n>");
        self.fates.lock().expect("lock")[i]
    }
}

#[async_trait]
impl Intercept for Lossy {
    async fn grant(&self, inner: &dyn AccessSystem, items: &[Assignment]) -> Vec<Outcome> {
        let mut out = Vec::new();
        for a in items {
            let fate = self.fate(a);
            if fate == Fate::Refused {
                out.push(Outcome::Failed(Error::Vendor {
                    system: "dst".into(),
                    status: 503,
                    code: None,
                    message: "try later".into(),
                    request_id: None,
                }));
                continue;
            }
            // Like an adapter, it reads before writing: a grant already held is
            // reported so without a write, so no answer of it can be lost.
            let got = inner.grant(std::slice::from_ref(a)).await;
            let got = got.into_iter().next().expect("one outcome");
            out.push(match (fate, got) {
                (Fate::Lost, Outcome::Applied) => {
                    Outcome::Failed(Error::transport("reset after sending"))
                }
                (_, got) => got,
            });
        }
        out
    }
}

/// An `InMemorySystem` behind a [`Lossy`] network.
type Network = Intercepted<InMemorySystem, Lossy>;

fn network(fates: Vec<Fate>, held_before: &[usize]) -> Network {
    let inner = InMemorySystem::builder(SystemId::new("dst").expect("id"))
        .users((0..USERS).map(|i| User::new(uid(i))))
        .group(Group::new(GroupId::new("g").expect("id"), "G"))
        .profile(Profile::new(
            ProfileId::new("reader").expect("id"),
            "Reader",
        ))
        .assignments(held_before.iter().map(|&i| grant_of(i)))
        .build();
    let lossy = Lossy {
        fates: Mutex::new(fates),
        faulty: Mutex::new(true),
    };
    Intercepted::new(inner, lossy)
}

fn heal(target: &Network) {
    *target.intercept.faulty.lock().expect("lock") = false;
}

fn keys(target: &Network) -> BTreeSet<AssignmentKey> {
    block_on(target.inner.list_assignments())
        .expect("list")
        .iter()
        .map(Assignment::key)
        .collect()
}

fn grant_everyone() -> Plan {
    let changes = (0..USERS)
        .map(|i| Change::Grant {
            assignment: grant_of(i),
            previous: None,
        })
        .collect();
    Plan::from_changes(SystemId::new("dst").expect("id"), changes, false)
}

fn run(plan: &Plan, target: &Network) -> RunReport {
    block_on(engine::execute(plan, target, &ExecuteOptions::default())).expect("run")
}

#[test]
fn a_lost_answer_found_in_place_by_the_retry_is_the_chains_and_is_rolled_back() {
    use Fate::*;
    // u6 already held the grant before the chain: it must survive the rollback.
    let fates = vec![Whole, Lost, Refused, Lost, Whole, Refused, Whole, Lost];
    let target = network(fates, &[6]);
    let before = keys(&target);

    let first = run(&grant_everyone(), &target);
    let c = first.counts();
    assert_eq!((c.applied, c.already_in_state, c.failed), (2, 1, 5));
    let retry = first.failures_plan();
    let continues = retry
        .continues
        .as_ref()
        .expect("a retry plan continues its run");
    assert_eq!(continues.plan_fingerprint, first.plan_fingerprint);
    assert_eq!(continues.started_at, first.started_at);
    let doubt: Vec<String> = continues
        .in_doubt
        .iter()
        .map(|c| c.principal().id_str().to_owned())
        .collect();
    assert_eq!(doubt, ["u1", "u3", "u7"], "only lost answers are in doubt");

    heal(&target);
    let second = run(&retry, &target);
    let c = second.counts();
    assert_eq!(
        (c.applied, c.continued, c.already_in_state, c.failed),
        (2, 3, 0, 0),
        "the refused ones are made now; the lost ones were made by the chain"
    );
    assert_eq!(second.continues.as_ref(), Some(continues));
    for item in &second.items {
        assert!(item.outcome.is_some());
        if item.continued {
            assert_eq!(item.outcome, Some(Outcome::AlreadyInState));
        }
    }

    // Roll back the chain, last run first.
    for report in [&second, &first] {
        let undo = run(&report.rollback_plan(), &target);
        assert!(!undo.has_failures(), "{:?}", undo.items);
    }
    assert_eq!(
        keys(&target),
        before,
        "the chain's rollback restores the state"
    );
}

#[test]
fn doubt_is_carried_along_the_chain_until_settled() {
    use Fate::*;
    let target = network(vec![Lost; USERS], &[]);
    let first = run(&grant_everyone(), &target);
    assert_eq!(first.counts().failed, USERS);
    // The second run is refused outright (a 503 on everything): still in doubt.
    *target.intercept.fates.lock().expect("lock") = vec![Refused; USERS];
    let second = run(&first.failures_plan(), &target);
    assert_eq!(second.counts().failed, USERS);
    let third_plan = second.failures_plan();
    assert_eq!(
        third_plan.continues.as_ref().map(|c| c.in_doubt.len()),
        Some(USERS),
        "a change left in doubt stays in doubt while it fails with a known error"
    );
    heal(&target);
    let third = run(&third_plan, &target);
    assert_eq!(third.counts().continued, USERS);
    for report in [&third, &second, &first] {
        assert!(!run(&report.rollback_plan(), &target).has_failures());
    }
    assert!(keys(&target).is_empty());
}

#[test]
fn a_plain_plan_attributes_nothing() {
    let target = network(vec![Fate::Whole; USERS], &[0, 1]);
    let report = run(&grant_everyone(), &target);
    assert!(report.continues.is_none());
    assert_eq!(report.counts().continued, 0);
    assert_eq!(report.counts().already_in_state, 2);
    assert_eq!(report.rollback_plan().changes.len(), USERS - 2);
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![Just(Fate::Whole), Just(Fate::Lost), Just(Fate::Refused)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(64)))]

    /// Whatever the fates and whoever held the grant before: the chain converges to
    /// everyone holding it, and rolling back its runs restores exactly the state
    /// before.
    #[test]
    fn a_chain_with_lost_answers_rolls_back_to_the_state_before(
        fates in proptest::collection::vec(fate(), USERS),
        held in proptest::collection::btree_set(0..USERS, 0..USERS),
        rounds_faulty in 0_usize..3,
    ) {
        let held: Vec<usize> = held.into_iter().collect();
        let target = network(fates, &held);
        let before = keys(&target);
        let mut reports = vec![run(&grant_everyone(), &target)];
        for round in 0.. {
            let last = reports.last().expect("a run");
            if !last.has_failures() {
                break;
            }
            if round >= rounds_faulty {
                heal(&target);
            }
            let next = run(&last.failures_plan(), &target);
            reports.push(next);
            prop_assert!(round < 10, "the chain converges once the network heals");
        }
        prop_assert_eq!(keys(&target).len(), USERS);
        for report in reports.iter().rev() {
            let undo = run(&report.rollback_plan(), &target);
            prop_assert!(!undo.has_failures());
        }
        prop_assert_eq!(keys(&target), before);
    }
}
