//! [`PyramidSystem`]: the core traits over [`PyramidClient`].
//!
//! | core | Pyramid |
//! |---|---|
//! | [`User`] | user of the tenant |
//! | [`Group`] | non-private role of the tenant |
//! | [`Profile`] | profile of the tenant; capabilities are permission bit names |
//! | [`Assignment`] to a group | the profile bound to the role (`updateRolesByProfileId`) |
//! | [`Assignment`] to a user | the user's private profile (`updateUserDb`), at most one |
//! | [`Scope`] | always `Scope::Tenant { code: <tenant id>, include_children: false }` |
//! | [`Validity`] | unsupported ([`Error::Unsupported`]) |
//! | [`Membership`] | user in role (`updateUserRoles`) |
//!
//! Batches go to the wire as the API allows: one read and one write per profile for
//! role bindings, one read and one write per user for private profiles and for
//! memberships. Before writing, each batch reads the tenant's profiles, users and roles
//! once so that unknown ids fail their own item with [`Error::NotFound`] instead of
//! depending on how the server words a refusal.
//!
//! API 2.0 has no paging and no "profiles of a role" or "private profiles of all
//! users" reads, so [`AssignmentStore::list_assignments`] costs
//! `2 + profiles + users` calls (sent 8 at a time), and `list_users` costs
//! `1 + 3` (ids, then full objects per license type; users of another license type
//! are fetched one by one).

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use futures::stream;
use grantbridge_core::{
    AccessSystem, Assignment, AssignmentStore, Capabilities, Capability, Directory, Email, Entity,
    Error, Extra, Group, GroupId, Membership, NewProfile, Outcome, Principal, Profile,
    ProfileCatalog, ProfileId, Result, Scope, ScopeKind, SystemId, TenantCode, User, UserId,
    UserStatus, Validity, async_trait,
};
use serde_json::json;

use crate::client::{PermissionForm, PyramidClient, PyramidConfig};
use crate::wire::{
    ClientLicenseType, PermissionRules, PermissionSet, ProfileApiData, ProfilePermissionHolder,
    ProfileRolesData, RoleData, TenantUsersGetObject, UpdateUserDb, UserObject, UserRolesData,
    UserStatusId,
};

/// Outcomes of some items of a batch, by index.
type ItemOutcomes = Vec<(usize, Outcome)>;

/// Calls in flight at once for per-user and per-profile fan-outs.
const FAN_OUT: usize = 8;

/// A Pyramid tenant as an [`AccessSystem`].
#[derive(Debug, Clone)]
pub struct PyramidSystem {
    client: PyramidClient,
    id: SystemId,
    tenant: TenantCode,
    rules: PermissionRules,
    form: PermissionForm,
}

fn item_error(message: String) -> Error {
    Error::Decode {
        status: 200,
        content_type: Some("application/json".to_owned()),
        message,
        excerpt: String::new(),
    }
}

impl PyramidSystem {
    /// Connects: logs in (or checks the given token, logging in again once if it is
    /// refused) and settles the tenant (`config.tenant`, else the server's default).
    pub async fn connect(config: PyramidConfig) -> Result<Self> {
        let client = PyramidClient::new(&config)?;
        if config.token.is_some() {
            client.get_me().await?;
        } else {
            client.authenticate().await?;
        }
        let tenant = match &config.tenant {
            Some(t) => t.clone(),
            None => client.get_default_tenant().await?,
        };
        let tenant = TenantCode::new(tenant)?;
        Ok(PyramidSystem {
            client,
            id: SystemId::new(crate::client::SYSTEM)?,
            tenant,
            rules: config.permission_rules,
            form: config.permission_form,
        })
    }

    /// Renames the system (e.g. `pyramid-prod`), for snapshots and plans.
    pub fn with_id(mut self, id: SystemId) -> Self {
        self.id = id;
        self
    }

    /// The client underneath (for its counters, or calls the traits do not cover).
    pub fn client(&self) -> &PyramidClient {
        &self.client
    }

    /// The tenant this system works in.
    pub fn tenant(&self) -> &TenantCode {
        &self.tenant
    }

    /// The one scope of this system's assignments.
    pub fn scope(&self) -> Scope {
        Scope::tenant(self.tenant.clone(), false)
    }

