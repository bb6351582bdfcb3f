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
//! **Invites.** Pending invites are listed as users with [`UserStatus::Invited`] and
//! can join and leave groups; their permissions cannot be read or changed through the
//! API, so assignments to them fail with [`Error::Conflict`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, StreamExt, TryStreamExt};
use grantbridge_core::coalesce::Coalesced;
use grantbridge_core::{
    AccessSystem, Assignment, AssignmentStore, Capabilities, Directory, Email, Entity, Error,
    Extra, Group, GroupId, Label as CoreLabel, Membership, Outcome, Principal, Profile,
    ProfileCatalog, ProfileId, ResourceId, ResourceKind, Result, Scope, ScopeKind, SystemId,
    User as CoreUser, UserId, UserStatus, async_trait,
};
use tokio::time::Instant;

use crate::client::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SYSTEM, SegmentClient, SegmentConfig};
use crate::wire::{self, Permission, PermissionInput, PermissionResource, ResourceType, Role};

/// Principals read-modify-written at once by one `grant`/`revoke` call: the
/// transport's default in-flight cap (`RateLimitPolicy::default().max_concurrency`),
/// since a whole plan of up to 1,000 changes is one batch here. With 4, the
/// bench_vendors migration ran at half the throughput the transport allows.
const WRITE_CONCURRENCY: usize = 8;

/// One (role, resource, labels) pair: the unit core assigns.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Atom {
    role: String,
    kind: ResourceType,
    id: String,
    labels: BTreeSet<(String, String)>,
}

/// A principal's direct permissions, as atoms plus the roles held with no resource
/// at all (kept verbatim on rewrite).
#[derive(Clone, Debug, Default, PartialEq)]
struct Held {
    atoms: Vec<Atom>,
    bare_roles: Vec<String>,
}

impl Held {
    fn from_permissions(perms: &[Permission], workspace_id: &str) -> Held {
        let mut held = Held::default();
        for p in perms {
            let extra: BTreeSet<(String, String)> = p
                .labels
                .iter()
                .map(|l| (l.key.clone(), l.value.clone()))
                .collect();
            if p.resources.is_empty() {
                if extra.is_empty() {
                    held.bare_roles.push(p.role_id.clone());
                } else {
                    held.push(Atom {
                        role: p.role_id.clone(),
                        kind: ResourceType::Workspace,
                        id: workspace_id.to_owned(),
                        labels: extra,
                    });
                }
                continue;
            }
            for r in &p.resources {
                let mut labels = extra.clone();
                labels.extend(r.labels.iter().map(|l| (l.key.clone(), l.value.clone())));
                held.push(Atom {
                    role: p.role_id.clone(),
                    kind: r.kind.clone(),
                    id: r.id.clone(),
                    labels,
                });
            }
        }
        held
    }

    /// Adds an atom unless held (duplicates already on the server collapse on the next
    /// write).
    fn push(&mut self, atom: Atom) -> bool {
        if self.atoms.contains(&atom) {
            return false;
        }
        self.atoms.push(atom);
        true
    }

    fn remove(&mut self, atom: &Atom) -> bool {
        let before = self.atoms.len();
        self.atoms.retain(|a| a != atom);
        before != self.atoms.len()
    }

    /// The replace body: atoms grouped by role in order of first appearance.
    fn to_inputs(&self) -> Vec<PermissionInput> {
        let mut out: Vec<PermissionInput> = Vec::new();
        for atom in &self.atoms {
            let resource = PermissionResource {
                id: atom.id.clone(),
                kind: atom.kind.clone(),
                labels: atom
                    .labels
                    .iter()
                    .map(|(k, v)| wire::Label::new(k, v))
                    .collect(),
            };
            match out.iter_mut().find(|p| p.role_id == atom.role) {
                Some(p) => p.resources.push(resource),
                None => out.push(PermissionInput {
                    role_id: atom.role.clone(),
                    resources: vec![resource],
                }),
            }
        }
        for role in &self.bare_roles {
            out.push(PermissionInput {
                role_id: role.clone(),
                resources: Vec::new(),
            });
        }
        out
    }
}

