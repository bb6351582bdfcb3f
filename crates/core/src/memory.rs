//! [`InMemorySystem`]: a complete, deterministic reference implementation of every
//! trait, with the capabilities chosen at construction.
//!
//! It is a first-class backend, not a mock: the engine's property tests run on it, the
//! conformance suite is checked against it, and it can play any system shape ("no
//! validity windows", "groups only", "one profile per user") by its [`Capabilities`].
//! It also counts calls and can inject failures, so tests can check how many batches the
//! engine sent and what happens when a run dies part-way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::conformance::{AnswerCutter, WritePath};
use crate::error::{Entity, Error, Feature, Result};
use crate::ids::{GroupId, ProfileId, ResourceId, ResourceKind, SystemId, TenantCode, UserId};
use crate::model::{
    Assignment, AssignmentKey, Group, Membership, NewProfile, Principal, Profile, Scope, User,
    Validity,
};
use crate::traits::{
    AccessSystem, AssignmentStore, Capabilities, Directory, Outcome, ProfileCatalog,
};

/// Calls an [`InMemorySystem`] has served, for tests that count work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallStats {
    /// `list_*` and `get_*` calls.
    pub reads: usize,
    /// `grant` calls (batches).
    pub grant_batches: usize,
    /// `revoke` calls (batches).
    pub revoke_batches: usize,
    /// `add_memberships` / `remove_memberships` calls.
    pub membership_batches: usize,
    /// Items that were actually changed (`Applied`), over all writes.
    pub items_applied: usize,
}

#[derive(Debug, Default)]
struct State {
    users: BTreeMap<UserId, User>,
    groups: BTreeMap<GroupId, Group>,
    profiles: BTreeMap<ProfileId, Profile>,
    memberships: BTreeSet<Membership>,
    assignments: BTreeMap<AssignmentKey, Validity>,
    tenants: BTreeSet<TenantCode>,
    resources: BTreeSet<(ResourceKind, ResourceId)>,
    next_profile: u64,
    stats: CallStats,
    /// Write batches still allowed before injected failures start; `None` = never fail.
    writes_before_failure: Option<usize>,
    /// Write paths whose answers are cut (see [`AnswerCutter`]).
    cut: Vec<WritePath>,
}

/// An access system held in memory: a complete, deterministic reference
/// implementation of every trait, with the capabilities chosen at construction.
///
/// Scopes must be known to be granted on: [`Scope::System`] always is, tenants and
/// resources become known through [`InMemoryBuilder::scope`] or seeded assignments.
/// Unknown principals, profiles and scopes fail their item with `NotFound`; shapes the
/// capabilities exclude fail with `Unsupported`; a per-user limit with `Conflict`.
#[derive(Debug)]
pub struct InMemorySystem {
    id: SystemId,
    capabilities: Capabilities,
    state: Mutex<State>,
}

/// Builds an [`InMemorySystem`] with seed data.
#[derive(Debug)]
pub struct InMemoryBuilder {
    id: SystemId,
    capabilities: Capabilities,
    state: State,
}

impl InMemoryBuilder {
    /// Sets the capabilities (default: [`Capabilities::full`]).
    pub fn capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Adds a user.
    pub fn user(mut self, user: User) -> Self {
        self.state.users.insert(user.id.clone(), user);
        self
    }

    /// Adds users.
    pub fn users(self, users: impl IntoIterator<Item = User>) -> Self {
        users.into_iter().fold(self, Self::user)
    }

    /// Adds a group.
    pub fn group(mut self, group: Group) -> Self {
        self.state.groups.insert(group.id.clone(), group);
        self
    }

    /// Adds groups.
    pub fn groups(self, groups: impl IntoIterator<Item = Group>) -> Self {
        groups.into_iter().fold(self, Self::group)
    }