    fn tenant_id(&self) -> &str {
        self.tenant.as_str()
    }

    // ---- wire → core ------------------------------------------------------------

    fn profile_from_wire(&self, p: ProfileApiData) -> Result<Profile> {
        let id = p
            .profile_id
            .clone()
            .ok_or_else(|| item_error(format!("profile {:?} has no profileId", p.name)))?;
        let mut profile =
            Profile::new(ProfileId::new(id)?, p.name.clone()).assignable_to([ScopeKind::Tenant]);
        profile.description = (!p.description.is_empty()).then(|| p.description.clone());
        profile.capabilities = capabilities_of(&p.permissions);
        let mut extra: Extra = p.extra;
        extra.insert("tenantId".to_owned(), json!(p.tenant_id));
        extra.insert(
            "permissions".to_owned(),
            serde_json::to_value(&p.permissions).unwrap_or_default(),
        );
        profile.extra = extra;
        Ok(profile)
    }

    fn group_from_wire(r: RoleData) -> Result<Group> {
        let id = r
            .role_id
            .clone()
            .ok_or_else(|| item_error(format!("role {:?} has no id", r.role_name)))?;
        let mut group = Group::new(GroupId::new(id)?, r.role_name.clone());
        let mut extra = r.extra;
        for (k, v) in [
            ("isHidden", r.is_hidden),
            ("isPrivate", r.is_private),
            ("isGroupRole", r.is_group_role),
        ] {
            if let Some(v) = v {
                extra.insert(k.to_owned(), json!(v));
            }
        }
        for (k, v) in [
            ("tenantId", r.tenant_id),
            ("roleSettings", r.role_settings),
            ("createdBy", r.created_by),
        ] {
            if let Some(v) = v {
                extra.insert(k.to_owned(), json!(v));
            }
        }
        group.extra = extra;
        Ok(group)
    }

