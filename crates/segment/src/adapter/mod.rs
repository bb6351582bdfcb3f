//! [`SegmentSystem`]: the core traits on top of [`SegmentClient`].
//!
//! | core | Segment |
//! |---|---|
//! | `User` | user (id), or pending invite (id = its e-mail, status `Invited`) |
//! | `Group` | user group |
//! | `Profile` | role (opaque: no capabilities) |
//! | `Scope` | `Scope::Resource { kind: WORKSPACE/SOURCE/SPACE/WAREHOUSE/FUNCTION, id, labels }` |
//! | `Validity` | unsupported: a window fails with `Unsupported(ValidityWindows)` |
//! | `Assignment` | one (role, resource) pair of a permission |
//! | `Membership` | group membership, written by e-mail |
//!
//! **Permissions.** Segment stores `{roleId, resources:[…]}` per subject. Each
//! (role, resource) pair becomes one `Assignment`; the resource's labels (plus any
//! permission-level labels of the read model) are part of its scope. A permission
//! with labels but no resources is read as the `WORKSPACE` resource with those labels
//! ("labels are exclusive to Workspace-level permissions"); one with neither yields no
//! assignment but is kept as it is when the subject is rewritten.
//!
//! **Writes.** `grant` and `revoke` read each principal's direct permissions,
//! change only the requested (role, resource, labels) pairs and write the whole list
//! back with the *replace* operation: one read and one write per changed principal
//! per batch, never a write when nothing changes. (If the server refuses the combined
//! list — one unknown resource fails the whole write — the items are written one at a
//! time so that only the bad ones fail.) So a grant never drops the
//! principal's other permissions, never adds a duplicate, and a revoke removes only
//! the exact pair asked for. Writes to one principal are serialized within a
//! `SegmentSystem`. With [`SegmentSystem::reuse_listed_state`] the read is skipped
//! when the principal's permissions were read (by a listing or a write) recently.
//!
//! **Invites.** Pending invites are listed as users with
//! [`UserStatus::Invited`](grantbridge_core::UserStatus::Invited) and
//! can join and leave groups; their permissions cannot be read or changed through the
//! API, so assignments to them fail with [`Error::Conflict`].

mod assignments;
mod convert;
mod memberships;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, StreamExt, TryStreamExt};
use grantbridge_core::coalesce::Coalesced;
use grantbridge_core::engine::TargetIdentity;
use grantbridge_core::{
    AccessSystem, Assignment, AssignmentStore, Capabilities, Directory, Entity, Error, Extra,
    Group, GroupId, Label as CoreLabel, Membership, Outcome, Principal, Profile, ProfileCatalog,
    ProfileId, ResourceId, ResourceKind, Result, Scope, ScopeKind, SystemId, User as CoreUser,
    UserId, async_trait,
};
use tokio::time::Instant;

use self::convert::{Held, core_user, invite_user, is_invite_id};
use crate::client::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SYSTEM, SegmentClient};
use crate::config::SegmentConfig;
use crate::wire::{self, Role};

/// Principals read-modify-written at once by one `grant`/`revoke` call: the
/// transport's default in-flight cap (`RateLimitPolicy::default().max_concurrency`),
/// since a whole plan of up to 1,000 changes is one batch here. With 4, the
/// bench_vendors migration ran at half the throughput the transport allows.
const WRITE_CONCURRENCY: usize = 8;

/// The Segment workspace as an [`AccessSystem`].
pub struct SegmentSystem {
    id: SystemId,
    client: SegmentClient,
    workspace: wire::Workspace,
    page_size: u32,
    reuse_state: Option<Duration>,
    roles: tokio::sync::Mutex<Option<Vec<Role>>>,
    state: Mutex<HashMap<Principal, (Instant, Held)>>,
    locks: Mutex<HashMap<Principal, Arc<tokio::sync::Mutex<()>>>>,
    /// The users pages (with permissions) and the groups pages, shared by the lists
    /// of one snapshot, which read them concurrently: without it a snapshot reads
    /// users twice and groups three times.
    users_read: Coalesced<Vec<wire::User>>,
    groups_read: Coalesced<Vec<wire::UserGroup>>,
}

impl std::fmt::Debug for SegmentSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentSystem")
            .field("id", &self.id)
            .field("workspace", &self.workspace.id)
            .field("page_size", &self.page_size)
            .field("reuse_state", &self.reuse_state)
            .finish_non_exhaustive()
    }
}

impl SegmentSystem {
    /// Connects: builds the client and reads the token's workspace (which also checks
    /// the token).
    pub async fn connect(config: SegmentConfig) -> Result<Self> {
        let client = SegmentClient::new(&config)?;
        Self::from_client(client).await
    }

    /// Wraps an existing client, reading its workspace.
    pub async fn from_client(client: SegmentClient) -> Result<Self> {
        let workspace = client.get_workspace().await?;
        Ok(SegmentSystem {
            id: SystemId::new(SYSTEM)?,
            client,
            workspace,
            page_size: DEFAULT_PAGE_SIZE,
            reuse_state: None,
            roles: tokio::sync::Mutex::new(None),
            state: Mutex::new(HashMap::new()),
            locks: Mutex::new(HashMap::new()),
            users_read: Coalesced::new(),
            groups_read: Coalesced::new(),
        })
    }