    /// Adds a profile.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.state.profiles.insert(profile.id.clone(), profile);
        self
    }

    /// Adds profiles.
    pub fn profiles(self, profiles: impl IntoIterator<Item = Profile>) -> Self {
        profiles.into_iter().fold(self, Self::profile)
    }

    /// Adds a membership (seed data is trusted: no checks).
    pub fn membership(mut self, membership: Membership) -> Self {
        self.state.memberships.insert(membership);
        self
    }

    /// Adds memberships.
    pub fn memberships(self, memberships: impl IntoIterator<Item = Membership>) -> Self {
        memberships.into_iter().fold(self, Self::membership)
    }

    /// Adds an assignment (seed data is trusted: no checks); its scope becomes known.
    pub fn assignment(mut self, assignment: Assignment) -> Self {
        register_scope(&mut self.state, &assignment.scope);
        let validity = assignment.validity;
        self.state.assignments.insert(assignment.key(), validity);
        self
    }

    /// Adds assignments.
    pub fn assignments(self, assignments: impl IntoIterator<Item = Assignment>) -> Self {
        assignments.into_iter().fold(self, Self::assignment)
    }

    /// Makes a scope known, so assignments on it are accepted. Scopes of seeded
    /// assignments are known automatically; [`Scope::System`] always is.
    pub fn scope(mut self, scope: &Scope) -> Self {
        register_scope(&mut self.state, scope);
        self
    }

    /// Builds the system.
    pub fn build(self) -> InMemorySystem {
        InMemorySystem {
            id: self.id,
            capabilities: self.capabilities,
            state: Mutex::new(self.state),
        }
    }
}

fn register_scope(state: &mut State, scope: &Scope) {
    match scope {
        Scope::System => {}
        Scope::Tenant { code, .. } => {
            state.tenants.insert(code.clone());
        }
        Scope::Resource { kind, id, .. } => {
            state.resources.insert((kind.clone(), id.clone()));
        }
    }
}

impl InMemorySystem {
    /// Starts building a system with the given id and full capabilities.
    pub fn builder(id: SystemId) -> InMemoryBuilder {
        InMemoryBuilder {
            id,
            capabilities: Capabilities::full(),
            state: State::default(),
        }
    }

    /// Calls served so far.
    pub fn stats(&self) -> CallStats {
        self.lock().stats
    }

    /// Injects failures: after `batches` more write calls (grant, revoke, membership
    /// changes) succeed, every later write call fails all its items with a transport
    /// error, until this is called again. `None` turns injection off.
    pub fn fail_writes_after(&self, batches: Option<usize>) {
        self.lock().writes_before_failure = batches;
    }