    fn user_from_wire(u: UserObject) -> Result<User> {
        let mut user = User::new(UserId::new(u.id.clone())?);
        let mut extra = u.extra;
        if let Some(e) = &u.email {
            match Email::new(e.clone()) {
                Ok(email) => user.email = Some(email),
                // Kept as read rather than dropped; matching by e-mail skips it.
                Err(_) => {
                    extra.insert("email".to_owned(), json!(e));
                }
            }
        }
        let full: Vec<&str> = [u.first_name.as_deref(), u.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        user.display_name = if full.is_empty() {
            u.user_name.clone()
        } else {
            Some(full.join(" "))
        };
        if u.status_id == Some(UserStatusId::Disabled) {
            user.status = UserStatus::Disabled;
        }
        if let Some(n) = &u.user_name {
            extra.insert("userName".to_owned(), json!(n));
        }
        if let Some(a) = u.admin_type {
            extra.insert("adminType".to_owned(), json!(a.code()));
        }
        if let Some(l) = u.client_license_type {
            extra.insert("clientLicenseType".to_owned(), json!(l.code()));
        }
        if let Some(t) = &u.tenant_id {
            extra.insert("tenantId".to_owned(), json!(t));
        }
        // The display name merges the names and the status only tells disabled
        // apart: keep the fields themselves so nothing read is lost.
        for (k, v) in [
            ("firstName", u.first_name.map(|s| json!(s))),
            ("lastName", u.last_name.map(|s| json!(s))),
            ("phone", u.phone.map(|s| json!(s))),
            ("statusID", u.status_id.map(|s| json!(s.code()))),
            ("createdDate", u.created_date.map(|d| json!(d))),
            ("lastLoginDate", u.last_login_date.map(|d| json!(d))),
        ] {
            if let Some(v) = v {
                extra.insert(k.to_owned(), v);
            }
        }
        user.extra = extra;
        Ok(user)
    }

    // ---- reads ------------------------------------------------------------------

    /// The tenant's users as full objects: the id list, then the objects of each
    /// known license type, then one `getUser` per user still missing.
    async fn fetch_users(&self) -> Result<Vec<UserObject>> {
        let ids = self
            .client
            .get_all_users_by_tenant(self.tenant_id())
            .await?;
        let by_license = futures::future::try_join_all(
            [
                ClientLicenseType::Professional,
                ClientLicenseType::Viewer,
                ClientLicenseType::None,
            ]
            .map(|l| {
                let query = TenantUsersGetObject {
                    tenant_id: self.tenant_id().to_owned(),
                    client_license_type: l,
                };
                let client = self.client.clone();
                async move {
                    client
                        .get_all_users_data_by_tenant_and_licence_type(&query)
                        .await
                }
            }),
        )
        .await?;
        let mut objects: BTreeMap<String, UserObject> = by_license
            .into_iter()
            .flatten()
            .map(|u| (u.id.clone(), u))
            .collect();
        let mut order = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for item in ids {
            let id = item.id.ok_or_else(|| {
                item_error("getAllUsersByTenant listed a user without an id".into())
            })?;
            if !objects.contains_key(&id) {
                missing.push(id.clone());
            }
            order.push(id);
        }
        let fetched: Vec<Result<UserObject>> = stream::iter(missing)
            .map(|id| {
                let client = self.client.clone();
                async move { client.get_user(&id).await }
            })
            .buffer_unordered(FAN_OUT)
            .collect()
            .await;
        for u in fetched {
            let u = u?;
            objects.insert(u.id.clone(), u);
        }
        Ok(order
            .into_iter()
            .filter_map(|id| objects.remove(&id))
            .collect())
    }

    async fn user_ids(&self) -> Result<BTreeSet<String>> {
        Ok(self
            .client
            .get_all_users_by_tenant(self.tenant_id())
            .await?
            .into_iter()
            .filter_map(|i| i.id)
            .collect())
    }

    async fn group_ids(&self) -> Result<BTreeSet<String>> {
        Ok(self
            .client
            .get_all_non_private_roles_by_tenant(self.tenant_id())
            .await?
            .into_iter()
            .filter_map(|r| r.role_id)
            .collect())
    }

    async fn profile_ids(&self) -> Result<BTreeSet<String>> {
        Ok(self
            .client
            .get_all_profiles_by_tenant_id(self.tenant_id())
            .await?
            .into_iter()
            .filter_map(|p| p.profile_id)
            .collect())
    }

    /// `(profile, bound role ids)` for each of `profiles`.
    async fn bindings(&self, profiles: Vec<String>) -> Result<Vec<(String, Vec<String>)>> {
        let got: Vec<Result<(String, Vec<String>)>> = stream::iter(profiles)
            .map(|p| {
                let client = self.client.clone();
                async move {
                    let roles = client.get_all_roles_by_profile_id(&p).await?;
                    Ok((p, roles.into_iter().filter_map(|r| r.role_id).collect()))
                }
            })
            .buffered(FAN_OUT)
            .collect()
            .await;
        got.into_iter().collect()
    }

    fn assignment(&self, principal: Principal, profile: &str) -> Result<Assignment> {
        Ok(Assignment::new(
            principal,
            ProfileId::new(profile)?,
            self.scope(),
        ))
    }

    // ---- writes -----------------------------------------------------------------

    /// The shape check every item passes before anything is read.
    fn check_shape(&self, a: &Assignment) -> Option<Error> {
        if let Some(feature) = self.capabilities().missing_for(a) {
            return Some(Error::unsupported(self.id.as_str(), feature));
        }
        match &a.scope {
            Scope::Tenant { code, .. } if *code != self.tenant => Some(Error::invalid(
                format!("scope {}", a.scope),
                format!("this system works in Pyramid tenant {}", self.tenant),
            )),
            Scope::Tenant {
                include_children: true,
                ..
            } => Some(Error::invalid(
                format!("scope {}", a.scope),
                "Pyramid tenants have no children",
            )),
            _ => None,
        }
    }

    async fn change_assignments(&self, items: &[Assignment], grant: bool) -> Vec<Outcome> {
        let mut out: Vec<Option<Outcome>> = items
            .iter()
            .map(|a| {
                // A revoke matches the key whatever the window (the `AssignmentStore`
                // contract), so a window on it is not a shape Pyramid lacks.
                let key_only;
                let a = if grant || a.validity.is_unbounded() {
                    a
                } else {
                    key_only = Assignment {
                        validity: Validity::ALWAYS,
                        ..a.clone()
                    };
                    &key_only
                };
                self.check_shape(a).map(Outcome::Failed)
            })
            .collect();
        let pending = |out: &[Option<Outcome>]| out.iter().any(Option::is_none);
        if !pending(&out) {
            return out.into_iter().flatten().collect();
        }
        let fail_rest = |out: &mut Vec<Option<Outcome>>, e: &Error| {
            for o in out.iter_mut().filter(|o| o.is_none()) {
                *o = Some(Outcome::Failed(e.clone()));
            }
        };
        // Existence checks, one list read per kind, all at once.
        let needs = |user: bool| {
            items
                .iter()
                .zip(&out)
                .any(|(a, o)| o.is_none() && a.principal.as_user().is_some() == user)
        };
        let (wants_users, wants_groups) = (needs(true), needs(false));
        let (profiles, users, groups) = futures::join!(
            self.profile_ids(),
            async {
                if wants_users {
                    Some(self.user_ids().await)
                } else {
                    None
                }
            },
            async {
                if wants_groups {
                    Some(self.group_ids().await)
                } else {
                    None
                }
            },
        );
        let profiles = match profiles {
            Ok(p) => p,
            Err(e) => {
                fail_rest(&mut out, &e);
                return out.into_iter().flatten().collect();
            }
        };
        for (a, o) in items.iter().zip(out.iter_mut()) {
            if o.is_some() {
                continue;
            }
            if !profiles.contains(a.profile.as_str()) {
                *o = Some(Outcome::Failed(Error::not_found(
                    Entity::Profile,
                    a.profile.as_str(),
                )));
                continue;
            }
            let (known, entity) = match &a.principal {
                Principal::User(u) => (
                    users
                        .as_ref()
                        .map(|r| r.as_ref().map(|s| s.contains(u.as_str()))),
                    Entity::User,
                ),
                Principal::Group(g) => (
                    groups
                        .as_ref()
                        .map(|r| r.as_ref().map(|s| s.contains(g.as_str()))),
                    Entity::Group,
                ),
            };
            match known {
                Some(Ok(true)) => {}
                Some(Ok(false)) | None => {
                    *o = Some(Outcome::Failed(Error::not_found(
                        entity,
                        a.principal.id_str(),
                    )));
                }
                Some(Err(e)) => *o = Some(Outcome::Failed(e.clone())),
            }
        }

        // Role bindings: one read and one write per profile.
        let mut by_profile: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut by_user: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, a) in items.iter().enumerate() {
            if out[i].is_some() {
                continue;
            }
            match &a.principal {
                Principal::Group(_) => by_profile
                    .entry(a.profile.as_str().to_owned())
                    .or_default()
                    .push(i),
                Principal::User(u) => by_user.entry(u.as_str().to_owned()).or_default().push(i),
            }
        }
        let (group_results, user_results): (Vec<ItemOutcomes>, Vec<ItemOutcomes>) = futures::join!(
            stream::iter(by_profile)
                .map(|(profile, idx)| async move {
                    self.change_bindings(&profile, idx, items, grant).await
                })
                .buffer_unordered(FAN_OUT)
                .collect(),
            stream::iter(by_user)
                .map(|(user, idx)| async move {
                    self.change_private_profile(&user, idx, items, grant).await
                })
                .buffer_unordered(FAN_OUT)
                .collect(),
        );
        for (i, o) in group_results.into_iter().chain(user_results).flatten() {
            out[i] = Some(o);
        }
        out.into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Outcome::Failed(Error::invalid("batch item", "was not processed"))
                })
            })
            .collect()
    }

    async fn change_bindings(
        &self,
        profile: &str,
        idx: Vec<usize>,
        items: &[Assignment],
        grant: bool,
    ) -> Vec<(usize, Outcome)> {
        let current: BTreeSet<String> = match self.client.get_all_roles_by_profile_id(profile).await
        {
            Ok(roles) => roles.into_iter().filter_map(|r| r.role_id).collect(),
            Err(e) => {
                return idx
                    .into_iter()
                    .map(|i| (i, Outcome::Failed(e.clone())))
                    .collect();
            }
        };
        let mut send: Vec<String> = Vec::new();
        let mut out = Vec::new();
        let mut waiting = Vec::new();
        for i in idx {
            let role = items[i].principal.id_str().to_owned();
            let needed = current.contains(&role) != grant;
            if !needed || send.contains(&role) {
                out.push((i, Outcome::AlreadyInState));
            } else {
                send.push(role.clone());
                waiting.push((i, role));
            }
        }
        if send.is_empty() {
            return out;
        }
        let data = ProfileRolesData {
            profile_id: profile.to_owned(),
            roles_to_add: if grant { send.clone() } else { Vec::new() },
            roles_to_remove: if grant { Vec::new() } else { send.clone() },
        };
        let (confirmed, write_error): (BTreeSet<String>, Option<Error>) =
            match self.client.update_roles_by_profile_id(&data).await {
                Ok(ids) => (ids.into_iter().filter_map(|i| i.id).collect(), None),
                Err(e) if outcome_unknown(&e) => (BTreeSet::new(), Some(e)),
                Err(e) => {
                    out.extend(
                        waiting
                            .into_iter()
                            .map(|(i, _)| (i, Outcome::Failed(e.clone()))),
                    );
                    return out;
                }
            };
        // A role the answer does not list (servers differ in what they list), or a
        // write whose outcome is unknown, is checked against a fresh read before it is
        // called a failure.
        let fresh = if waiting.iter().any(|(_, r)| !confirmed.contains(r)) {
            self.client
                .get_all_roles_by_profile_id(profile)
                .await
                .map(|roles| {
                    roles
                        .into_iter()
                        .filter_map(|r| r.role_id)
                        .collect::<BTreeSet<_>>()
                })
                .ok()
        } else {
            None
        };
        for (i, role) in waiting {
            let done = confirmed.contains(&role)
                || fresh.as_ref().is_some_and(|f| f.contains(&role) == grant);
            out.push((
                i,
                if done {
                    Outcome::Applied
                } else {
                    Outcome::Failed(write_error.clone().unwrap_or_else(|| Error::Vendor {
                        system: self.id.to_string(),
                        status: 200,
                        code: None,
                        message: format!(
                            "updateRolesByProfileId did not {} role {role}",
                            if grant { "bind" } else { "unbind" }
                        ),
                        request_id: None,
                    }))
                },
            ));
        }
        out
    }

    async fn change_private_profile(
        &self,
        user: &str,
        idx: Vec<usize>,
        items: &[Assignment],
        grant: bool,
    ) -> Vec<(usize, Outcome)> {
        let mut current = match self.client.get_private_profile_id_for_user(user).await {
            Ok(p) => p,
            Err(e) => {
                return idx
                    .into_iter()
                    .map(|i| (i, Outcome::Failed(e.clone())))
                    .collect();
            }
        };
        let mut out = Vec::new();
        for i in idx {
            let profile = items[i].profile.as_str();
            let outcome = match (&current, grant) {
                (Some(p), true) if p == profile => Outcome::AlreadyInState,
                (Some(p), true) => Outcome::Failed(Error::Conflict {
                    entity: Entity::User,
                    id: user.to_owned(),
                    why: format!(
                        "already holds private profile {p}; Pyramid allows one per user (revoke it first)"
                    ),
                }),
                (None, false) => Outcome::AlreadyInState,
                (Some(p), false) if p != profile => Outcome::AlreadyInState,
                _ => {
                    let update = UpdateUserDb {
                        id: user.to_owned(),
                        profile_id: Some(grant.then(|| profile.to_owned())),
                        ..UpdateUserDb::default()
                    };
                    let desired = grant.then(|| profile.to_owned());
                    match self.client.update_user_db(&update).await {
                        Ok(()) => {
                            current = desired;
                            Outcome::Applied
                        }
                        // The answer was lost or garbled: what does the server hold?
                        Err(e) if outcome_unknown(&e) => {
                            match self.client.get_private_profile_id_for_user(user).await {
                                Ok(now) if now == desired => {
                                    current = now;
                                    Outcome::Applied
                                }
                                Ok(now) => {
                                    current = now;
                                    Outcome::Failed(e)
                                }
                                Err(_) => Outcome::Failed(e),
                            }
                        }
                        Err(e) => Outcome::Failed(e),
                    }
                }
            };
            out.push((i, outcome));
        }
        out
    }

    async fn change_memberships(&self, items: &[Membership], add: bool) -> Vec<Outcome> {
        if items.is_empty() {
            return Vec::new();
        }
        let (users, groups) = futures::join!(self.user_ids(), self.group_ids());
        let (users, groups) = match (users, groups) {
            (Ok(u), Ok(g)) => (u, g),
            (Err(e), _) | (_, Err(e)) => return Outcome::all_failed(items.len(), &e),
        };
        let mut out: Vec<Option<Outcome>> = vec![None; items.len()];
        let mut by_user: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, m) in items.iter().enumerate() {
            if !groups.contains(m.group.as_str()) {
                out[i] = Some(Outcome::Failed(Error::not_found(
                    Entity::Group,
                    m.group.as_str(),
                )));
            } else if !users.contains(m.user.as_str()) {
                out[i] = Some(Outcome::Failed(Error::not_found(
                    Entity::User,
                    m.user.as_str(),
                )));
            } else {
                by_user
                    .entry(m.user.as_str().to_owned())
                    .or_default()
                    .push(i);
            }
        }
        let results: Vec<Vec<(usize, Outcome)>> = stream::iter(by_user)
            .map(|(user, idx): (String, Vec<usize>)| async move {
                let user = user.as_str();
                let current: BTreeSet<String> = match self.client.get_all_roles_by_user(user).await
                {
                    Ok(r) => r.into_iter().filter_map(|i| i.id).collect(),
                    Err(e) => {
                        return idx
                            .into_iter()
                            .map(|i| (i, Outcome::Failed(e.clone())))
                            .collect();
                    }
                };
                let mut send: Vec<String> = Vec::new();
                let mut waiting = Vec::new();
                let mut res = Vec::new();
                for i in idx {
                    let g = items[i].group.as_str().to_owned();
                    if current.contains(&g) == add || send.contains(&g) {
                        res.push((i, Outcome::AlreadyInState));
                    } else {
                        send.push(g.clone());
                        waiting.push((i, g));
                    }
                }
                if send.is_empty() {
                    return res;
                }
                let data = UserRolesData {
                    user_id: user.to_owned(),
                    roles_to_add: if add { send.clone() } else { Vec::new() },
                    roles_to_remove: if add { Vec::new() } else { send },
                };
                let (now, write_error): (Option<BTreeSet<String>>, Option<Error>) =
                    match self.client.update_user_roles(&data).await {
                        Ok(final_roles) => (
                            Some(final_roles.into_iter().filter_map(|i| i.id).collect()),
                            None,
                        ),
                        // The answer was lost or garbled: read what the server holds.
                        Err(e) if outcome_unknown(&e) => (
                            self.client
                                .get_all_roles_by_user(user)
                                .await
                                .ok()
                                .map(|r| r.into_iter().filter_map(|i| i.id).collect()),
                            Some(e),
                        ),
                        Err(e) => (None, Some(e)),
                    };
                for (i, g) in waiting {
                    let ok = now.as_ref().is_some_and(|now| now.contains(&g) == add);
                    res.push((
                        i,
                        if ok {
                            Outcome::Applied
                        } else {
                            Outcome::Failed(write_error.clone().unwrap_or_else(|| Error::Vendor {
                                system: self.id.to_string(),
                                status: 200,
                                code: None,
                                message: format!(
                                    "updateUserRoles answered without the change to role {g}"
                                ),
                                request_id: None,
                            }))
                        },
                    ));
                }
                res
            })
            .buffer_unordered(FAN_OUT)
            .collect()
            .await;
        for (i, o) in results.into_iter().flatten() {
            out[i] = Some(o);
        }
        out.into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Outcome::Failed(Error::invalid("batch item", "was not processed"))
                })
            })
            .collect()
    }
}