    /// Names the system (default `segment`), e.g. `segment-prod`.
    pub fn with_id(mut self, id: SystemId) -> Self {
        self.id = id;
        self
    }

    /// Items per page of every list call (1..=1000, default 200).
    pub fn page_size(mut self, count: u32) -> Self {
        self.page_size = count.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// Lets `grant`/`revoke` reuse a principal's permissions read by a listing or
    /// written by this system less than `max_age` ago instead of re-reading them.
    ///
    /// It saves one read per principal in a snapshot-then-apply run; the price is that
    /// a change someone else made to that principal in between is overwritten. Off by
    /// default.
    pub fn reuse_listed_state(mut self, max_age: Duration) -> Self {
        self.reuse_state = Some(max_age);
        self
    }

    /// The underlying client (for its counters, or for operations the traits lack).
    pub fn client(&self) -> &SegmentClient {
        &self.client
    }

    /// The token's workspace.
    pub fn workspace(&self) -> &wire::Workspace {
        &self.workspace
    }

    /// The `WORKSPACE` scope of this workspace, optionally narrowed by labels.
    pub fn workspace_scope(&self, labels: impl IntoIterator<Item = CoreLabel>) -> Result<Scope> {
        Ok(Scope::Resource {
            kind: ResourceKind::new("WORKSPACE")?,
            id: ResourceId::new(self.workspace.id.as_str())?,
            labels: labels.into_iter().collect(),
        })
    }

    async fn roles(&self, refresh: bool) -> Result<Vec<Role>> {
        let mut cached = self.roles.lock().await;
        if let (Some(roles), false) = (cached.as_ref(), refresh) {
            return Ok(roles.clone());
        }
        let roles: Vec<Role> = self
            .client
            .stream_roles(self.page_size)
            .try_collect()
            .await?;
        *cached = Some(roles.clone());
        Ok(roles)
    }

    /// Every user (with permissions), read once for overlapping callers.
    async fn all_users(&self) -> Result<Arc<Vec<wire::User>>> {
        let users = self.client.stream_users(self.page_size).try_collect();
        self.users_read.get(users).await
    }

    /// Every user group (with permissions), read once for overlapping callers.
    async fn all_groups(&self) -> Result<Arc<Vec<wire::UserGroup>>> {
        let groups = self.client.stream_user_groups(self.page_size).try_collect();
        self.groups_read.get(groups).await
    }

    /// Forgets the shared users and groups reads after (or while) writing: reads in
    /// flight may predate the write, so later callers must not join them.
    fn forget_cached_reads(&self) {
        self.users_read.invalidate();
        self.groups_read.invalidate();
    }

    fn remember(&self, principal: &Principal, held: &Held) {
        if self.reuse_state.is_none() {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.insert(principal.clone(), (Instant::now(), held.clone()));
    }

    fn recalled(&self, principal: &Principal) -> Option<Held> {
        let max_age = self.reuse_state?;
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (at, held) = state.get(principal)?;
        (at.elapsed() <= max_age).then(|| held.clone())
    }

    fn forget(&self, principal: &Principal) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.remove(principal);
    }

    fn lock_for(&self, principal: &Principal) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(principal.clone()).or_default().clone()
    }

    /// A pending invite named by `id`: `Conflict` (its permissions are out of the
    /// API's reach) if it exists, else `NotFound`.
    async fn invite_error(&self, id: &UserId) -> Error {
        let wanted = id.as_str().to_ascii_lowercase();
        let found = self
            .client
            .stream_invites(self.page_size)
            .try_filter(|e| futures::future::ready(e.to_ascii_lowercase() == wanted))
            .try_next()
            .await;
        match found {
            Ok(Some(_)) => Error::Conflict {
                entity: Entity::User,
                id: id.to_string(),
                why: "a pending invite: Segment cannot read or change an invite's permissions"
                    .to_owned(),
            },
            Ok(None) => Error::not_found(Entity::User, id.as_str()),
            Err(e) => e,
        }
    }
}

#[async_trait]
impl ProfileCatalog for SegmentSystem {
    async fn list_profiles(&self) -> Result<Vec<Profile>> {
        self.roles(true)
            .await?
            .iter()
            .map(|r| {
                let mut p = Profile::new(ProfileId::new(r.id.as_str())?, r.name.clone())
                    .assignable_to([ScopeKind::Resource]);
                if !r.description.is_empty() {
                    p.description = Some(r.description.clone());
                }
                Ok(p)
            })
            .collect()
    }

    async fn get_profile(&self, id: &ProfileId) -> Result<Profile> {
        // There is no "get role" operation: look it up in the (cached) role list.
        let roles = self.roles(false).await?;
        let role = roles
            .iter()
            .find(|r| r.id == id.as_str())
            .ok_or_else(|| Error::not_found(Entity::Profile, id.as_str()))?;
        let mut p =
            Profile::new(id.clone(), role.name.clone()).assignable_to([ScopeKind::Resource]);
        if !role.description.is_empty() {
            p.description = Some(role.description.clone());
        }
        Ok(p)
    }
}