/// The pair an assignment names. A grant must name one of the documented resource
/// kinds; a revoke may name any kind, since listings carry kinds this crate does not
/// know and whatever was listed must be revocable.
fn atom_of(a: &Assignment, grant: bool) -> Result<Atom> {
    let Scope::Resource { kind, id, labels } = &a.scope else {
        return Err(Error::unsupported(
            SYSTEM,
            match a.scope.kind() {
                ScopeKind::System => grantbridge_core::Feature::SystemScope,
                _ => grantbridge_core::Feature::TenantScopes,
            },
        ));
    };
    let kind_wire = ResourceType::parse(kind.as_str());
    if grant && !kind_wire.is_known() {
        return Err(Error::invalid(
            format!("resource kind {kind}"),
            "Segment permissions apply to FUNCTION, SOURCE, SPACE, WAREHOUSE or WORKSPACE",
        ));
    }
    Ok(Atom {
        role: a.profile.as_str().to_owned(),
        kind: kind_wire,
        id: id.as_str().to_owned(),
        labels: labels
            .iter()
            .map(|l| (l.key.clone(), l.value.clone()))
            .collect(),
    })
}

fn assignment_of(principal: &Principal, atom: &Atom) -> Result<Assignment> {
    Ok(Assignment::new(
        principal.clone(),
        ProfileId::new(atom.role.as_str())?,
        Scope::Resource {
            kind: ResourceKind::new(atom.kind.as_str())?,
            id: ResourceId::new(atom.id.as_str())?,
            labels: atom
                .labels
                .iter()
                .map(|(k, v)| CoreLabel::new(k, v))
                .collect(),
        },
    ))
}

/// Whether a failed write may nevertheless have taken effect.
fn outcome_unknown(e: &Error) -> bool {
    match e {
        Error::Transport { .. } | Error::Decode { .. } => true,
        Error::Vendor { status, .. } => matches!(status, 500 | 502 | 504),
        _ => false,
    }
}

/// A repeat of a pair changed earlier in the same batch shares that item's fate: it
/// is `AlreadyInState` only if the change went through, else the same failure.
fn settle_repeats(results: &mut [(usize, Outcome)], repeats: &[(usize, usize)]) {
    for (repeat, first) in repeats {
        let failed = results
            .iter()
            .find(|(j, _)| j == first)
            .and_then(|(_, o)| match o {
                Outcome::Failed(e) => Some(e.clone()),
                _ => None,
            });
        if let (Some(e), Some(slot)) = (failed, results.iter_mut().find(|(j, _)| j == repeat)) {
            slot.1 = Outcome::Failed(e);
        }
    }
}

/// Pending invites carry their e-mail as id; Segment user ids never hold `@`.
fn is_invite_id(id: &UserId) -> bool {
    id.as_str().contains('@')
}

fn core_user(u: &wire::User) -> Result<CoreUser> {
    let mut user = CoreUser::new(UserId::new(u.id.as_str())?);
    if !u.name.is_empty() {
        user = user.with_name(u.name.clone());
    }
    match Email::new(u.email.as_str()) {
        Ok(e) => user = user.with_email(e),
        // Kept rather than lost: the address is still useful to a reader.
        Err(_) => {
            user.extra
                .insert("email".to_owned(), serde_json::Value::from(u.email.clone()));
        }
    }
    Ok(user)
}