/// Whether a failed write may nevertheless have taken effect: the answer was lost
/// (network), garbled (decode), or came from a gateway or a crashing server after
/// the request was passed on. 503 and 429 mean the server refused before working.
fn outcome_unknown(e: &Error) -> bool {
    match e {
        Error::Transport { .. } | Error::Decode { .. } => true,
        Error::Vendor { status, .. } => matches!(status, 500 | 502 | 504),
        _ => false,
    }
}

/// The capabilities of a holder: the names of its bits; a bit this crate does not
/// know becomes `bit_<n>` so it is reported, not dropped.
fn capabilities_of(holder: &ProfilePermissionHolder) -> Vec<Capability> {
    let bits: Vec<i64> = match (&holder.permission_bit_index_list, holder.numeric) {
        (Some(list), _) => {
            let mut l = list.clone();
            l.sort_unstable();
            l.dedup();
            l
        }
        (None, Some(n)) => (0..64).filter(|b| (n >> b) & 1 == 1).collect(),
        (None, None) => Vec::new(),
    };
    bits.into_iter()
        .map(|b| match crate::wire::Permission::from_bit(b) {
            Some(p) => Capability::new(p.name()),
            None => Capability::new(format!("bit_{b}")),
        })
        .collect()
}

#[async_trait]
impl ProfileCatalog for PyramidSystem {
    async fn list_profiles(&self) -> Result<Vec<Profile>> {
        self.client
            .get_all_profiles_by_tenant_id(self.tenant_id())
            .await?
            .into_iter()
            .map(|p| self.profile_from_wire(p))
            .collect()
    }

