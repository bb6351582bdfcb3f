//! [`VisierSystem`]: the core traits on top of [`VisierClient`].
//!
//! | core | Visier |
//! |---|---|
//! | `User` | user (`userId`; e-mail from `email`, else a `username` that is one) |
//! | `Group` | user group (v1) |
//! | `Profile` | local profile (assignable on [`Scope::System`](grantbridge_core::Scope::System)) or analytic profile (on [`Scope::Tenant`](grantbridge_core::Scope::Tenant)) |
//! | `Assignment` on `System` | local profile assignment in the client's tenant |
//! | `Assignment` on `Tenant { code, include_children }` | analytic assignment (`tenantCode`, `forAllChildren`) |
//! | `Validity` | `validityStartTime` / `validityEndTime` (sentinels = unbounded) |
//! | `Membership` | user-group membership |
//!
//! Wire economy:
//!
//! * users, local assignments and memberships come from **one** scan of
//!   `GET /v1/admin/users?assignedProfiles=true&assignedUserGroups=true`, one call per
//!   page of [`VisierSystem::page_size`] users (1000 by default, the API's maximum);
//!   concurrent `list_users`/`list_assignments`/`list_memberships` (as
//!   [`Snapshot::take`](grantbridge_core::engine::Snapshot::take) makes them) share one
//!   scan;
//! * analytic assignments have no bulk read: on administrating tenants only, one
//!   `accessible-tenant-profiles` read per user, [`VisierSystem::concurrency`] at a
//!   time under the client's rate limit. Whether the tenant administrates analytic
//!   tenants is probed once, at [`VisierSystem::connect`];
//! * grants are batched: one assign call per (profile, validity window, tenant set),
//!   chunked to [`MAX_USERS_PER_CALL`] users; revokes one remove call per (profile,
//!   tenant set). Before writing, the current state of the users involved is read (to
//!   answer `AlreadyInState` and `NotFound` exactly); per-user failures in the 200
//!   answers (`badUserIds`, `badTenantCodes`, `failedAssignments`, `failed`) become
//!   that item's [`Outcome::Failed`], and an item the answer does not confirm fails too.
//!
//! Here: the type, `connect` and the trait impls; the wire/core mapping, the grant and
//! revoke batching, and the membership writes each have a file of their own.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use grantbridge_core::coalesce::Coalesced;
use grantbridge_core::engine::TargetIdentity;
use grantbridge_core::{
    AccessSystem, Assignment, AssignmentStore, Capabilities, Directory, Entity, Error, Group,
    GroupId, Membership, Outcome, Principal, Profile, ProfileCatalog, ProfileId, Result, ScopeKind,
    SystemId, User, UserId, async_trait,
};
use serde_json::Value;

use crate::client::{MAX_USERS_PAGE, UsersQuery, VisierClient};
use crate::config::VisierConfig;
use crate::wire::*;

mod assignments;
mod convert;
mod memberships;

use convert::*;

/// Most users named in one assign or remove call.
pub const MAX_USERS_PER_CALL: usize = 1000;

/// Up to this many distinct users, the state before a write is read per user; above,
/// with one scan of the users list.
const PER_USER_READ_LIMIT: usize = 20;

const SYSTEM: &str = "visier";

/// A Visier tenant as an [`AccessSystem`].
pub struct VisierSystem {
    id: SystemId,
    client: VisierClient,
    administrating: bool,
    page_size: u32,
    concurrency: usize,
    /// The users list, shared by overlapping readers (a snapshot's lists).
    scan: Coalesced<Vec<UserGetApiResponseDto>>,
}

