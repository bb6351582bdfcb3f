#![cfg(feature = "sandbox")]
//! Model-based test: random sequences of grants, revokes and membership changes go
//! through [`SegmentSystem`] to a fresh sandbox and, item for item, to core's
//! [`InMemorySystem`] with the same capabilities and the same starting users, groups,
//! roles, memberships and permissions. After every step the per-item outcomes agree
//! (applied / already / failed with the same [`ErrorKind`]) and the two snapshots hold
//! the same user ids, memberships and assignments.
//!
//! Before the first step, a few permissions are written with Segment's own *add*
//! operation (which appends): pairs held twice, several resources per permission,
//! labelled workspace pairs, and roles held with no resource at all. Core cannot see
//! the last kind, so after every step they must still be held exactly as seeded.
//!
//! Items name principals, roles and resources by small indices (`User(1)`,
//! `Source(0)`), so a shrunk counterexample reads as a short story. `Ghost*` names
//! something that does not exist. Assignments are never given to pending invites:
//! Segment cannot hold them (a typed `Conflict`, checked in `props_wire`), which core's
//! capabilities cannot say, so the model would accept them.
//!
//! Half the cases run with [`SegmentSystem::reuse_listed_state`] on.
//!
//! Default: 16 cases of up to 12 steps; `PROPTEST_CASES` runs more.
//!
//! [`ErrorKind`]: grantbridge_core::ErrorKind

mod props_support;

use std::collections::BTreeSet;

use futures::TryStreamExt;
use grantbridge_core::engine::Snapshot;
use grantbridge_core::prelude::*;
use grantbridge_core::testing::outcome_kind;
use grantbridge_core::{
    AccessSystem, Assignment, GroupId, InMemorySystem, Label, Membership, Outcome, Principal,
    ProfileId, ResourceId, ResourceKind, Scope, SystemId, UserId,
};
use grantbridge_segment::SegmentSystem;
use grantbridge_segment::sandbox::{Seed, SegmentSandbox};
use grantbridge_segment::wire::{
    Invite, Label as WireLabel, Permission, PermissionInput, PermissionResource, ResourceType,
};
use props_support::{config, fast};
use proptest::prelude::*;

/// Users of `Seed::Generated` (its groups: 5, group `g` holding user `g`).
const USERS: usize = 3;
const GROUPS: usize = 5;
/// Roles used, out of the seed's standard ones (in listing order).
const ROLES: usize = 4;
/// Sources used, out of the seed's four.
const SOURCES: usize = 2;
/// The pending invites created before the run.
const INVITES: [&str; 2] = ["invitee-a@example.com", "invitee-b@example.com"];
/// Labels a `WORKSPACE` item may carry (Segment accepts labels there only).
const LABELS: [(&str, &str); 3] = [
    ("environment", "prod"),
    ("environment", "staging"),
    ("team", "growth"),
];

/// Who holds an assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    User(usize),
    Group(usize),
    GhostUser,
    GhostGroup,
}

/// Which role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Role(usize),
    GhostRole,
}

/// Which resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum On {
    Workspace,
    Source(usize),
    Warehouse,
    Space,
    Function,
}

/// One assignment, by indices.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Item {
    who: Who,
    role: Role,
    on: On,
    /// Indices into [`LABELS`]; only ever set on `Workspace`.
    labels: BTreeSet<usize>,
}

/// A member of a membership item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    User(usize),
    Invite(usize),
    GhostUser,
    GhostInvite,
}

/// A group of a membership item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum In {
    Group(usize),
    GhostGroup,
}

/// One step: a batch through the matching trait method.
#[derive(Clone, Debug)]
enum Op {
    Grant(Vec<Item>),
    Revoke(Vec<Item>),
    /// Revokes assignments the model holds (index modulo their count), so that revokes
    /// hit something more often than random items would.
    RevokeHeld(Vec<usize>),
    Join(Vec<(Member, In)>),
    Leave(Vec<(Member, In)>),
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        6 => (0..USERS).prop_map(Who::User),
        4 => (0..GROUPS).prop_map(Who::Group),
        1 => Just(Who::GhostUser),
        1 => Just(Who::GhostGroup),
    ]
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        8 => (0..ROLES).prop_map(Role::Role),
        1 => Just(Role::GhostRole),
    ]
}

