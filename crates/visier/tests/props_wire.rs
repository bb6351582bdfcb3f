#![cfg(feature = "sandbox")]
//! Mapping properties (issue 10) between Visier's wire model and core, both through
//! the real adapter and client against `Seed::Fixtures` sandboxes (an administrating
//! tenant `WFF_j1r` with analytic tenants `~c7o` and `~d8p`, four users, local
//! profile `PARTNER_ADMIN`, one analytic profile):
//!
//! * wire → core → wire: any set of local and analytic assignments (windows with
//!   either unbounded sentinel, tenant codes with and without children) written with
//!   the raw client to one tenant, read as core assignments, granted through the
//!   adapter to a fresh tenant, reads back as the same wire records;
//! * core → wire → core: any valid set of core assignments granted through the
//!   adapter reads back identical; every shape Visier cannot express (group
//!   principals, resource scopes, a local profile on a tenant code, an analytic one on
//!   the whole tenant) is a typed `Unsupported` that changes nothing.
//!
//! Windows end in the future: a past end is Visier's "remove" (`sandbox_adapter.rs`).

use std::collections::BTreeSet;

use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::SandboxOptions;
use grantbridge_core::testing::{cases, runtime};
use grantbridge_core::{
    Assignment, Error, Feature, GroupId, Outcome, Principal, ProfileId, ResourceId, ResourceKind,
    Scope, ScopeKind, TenantCode, UserId, Validity,
};
use grantbridge_visier::VisierSystem;
use grantbridge_visier::sandbox::{Seed, VisierSandbox};
use grantbridge_visier::wire::{
    AccessibleTenantProfileAssignmentRequestDto, LocalTenantProfileAssignmentRequestDto, Millis,
    TargetTenantCodeDto,
};
use proptest::prelude::*;

const TENANTS: [&str; 3] = ["WFF_j1r", "WFF_j1r~c7o", "WFF_j1r~d8p"];
/// 2030-01-01 in epoch milliseconds: later than the sandbox's clock.
const FUTURE: i64 = 1_893_456_000_000;

/// A window as wire values: either bound may be its sentinel.
fn wire_window() -> impl Strategy<Value = (Millis, Millis)> {
    (
        prop_oneof![Just(Millis::NO_START), (0i64..FUTURE).prop_map(Millis)],
        prop_oneof![
            Just(Millis::PERMANENT),
            (FUTURE..FUTURE + 1_000_000_000_000).prop_map(Millis)
        ],
    )
}

/// Per user (4): an optional local window, and analytic windows per (tenant, children).
type WireState = Vec<(
    Option<(Millis, Millis)>,
    std::collections::BTreeMap<(usize, bool), (Millis, Millis)>,
)>;

fn wire_state() -> impl Strategy<Value = WireState> {
    proptest::collection::vec(
        (
            proptest::option::of(wire_window()),
            proptest::collection::btree_map((0usize..3, any::<bool>()), wire_window(), 0..3),
        ),
        4,
    )
}

/// Every assignment as raw wire tuples: (user, profile, tenant+children or local,
/// start, end).
type WireRow = (
    String,
    String,
    Option<(String, bool)>,
    Option<Millis>,
    Option<Millis>,
);

async fn wire_rows(system: &VisierSystem, users: &[UserId]) -> BTreeSet<WireRow> {
    let client = system.client();
    let mut rows = BTreeSet::new();
    for u in users {
        for p in client
            .get_user_profile(u.as_str())
            .await
            .expect("local read")
            .assigned_profiles
        {
            rows.insert((
                u.to_string(),
                p.profile_id.unwrap_or_default(),
                None,
                p.validity_start_time,
                p.validity_end_time,
            ));
        }
        for p in client
            .get_analytic_user_profile(u.as_str())
            .await
            .expect("analytic read")
            .assigned_profiles_for_accessible_tenant
        {
            rows.insert((
                u.to_string(),
                p.profile_id.unwrap_or_default(),
                Some((p.tenant_code.unwrap_or_default(), p.for_all_children)),
                p.validity_start_time,
                p.validity_end_time,
            ));
        }
    }
    rows
}