fn invite_user(email: &str) -> Result<CoreUser> {
    let mut user = CoreUser::new(UserId::new(email)?).with_status(UserStatus::Invited);
    if let Ok(e) = Email::new(email) {
        user = user.with_email(e);
    }
    user.extra
        .insert("invite".to_owned(), serde_json::Value::Bool(true));
    Ok(user)
}

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

    /// A write is under way: reads in flight may predate it, so later callers must
    /// not join them.
    fn writing(&self) {
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

    /// The principal's direct permissions, fresh from the server.
    async fn read_held(&self, principal: &Principal) -> Result<Held> {
        let perms = match principal {
            Principal::User(id) => match self.client.get_user(id.as_str()).await {
                Ok(u) => u.permissions.unwrap_or_default(),
                Err(e) if e.kind() == grantbridge_core::ErrorKind::NotFound && is_invite_id(id) => {
                    return Err(self.invite_error(id).await);
                }
                Err(e) => return Err(e),
            },
            Principal::Group(id) => self
                .client
                .get_user_group(id.as_str())
                .await?
                .permissions
                .unwrap_or_default(),
        };
        let held = Held::from_permissions(&perms, &self.workspace.id);
        self.remember(principal, &held);
        Ok(held)
    }

    async fn write_held(&self, principal: &Principal, held: &Held) -> Result<()> {
        let inputs = held.to_inputs();
        let result = match principal {
            Principal::User(id) => {
                self.client
                    .replace_permissions_for_user(id.as_str(), &inputs)
                    .await
            }
            Principal::Group(id) => {
                self.client
                    .replace_permissions_for_user_group(id.as_str(), &inputs)
                    .await
            }
        };
        match result {
            Ok(_) => {
                self.remember(principal, held);
                Ok(())
            }
            Err(e) => {
                // The outcome may be unknown (a timeout): never reuse a guess.
                self.forget(principal);
                Err(e)
            }
        }
    }

    /// Validates a batch and groups its items by principal, in first-seen order.
    async fn plan_batch(
        &self,
        items: &[Assignment],
        grant: bool,
        outcomes: &mut [Option<Outcome>],
    ) -> Vec<(Principal, Vec<(usize, Atom)>)> {
        let caps = self.capabilities();
        let roles = match self.roles(false).await {
            Ok(roles) => roles,
            Err(e) => {
                for o in outcomes.iter_mut() {
                    *o = Some(Outcome::Failed(e.clone()));
                }
                return Vec::new();
            }
        };
        let role_ids: HashSet<&str> = roles.iter().map(|r| r.id.as_str()).collect();
        let mut groups: Vec<(Principal, Vec<(usize, Atom)>)> = Vec::new();
        for (i, a) in items.iter().enumerate() {
            if let Some(feature) = caps.missing_for(a) {
                outcomes[i] = Some(Outcome::Failed(Error::unsupported(SYSTEM, feature)));
                continue;
            }
            let atom = match atom_of(a, grant) {
                Ok(atom) => atom,
                Err(e) => {
                    outcomes[i] = Some(Outcome::Failed(e));
                    continue;
                }
            };
            if !role_ids.contains(atom.role.as_str()) {
                outcomes[i] = Some(Outcome::Failed(Error::not_found(
                    Entity::Profile,
                    a.profile.as_str(),
                )));
                continue;
            }
            match groups.iter_mut().find(|(p, _)| p == &a.principal) {
                Some((_, list)) => list.push((i, atom)),
                None => groups.push((a.principal.clone(), vec![(i, atom)])),
            }
        }
        groups
    }

    /// Read-modify-write of one principal; returns (index, outcome) per item.
    async fn change_one(
        &self,
        principal: Principal,
        entries: Vec<(usize, Atom)>,
        grant: bool,
    ) -> Vec<(usize, Outcome)> {
        let lock = self.lock_for(&principal);
        let _guard = lock.lock().await;
        let held = match self.recalled(&principal) {
            Some(h) => Ok(h),
            None => self.read_held(&principal).await,
        };
        let mut held = match held {
            Ok(h) => h,
            Err(e) => {
                return entries
                    .into_iter()
                    .map(|(i, _)| (i, Outcome::Failed(e.clone())))
                    .collect();
            }
        };
        let original = held.clone();
        let apply = |held: &mut Held, atom: &Atom| {
            if grant {
                held.push(atom.clone())
            } else {
                held.remove(atom)
            }
        };
        let mut results = Vec::with_capacity(entries.len());
        let mut changed: Vec<(usize, Atom)> = Vec::new();
        // (repeat, first): a pair asked twice in one batch, changed by its first item.
        let mut repeats: Vec<(usize, usize)> = Vec::new();
        for (i, atom) in entries {
            if apply(&mut held, &atom) {
                results.push((i, Outcome::Applied));
                changed.push((i, atom));
            } else {
                if let Some((first, _)) = changed.iter().find(|(_, a)| *a == atom) {
                    repeats.push((i, *first));
                }
                results.push((i, Outcome::AlreadyInState));
            }
        }
        if changed.is_empty() {
            return results;
        }
        let Err(e) = self.write_held(&principal, &held).await else {
            return results;
        };
        let refused = matches!(
            e,
            Error::Vendor {
                status: 400 | 404 | 422,
                ..
            }
        );
        if !refused || changed.len() == 1 {
            // The answer was lost or garbled (a cut body, a reset after sending, a
            // 500/502/504): the write may have happened. Read what the server holds
            // rather than report a grant in effect as failed.
            let now = if outcome_unknown(&e) {
                self.read_held(&principal).await.ok()
            } else {
                None
            };
            for (i, o) in &mut results {
                if !matches!(o, Outcome::Applied) {
                    continue;
                }
                let done = now.as_ref().is_some_and(|now| {
                    changed
                        .iter()
                        .find(|(j, _)| j == i)
                        .is_some_and(|(_, atom)| now.atoms.contains(atom) == grant)
                });
                if !done {
                    *o = Outcome::Failed(e.clone());
                }
            }
            settle_repeats(&mut results, &repeats);
            return results;
        }
        // The server refused the whole list (one bad resource fails the write):
        // apply the items one at a time so only the bad ones fail. The refused write
        // changed nothing, so start again from what was read.
        let mut current = original;
        for (i, atom) in changed {
            let mut next = current.clone();
            apply(&mut next, &atom);
            let outcome = match self.write_held(&principal, &next).await {
                Ok(()) => {
                    current = next;
                    Outcome::Applied
                }
                Err(e) => Outcome::Failed(e),
            };
            if let Some(slot) = results.iter_mut().find(|(j, _)| *j == i) {
                slot.1 = outcome;
            }
        }
        settle_repeats(&mut results, &repeats);
        results
    }

    async fn change(&self, items: &[Assignment], grant: bool) -> Vec<Outcome> {
        self.writing();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; items.len()];
        let groups = self.plan_batch(items, grant, &mut outcomes).await;
        let results: Vec<Vec<(usize, Outcome)>> = stream::iter(groups)
            .map(|(principal, entries)| self.change_one(principal, entries, grant))
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await;
        for (i, o) in results.into_iter().flatten() {
            outcomes[i] = Some(o);
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Outcome::Failed(Error::invalid("batch item", "was not processed"))
                })
            })
            .collect()
    }

    fn assignments_of(&self, principal: &Principal, held: &Held) -> Result<Vec<Assignment>> {
        held.atoms
            .iter()
            .map(|atom| assignment_of(principal, atom))
            .collect()
    }

    /// E-mails of the given users: invites are their own id (if pending); users are
    /// read once each.
    async fn emails_of(&self, users: &[UserId]) -> HashMap<UserId, Result<String>> {
        let distinct: Vec<UserId> = users
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // An address that is no pending invite is an unknown user (`NotFound`), not a
        // vendor refusal on add nor a silent no-op on remove.
        let invites: Option<Result<HashSet<String>>> = if distinct.iter().any(is_invite_id) {
            Some(
                self.client
                    .stream_invites(self.page_size)
                    .map_ok(|e| e.to_ascii_lowercase())
                    .try_collect()
                    .await,
            )
        } else {
            None
        };
        let invites = &invites;
        stream::iter(distinct)
            .map(|id: UserId| async move {
                let email = if is_invite_id(&id) {
                    match invites {
                        Some(Err(e)) => Err(e.clone()),
                        Some(Ok(pending))
                            if pending.contains(&id.as_str().to_ascii_lowercase()) =>
                        {
                            Ok(id.as_str().to_owned())
                        }
                        _ => Err(Error::not_found(Entity::User, id.as_str())),
                    }
                } else {
                    self.client.get_user(id.as_str()).await.map(|u| u.email)
                };
                (id, email)
            })
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await
    }

    /// Members (users and invites) of a group, as lowercase e-mails.
    async fn member_emails(&self, group: &GroupId) -> Result<HashSet<String>> {
        let users: Vec<wire::MinimalUser> = self
            .client
            .stream_users_from_user_group(group.as_str(), self.page_size)
            .try_collect()
            .await?;
        let invites: Vec<String> = self
            .client
            .stream_invites_from_user_group(group.as_str(), self.page_size)
            .try_collect()
            .await?;
        Ok(users
            .into_iter()
            .map(|u| u.email)
            .chain(invites)
            .map(|e| e.to_ascii_lowercase())
            .collect())
    }

    async fn write_members(&self, group: &GroupId, emails: &[String], add: bool) -> Result<()> {
        if add {
            self.client
                .add_users_to_user_group(group.as_str(), emails)
                .await
                .map(|_| ())
        } else {
            self.client
                .remove_users_from_user_group(group.as_str(), emails)
                .await
                .map(|_| ())
        }
    }

    async fn change_memberships(&self, items: &[Membership], add: bool) -> Vec<Outcome> {
        self.writing();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; items.len()];
        let users: Vec<UserId> = items.iter().map(|m| m.user.clone()).collect();
        let emails = self.emails_of(&users).await;
        let mut by_group: Vec<(GroupId, Vec<(usize, String)>)> = Vec::new();
        for (i, m) in items.iter().enumerate() {
            let email = match emails.get(&m.user) {
                Some(Ok(e)) => e.clone(),
                Some(Err(e)) => {
                    outcomes[i] = Some(Outcome::Failed(e.clone()));
                    continue;
                }
                None => {
                    outcomes[i] = Some(Outcome::Failed(Error::not_found(
                        Entity::User,
                        m.user.as_str(),
                    )));
                    continue;
                }
            };
            match by_group.iter_mut().find(|(g, _)| g == &m.group) {
                Some((_, list)) => list.push((i, email)),
                None => by_group.push((m.group.clone(), vec![(i, email)])),
            }
        }
        let mut repeats: Vec<(usize, usize)> = Vec::new();
        for (group, entries) in by_group {
            let members = match self.member_emails(&group).await {
                Ok(m) => m,
                Err(e) => {
                    for (i, _) in entries {
                        outcomes[i] = Some(Outcome::Failed(e.clone()));
                    }
                    continue;
                }
            };
            let mut send: Vec<String> = Vec::new();
            let mut sent_lower: HashMap<String, usize> = HashMap::new();
            let mut pending: Vec<usize> = Vec::new();
            for (i, email) in entries {
                let lower = email.to_ascii_lowercase();
                let is_member = members.contains(&lower);
                if is_member != add && !sent_lower.contains_key(&lower) {
                    sent_lower.insert(lower, i);
                    send.push(email);
                    pending.push(i);
                } else if is_member != add {
                    // The same person twice in one batch: the first one does the work
                    // (and a failure of it is this item's too, settled below).
                    outcomes[i] = Some(Outcome::AlreadyInState);
                    if let Some(first) = sent_lower.get(&lower) {
                        repeats.push((i, *first));
                    }
                } else {
                    outcomes[i] = Some(Outcome::AlreadyInState);
                }
            }
            if send.is_empty() {
                continue;
            }
            let result = self.write_members(&group, &send, add).await;
            let refused = matches!(
                result,
                Err(Error::Vendor {
                    status: 400 | 422,
                    ..
                })
            );
            if refused && send.len() > 1 {
                // One unknown address fails the whole call: retry one by one so only
                // the bad ones fail.
                for (i, email) in pending.into_iter().zip(send) {
                    let one = self
                        .write_members(&group, std::slice::from_ref(&email), add)
                        .await;
                    outcomes[i] = Some(match one {
                        Ok(()) => Outcome::Applied,
                        Err(e) => Outcome::Failed(e),
                    });
                }
                continue;
            }
            // The answer was lost or garbled: the write may have happened. Read the
            // members back rather than report a membership in effect as failed.
            let now = match &result {
                Err(e) if outcome_unknown(e) => self.member_emails(&group).await.ok(),
                _ => None,
            };
            for (i, email) in pending.into_iter().zip(&send) {
                let done = now
                    .as_ref()
                    .is_some_and(|now| now.contains(&email.to_ascii_lowercase()) == add);
                outcomes[i] = Some(match &result {
                    Ok(()) => Outcome::Applied,
                    Err(_) if done => Outcome::Applied,
                    Err(e) => Outcome::Failed(e.clone()),
                });
            }
        }
        for (repeat, first) in repeats {
            if let Some(Outcome::Failed(e)) = &outcomes[first] {
                outcomes[repeat] = Some(Outcome::Failed(e.clone()));
            }
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Outcome::Failed(Error::invalid("batch item", "was not processed"))
                })
            })
            .collect()
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
        self.writing();
        outcomes
    }

    async fn remove_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        let outcomes = self.change_memberships(items, false).await;
        // Reads begun during the write may miss part of it.
        self.writing();
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
        self.writing();
        outcomes
    }

    async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome> {
        let outcomes = self.change(items, false).await;
        // Reads begun during the write may miss part of it.
        self.writing();
        outcomes
    }
}

