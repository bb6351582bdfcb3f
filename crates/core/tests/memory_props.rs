//! Properties of `InMemorySystem` batches: order independence and idempotence.

use std::collections::{BTreeMap, BTreeSet};

use futures::executor::block_on;
use grantbridge_core::prelude::*;
use grantbridge_core::{
    Assignment, AssignmentKey, Capabilities, InMemorySystem, Outcome, Principal, Profile,
    ProfileId, Scope, SystemId, TenantCode, User, UserId, Validity,
};
use proptest::prelude::*;

const USERS: usize = 6;
const PROFILES: usize = 3;

fn uid(i: usize) -> UserId {
    UserId::new(format!("u{i}")).expect("id")
}
fn pid(i: usize) -> ProfileId {
    ProfileId::new(format!("p{i}")).expect("id")
}
fn scope(i: usize) -> Scope {
    match i {
        0 => Scope::System,
        _ => Scope::tenant(
            TenantCode::new(format!("t{i}")).expect("id"),
            i.is_multiple_of(2),
        ),
    }
}

fn system() -> InMemorySystem {
    let mut b = InMemorySystem::builder(SystemId::new("mem").expect("id"))
        .capabilities(Capabilities::full())
        .users((0..USERS).map(|i| User::new(uid(i))))
        .profiles((0..PROFILES).map(|i| Profile::new(pid(i), format!("P{i}"))));
    for s in 0..3 {
        b = b.scope(&scope(s));
    }
    b.build()
}

/// An assignment key; user index `USERS` is an unknown user (always fails).
fn key() -> impl Strategy<Value = (usize, usize, usize)> {
    (0..=USERS, 0..PROFILES, 0..3usize)
}

fn window() -> impl Strategy<Value = Validity> {
    prop_oneof![
        Just(Validity::ALWAYS),
        (0i64..1_000, 1i64..1_000).prop_map(|(f, len)| {
            Validity::from_millis(Some(f * 1_000), Some((f + len) * 1_000)).expect("valid")
        }),
    ]
}

fn assignment((u, p, s): (usize, usize, usize), validity: Validity) -> Assignment {
    Assignment::new(Principal::User(uid(u)), pid(p), scope(s)).with_validity(validity)
}

/// Disjoint grant and revoke sets (a key is either granted or revoked, with one
/// window), so that any order of application must reach the same state.
fn ops() -> impl Strategy<Value = (Vec<Assignment>, Vec<Assignment>)> {
    proptest::collection::btree_map(key(), (any::<bool>(), window()), 0..25).prop_map(|m| {
        let (mut grants, mut revokes) = (Vec::new(), Vec::new());
        for (k, (is_grant, w)) in m {
            if is_grant {
                grants.push(assignment(k, w));
            } else {
                revokes.push(assignment(k, Validity::ALWAYS));
            }
        }
        (grants, revokes)
    })
}

fn state(system: &InMemorySystem) -> BTreeMap<AssignmentKey, Validity> {
    block_on(system.list_assignments())
        .expect("list")
        .into_iter()
        .map(|a| (a.key(), a.validity))
        .collect()
}

enum Batch {
    Grant(Vec<Assignment>),
    Revoke(Vec<Assignment>),
}

fn apply(system: &InMemorySystem, batch: &Batch) -> Vec<Outcome> {
    block_on(async {
        match batch {
            Batch::Grant(items) => system.grant(items).await,
            Batch::Revoke(items) => system.revoke(items).await,
        }
    })
}

/// Splits the operations into batches of `size` and orders them by `order`.
fn batches(
    grants: &[Assignment],
    revokes: &[Assignment],
    size: usize,
    order: &[usize],
) -> Vec<Batch> {
    let mut all: Vec<Batch> = grants
        .chunks(size)
        .map(|c| Batch::Grant(c.to_vec()))
        .chain(revokes.chunks(size).map(|c| Batch::Revoke(c.to_vec())))
        .collect();
    let mut ordered = Vec::with_capacity(all.len());
    for &i in order {
        if !all.is_empty() {
            ordered.push(all.swap_remove(i % all.len()));
        }
    }
    ordered.append(&mut all);
    ordered
}

proptest! {
    #[test]
    fn batches_in_any_order_reach_the_same_state(
        (grants, revokes) in ops(),
        seed in proptest::collection::vec((any::<bool>(), window()), 0..10),
        size in 1usize..5,
        order_a in proptest::collection::vec(any::<usize>(), 0..20),
        order_b in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        // Both systems start from the same seed state.
        let seed: Vec<Assignment> = seed
            .into_iter()
            .enumerate()
            .filter(|(_, (keep, _))| *keep)
            .map(|(i, (_, w))| assignment((i % USERS, i % PROFILES, i % 3), w))
            .collect();
        let (a, b) = (system(), system());
        for s in [&a, &b] {
            block_on(s.grant(&seed));
        }
        for batch in batches(&grants, &revokes, size, &order_a) {
            apply(&a, &batch);
        }
        for batch in batches(&grants, &revokes, size, &order_b) {
            apply(&b, &batch);
        }
        prop_assert_eq!(state(&a), state(&b));

        // And that state is the seed, plus the valid grants, minus the revokes.
        let mut expected: BTreeMap<_, _> = seed.iter().map(|x| (x.key(), x.validity)).collect();
        for g in grants.iter().filter(|g| g.principal != Principal::User(uid(USERS))) {
            expected.insert(g.key(), g.validity);
        }
        for r in &revokes {
            expected.remove(&r.key());
        }
        prop_assert_eq!(state(&a), expected);
    }

    #[test]
    fn applying_a_batch_twice_changes_nothing_the_second_time(
        (grants, revokes) in ops(),
    ) {
        let s = system();
        let first = apply(&s, &Batch::Grant(grants.clone()));
        let after_first = state(&s);
        let second = apply(&s, &Batch::Grant(grants.clone()));
        prop_assert_eq!(&state(&s), &after_first);
        for (one, two) in first.iter().zip(&second) {
            match (one, two) {
                (Outcome::Failed(e1), Outcome::Failed(e2)) => prop_assert_eq!(e1, e2),
                (_, Outcome::AlreadyInState) => {}
                other => prop_assert!(false, "second grant was not a no-op: {:?}", other),
            }
        }
        let stats = s.stats();
        apply(&s, &Batch::Revoke(revokes.clone()));
        let after_revoke = state(&s);
        let again = apply(&s, &Batch::Revoke(revokes.clone()));
        prop_assert_eq!(&state(&s), &after_revoke);
        prop_assert!(again.iter().all(|o| !matches!(o, Outcome::Applied)));
        // Outcomes are one per item, in order.
        prop_assert_eq!(again.len(), revokes.len());
        prop_assert_eq!(s.stats().grant_batches, stats.grant_batches);
        let unknown: BTreeSet<usize> = revokes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.principal == Principal::User(uid(USERS)))
            .map(|(i, _)| i)
            .collect();
        for (i, o) in again.iter().enumerate() {
            prop_assert_eq!(unknown.contains(&i), matches!(o, Outcome::Failed(_)));
        }
    }
}