fn on() -> impl Strategy<Value = On> {
    prop_oneof![
        4 => Just(On::Workspace),
        3 => (0..SOURCES).prop_map(On::Source),
        1 => Just(On::Warehouse),
        1 => Just(On::Space),
        1 => Just(On::Function),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    (
        who(),
        role(),
        on(),
        proptest::collection::btree_set(0..LABELS.len(), 0..3),
    )
        .prop_map(|(who, role, on, labels)| Item {
            who,
            role,
            labels: if on == On::Workspace {
                labels
            } else {
                BTreeSet::new()
            },
            on,
        })
}

fn membership() -> impl Strategy<Value = (Member, In)> {
    let member = prop_oneof![
        6 => (0..USERS).prop_map(Member::User),
        3 => (0..INVITES.len()).prop_map(Member::Invite),
        1 => Just(Member::GhostUser),
        1 => Just(Member::GhostInvite),
    ];
    let group = prop_oneof![
        8 => (0..GROUPS).prop_map(In::Group),
        1 => Just(In::GhostGroup),
    ];
    (member, group)
}

/// A permission written with Segment's own *add* operation before the run. It
/// appends, so a principal may hold a pair twice, and a role with no resources is a
/// permission core cannot see; both must survive every rewrite unchanged.
#[derive(Clone, Debug)]
struct Seeded {
    /// Users `0..USERS`, then groups.
    who: usize,
    role: usize,
    on: Vec<(On, BTreeSet<usize>)>,
}

fn seeded() -> impl Strategy<Value = Seeded> {
    let resource =
        (on(), proptest::collection::btree_set(0..LABELS.len(), 0..3)).prop_map(|(on, labels)| {
            let labels = if on == On::Workspace {
                labels
            } else {
                BTreeSet::new()
            };
            (on, labels)
        });
    (
        0..USERS + GROUPS,
        0..ROLES,
        proptest::collection::vec(resource, 0..3),
    )
        .prop_map(|(who, role, on)| Seeded { who, role, on })
}

fn op() -> impl Strategy<Value = Op> {
    let items = || proptest::collection::vec(item(), 1..5);
    let members = || proptest::collection::vec(membership(), 1..4);
    prop_oneof![
        4 => items().prop_map(Op::Grant),
        1 => items().prop_map(Op::Revoke),
        2 => proptest::collection::vec(any::<usize>(), 1..4).prop_map(Op::RevokeHeld),
        2 => members().prop_map(Op::Join),
        2 => members().prop_map(Op::Leave),
    ]
}

/// The ids the indices stand for, read from the sandbox.
struct World {
    users: Vec<UserId>,
    groups: Vec<GroupId>,
    roles: Vec<ProfileId>,
    workspace: String,
    sources: Vec<String>,
    warehouse: String,
    space: String,
    function: String,
}

impl World {
    async fn read(real: &SegmentSystem, start: &Snapshot) -> World {
        let client = real.client();
        let first = |mut ids: Vec<String>, what: &str| {
            assert!(!ids.is_empty(), "the seed has a {what}");
            ids.swap_remove(0)
        };
        let sources: Vec<String> = client
            .stream_sources(50)
            .map_ok(|s| s.id)
            .try_collect()
            .await
            .expect("sources");
        let warehouses: Vec<String> = client
            .stream_warehouses(50)
            .map_ok(|w| w.id)
            .try_collect()
            .await
            .expect("warehouses");
        let spaces: Vec<String> = client
            .stream_spaces(50)
            .map_ok(|s| s.id)
            .try_collect()
            .await
            .expect("spaces");
        let functions: Vec<String> = client
            .stream_functions("DESTINATION", 50)
            .try_filter_map(|f| futures::future::ready(Ok(f.id)))
            .try_collect()
            .await
            .expect("functions");
        let users: Vec<UserId> = start
            .users
            .iter()
            .filter(|u| !u.id.as_str().contains('@'))
            .map(|u| u.id.clone())
            .collect();
        assert_eq!(users.len(), USERS, "the seed's users");
        assert_eq!(start.groups.len(), GROUPS, "the seed's groups");
        assert!(sources.len() >= SOURCES && start.profiles.len() >= ROLES);
        World {
            users,
            groups: start.groups.iter().map(|g| g.id.clone()).collect(),
            roles: start
                .profiles
                .iter()
                .take(ROLES)
                .map(|p| p.id.clone())
                .collect(),
            workspace: real.workspace().id.clone(),
            sources: sources.into_iter().take(SOURCES).collect(),
            warehouse: first(warehouses, "warehouse"),
            space: first(spaces, "space"),
            function: first(functions, "function"),
        }
    }

    /// Every resource the items can name, as scopes the model must know.
    fn scopes(&self) -> Vec<Scope> {
        let mut on = vec![On::Workspace, On::Warehouse, On::Space, On::Function];
        on.extend((0..SOURCES).map(On::Source));
        on.into_iter()
            .map(|o| self.scope(o, &BTreeSet::new()))
            .collect()
    }

    fn scope(&self, on: On, labels: &BTreeSet<usize>) -> Scope {
        let (kind, id) = match on {
            On::Workspace => ("WORKSPACE", &self.workspace),
            On::Source(i) => ("SOURCE", &self.sources[i]),
            On::Warehouse => ("WAREHOUSE", &self.warehouse),
            On::Space => ("SPACE", &self.space),
            On::Function => ("FUNCTION", &self.function),
        };
        Scope::Resource {
            kind: ResourceKind::new(kind).expect("kind"),
            id: ResourceId::new(id.as_str()).expect("id"),
            labels: labels
                .iter()
                .map(|&i| Label::new(LABELS[i].0, LABELS[i].1))
                .collect(),
        }
    }

    fn seed_input(&self, seed: &Seeded) -> PermissionInput {
        PermissionInput {
            role_id: self.roles[seed.role].as_str().to_owned(),
            resources: seed
                .on
                .iter()
                .map(|(on, labels)| {
                    let Scope::Resource { kind, id, .. } = self.scope(*on, labels) else {
                        unreachable!("resource scopes only");
                    };
                    PermissionResource {
                        id: id.as_str().to_owned(),
                        kind: ResourceType::parse(kind.as_str()),
                        labels: labels
                            .iter()
                            .map(|&i| WireLabel::new(LABELS[i].0, LABELS[i].1))
                            .collect(),
                    }
                })
                .collect(),
        }
    }

    async fn seed(&self, real: &SegmentSystem, seed: &Seeded) {
        let input = [self.seed_input(seed)];
        let client = real.client();
        if seed.who < USERS {
            client
                .add_permissions_to_user(self.users[seed.who].as_str(), &input)
                .await
                .expect("seed a user");
        } else {
            client
                .add_permissions_to_user_group(self.groups[seed.who - USERS].as_str(), &input)
                .await
                .expect("seed a group");
        }
    }

    /// Every principal's roles held with no resource, straight from the wire.
    async fn bare_roles(&self, real: &SegmentSystem) -> Vec<Vec<String>> {
        let bare = |perms: Option<Vec<Permission>>| {
            let mut roles: Vec<String> = perms
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p.resources.is_empty() && p.labels.is_empty())
                .map(|p| p.role_id)
                .collect();
            roles.sort();
            roles.dedup();
            roles
        };
        let mut out = Vec::new();
        for u in &self.users {
            let user = real.client().get_user(u.as_str()).await.expect("user");
            out.push(bare(user.permissions));
        }
        for g in &self.groups {
            let group = real
                .client()
                .get_user_group(g.as_str())
                .await
                .expect("group");
            out.push(bare(group.permissions));
        }
        out
    }

    fn assignment(&self, item: &Item) -> Assignment {
        let principal = match item.who {
            Who::User(i) => Principal::User(self.users[i].clone()),
            Who::Group(i) => Principal::Group(self.groups[i].clone()),
            Who::GhostUser => Principal::User(UserId::new("ghostUser").expect("id")),
            Who::GhostGroup => Principal::Group(GroupId::new("ghostGroup").expect("id")),
        };
        let profile = match item.role {
            Role::Role(i) => self.roles[i].clone(),
            Role::GhostRole => ProfileId::new("ghostRole").expect("id"),
        };
        Assignment::new(principal, profile, self.scope(item.on, &item.labels))
    }

    fn membership(&self, (member, group): (Member, In)) -> Membership {
        let user = match member {
            Member::User(i) => self.users[i].clone(),
            Member::Invite(i) => UserId::new(INVITES[i]).expect("id"),
            Member::GhostUser => UserId::new("ghostUser").expect("id"),
            Member::GhostInvite => UserId::new("ghost@example.com").expect("id"),
        };
        let group = match group {
            In::Group(i) => self.groups[i].clone(),
            In::GhostGroup => GroupId::new("ghostGroup").expect("id"),
        };
        Membership::new(user, group)
    }
}