#[async_trait]
impl Directory for SegmentSystem {
    async fn list_users(&self) -> Result<Vec<CoreUser>> {
        let mut users: Vec<CoreUser> = self
            .all_users()
            .await?
            .iter()
            .map(core_user)
            .collect::<Result<_>>()?;
        let invites: Vec<String> = self
            .client
            .stream_invites(self.page_size)
            .try_collect()
            .await?;
        for email in invites {
            users.push(invite_user(&email)?);
        }
        Ok(users)
    }

    async fn list_groups(&self) -> Result<Vec<Group>> {
        self.all_groups()
            .await?
            .iter()
            .map(|g| {
                let mut group = Group::new(GroupId::new(g.id.as_str())?, g.name.clone());
                group.extra = Extra::from([(
                    "memberCount".to_owned(),
                    serde_json::Value::from(g.member_count),
                )]);
                Ok(group)
            })
            .collect()
    }

    async fn list_memberships(&self) -> Result<Vec<Membership>> {
        let groups = self.all_groups().await?;
        let per_group: Vec<Result<Vec<Membership>>> = stream::iter(groups.iter().cloned())
            .map(|g| async move {
                let gid = GroupId::new(g.id.as_str())?;
                let mut out = Vec::new();
                let users: Vec<wire::MinimalUser> = self
                    .client
                    .stream_users_from_user_group(&g.id, self.page_size)
                    .try_collect()
                    .await?;
                for u in users {
                    out.push(Membership::new(UserId::new(u.id)?, gid.clone()));
                }
                let invites: Vec<String> = self
                    .client
                    .stream_invites_from_user_group(&g.id, self.page_size)
                    .try_collect()
                    .await?;
                for e in invites {
                    out.push(Membership::new(UserId::new(e)?, gid.clone()));
                }
                Ok(out)
            })
            .buffered(WRITE_CONCURRENCY)
            .collect()
            .await;
        let mut all = Vec::new();
        for r in per_group {
            all.extend(r?);
        }
        Ok(all)
    }

    async fn add_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        let outcomes = self.change_memberships(items, true).await;
        // Reads begun during the write may miss part of it.
        self.forget_cached_reads();
        outcomes
    }

    async fn remove_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        let outcomes = self.change_memberships(items, false).await;
        // Reads begun during the write may miss part of it.
        self.forget_cached_reads();
        outcomes
    }
}

#[async_trait]
impl AssignmentStore for SegmentSystem {
    async fn list_assignments(&self) -> Result<Vec<Assignment>> {
        let (users, groups) = futures::try_join!(self.all_users(), self.all_groups())?;
        let mut out = Vec::new();
        for u in users.iter() {
            let principal = Principal::User(UserId::new(u.id.as_str())?);
            let held = Held::from_permissions(
                u.permissions.as_deref().unwrap_or_default(),
                &self.workspace.id,
            );
            out.extend(self.assignments_of(&principal, &held)?);
            self.remember(&principal, &held);
        }
        for g in groups.iter() {
            let principal = Principal::Group(GroupId::new(g.id.as_str())?);
            let held = Held::from_permissions(
                g.permissions.as_deref().unwrap_or_default(),
                &self.workspace.id,
            );
            out.extend(self.assignments_of(&principal, &held)?);
            self.remember(&principal, &held);
        }
        Ok(out)
    }

    async fn list_assignments_for(&self, principal: &Principal) -> Result<Vec<Assignment>> {
        if let Principal::User(id) = principal
            && is_invite_id(id)
        {
            // An invite's permissions are not readable: report none if it exists.
            return match self.invite_error(id).await {
                Error::Conflict { .. } => Ok(Vec::new()),
                e => Err(e),
            };
        }
        let held = self.read_held(principal).await?;
        self.assignments_of(principal, &held)
    }

    async fn grant(&self, items: &[Assignment]) -> Vec<Outcome> {
        let outcomes = self.change(items, true).await;
        // Reads begun during the write may miss part of it.
        self.forget_cached_reads();
        outcomes
    }

    async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome> {
        let outcomes = self.change(items, false).await;
        // Reads begun during the write may miss part of it.
        self.forget_cached_reads();
        outcomes
    }
}

impl AccessSystem for SegmentSystem {
    fn id(&self) -> &SystemId {
        &self.id
    }

    /// The API host and the workspace the token belongs to.
    fn identity(&self) -> TargetIdentity {
        TargetIdentity::new(self.id.clone())
            .with_host_of(self.client.http().base_url().as_str())
            .with_tenant(self.workspace.id.clone())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::minimal()
            .with_validity_windows(false)
            .with_system_scope(false)
            .with_tenant_scopes(false)
            .with_resource_scopes(true)
            .with_user_principals(true)
            .with_group_principals(true)
            .with_groups(true)
            .with_membership_write(true)
            .with_profile_create(false)
            .with_profile_delete(false)
            .with_max_assignments_per_user(None)
            .with_max_batch(1000)
            .with_page_size(Some(self.page_size as usize))
    }
}