/// A fresh fixtures tenant with nothing assigned, its users and its two profiles.
async fn empty_tenant() -> (
    VisierSandbox,
    VisierSystem,
    Vec<UserId>,
    ProfileId,
    ProfileId,
) {
    let sandbox = VisierSandbox::start(Seed::Fixtures, SandboxOptions::default())
        .await
        .expect("sandbox");
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let held = system.list_assignments().await.expect("list");
    assert!(system.revoke(&held).await.iter().all(Outcome::is_done));
    assert!(system.list_assignments().await.expect("list").is_empty());
    let mut users: Vec<UserId> = system
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .collect();
    users.sort();
    let profiles = system.list_profiles().await.expect("profiles");
    let of = |k: ScopeKind| {
        profiles
            .iter()
            .find(|p| p.accepts(k))
            .expect("profile")
            .id
            .clone()
    };
    let (local, analytic) = (of(ScopeKind::System), of(ScopeKind::Tenant));
    (sandbox, system, users, local, analytic)
}

async fn wire_core_wire(state: WireState) -> Result<(), TestCaseError> {
    let (sa, a, users, local, analytic) = empty_tenant().await;
    let client = a.client();
    for (u, (lw, aw)) in users.iter().zip(&state) {
        if let Some((start, end)) = lw {
            let body = LocalTenantProfileAssignmentRequestDto {
                target_user_ids: vec![u.to_string()],
                validity_start_time: Some(*start),
                validity_end_time: Some(*end),
            };
            let r = client
                .assign_profile(local.as_str(), &body)
                .await
                .expect("assign");
            prop_assert_eq!(r.successful_assignments.len(), 1, "{:?}", r);
        }
        for (&(t, children), &(start, end)) in aw {
            let body = AccessibleTenantProfileAssignmentRequestDto {
                target_user_ids: vec![u.to_string()],
                target_tenant_codes: vec![TargetTenantCodeDto {
                    tenant_code: Some(TENANTS[t].to_owned()),
                    for_all_children: Some(children),
                }],
                validity_start_time: Some(start),
                validity_end_time: Some(end),
            };
            let r = client
                .assign_analytic_profile(analytic.as_str(), &body)
                .await
                .expect("assign");
            prop_assert_eq!(r.successful_assignments.len(), 1, "{:?}", r);
        }
    }
    let original = wire_rows(&a, &users).await;
    let expected: usize = state
        .iter()
        .map(|(l, m)| usize::from(l.is_some()) + m.len())
        .sum();
    prop_assert_eq!(original.len(), expected, "seeded rows");
    let core = a.list_assignments().await.expect("core");
    prop_assert_eq!(core.len(), expected, "one core assignment per wire record");

    let (sb, b, users_b, _, _) = empty_tenant().await;
    prop_assert_eq!(&users, &users_b);
    let got = b.grant(&core).await;
    prop_assert!(
        got.iter().all(|o| matches!(o, Outcome::Applied)),
        "{:?}",
        got
    );
    prop_assert_eq!(wire_rows(&b, &users).await, original);
    sa.shutdown().await;
    sb.shutdown().await;
    Ok(())
}

/// A valid core item: (user, analytic?, tenant, children, from, until).
type CoreItem = (usize, bool, usize, bool, Option<i64>, Option<i64>);

fn core_item() -> impl Strategy<Value = CoreItem> {
    (
        0usize..4,
        any::<bool>(),
        0usize..3,
        any::<bool>(),
        proptest::option::of(0i64..FUTURE),
        proptest::option::of(FUTURE..FUTURE + 1_000_000_000_000),
    )
}

/// A shape Visier cannot express.
#[derive(Clone, Copy, Debug)]
enum Bad {
    Group,
    Resource,
    LocalOnTenant,
    AnalyticOnSystem,
}

