//! [`PyramidSystem`]: the core traits over [`PyramidClient`] (the type, connecting,
//! reads and the trait impls here; wire mapping, grants and memberships in submodules).
//!
//! | core | Pyramid |
//! |---|---|
//! | [`User`] | user of the tenant |
//! | [`Group`] | non-private role of the tenant |
//! | [`Profile`] | profile of the tenant; capabilities are permission bit names |
//! | [`Assignment`] to a group | the profile bound to the role (`updateRolesByProfileId`) |
//! | [`Assignment`] to a user | the user's private profile (`updateUserDb`), at most one |
//! | [`Scope`] | always `Scope::Tenant { code: <tenant id>, include_children: false }` |
//! | [`Validity`](grantbridge_core::Validity) | unsupported ([`Error::Unsupported`]) |
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

mod assignments;
mod convert;
mod memberships;

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use futures::stream;
use grantbridge_core::engine::TargetIdentity;
use grantbridge_core::{
    AccessSystem, Assignment, AssignmentStore, Capabilities, Directory, Entity, Error, Extra,
    Group, GroupId, Membership, NewProfile, Outcome, Principal, Profile, ProfileCatalog, ProfileId,
    Result, Scope, SystemId, TenantCode, User, UserId, async_trait,
};

use crate::client::PyramidClient;
use crate::config::{PermissionForm, PyramidConfig};
use crate::wire::{
    ClientLicenseType, PermissionRules, PermissionSet, ProfileApiData, TenantUsersGetObject,
    UserObject,
};

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

    /// The API host, the Pyramid tenant and the user the client logs in as.
    fn identity(&self) -> TargetIdentity {
        TargetIdentity::new(self.id.clone())
            .with_host_of(self.client.http().base_url().as_str())
            .with_tenant(self.tenant.as_str())
            .with_principal(self.client.username())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::minimal()
            .with_validity_windows(false)
            .with_system_scope(false)
            .with_tenant_scopes(true)
            .with_resource_scopes(false)
            .with_user_principals(true)
            .with_group_principals(true)
            .with_groups(true)
            .with_membership_write(true)
            .with_profile_create(true)
            .with_profile_delete(true)
            .with_max_assignments_per_user(Some(1))
            .with_max_batch(500)
            .with_page_size(None)
    }
}