impl AccessSystem for SegmentSystem {
    fn id(&self) -> &SystemId {
        &self.id
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            validity_windows: false,
            system_scope: false,
            tenant_scopes: false,
            resource_scopes: true,
            user_principals: true,
            group_principals: true,
            groups: true,
            membership_write: true,
            profile_create: false,
            profile_delete: false,
            max_assignments_per_user: None,
            max_batch: 1000,
            page_size: Some(self.page_size as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Spec<'a> = (ResourceType, &'a str, &'a [(&'a str, &'a str)]);

    fn perm(role: &str, resources: &[Spec<'_>]) -> Permission {
        Permission {
            role_name: String::new(),
            role_id: role.into(),
            resources: resources
                .iter()
                .map(|(k, id, labels)| PermissionResource {
                    id: (*id).into(),
                    kind: k.clone(),
                    labels: labels
                        .iter()
                        .map(|(k, v)| wire::Label::new(*k, *v))
                        .collect(),
                })
                .collect(),
            labels: Vec::new(),
        }
    }

    #[test]
    fn held_round_trips_and_never_duplicates() {
        let perms = vec![
            perm("R", &[(ResourceType::Source, "T", &[])]),
            perm("Q", &[(ResourceType::Workspace, "W", &[("env", "prod")])]),
            perm("R", &[(ResourceType::Source, "T", &[])]),
            perm("Z", &[]),
        ];
        let mut held = Held::from_permissions(&perms, "W");
        assert_eq!(held.atoms.len(), 2, "the duplicate collapsed");
        assert_eq!(held.bare_roles, ["Z"]);
        let s = Atom {
            role: "R".into(),
            kind: ResourceType::Source,
            id: "S".into(),
            labels: BTreeSet::new(),
        };
        assert!(held.push(s.clone()));
        assert!(!held.push(s.clone()));
        let inputs = held.to_inputs();
        let json = serde_json::to_string(&inputs).expect("ser");
        assert_eq!(
            json,
            r#"[{"roleId":"R","resources":[{"id":"T","type":"SOURCE"},{"id":"S","type":"SOURCE"}]},{"roleId":"Q","resources":[{"id":"W","type":"WORKSPACE","labels":[{"key":"env","value":"prod"}]}]},{"roleId":"Z","resources":[]}]"#
        );
        assert!(held.remove(&s));
        // A label set is part of the identity: removing the unlabelled workspace pair
        // leaves the labelled one.
        let unlabelled = Atom {
            role: "Q".into(),
            kind: ResourceType::Workspace,
            id: "W".into(),
            labels: BTreeSet::new(),
        };
        assert!(!held.remove(&unlabelled));
        assert_eq!(held.atoms.len(), 2);
    }

    fn arb_atom() -> impl proptest::strategy::Strategy<Value = Atom> {
        use proptest::prelude::*;
        let kinds = prop_oneof![
            Just(ResourceType::Workspace),
            Just(ResourceType::Source),
            Just(ResourceType::Space),
        ];
        (
            "[RQZ]",
            kinds,
            "[ST]",
            proptest::collection::btree_set(("[ab]", "[xy]"), 0..3),
        )
            .prop_map(|(role, kind, id, labels)| Atom {
                role,
                kind,
                id,
                labels,
            })
    }

    fn reread(held: &Held) -> Held {
        let perms: Vec<Permission> = held
            .to_inputs()
            .into_iter()
            .map(|p| Permission {
                role_name: String::new(),
                role_id: p.role_id,
                resources: p.resources,
                labels: Vec::new(),
            })
            .collect();
        Held::from_permissions(&perms, "W")
    }

    proptest::proptest! {
        /// Writing a principal's permissions and reading them back gives the same
        /// pairs; a grant then a revoke of one pair touches no other pair.
        #[test]
        fn writes_read_back_and_changes_stay_local(
            atoms in proptest::collection::vec(arb_atom(), 0..12),
            extra in arb_atom(),
        ) {
            let mut held = Held::default();
            for a in atoms {
                held.push(a);
            }
            let back = reread(&held);
            let set = |h: &Held| h.atoms.iter().cloned().collect::<BTreeSet<_>>();
            proptest::prop_assert_eq!(set(&back), set(&held));
            proptest::prop_assert_eq!(back.atoms.len(), held.atoms.len(), "no duplicates");
            let had = held.atoms.contains(&extra);
            let mut changed = back.clone();
            proptest::prop_assert_eq!(changed.push(extra.clone()), !had);
            let after_grant = reread(&changed);
            let mut others = set(&after_grant);
            others.remove(&extra);
            let mut before_others = set(&held);
            before_others.remove(&extra);
            proptest::prop_assert_eq!(&others, &before_others);
            let mut revoked = after_grant.clone();
            proptest::prop_assert!(revoked.remove(&extra));
            let mut expected = set(&held);
            expected.remove(&extra);
            proptest::prop_assert_eq!(set(&reread(&revoked)), expected);
        }
    }

    #[test]
    fn label_only_permissions_read_as_the_workspace() {
        let p = Permission {
            role_name: String::new(),
            role_id: "R".into(),
            resources: vec![],
            labels: vec![wire::Label::new("env", "prod")],
        };
        let held = Held::from_permissions(&[p], "W");
        assert_eq!(held.atoms[0].kind, ResourceType::Workspace);
        assert_eq!(held.atoms[0].id, "W");
        assert_eq!(held.atoms[0].labels.len(), 1);
    }
}