async fn core_wire_core(items: Vec<CoreItem>, bad: Vec<(usize, Bad)>) -> Result<(), TestCaseError> {
    let (sandbox, system, users, local, analytic) = empty_tenant().await;
    let mut seen = BTreeSet::new();
    let mut batch = Vec::new();
    for (u, is_analytic, t, children, from, until) in items {
        let (profile, scope) = if is_analytic {
            (
                analytic.clone(),
                Scope::tenant(TenantCode::new(TENANTS[t]).expect("code"), children),
            )
        } else {
            (local.clone(), Scope::System)
        };
        let a = Assignment::new(Principal::User(users[u].clone()), profile, scope)
            .with_validity(Validity::from_millis(from, until).expect("window"));
        // One window per key: a set, as a snapshot holds.
        if seen.insert(a.key()) {
            batch.push(a);
        }
    }
    let got = system.grant(&batch).await;
    prop_assert!(
        got.iter().all(|o| matches!(o, Outcome::Applied)),
        "{:?}",
        got
    );
    let mut back = system.list_assignments().await.expect("list");
    back.sort();
    batch.sort();
    prop_assert_eq!(&back, &batch);

    let tenant = Scope::tenant(TenantCode::new(TENANTS[1]).expect("code"), true);
    let refused: Vec<(Assignment, Feature)> = bad
        .iter()
        .map(|&(u, b)| {
            let user = Principal::User(users[u].clone());
            match b {
                Bad::Group => (
                    Assignment::new(
                        Principal::Group(GroupId::new("g-1").expect("id")),
                        local.clone(),
                        Scope::System,
                    ),
                    Feature::GroupPrincipals,
                ),
                Bad::Resource => (
                    Assignment::new(
                        user,
                        local.clone(),
                        Scope::resource(
                            ResourceKind::new("DASHBOARD").expect("kind"),
                            ResourceId::new("d-1").expect("id"),
                        ),
                    ),
                    Feature::ResourceScopes,
                ),
                Bad::LocalOnTenant => (
                    Assignment::new(user, local.clone(), tenant.clone()),
                    Feature::ProfileScope,
                ),
                Bad::AnalyticOnSystem => (
                    Assignment::new(user, analytic.clone(), Scope::System),
                    Feature::ProfileScope,
                ),
            }
        })
        .collect();
    let items: Vec<Assignment> = refused.iter().map(|(a, _)| a.clone()).collect();
    for got in [system.grant(&items).await, system.revoke(&items).await] {
        prop_assert_eq!(got.len(), items.len());
        for (o, (a, feature)) in got.iter().zip(&refused) {
            prop_assert!(
                matches!(o, Outcome::Failed(Error::Unsupported { feature: f, .. }) if f == feature),
                "{} gave {:?}",
                a,
                o
            );
        }
    }
    let mut after = system.list_assignments().await.expect("list");
    after.sort();
    prop_assert_eq!(after, batch, "refused items changed nothing");
    sandbox.shutdown().await;
    Ok(())
}

fn bad() -> impl Strategy<Value = (usize, Bad)> {
    (
        0usize..4,
        prop_oneof![
            Just(Bad::Group),
            Just(Bad::Resource),
            Just(Bad::LocalOnTenant),
            Just(Bad::AnalyticOnSystem)
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(16), max_shrink_iters: 512, ..ProptestConfig::default() })]

    /// Whatever Visier holds reads as core and writes back as the same wire records.
    #[test]
    fn wire_to_core_to_wire_is_lossless(state in wire_state()) {
        runtime().block_on(wire_core_wire(state))?;
    }

    /// Valid core items survive the wire unchanged; the rest are typed refusals.
    #[test]
    fn core_to_wire_to_core_is_identity_or_a_typed_refusal(
        items in proptest::collection::vec(core_item(), 0..10),
        bad in proptest::collection::vec(bad(), 1..5),
    ) {
        runtime().block_on(core_wire_core(items, bad))?;
    }
}