    /// Whether answers of `path` are being cut ([`AnswerCutter::cut`]).
    pub fn is_cut(&self, path: WritePath) -> bool {
        self.lock().cut.contains(&path)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters to a test double; recover the state instead of poisoning callers.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn unsupported(&self, feature: Feature) -> Error {
        Error::unsupported(self.id.as_str(), feature)
    }

    /// Consumes one write allowance; `Some(error)` when injected failure applies.
    fn injected_failure(&self, state: &mut State) -> Option<Error> {
        match state.writes_before_failure.as_mut() {
            None => None,
            Some(0) => Some(Error::transport(format!(
                "{}: injected write failure",
                self.id
            ))),
            Some(n) => {
                *n -= 1;
                None
            }
        }
    }

    fn check_assignment(&self, state: &State, a: &Assignment) -> Result<()> {
        if let Some(feature) = self.capabilities.missing_for(a) {
            return Err(self.unsupported(feature));
        }
        match &a.principal {
            Principal::User(id) if !state.users.contains_key(id) => {
                return Err(Error::not_found(Entity::User, id.as_str()));
            }
            Principal::Group(id) if !state.groups.contains_key(id) => {
                return Err(Error::not_found(Entity::Group, id.as_str()));
            }
            _ => {}
        }
        let profile = state
            .profiles
            .get(&a.profile)
            .ok_or_else(|| Error::not_found(Entity::Profile, a.profile.as_str()))?;
        if !profile.accepts(a.scope.kind()) {
            return Err(self.unsupported(Feature::ProfileScope));
        }
        match &a.scope {
            Scope::System => {}
            Scope::Tenant { code, .. } => {
                if !state.tenants.contains(code) {
                    return Err(Error::not_found(Entity::Tenant, code.as_str()));
                }
            }
            Scope::Resource { kind, id, .. } => {
                if !state.resources.contains(&(kind.clone(), id.clone())) {
                    return Err(Error::not_found(Entity::Resource, format!("{kind}:{id}")));
                }
            }
        }
        Ok(())
    }

    fn grant_one(&self, state: &mut State, a: &Assignment) -> Result<Outcome> {
        self.check_assignment(state, a)?;
        let key = a.key();
        if state.assignments.get(&key) == Some(&a.validity) {
            return Ok(Outcome::AlreadyInState);
        }
        if let (Some(max), Principal::User(user)) =
            (self.capabilities.max_assignments_per_user, &a.principal)
        {
            let held = state
                .assignments
                .keys()
                .filter(|k| k.principal == a.principal && **k != key)
                .count();
            if held >= max as usize {
                return Err(Error::Conflict {
                    entity: Entity::User,
                    id: user.to_string(),
                    why: format!("the system allows at most {max} assignment(s) per user"),
                });
            }
        }
        state.assignments.insert(key, a.validity);
        Ok(Outcome::Applied)
    }

    fn revoke_one(&self, state: &mut State, a: &Assignment) -> Result<Outcome> {
        // Revocation matches the key whatever the window, so the window's shape is not
        // checked: a system without windows can still revoke by key.
        let key_only = Assignment {
            validity: Validity::ALWAYS,
            ..a.clone()
        };
        self.check_assignment(state, &key_only)?;
        Ok(match state.assignments.remove(&a.key()) {
            Some(_) => Outcome::Applied,
            None => Outcome::AlreadyInState,
        })
    }

    fn write_batch<T>(
        &self,
        path: WritePath,
        items: &[T],
        count: impl FnOnce(&mut CallStats),
        mut apply: impl FnMut(&Self, &mut State, &T) -> Result<Outcome>,
    ) -> Vec<Outcome> {
        let mut state = self.lock();
        count(&mut state.stats);
        if let Some(error) = self.injected_failure(&mut state) {
            return Outcome::all_failed(items.len(), &error);
        }
        let lost = state.cut.contains(&path);
        let outcomes: Vec<Outcome> = items
            .iter()
            .map(|item| match apply(self, &mut state, item) {
                // The answer is lost: the item's state, read back, settles it (it holds
                // the change exactly when the write made it); a refusal is only known
                // as the lost answer.
                Err(_) if lost => Outcome::Failed(Error::transport(format!(
                    "{}: the answer to this write was lost",
                    self.id
                ))),
                Ok(o) => o,
                Err(e) => Outcome::Failed(e),
            })
            .collect();
        state.stats.items_applied += outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Applied))
            .count();
        outcomes
    }

    fn check_membership(&self, state: &State, m: &Membership) -> Result<()> {
        if !self.capabilities.groups {
            return Err(self.unsupported(Feature::Groups));
        }
        if !self.capabilities.membership_write {
            return Err(self.unsupported(Feature::MembershipWrite));
        }
        if !state.users.contains_key(&m.user) {
            return Err(Error::not_found(Entity::User, m.user.as_str()));
        }
        if !state.groups.contains_key(&m.group) {
            return Err(Error::not_found(Entity::Group, m.group.as_str()));
        }
        Ok(())
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        let mut state = self.lock();
        state.stats.reads += 1;
        f(&state)
    }
}

fn to_assignment(key: &AssignmentKey, validity: &Validity) -> Assignment {
    Assignment {
        principal: key.principal.clone(),
        profile: key.profile.clone(),
        scope: key.scope.clone(),
        validity: *validity,
    }
}

#[async_trait]
impl ProfileCatalog for InMemorySystem {
    async fn list_profiles(&self) -> Result<Vec<Profile>> {
        Ok(self.read(|s| s.profiles.values().cloned().collect()))
    }

    async fn get_profile(&self, id: &ProfileId) -> Result<Profile> {
        self.read(|s| s.profiles.get(id).cloned())
            .ok_or_else(|| Error::not_found(Entity::Profile, id.as_str()))
    }

    async fn create_profile(&self, new: &NewProfile) -> Result<Profile> {
        if !self.capabilities.profile_create {
            return Err(self.unsupported(Feature::ProfileCreate));
        }
        if new.name.trim().is_empty() {
            return Err(Error::invalid("profile name", "must not be empty"));
        }
        let mut state = self.lock();
        if state.profiles.values().any(|p| p.name == new.name) {
            return Err(Error::Conflict {
                entity: Entity::Profile,
                id: new.name.clone(),
                why: "a profile with this name exists".into(),
            });
        }
        state.next_profile += 1;
        let id = ProfileId::new(format!("{}-profile-{}", self.id, state.next_profile))?;
        let mut profile = Profile::new(id.clone(), new.name.clone());
        profile.description = new.description.clone();
        profile.capabilities = new.capabilities.clone();
        if let Some(scope) = &new.scope {
            profile.assignable_to = [scope.kind()].into();
        }
        state.profiles.insert(id, profile.clone());
        Ok(profile)
    }