/// What both systems must agree on: user ids, memberships, assignments.
#[derive(Debug, PartialEq)]
struct State {
    users: Vec<UserId>,
    memberships: Vec<Membership>,
    assignments: Vec<Assignment>,
}

async fn state(system: &dyn AccessSystem) -> State {
    let s = Snapshot::take(system).await.expect("snapshot");
    State {
        users: s.users.into_iter().map(|u| u.id).collect(),
        memberships: s.memberships,
        assignments: s.assignments,
    }
}

fn kinds(outcomes: &[Outcome]) -> Vec<String> {
    outcomes.iter().map(outcome_kind).collect()
}

async fn run(reuse_listed_state: bool, seeds: &[Seeded], ops: &[Op]) -> Result<(), TestCaseError> {
    let sandbox = SegmentSandbox::start(Seed::Generated { users: USERS }, fast())
        .await
        .expect("sandbox");
    // Pages of two make every listing take several pages.
    let mut real = SegmentSystem::connect(sandbox.config())
        .await
        .expect("connect")
        .page_size(2);
    if reuse_listed_state {
        // Every step's snapshot re-lists, so what is reused is always current.
        real = real.reuse_listed_state(std::time::Duration::from_secs(600));
    }
    let invites: Vec<Invite> = INVITES
        .iter()
        .map(|e| Invite {
            email: (*e).to_owned(),
            permissions: None,
        })
        .collect();
    real.client()
        .create_invites(&invites)
        .await
        .expect("invites");
    let directory = Snapshot::take(&real).await.expect("snapshot");
    let world = World::read(&real, &directory).await;
    for seed in seeds {
        world.seed(&real, seed).await;
    }
    let bare = world.bare_roles(&real).await;
    let start = Snapshot::take(&real).await.expect("snapshot");
    let mut builder = InMemorySystem::builder(SystemId::new("segment-model").expect("id"))
        .capabilities(real.capabilities())
        .users(start.users.clone())
        .groups(start.groups.clone())
        .profiles(start.profiles.clone())
        .memberships(start.memberships.clone())
        .assignments(start.assignments.clone());
    for scope in world.scopes() {
        builder = builder.scope(&scope);
    }
    let model = builder.build();
    prop_assert_eq!(state(&real).await, state(&model).await, "before any step");

    for (step, op) in ops.iter().enumerate() {
        let (got, want) = match op {
            Op::Grant(items) => {
                let a: Vec<Assignment> = items.iter().map(|i| world.assignment(i)).collect();
                (real.grant(&a).await, model.grant(&a).await)
            }
            Op::Revoke(items) => {
                let a: Vec<Assignment> = items.iter().map(|i| world.assignment(i)).collect();
                (real.revoke(&a).await, model.revoke(&a).await)
            }
            Op::RevokeHeld(picks) => {
                let held = model.list_assignments().await.expect("model");
                if held.is_empty() {
                    continue;
                }
                let a: Vec<Assignment> =
                    picks.iter().map(|p| held[p % held.len()].clone()).collect();
                (real.revoke(&a).await, model.revoke(&a).await)
            }
            Op::Join(items) => {
                let m: Vec<Membership> = items.iter().map(|&i| world.membership(i)).collect();
                (
                    real.add_memberships(&m).await,
                    model.add_memberships(&m).await,
                )
            }
            Op::Leave(items) => {
                let m: Vec<Membership> = items.iter().map(|&i| world.membership(i)).collect();
                (
                    real.remove_memberships(&m).await,
                    model.remove_memberships(&m).await,
                )
            }
        };
        prop_assert_eq!(
            kinds(&got),
            kinds(&want),
            "outcomes of step {} {:?}: segment {:?}",
            step,
            op,
            got
        );
        prop_assert_eq!(
            state(&real).await,
            state(&model).await,
            "state after step {} {:?}",
            step,
            op
        );
        prop_assert_eq!(
            &world.bare_roles(&real).await,
            &bare,
            "roles held without resources, after step {} {:?}",
            step,
            op
        );
    }
    sandbox.shutdown().await;
    Ok(())
}