    async fn get_profile(&self, id: &ProfileId) -> Result<Profile> {
        self.list_profiles()
            .await?
            .into_iter()
            .find(|p| p.id == *id)
            .ok_or_else(|| Error::not_found(Entity::Profile, id.as_str()))
    }

    async fn create_profile(&self, new: &NewProfile) -> Result<Profile> {
        if new.name.trim().is_empty() {
            return Err(Error::invalid("profile name", "must not be empty"));
        }
        match &new.scope {
            None => {}
            Some(Scope::Tenant {
                code,
                include_children: false,
            }) if *code == self.tenant => {}
            Some(other) => {
                return Err(Error::invalid(
                    format!("profile scope {other}"),
                    format!(
                        "profiles of this system live in Pyramid tenant {}",
                        self.tenant
                    ),
                ));
            }
        }
        if let Some(c) = new.capabilities.iter().find(|c| c.level.is_some()) {
            return Err(Error::invalid(
                format!("capability {:?}", c.name),
                "Pyramid permission bits have no levels",
            ));
        }
        let set = PermissionSet::from_names(new.capabilities.iter().map(|c| c.name.as_str()))?;
        set.validate(self.rules)?;
        let data = ProfileApiData {
            profile_id: None,
            name: new.name.clone(),
            description: new.description.clone().unwrap_or_default(),
            tenant_id: self.tenant_id().to_owned(),
            permissions: match self.form {
                PermissionForm::Numeric => set.to_numeric_holder(),
                PermissionForm::List => set.to_list_holder(),
            },
            extra: Extra::new(),
        };
        let id = self.client.add_profile(&data).await?;
        // What the server stored (dates, author), when it lists it right away.
        if let Ok(listed) = self.get_profile(&ProfileId::new(id.clone())?).await {
            return Ok(listed);
        }
        let mut wire = data;
        wire.profile_id = Some(id);
        wire.permissions = set.to_numeric_holder();
        self.profile_from_wire(wire)
    }