impl std::fmt::Debug for VisierSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisierSystem")
            .field("id", &self.id)
            .field("client", &self.client)
            .field("administrating", &self.administrating)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl VisierSystem {
    /// Builds the client, logs in and probes whether the tenant administrates analytic
    /// tenants (`GET /v1/admin/profiles/accessible-tenants`: a 403 means it does not).
    pub async fn connect(config: VisierConfig) -> Result<Self> {
        let client = VisierClient::new(&config)?;
        Self::from_client(client).await
    }

    /// [`VisierSystem::connect`] over an existing client.
    pub async fn from_client(client: VisierClient) -> Result<Self> {
        let administrating = match client.get_analytic_profiles().await {
            Ok(_) => true,
            Err(Error::Authentication { message }) if message.starts_with("HTTP 403") => {
                tracing::info!("not an administrating tenant: analytic profiles are off");
                false
            }
            Err(Error::Vendor { status: 404, .. }) => false,
            Err(e) => return Err(e),
        };
        Ok(VisierSystem {
            id: SystemId::new("visier").map_err(|e| Error::invalid("system id", e.to_string()))?,
            client,
            administrating,
            page_size: MAX_USERS_PAGE,
            concurrency: 8,
            scan: Coalesced::new(),
        })
    }

    /// Names the system (default `visier`).
    pub fn with_id(mut self, id: SystemId) -> Self {
        self.id = id;
        self
    }

    /// Sets the users page size (1..=1000; default 1000).
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.clamp(1, MAX_USERS_PAGE);
        self
    }

    /// Sets how many per-user reads run at once (default 8; the client's rate limiter
    /// still applies).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The users page size.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// How many per-user reads run at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Whether the tenant administrates analytic tenants.
    pub fn is_administrating(&self) -> bool {
        self.administrating
    }

    /// The SDK client underneath.
    pub fn client(&self) -> &VisierClient {
        &self.client
    }

    /// Forgets the shared users scan after a write, so later reads see it.
    fn forget_cached_reads(&self) {
        self.scan.invalidate();
    }

    /// The users list with profiles and groups, shared by overlapping callers with no
    /// write in between.
    async fn user_scan(&self) -> Result<Arc<Vec<UserGetApiResponseDto>>> {
        let query = UsersQuery {
            assigned_profiles: Some(true),
            assigned_user_groups: Some(true),
            limit: Some(self.page_size),
            ..UsersQuery::default()
        };
        let users = self.client.stream_users(query).try_collect();
        self.scan.get(users).await
    }

    async fn catalog(&self) -> Result<Catalog> {
        let local = self.client.get_all_profiles();
        let analytic = async {
            if self.administrating {
                self.client.get_analytic_profiles().await.map(Some)
            } else {
                Ok(None)
            }
        };
        let (local, analytic) = futures::try_join!(local, analytic)?;
        Ok(Catalog {
            local: local.profiles,
            analytic: analytic.map(|a| a.profiles).unwrap_or_default(),
        })
    }
}

struct Catalog {
    local: Vec<ProfileGetApiResponseDto>,
    analytic: Vec<ProfileGetApiResponseDto>,
}

impl Catalog {
    fn has_local(&self, id: &str) -> bool {
        self.local
            .iter()
            .any(|p| p.profile_id.as_deref() == Some(id))
    }
    fn has_analytic(&self, id: &str) -> bool {
        self.analytic
            .iter()
            .any(|p| p.profile_id.as_deref() == Some(id))
    }
}

#[async_trait]
impl ProfileCatalog for VisierSystem {
    async fn list_profiles(&self) -> Result<Vec<Profile>> {
        let catalog = self.catalog().await?;
        let mut out: Vec<Profile> = catalog
            .local
            .iter()
            .filter_map(|p| to_profile(p, ScopeKind::System))
            .collect();
        for p in catalog
            .analytic
            .iter()
            .filter_map(|p| to_profile(p, ScopeKind::Tenant))
        {
            // An id that is both local and analytic is one profile on both kinds.
            match out.iter_mut().find(|x| x.id == p.id) {
                Some(existing) => {
                    existing.assignable_to.insert(ScopeKind::Tenant);
                }
                None => out.push(p),
            }
        }
        Ok(out)
    }

    async fn get_profile(&self, id: &ProfileId) -> Result<Profile> {
        match self.client.get_profile_detail(id.as_str()).await {
            Ok(p) if p.profile_id.is_some() => to_profile(&p, ScopeKind::System)
                .ok_or_else(|| Error::not_found(Entity::Profile, id.as_str())),
            Ok(_) | Err(Error::Vendor { status: 404, .. }) if self.administrating => {
                match self.client.get_analytic_profile_detail(id.as_str()).await {
                    Ok(p) if p.profile_id.is_some() => to_profile(&p, ScopeKind::Tenant)
                        .ok_or_else(|| Error::not_found(Entity::Profile, id.as_str())),
                    Ok(_) => Err(Error::not_found(Entity::Profile, id.as_str())),
                    Err(e) => Err(not_found(e, Entity::Profile, id.as_str())),
                }
            }
            Ok(_) => Err(Error::not_found(Entity::Profile, id.as_str())),
            Err(e) => Err(not_found(e, Entity::Profile, id.as_str())),
        }
    }
}

#[async_trait]
impl Directory for VisierSystem {
    async fn list_users(&self) -> Result<Vec<User>> {
        Ok(self.user_scan().await?.iter().filter_map(to_user).collect())
    }

    async fn list_groups(&self) -> Result<Vec<Group>> {
        Ok(self
            .client
            .get_all_user_groups()
            .await?
            .into_iter()
            .filter_map(|g| {
                let id = GroupId::new(g.user_group_id.clone()?).ok()?;
                let mut group = Group::new(id, g.display_name.clone().unwrap_or_default());
                let perms: Vec<Value> = g
                    .permissions
                    .iter()
                    .filter_map(|p| p.permission_id.clone().map(Value::from))
                    .collect();
                if !perms.is_empty() {
                    group
                        .extra
                        .insert("permission_ids".to_owned(), Value::from(perms));
                }
                Some(group)
            })
            .collect())
    }

    async fn list_memberships(&self) -> Result<Vec<Membership>> {
        let scan = self.user_scan().await?;
        Ok(scan
            .iter()
            .flat_map(|u| {
                let user = u.user_id.as_deref().and_then(|id| UserId::new(id).ok());
                u.user_groups
                    .iter()
                    .flat_map(|g| &g.assigned_user_groups)
                    .filter_map(move |g| {
                        Some(Membership::new(
                            user.clone()?,
                            GroupId::new(g.user_group_id.clone()?).ok()?,
                        ))
                    })
            })
            .collect())
    }

