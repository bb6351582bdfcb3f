#![cfg(feature = "sandbox")]
//! Differential property test: random grant/revoke and membership batches give the
//! same per-item outcomes and the same final state on `PyramidSystem` over the sandbox
//! as on core's `InMemorySystem` with Pyramid's capabilities.

use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::SandboxOptions;
use grantbridge_core::testing::{cases, outcome_kind as kind, runtime};
use grantbridge_core::{Assignment, InMemorySystem, Membership, Principal, SystemId};
use grantbridge_pyramid::PyramidSystem;
use grantbridge_pyramid::sandbox::{PyramidSandbox, Seed};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Grant(Vec<(usize, usize)>),
    Revoke(Vec<(usize, usize)>),
    Join(Vec<(usize, usize)>),
    Leave(Vec<(usize, usize)>),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    // Principals 0..3 are users, 3..6 groups; profiles 0..3.
    let pairs = || proptest::collection::vec((0usize..6, 0usize..3), 1..6);
    let members = || proptest::collection::vec((0usize..3, 0usize..3), 1..5);
    let op = prop_oneof![
        3 => pairs().prop_map(Op::Grant),
        2 => pairs().prop_map(Op::Revoke),
        1 => members().prop_map(Op::Join),
        1 => members().prop_map(Op::Leave),
    ];
    proptest::collection::vec(op, 1..8)
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let sandbox = PyramidSandbox::start(Seed::Generated { users: 3 }, SandboxOptions::default())
        .await
        .expect("sandbox");
    let real = PyramidSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let users: Vec<_> = real
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .filter(|u| u.extra["userName"] != "admin")
        .collect();
    let groups = real.list_groups().await.expect("groups");
    let profiles = real.list_profiles().await.expect("profiles");
    let model = InMemorySystem::builder(SystemId::new("model").expect("id"))
        .capabilities(real.capabilities())
        .users(users.clone())
        .groups(groups.clone())
        .profiles(profiles.clone())
        .scope(&real.scope())
        .build();
    let principal = |i: usize| {
        if i < 3 {
            Principal::User(users[i].id.clone())
        } else {
            Principal::Group(groups[i - 3].id.clone())
        }
    };
    let assignments = |pairs: &[(usize, usize)]| -> Vec<Assignment> {
        pairs
            .iter()
            .map(|&(p, q)| Assignment::new(principal(p), profiles[q].id.clone(), real.scope()))
            .collect()
    };
    let memberships = |pairs: &[(usize, usize)]| -> Vec<Membership> {
        pairs
            .iter()
            .map(|&(u, g)| Membership::new(users[u].id.clone(), groups[g].id.clone()))
            .collect()
    };
    for op in &ops {
        let (got, want) = match op {
            Op::Grant(p) => (
                real.grant(&assignments(p)).await,
                model.grant(&assignments(p)).await,
            ),
            Op::Revoke(p) => (
                real.revoke(&assignments(p)).await,
                model.revoke(&assignments(p)).await,
            ),
            Op::Join(m) => (
                real.add_memberships(&memberships(m)).await,
                model.add_memberships(&memberships(m)).await,
            ),
            Op::Leave(m) => (
                real.remove_memberships(&memberships(m)).await,
                model.remove_memberships(&memberships(m)).await,
            ),
        };
        let got: Vec<String> = got.iter().map(kind).collect();
        let want: Vec<String> = want.iter().map(kind).collect();
        prop_assert_eq!(got, want, "outcomes of {:?}", op);
    }
    let mut got = real.list_assignments().await.expect("list");
    let mut want = model.list_assignments().await.expect("list");
    got.sort();
    want.sort();
    prop_assert_eq!(got, want);
    let mut got = real.list_memberships().await.expect("list");
    let mut want = model.list_memberships().await.expect("list");
    got.sort();
    want.sort();
    prop_assert_eq!(got, want);
    sandbox.shutdown().await;
    Ok(())
}

proptest! {
    // 24 cases by default (CI); `PROPTEST_CASES` runs more.
    #![proptest_config(ProptestConfig { cases: cases(24), ..ProptestConfig::default() })]

    #[test]
    fn the_adapter_behaves_like_the_reference_system(ops in ops()) {
        let runtime = runtime();
        runtime.block_on(run(ops))?;
    }
}