    async fn delete_profile(&self, id: &ProfileId) -> Result<()> {
        if !self.profile_ids().await?.contains(id.as_str()) {
            return Err(Error::not_found(Entity::Profile, id.as_str()));
        }
        self.client.delete_profile(id.as_str()).await
    }
}

#[async_trait]
impl Directory for PyramidSystem {
    async fn list_users(&self) -> Result<Vec<User>> {
        self.fetch_users()
            .await?
            .into_iter()
            .map(Self::user_from_wire)
            .collect()
    }

    async fn list_groups(&self) -> Result<Vec<Group>> {
        self.client
            .get_all_non_private_roles_by_tenant(self.tenant_id())
            .await?
            .into_iter()
            .map(Self::group_from_wire)
            .collect()
    }

    async fn list_memberships(&self) -> Result<Vec<Membership>> {
        let (users, groups) = futures::join!(self.fetch_users(), self.group_ids());
        let (users, groups) = (users?, groups?);
        let without: Vec<String> = users
            .iter()
            .filter(|u| u.role_ids.is_none())
            .map(|u| u.id.clone())
            .collect();
        let fetched: Vec<Result<(String, Vec<String>)>> = stream::iter(without)
            .map(|id| {
                let client = self.client.clone();
                async move {
                    let roles = client.get_all_roles_by_user(&id).await?;
                    Ok((id, roles.into_iter().filter_map(|r| r.id).collect()))
                }
            })
            .buffer_unordered(FAN_OUT)
            .collect()
            .await;
        let mut roles_of: BTreeMap<String, Vec<String>> = users
            .into_iter()
            .filter_map(|u| u.role_ids.map(|r| (u.id, r)))
            .collect();
        for f in fetched {
            let (id, roles) = f?;
            roles_of.insert(id, roles);
        }
        let mut out = BTreeSet::new();
        for (user, roles) in roles_of {
            for role in roles.into_iter().filter(|r| groups.contains(r)) {
                out.insert(Membership::new(
                    UserId::new(user.clone())?,
                    GroupId::new(role)?,
                ));
            }
        }
        Ok(out.into_iter().collect())
    }

