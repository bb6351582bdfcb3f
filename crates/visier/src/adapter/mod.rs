//! [`VisierSystem`]: the core traits on top of [`VisierClient`].
//!
//! | core | Visier |
//! |---|---|
//! | `User` | user (`userId`; e-mail from `email`, else a `username` that is one) |
//! | `Group` | user group (v1) |
//! | `Profile` | local profile (assignable on [`Scope::System`]) or analytic profile (on [`Scope::Tenant`]) |
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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use grantbridge_core::coalesce::Coalesced;
use grantbridge_core::{
    AccessSystem, Assignment, AssignmentKey, AssignmentStore, Capabilities, Capability, Directory,
    Email, Entity, Error, Feature, Group, GroupId, Membership, Outcome, Principal, Profile,
    ProfileCatalog, ProfileId, Result, Scope, ScopeKind, SystemId, TenantCode, User, UserId,
    UserStatus, Validity, async_trait,
};
use serde_json::Value;

use crate::auth::VisierConfig;
use crate::client::{MAX_USERS_PAGE, UsersQuery, VisierClient};
use crate::wire::*;

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

    fn changed(&self) {
        self.scan.invalidate();
    }

    /// The users list with profiles and groups, shared by overlapping callers with no
    /// write in between.
    async fn user_scan(&self) -> Result<Arc<Vec<UserGetApiResponseDto>>> {
        let query = UsersQuery {
            assigned_profiles: Some(true),
            assigned_user_groups: Some(true),
            limit: Some(self.page_size),
            start: Some(0),
            ..UsersQuery::default()
        };
        let users = self.client.users_stream(query).try_collect();
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

    /// Local assignments of `users` (keyed by user): per user, or from one scan.
    async fn local_state(
        &self,
        users: &BTreeSet<String>,
    ) -> BTreeMap<String, Result<Vec<ProfileAssignedForLocalTenantDto>>> {
        if users.is_empty() {
            return BTreeMap::new();
        }
        if users.len() > PER_USER_READ_LIMIT {
            return match self.user_scan().await {
                Ok(scan) => {
                    let by_id: HashMap<&str, &UserGetApiResponseDto> = scan
                        .iter()
                        .filter_map(|u| Some((u.user_id.as_deref()?, u)))
                        .collect();
                    users
                        .iter()
                        .map(|u| {
                            let r = match by_id.get(u.as_str()) {
                                Some(dto) => Ok(dto
                                    .profiles
                                    .as_ref()
                                    .map(|p| p.assigned_profiles.clone())
                                    .unwrap_or_default()),
                                None => Err(Error::not_found(Entity::User, u.clone())),
                            };
                            (u.clone(), r)
                        })
                        .collect()
                }
                Err(e) => users.iter().map(|u| (u.clone(), Err(e.clone()))).collect(),
            };
        }
        futures::stream::iter(users.iter().cloned())
            .map(|u| async move {
                let r = self
                    .client
                    .get_user_profile(&u)
                    .await
                    .map(|d| d.assigned_profiles)
                    .map_err(|e| not_found(e, Entity::User, &u));
                (u, r)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await
    }

    /// Analytic assignments of `users`, one read per user.
    async fn analytic_state(
        &self,
        users: &BTreeSet<String>,
    ) -> BTreeMap<String, Result<Vec<ProfileAssignedForAccessibleTenantDto>>> {
        futures::stream::iter(users.iter().cloned())
            .map(|u| async move {
                let r = self
                    .client
                    .get_analytic_user_profile(&u)
                    .await
                    .map(|d| d.assigned_profiles_for_accessible_tenant)
                    .map_err(|e| not_found(e, Entity::User, &u));
                (u, r)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await
    }

    /// Checks shape and catalog; returns per item either an outcome already decided or
    /// the item's kind.
    fn classify(&self, items: &[Assignment], catalog: &Catalog) -> Vec<Result<Kind, Outcome>> {
        let caps = self.capabilities();
        items
            .iter()
            .map(|a| {
                if let Some(feature) = caps.missing_for(a) {
                    return Err(Outcome::Failed(Error::unsupported(SYSTEM, feature)));
                }
                let pid = a.profile.as_str();
                let (in_local, in_analytic) = (catalog.has_local(pid), catalog.has_analytic(pid));
                match (&a.scope, in_local, in_analytic) {
                    (Scope::System, true, _) => Ok(Kind::Local),
                    (Scope::Tenant { .. }, _, true) => Ok(Kind::Analytic),
                    (_, false, false) => {
                        Err(Outcome::Failed(Error::not_found(Entity::Profile, pid)))
                    }
                    _ => Err(Outcome::Failed(Error::unsupported(
                        SYSTEM,
                        Feature::ProfileScope,
                    ))),
                }
            })
            .collect()
    }

    async fn write(&self, items: &[Assignment], grant: bool) -> Vec<Outcome> {
        let mut out: Vec<Option<Outcome>> = vec![None; items.len()];
        let catalog = match self.catalog().await {
            Ok(c) => c,
            Err(e) => return Outcome::all_failed(items.len(), &e),
        };
        let kinds = self.classify(items, &catalog);
        let mut local_users = BTreeSet::new();
        let mut analytic_users = BTreeSet::new();
        for (i, k) in kinds.iter().enumerate() {
            let Some(user) = items[i].principal.as_user() else {
                continue;
            };
            match k {
                Ok(Kind::Local) => {
                    local_users.insert(user.as_str().to_owned());
                }
                Ok(Kind::Analytic) => {
                    analytic_users.insert(user.as_str().to_owned());
                }
                Err(_) => {}
            }
        }
        let (local, analytic) = futures::join!(
            self.local_state(&local_users),
            self.analytic_state(&analytic_users)
        );

        // Decide per item; collect what needs the wire.
        let mut local_calls: BTreeMap<(String, Window), Vec<usize>> = BTreeMap::new();
        let mut analytic_items: Vec<usize> = Vec::new();
        // A key named twice in one batch: items apply in order, as if one by one. The
        // state each key is in after the items decided so far, and the pending item
        // that writes it.
        let mut decided: BTreeMap<AssignmentKey, (Option<Window>, Option<usize>)> = BTreeMap::new();
        // (later, earlier): a repeat whose effect the earlier pending item carries.
        let mut repeats: Vec<(usize, usize)> = Vec::new();
        // (earlier, later): a grant superseded by a later window for the same key.
        let mut superseded: Vec<(usize, usize)> = Vec::new();
        // Analytic revokes of keys not held: sent anyway, since only Visier knows
        // whether the tenant code exists (`badTenantCodes`).
        let mut unheld: Vec<usize> = Vec::new();
        for (i, kind) in kinds.into_iter().enumerate() {
            let a = &items[i];
            let kind = match kind {
                Ok(k) => k,
                Err(o) => {
                    out[i] = Some(o);
                    continue;
                }
            };
            let Some(user) = a.principal.as_user() else {
                out[i] = Some(Outcome::Failed(Error::unsupported(
                    SYSTEM,
                    Feature::GroupPrincipals,
                )));
                continue;
            };
            let window = Window::of(&a.validity);
            let current = match kind {
                Kind::Local => match local.get(user.as_str()) {
                    Some(Ok(held)) => held
                        .iter()
                        .find(|p| p.profile_id.as_deref() == Some(a.profile.as_str()))
                        .map(|p| Window::from_wire(p.validity_start_time, p.validity_end_time)),
                    Some(Err(e)) => {
                        out[i] = Some(Outcome::Failed(e.clone()));
                        continue;
                    }
                    None => None,
                },
                Kind::Analytic => match analytic.get(user.as_str()) {
                    Some(Ok(held)) => held
                        .iter()
                        .find(|p| {
                            p.profile_id.as_deref() == Some(a.profile.as_str())
                                && tenant_matches(&a.scope, p)
                        })
                        .map(|p| Window::from_wire(p.validity_start_time, p.validity_end_time)),
                    Some(Err(e)) => {
                        out[i] = Some(Outcome::Failed(e.clone()));
                        continue;
                    }
                    None => None,
                },
            };
            let key = a.key();
            let (current, earlier) = match decided.get(&key) {
                Some(&(state, pending)) => (state, pending),
                None => (current, None),
            };
            let needed = if grant {
                current != Some(window)
            } else {
                current.is_some()
            };
            if !needed {
                match earlier {
                    Some(e) => repeats.push((i, e)),
                    None if !grant && kind == Kind::Analytic => {
                        unheld.push(i);
                        analytic_items.push(i);
                    }
                    None => out[i] = Some(Outcome::AlreadyInState),
                }
                continue;
            }
            if let Some(e) = earlier {
                // Only the last window of a key is written; the earlier item shares
                // its outcome.
                for idx in local_calls.values_mut() {
                    idx.retain(|&x| x != e);
                }
                analytic_items.retain(|&x| x != e);
                superseded.push((e, i));
            }
            decided.insert(key, (grant.then_some(window), Some(i)));
            match kind {
                Kind::Local => {
                    let key_window = if grant { window } else { Window::ALWAYS };
                    local_calls
                        .entry((a.profile.as_str().to_owned(), key_window))
                        .or_default()
                        .push(i);
                }
                Kind::Analytic => analytic_items.push(i),
            }
        }

        for ((profile, window), idx) in local_calls {
            for chunk in chunk_by_user(items, &idx) {
                self.local_call(items, &profile, window, &chunk, grant, &mut out)
                    .await;
            }
        }
        self.analytic_calls(items, &analytic_items, grant, &mut out)
            .await;
        for i in unheld {
            if !matches!(out[i], Some(Outcome::Failed(_))) {
                out[i] = Some(Outcome::AlreadyInState);
            }
        }
        for (e, i) in superseded.into_iter().rev() {
            out[e] = out[i].clone();
        }
        for (i, e) in repeats {
            out[i] = match &out[e] {
                Some(Outcome::Applied) => Some(Outcome::AlreadyInState),
                other => other.clone(),
            };
        }
        self.changed();
        out.into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Outcome::Failed(unconfirmed("the item was not processed")))
            })
            .collect()
    }

    async fn local_call(
        &self,
        items: &[Assignment],
        profile: &str,
        window: Window,
        idx: &[usize],
        grant: bool,
        out: &mut [Option<Outcome>],
    ) {
        let users = distinct_users(items, idx);
        if grant {
            let body = LocalTenantProfileAssignmentRequestDto {
                target_user_ids: users,
                validity_start_time: Some(Millis::from_start(window.start)),
                validity_end_time: Some(Millis::from_end(window.end)),
            };
            match self.client.assign_profile(profile, &body).await {
                Ok(r) => {
                    let bad: HashMap<String, Error> = r
                        .bad_user_ids
                        .iter()
                        .filter_map(|b| Some((b.user_id.clone()?, item_error(b.error.as_ref()))))
                        .chain(r.failed_assignments.iter().filter_map(|f| {
                            Some((f.user_id.clone()?, item_error(f.error.as_ref())))
                        }))
                        .collect();
                    let ok: HashSet<String> = r
                        .successful_assignments
                        .iter()
                        .filter_map(|s| s.user_id.clone())
                        .collect();
                    settle(items, idx, out, |u| match bad.get(u) {
                        Some(e) => Outcome::Failed(e.clone()),
                        None if ok.contains(u) => Outcome::Applied,
                        None => Outcome::Failed(unconfirmed("assign_profile")),
                    });
                }
                Err(e) => settle(items, idx, out, |_| {
                    Outcome::Failed(not_found(e.clone(), Entity::Profile, profile))
                }),
            }
        } else {
            let body = LocalTenantProfileRevokeRequestDto {
                target_user_ids: users,
            };
            match self.client.remove_profile(profile, &body).await {
                Ok(r) => {
                    let failed: HashMap<String, String> = r
                        .failed
                        .iter()
                        .filter_map(|f| {
                            Some((f.user_id.clone()?, f.message.clone().unwrap_or_default()))
                        })
                        .collect();
                    let ok: HashSet<String> = r
                        .succeeded
                        .iter()
                        .filter_map(|s| s.user_id.clone())
                        .collect();
                    settle(items, idx, out, |u| match failed.get(u) {
                        Some(m) => Outcome::Failed(vendor_200(None, m, None)),
                        None if ok.contains(u) => Outcome::Applied,
                        None => Outcome::Failed(unconfirmed("remove_profile")),
                    });
                }
                Err(e) => settle(items, idx, out, |_| {
                    Outcome::Failed(not_found(e.clone(), Entity::Profile, profile))
                }),
            }
        }
    }

    async fn analytic_calls(
        &self,
        items: &[Assignment],
        idx: &[usize],
        grant: bool,
        out: &mut [Option<Outcome>],
    ) {
        // (profile, window) → user → tenant set; then users grouped by tenant set.
        let mut by_profile: BTreeMap<(String, Window), BTreeMap<String, TenantSet>> =
            BTreeMap::new();
        let mut item_of: HashMap<(String, Window, String, String, bool), Vec<usize>> =
            HashMap::new();
        for &i in idx {
            let a = &items[i];
            let (
                Some(user),
                Scope::Tenant {
                    code,
                    include_children,
                },
            ) = (a.principal.as_user(), &a.scope)
            else {
                continue;
            };
            let window = if grant {
                Window::of(&a.validity)
            } else {
                Window::ALWAYS
            };
            let profile = a.profile.as_str().to_owned();
            by_profile
                .entry((profile.clone(), window))
                .or_default()
                .entry(user.as_str().to_owned())
                .or_default()
                .insert((code.as_str().to_owned(), *include_children));
            item_of
                .entry((
                    profile,
                    window,
                    user.as_str().to_owned(),
                    code.as_str().to_owned(),
                    *include_children,
                ))
                .or_default()
                .push(i);
        }
        for ((profile, window), users) in by_profile {
            let mut by_set: BTreeMap<TenantSet, Vec<String>> = BTreeMap::new();
            for (user, set) in users {
                by_set.entry(set).or_default().push(user);
            }
            for (set, users) in by_set {
                for chunk in users.chunks(MAX_USERS_PER_CALL) {
                    let tenants: Vec<TargetTenantCodeDto> = set
                        .iter()
                        .map(|(code, children)| TargetTenantCodeDto {
                            tenant_code: Some(code.clone()),
                            for_all_children: Some(*children),
                        })
                        .collect();
                    let outcome_of = self
                        .analytic_call(&profile, window, chunk, tenants, grant)
                        .await;
                    for user in chunk {
                        for (code, children) in &set {
                            let key = (
                                profile.clone(),
                                window,
                                user.clone(),
                                code.clone(),
                                *children,
                            );
                            for &i in item_of.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                                out[i] = Some(outcome_of(user, code, *children));
                            }
                        }
                    }
                }
            }
        }
    }

    /// One analytic assign/remove call; returns how to settle each (user, tenant).
    async fn analytic_call(
        &self,
        profile: &str,
        window: Window,
        users: &[String],
        tenants: Vec<TargetTenantCodeDto>,
        grant: bool,
    ) -> Box<dyn Fn(&str, &str, bool) -> Outcome + Send> {
        let bad_tenants = |list: &[TenantCodeErrorDto]| -> HashMap<String, Error> {
            // A listed code is one Visier does not know.
            list.iter()
                .filter_map(|b| {
                    let code = b.tenant_code.clone()?;
                    Some((code.clone(), Error::not_found(Entity::Tenant, code)))
                })
                .collect()
        };
        let bad_users = |list: &[UserIdErrorDto]| -> HashMap<String, Error> {
            list.iter()
                .filter_map(|b| Some((b.user_id.clone()?, item_error(b.error.as_ref()))))
                .collect()
        };
        if grant {
            let body = AccessibleTenantProfileAssignmentRequestDto {
                target_user_ids: users.to_vec(),
                target_tenant_codes: tenants,
                validity_start_time: Some(Millis::from_start(window.start)),
                validity_end_time: Some(Millis::from_end(window.end)),
            };
            match self.client.assign_analytic_profile(profile, &body).await {
                Ok(r) => {
                    let bt = bad_tenants(&r.bad_tenant_codes);
                    let bu = bad_users(&r.bad_user_ids);
                    let failed: HashMap<(String, String), Error> = r
                        .failed_assignments
                        .iter()
                        .filter_map(|f| {
                            Some((
                                (f.user_id.clone()?, f.tenant_code.clone()?),
                                item_error(f.error.as_ref()),
                            ))
                        })
                        .collect();
                    let ok: HashSet<(String, String)> = r
                        .successful_assignments
                        .iter()
                        .filter_map(|s| Some((s.user_id.clone()?, s.tenant_code.clone()?)))
                        .collect();
                    Box::new(move |u: &str, t: &str, _| {
                        let key = (u.to_owned(), t.to_owned());
                        if let Some(e) =
                            bu.get(u).or_else(|| bt.get(t)).or_else(|| failed.get(&key))
                        {
                            Outcome::Failed(e.clone())
                        } else if ok.contains(&key) {
                            Outcome::Applied
                        } else {
                            Outcome::Failed(unconfirmed("assign_analytic_profile"))
                        }
                    })
                }
                Err(e) => {
                    let e = not_found(e, Entity::Profile, profile);
                    Box::new(move |_: &str, _: &str, _| Outcome::Failed(e.clone()))
                }
            }
        } else {
            let body = AccessibleTenantProfileRevokeRequestDto {
                target_user_ids: users.to_vec(),
                target_tenant_codes: tenants,
            };
            match self.client.remove_analytic_profile(profile, &body).await {
                Ok(r) => {
                    let bt = bad_tenants(&r.bad_tenant_codes);
                    let bu = bad_users(&r.bad_user_ids);
                    let failed: HashMap<String, String> = r
                        .failed
                        .iter()
                        .filter_map(|f| {
                            Some((f.user_id.clone()?, f.message.clone().unwrap_or_default()))
                        })
                        .collect();
                    let ok: HashSet<String> = r
                        .succeeded
                        .iter()
                        .filter_map(|s| s.user_id.clone())
                        .collect();
                    let unaffected: HashSet<String> = r
                        .unaffected_users
                        .iter()
                        .filter_map(|s| s.user_id.clone())
                        .collect();
                    Box::new(move |u: &str, t: &str, _| {
                        if let Some(e) = bu.get(u).or_else(|| bt.get(t)) {
                            Outcome::Failed(e.clone())
                        } else if let Some(m) = failed.get(u) {
                            Outcome::Failed(vendor_200(None, m, None))
                        } else if ok.contains(u) {
                            Outcome::Applied
                        } else if unaffected.contains(u) {
                            Outcome::AlreadyInState
                        } else {
                            Outcome::Failed(unconfirmed("remove_analytic_profile"))
                        }
                    })
                }
                Err(e) => {
                    let e = not_found(e, Entity::Profile, profile);
                    Box::new(move |_: &str, _: &str, _| Outcome::Failed(e.clone()))
                }
            }
        }
    }

    /// Whether the users of `items[idx]` exist (one read per distinct user): a 404
    /// becomes [`Error::NotFound`].
    async fn users_exist(
        &self,
        items: &[Membership],
        idx: &[usize],
    ) -> HashMap<String, Result<()>> {
        let users: BTreeSet<String> = idx
            .iter()
            .map(|&i| items[i].user.as_str().to_owned())
            .collect();
        futures::stream::iter(users)
            .map(|u| async move {
                let r = self
                    .client
                    .get_user(&u, &UsersQuery::default())
                    .await
                    .map(|_| ())
                    .map_err(|e| not_found(e, Entity::User, &u));
                (u, r)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await
    }

    async fn change_memberships(&self, items: &[Membership], add: bool) -> Vec<Outcome> {
        let groups = match self.client.get_all_user_groups().await {
            Ok(g) => g,
            Err(e) => return Outcome::all_failed(items.len(), &e),
        };
        let known: HashSet<&str> = groups
            .iter()
            .filter_map(|g| g.user_group_id.as_deref())
            .collect();
        let mut out: Vec<Option<Outcome>> = vec![None; items.len()];
        let wanted: BTreeSet<String> = items
            .iter()
            .map(|m| m.group.as_str())
            .filter(|g| known.contains(g))
            .map(str::to_owned)
            .collect();
        let members: BTreeMap<String, Result<HashSet<String>>> = futures::stream::iter(wanted)
            .map(|g| async move {
                let r = self
                    .client
                    .get_all_user_group_users(&g)
                    .await
                    .map(|users| users.into_iter().filter_map(|u| u.user_id).collect())
                    .map_err(|e| not_found(e, Entity::Group, &g));
                (g, r)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut pending: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut repeats: Vec<(usize, usize)> = Vec::new();
        let mut absent: Vec<usize> = Vec::new();
        for (i, m) in items.iter().enumerate() {
            let group = m.group.as_str();
            match members.get(group) {
                None => out[i] = Some(Outcome::Failed(Error::not_found(Entity::Group, group))),
                Some(Err(e)) => out[i] = Some(Outcome::Failed(e.clone())),
                Some(Ok(set)) if set.contains(m.user.as_str()) == add => {
                    if add {
                        out[i] = Some(Outcome::AlreadyInState);
                    } else {
                        // Not a member: "already" only if the user exists at all.
                        absent.push(i);
                    }
                }
                Some(Ok(_)) => {
                    let idx = pending.entry(group.to_owned()).or_default();
                    // The same pair twice: the first does the work, the repeat finds
                    // it done.
                    match idx.iter().find(|&&x| items[x].user == m.user) {
                        Some(&first) => repeats.push((i, first)),
                        None => idx.push(i),
                    }
                }
            }
        }
        if !absent.is_empty() {
            let known = self.users_exist(items, &absent).await;
            for i in absent {
                out[i] = Some(match known.get(items[i].user.as_str()) {
                    Some(Err(e)) => Outcome::Failed(e.clone()),
                    _ => Outcome::AlreadyInState,
                });
            }
        }
        if !pending.is_empty() {
            let body = UsersToUserGroupsRequestDto {
                user_groups: pending
                    .iter()
                    .map(|(g, idx)| UserGroupUsersDto {
                        user_group_id: Some(g.clone()),
                        user_ids: idx
                            .iter()
                            .map(|&i| items[i].user.as_str().to_owned())
                            .collect::<BTreeSet<_>>()
                            .into_iter()
                            .collect(),
                    })
                    .collect(),
                target_project_for_tenants_list: None,
            };
            let result = if add {
                self.client.add_users_to_user_groups(&body).await
            } else {
                self.client.remove_users_from_user_groups(&body).await
            };
            self.changed();
            match result {
                Ok(r) => {
                    let done: HashSet<(String, String)> = r
                        .tenants
                        .iter()
                        .flat_map(|t| &t.assignments)
                        .flat_map(|a| {
                            let g = a.id.clone().unwrap_or_default();
                            a.users
                                .iter()
                                .filter_map(move |u| Some((g.clone(), u.user_id.clone()?)))
                        })
                        .collect();
                    let why = r
                        .tenants
                        .iter()
                        .filter_map(|t| t.message.clone())
                        .collect::<Vec<_>>()
                        .join("; ");
                    let mut refused = Vec::new();
                    for (g, idx) in &pending {
                        for &i in idx {
                            let key = (g.clone(), items[i].user.as_str().to_owned());
                            out[i] = Some(if done.contains(&key) {
                                Outcome::Applied
                            } else {
                                refused.push(i);
                                Outcome::Failed(vendor_200(
                                    None,
                                    if why.is_empty() {
                                        "not confirmed by Visier"
                                    } else {
                                        &why
                                    },
                                    None,
                                ))
                            });
                        }
                    }
                    // The answer says why only in prose: an unknown user is told apart
                    // by reading it.
                    if !refused.is_empty() {
                        let known = self.users_exist(items, &refused).await;
                        for i in refused {
                            if let Some(Err(e @ Error::NotFound { .. })) =
                                known.get(items[i].user.as_str())
                            {
                                out[i] = Some(Outcome::Failed(e.clone()));
                            }
                        }
                    }
                }
                Err(e) => {
                    for idx in pending.values() {
                        for &i in idx {
                            out[i] = Some(Outcome::Failed(e.clone()));
                        }
                    }
                }
            }
        }
        for (i, first) in repeats {
            out[i] = match &out[first] {
                Some(Outcome::Applied) => Some(Outcome::AlreadyInState),
                other => other.clone(),
            };
        }
        out.into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Failed(unconfirmed("membership change"))))
            .collect()
    }
}

/// Analytic tenants of one call: (tenant code, for all children).
type TenantSet = BTreeSet<(String, bool)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Local,
    Analytic,
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

/// A validity window as optional epoch-millisecond bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Window {
    start: Option<i64>,
    end: Option<i64>,
}

impl Window {
    const ALWAYS: Window = Window {
        start: None,
        end: None,
    };

    fn of(v: &Validity) -> Window {
        Window {
            start: v.from_ms(),
            end: v.until_ms(),
        }
    }

    fn from_wire(start: Option<Millis>, end: Option<Millis>) -> Window {
        Window {
            start: Millis::start_bound(start),
            end: Millis::end_bound(end),
        }
    }
}

fn tenant_matches(scope: &Scope, p: &ProfileAssignedForAccessibleTenantDto) -> bool {
    matches!(scope, Scope::Tenant { code, include_children }
        if p.tenant_code.as_deref() == Some(code.as_str()) && p.for_all_children == *include_children)
}

/// Item indices split so that no call names more than [`MAX_USERS_PER_CALL`] users.
fn chunk_by_user(items: &[Assignment], idx: &[usize]) -> Vec<Vec<usize>> {
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let mut users: HashSet<&str> = HashSet::new();
    let mut current = Vec::new();
    for &i in idx {
        let u = items[i].principal.id_str();
        if !users.contains(u) && users.len() == MAX_USERS_PER_CALL {
            chunks.push(std::mem::take(&mut current));
            users.clear();
        }
        users.insert(u);
        current.push(i);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn distinct_users(items: &[Assignment], idx: &[usize]) -> Vec<String> {
    let set: BTreeSet<&str> = idx.iter().map(|&i| items[i].principal.id_str()).collect();
    set.into_iter().map(str::to_owned).collect()
}

fn settle(
    items: &[Assignment],
    idx: &[usize],
    out: &mut [Option<Outcome>],
    f: impl Fn(&str) -> Outcome,
) {
    for &i in idx {
        out[i] = Some(f(items[i].principal.id_str()));
    }
}

/// A per-item error from a 200 answer.
fn vendor_200(code: Option<String>, message: &str, rci: Option<String>) -> Error {
    Error::Vendor {
        system: SYSTEM.to_owned(),
        status: 200,
        code,
        message: if message.is_empty() {
            "refused by Visier".to_owned()
        } else {
            message.to_owned()
        },
        request_id: rci,
    }
}

fn item_error(e: Option<&ErrorDto>) -> Error {
    match e {
        Some(e) => vendor_200(
            e.error_code.clone(),
            e.error_message.as_deref().unwrap_or_default(),
            e.root_cause_id.clone(),
        ),
        None => vendor_200(None, "", None),
    }
}

fn unconfirmed(what: &str) -> Error {
    vendor_200(
        None,
        &format!("{what}: the answer neither confirms nor refuses this item"),
        None,
    )
}

/// A 404 about `id` becomes [`Error::NotFound`].
fn not_found(e: Error, entity: Entity, id: &str) -> Error {
    match e {
        Error::Vendor { status: 404, .. } => Error::not_found(entity, id),
        other => other,
    }
}

fn to_profile(p: &ProfileGetApiResponseDto, kind: ScopeKind) -> Option<Profile> {
    let id = ProfileId::new(p.profile_id.clone()?).ok()?;
    let mut profile = Profile::new(
        id,
        p.display_name
            .clone()
            .unwrap_or_else(|| p.profile_id.clone().unwrap_or_default()),
    )
    .assignable_to([kind]);
    for c in &p.capabilities {
        let Some(name) = &c.capability else { continue };
        profile.capabilities.push(Capability::with_level(
            name.clone(),
            format!(
                "{}/{}",
                c.access_level.as_deref().unwrap_or(""),
                c.view_level.as_deref().unwrap_or("")
            ),
        ));
    }
    profile.capabilities.extend(
        p.additional_capabilities
            .iter()
            .map(|a| Capability::new(a.clone())),
    );
    let kind_name = if kind == ScopeKind::System {
        "local"
    } else {
        "analytic"
    };
    profile
        .extra
        .insert("visier_profile_kind".to_owned(), Value::from(kind_name));
    Some(profile)
}

fn to_user(u: &UserGetApiResponseDto) -> Option<User> {
    let id = match u.user_id.as_deref().map(UserId::new) {
        Some(Ok(id)) => id,
        _ => {
            tracing::warn!("skipping a Visier user without a valid userId");
            return None;
        }
    };
    let mut user = User::new(id);
    user.email = u
        .email
        .as_deref()
        .and_then(|e| Email::new(e).ok())
        .or_else(|| u.username.as_deref().and_then(|n| Email::new(n).ok()));
    user.display_name = u.display_name.clone();
    if u.account_enabled == Some(false) {
        user.status = UserStatus::Disabled;
    }
    for (k, v) in [("username", &u.username), ("employee_id", &u.employee_id)] {
        if let Some(v) = v {
            user.extra.insert(k.to_owned(), Value::from(v.clone()));
        }
    }
    if let Some(ts) = u.last_login.as_ref().and_then(|l| l.timestamp) {
        user.extra
            .insert("last_login_ms".to_owned(), Value::from(ts.0));
    }
    Some(user)
}

fn validity(start: Option<Millis>, end: Option<Millis>, what: &str) -> Option<Validity> {
    match Validity::from_millis(Millis::start_bound(start), Millis::end_bound(end)) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(%e, what, "skipping an assignment with an unusable validity window");
            None
        }
    }
}

fn local_assignment(user: &UserId, p: &ProfileAssignedForLocalTenantDto) -> Option<Assignment> {
    let profile = ProfileId::new(p.profile_id.clone()?).ok()?;
    let v = validity(p.validity_start_time, p.validity_end_time, "local")?;
    Some(Assignment::new(Principal::User(user.clone()), profile, Scope::System).with_validity(v))
}

fn analytic_assignment(
    user: &UserId,
    p: &ProfileAssignedForAccessibleTenantDto,
) -> Option<Assignment> {
    let profile = ProfileId::new(p.profile_id.clone()?).ok()?;
    let code = TenantCode::new(p.tenant_code.clone()?).ok()?;
    let v = validity(p.validity_start_time, p.validity_end_time, "analytic")?;
    Some(
        Assignment::new(
            Principal::User(user.clone()),
            profile,
            Scope::tenant(code, p.for_all_children),
        )
        .with_validity(v),
    )
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

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            validity_windows: true,
            system_scope: true,
            tenant_scopes: self.administrating,
            resource_scopes: false,
            user_principals: true,
            group_principals: false,
            groups: true,
            membership_write: true,
            profile_create: false,
            profile_delete: false,
            max_assignments_per_user: None,
            max_batch: MAX_USERS_PER_CALL,
            page_size: Some(self.page_size as usize),
        }
    }
}