    async fn delete_profile(&self, id: &ProfileId) -> Result<()> {
        if !self.capabilities.profile_delete {
            return Err(self.unsupported(Feature::ProfileDelete));
        }
        let mut state = self.lock();
        if state.profiles.remove(id).is_none() {
            return Err(Error::not_found(Entity::Profile, id.as_str()));
        }
        // Like the vendors, deleting a profile ends every assignment of it.
        state.assignments.retain(|k, _| &k.profile != id);
        Ok(())
    }
}

#[async_trait]
impl Directory for InMemorySystem {
    async fn list_users(&self) -> Result<Vec<User>> {
        Ok(self.read(|s| s.users.values().cloned().collect()))
    }

    async fn list_groups(&self) -> Result<Vec<Group>> {
        let groups = self.capabilities.groups;
        Ok(self.read(|s| {
            if groups {
                s.groups.values().cloned().collect()
            } else {
                Vec::new()
            }
        }))
    }

    async fn list_memberships(&self) -> Result<Vec<Membership>> {
        let groups = self.capabilities.groups;
        Ok(self.read(|s| {
            if groups {
                s.memberships.iter().cloned().collect()
            } else {
                Vec::new()
            }
        }))
    }

    async fn add_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        self.write_batch(
            WritePath::AddMemberships,
            items,
            |s| s.membership_batches += 1,
            |this, state, m| {
                this.check_membership(state, m)?;
                Ok(if state.memberships.insert(m.clone()) {
                    Outcome::Applied
                } else {
                    Outcome::AlreadyInState
                })
            },
        )
    }

    async fn remove_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        self.write_batch(
            WritePath::RemoveMemberships,
            items,
            |s| s.membership_batches += 1,
            |this, state, m| {
                this.check_membership(state, m)?;
                Ok(if state.memberships.remove(m) {
                    Outcome::Applied
                } else {
                    Outcome::AlreadyInState
                })
            },
        )
    }
}

/// The in-memory system models an adapter that settles a lost answer by reading its
/// state back: while a path is cut, each write still takes effect, an item the write
/// changed or found in place keeps its outcome, and an item it refused fails with a
/// transport error (the refusal itself was in the lost answer).
impl AnswerCutter for InMemorySystem {
    fn cut(&self, path: WritePath) {
        let mut state = self.lock();
        if !state.cut.contains(&path) {
            state.cut.push(path);
        }
    }

    fn restore(&self) {
        self.lock().cut.clear();
    }
}

#[async_trait]
impl AssignmentStore for InMemorySystem {
    async fn list_assignments(&self) -> Result<Vec<Assignment>> {
        Ok(self.read(|s| {
            s.assignments
                .iter()
                .map(|(k, v)| to_assignment(k, v))
                .collect()
        }))
    }

    async fn list_assignments_for(&self, principal: &Principal) -> Result<Vec<Assignment>> {
        self.read(|s| {
            let exists = match principal {
                Principal::User(id) => s.users.contains_key(id),
                Principal::Group(id) => s.groups.contains_key(id),
            };
            if !exists {
                let entity = match principal {
                    Principal::User(_) => Entity::User,
                    Principal::Group(_) => Entity::Group,
                };
                return Err(Error::not_found(entity, principal.id_str()));
            }
            Ok(s.assignments
                .iter()
                .filter(|(k, _)| &k.principal == principal)
                .map(|(k, v)| to_assignment(k, v))
                .collect())
        })
    }

    async fn grant(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.write_batch(
            WritePath::Grant,
            items,
            |s| s.grant_batches += 1,
            Self::grant_one,
        )
    }

    async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.write_batch(
            WritePath::Revoke,
            items,
            |s| s.revoke_batches += 1,
            Self::revoke_one,
        )
    }
}

impl AccessSystem for InMemorySystem {
    fn id(&self) -> &SystemId {
        &self.id
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }
}