    async fn add_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        self.change_memberships(items, true).await
    }

    async fn remove_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        self.change_memberships(items, false).await
    }
}

#[async_trait]
impl AssignmentStore for PyramidSystem {
    async fn list_assignments(&self) -> Result<Vec<Assignment>> {
        let (profiles, users) = futures::join!(self.profile_ids(), self.user_ids());
        let (profiles, users) = (profiles?, users?);
        let bindings = self.bindings(profiles.into_iter().collect()).await?;
        let private: Vec<Result<(String, Option<String>)>> = stream::iter(users)
            .map(|u| {
                let client = self.client.clone();
                async move {
                    let p = client.get_private_profile_id_for_user(&u).await?;
                    Ok((u, p))
                }
            })
            .buffered(FAN_OUT)
            .collect()
            .await;
        let mut out = BTreeSet::new();
        for (profile, roles) in bindings {
            for role in roles {
                out.insert(self.assignment(Principal::Group(GroupId::new(role)?), &profile)?);
            }
        }
        for p in private {
            if let (user, Some(profile)) = p? {
                out.insert(self.assignment(Principal::User(UserId::new(user)?), &profile)?);
            }
        }
        Ok(out.into_iter().collect())
    }

    async fn list_assignments_for(&self, principal: &Principal) -> Result<Vec<Assignment>> {
        match principal {
            Principal::User(u) => {
                if !self.user_ids().await?.contains(u.as_str()) {
                    return Err(Error::not_found(Entity::User, u.as_str()));
                }
                Ok(
                    match self
                        .client
                        .get_private_profile_id_for_user(u.as_str())
                        .await?
                    {
                        Some(p) => vec![self.assignment(principal.clone(), &p)?],
                        None => Vec::new(),
                    },
                )
            }
            Principal::Group(g) => {
                let (groups, profiles) = futures::join!(self.group_ids(), self.profile_ids());
                if !groups?.contains(g.as_str()) {
                    return Err(Error::not_found(Entity::Group, g.as_str()));
                }
                let mut out = Vec::new();
                for (profile, roles) in self.bindings(profiles?.into_iter().collect()).await? {
                    if roles.iter().any(|r| r == g.as_str()) {
                        out.push(self.assignment(principal.clone(), &profile)?);
                    }
                }
                Ok(out)
            }
        }
    }

    async fn grant(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.change_assignments(items, true).await
    }

    async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.change_assignments(items, false).await
    }
}

impl AccessSystem for PyramidSystem {
    fn id(&self) -> &SystemId {
        &self.id
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            validity_windows: false,
            system_scope: false,
            tenant_scopes: true,
            resource_scopes: false,
            user_principals: true,
            group_principals: true,
            groups: true,
            membership_write: true,
            profile_create: true,
            profile_delete: true,
            max_assignments_per_user: Some(1),
            max_batch: 500,
            page_size: None,
        }
    }
}