    async fn add_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        self.change_memberships(items, true).await
    }

    async fn remove_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        self.change_memberships(items, false).await
    }
}

#[async_trait]
impl AssignmentStore for VisierSystem {
    async fn list_assignments(&self) -> Result<Vec<Assignment>> {
        let scan = self.user_scan().await?;
        let mut out = Vec::new();
        let mut ids = Vec::new();
        for u in scan.iter() {
            let Some(id) = u.user_id.as_deref().and_then(|id| UserId::new(id).ok()) else {
                continue;
            };
            if let Some(p) = &u.profiles {
                out.extend(
                    p.assigned_profiles
                        .iter()
                        .filter_map(|p| local_assignment(&id, p)),
                );
            }
            ids.push(id);
        }
        if self.administrating {
            let analytic: Vec<Vec<Assignment>> = futures::stream::iter(ids)
                .map(|id| async move {
                    let list = self.client.get_analytic_user_profile(id.as_str()).await?;
                    Ok::<_, Error>(
                        list.assigned_profiles_for_accessible_tenant
                            .iter()
                            .filter_map(|p| analytic_assignment(&id, p))
                            .collect(),
                    )
                })
                .buffer_unordered(self.concurrency)
                .try_collect()
                .await?;
            out.extend(analytic.into_iter().flatten());
        }
        Ok(out)
    }

    async fn list_assignments_for(&self, principal: &Principal) -> Result<Vec<Assignment>> {
        let Principal::User(id) = principal else {
            // Visier assigns profiles to users only.
            return Ok(Vec::new());
        };
        let local = self
            .client
            .get_user_profile(id.as_str())
            .await
            .map_err(|e| not_found(e, Entity::User, id.as_str()))?;
        let mut out: Vec<Assignment> = local
            .assigned_profiles
            .iter()
            .filter_map(|p| local_assignment(id, p))
            .collect();
        if self.administrating {
            let analytic = self
                .client
                .get_analytic_user_profile(id.as_str())
                .await
                .map_err(|e| not_found(e, Entity::User, id.as_str()))?;
            out.extend(
                analytic
                    .assigned_profiles_for_accessible_tenant
                    .iter()
                    .filter_map(|p| analytic_assignment(id, p)),
            );
        }
        Ok(out)
    }

    async fn grant(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.write(items, true).await
    }

    async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.write(items, false).await
    }
}

impl AccessSystem for VisierSystem {
    fn id(&self) -> &SystemId {
        &self.id
    }

    /// The API host and, when set, the target tenant.
    fn identity(&self) -> TargetIdentity {
        let identity = TargetIdentity::new(self.id.clone())
            .with_host_of(self.client.http().base_url().as_str());
        match self.client.target_tenant() {
            Some(code) => identity.with_tenant(code.as_str()),
            None => identity,
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::minimal()
            .with_validity_windows(true)
            .with_system_scope(true)
            .with_tenant_scopes(self.administrating)
            .with_resource_scopes(false)
            .with_user_principals(true)
            .with_group_principals(false)
            .with_groups(true)
            .with_membership_write(true)
            .with_profile_create(false)
            .with_profile_delete(false)
            .with_max_assignments_per_user(None)
            .with_max_batch(MAX_USERS_PER_CALL)
            .with_page_size(Some(self.page_size as usize))
    }
}

#[cfg(all(test, feature = "sandbox"))]
mod tests {
    use super::*;
    use crate::sandbox::{Seed, VisierSandbox};
    use grantbridge_core::sandbox::SandboxOptions;

    /// A read begun before a write must not serve a reader that comes after it:
    /// `forget_cached_reads` (called by every write) makes the next reader read afresh.
    #[tokio::test]
    async fn a_reader_after_a_write_never_joins_a_read_from_before_it() {
        let sandbox = VisierSandbox::start(Seed::Demo, SandboxOptions::default())
            .await
            .expect("sandbox");
        let system = VisierSystem::connect(sandbox.config())
            .await
            .expect("connect");
        let (release, held) = tokio::sync::oneshot::channel::<()>();
        let before = system.scan.get(async move {
            let _ = held.await;
            Ok(Vec::new())
        });
        let after = async {
            tokio::task::yield_now().await;
            system.forget_cached_reads();
            let fresh = system.user_scan();
            tokio::pin!(fresh);
            // First poll: the scan decides to read afresh or to join the old read.
            assert!(futures::poll!(&mut fresh).is_pending());
            let _ = release.send(());
            fresh.await.expect("a fresh scan")
        };
        let (old, fresh) = futures::join!(before, after);
        assert!(old.expect("the old read").is_empty());
        assert_eq!(
            fresh.len(),
            300,
            "the reader after the write read the users"
        );
        sandbox.shutdown().await;
    }
}