/// Regression (found by the model test): a membership of an e-mail address that is
/// neither a user nor a pending invite was a vendor 422 on add and a silent
/// `AlreadyInState` on remove; like an unknown user id it is `NotFound` both ways.
#[tokio::test]
async fn membership_of_an_unknown_invite_is_not_found() {
    let sandbox = SegmentSandbox::start(Seed::Generated { users: 1 }, fast())
        .await
        .expect("sandbox");
    let real = SegmentSystem::connect(sandbox.config())
        .await
        .expect("connect");
    real.client()
        .create_invites(&[Invite {
            email: "Pending@example.com".to_owned(),
            permissions: None,
        }])
        .await
        .expect("invite");
    let group = real.list_groups().await.expect("groups")[0].id.clone();
    let ghost = Membership::new(UserId::new("ghost@example.com").expect("id"), group.clone());
    let pending = Membership::new(
        UserId::new("pending@example.com").expect("id"),
        group.clone(),
    );
    let both = [ghost.clone(), pending.clone()];
    let added = real.add_memberships(&both).await;
    assert_eq!(kinds(&added), ["failed:NotFound", "applied"], "{added:?}");
    let removed = real.remove_memberships(&both).await;
    assert_eq!(
        kinds(&removed),
        ["failed:NotFound", "applied"],
        "{removed:?}"
    );
    let members = real.list_memberships().await.expect("memberships");
    assert!(
        !members
            .iter()
            .any(|m| m.group == group && m.user.as_str().contains('@'))
    );
    sandbox.shutdown().await;
}

proptest! {
    #![proptest_config(config(16))]

    /// The adapter over the sandbox behaves like core's reference system, step by step.
    #[test]
    fn segment_behaves_like_the_reference_system(
        reuse_listed_state in any::<bool>(),
        seeds in proptest::collection::vec(seeded(), 0..4),
        ops in proptest::collection::vec(op(), 1..=12),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(run(reuse_listed_state, &seeds, &ops))?;
    }
}
