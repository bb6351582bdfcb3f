//! The emulator's data (tenants, users, roles, profiles, bindings, tokens) and the
//! constructors the seeds and methods use; the methods themselves are in `routes`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::json;

use crate::wire::{
    AdminType, ClientLicenseType, PermissionSet, ProfileApiData, UserObject, UserStatusId,
};

pub(crate) struct Tenant {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) viewer_seats: i64,
    pub(crate) pro_seats: i64,
}

pub(crate) struct User {
    pub(crate) object: UserObject,
    pub(crate) password: String,
    pub(crate) roles: BTreeSet<String>,
    pub(crate) private_profile: Option<String>,
}

pub(crate) struct Role {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) tenant: String,
    pub(crate) hidden: bool,
    pub(crate) private: bool,
    pub(crate) group_role: bool,
}

pub(crate) struct Profile {
    pub(crate) data: ProfileApiData,
}

#[derive(Default)]
pub(crate) struct Store {
    pub(crate) default_tenant: String,
    pub(crate) tenants: BTreeMap<String, Tenant>,
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) roles: BTreeMap<String, Role>,
    pub(crate) profiles: BTreeMap<String, Profile>,
    /// (profile id, role id).
    pub(crate) bindings: BTreeSet<(String, String)>,
    pub(crate) tokens: HashMap<String, (String, bool)>,
    pub(crate) next_id: u64,
    pub(crate) now_ms: i64,
}

impl Store {
    pub(crate) fn new(default_tenant: &str, now_ms: i64) -> Self {
        Store {
            default_tenant: default_tenant.to_owned(),
            next_id: 0x1000,
            now_ms,
            ..Store::default()
        }
    }

    pub(crate) fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.next_id)
    }

    pub(crate) fn expire_tokens(&mut self) {
        for (_, valid) in self.tokens.values_mut() {
            *valid = false;
        }
    }

    pub(crate) fn counts(&self) -> (usize, usize, usize, usize, usize, usize) {
        (
            self.tenants.len(),
            self.users.len(),
            self.roles.len(),
            self.profiles.len(),
            self.bindings.len(),
            self.users
                .values()
                .filter(|u| u.private_profile.is_some())
                .count(),
        )
    }

    pub(crate) fn add_tenant(&mut self, id: &str, name: &str) {
        self.tenants.insert(
            id.to_owned(),
            Tenant {
                id: id.to_owned(),
                name: name.to_owned(),
                viewer_seats: 500,
                pro_seats: 100,
            },
        );
    }

    pub(crate) fn add_role(&mut self, name: &str, tenant: &str, private: bool) -> String {
        let id = self.new_id();
        let name = self.unique_role_name(name, tenant);
        self.roles.insert(
            id.clone(),
            Role {
                id: id.clone(),
                name,
                tenant: tenant.to_owned(),
                hidden: false,
                private,
                group_role: false,
            },
        );
        id
    }

    fn unique_role_name(&self, name: &str, tenant: &str) -> String {
        let taken = |n: &str| {
            self.roles
                .values()
                .any(|r| r.tenant == tenant && r.name == n)
        };
        if !taken(name) {
            return name.to_owned();
        }
        (1..)
            .map(|i| format!("{name} ({i})"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| name.to_owned())
    }

    pub(crate) fn add_profile(
        &mut self,
        name: &str,
        description: &str,
        tenant: &str,
        bits: PermissionSet,
    ) -> String {
        let id = self.new_id();
        self.profiles.insert(
            id.clone(),
            Profile {
                data: ProfileApiData {
                    profile_id: Some(id.clone()),
                    name: name.to_owned(),
                    description: description.to_owned(),
                    tenant_id: tenant.to_owned(),
                    permissions: bits.to_numeric_holder(),
                    extra: [
                        ("createdDate".to_owned(), json!(self.now_ms)),
                        ("createdBy".to_owned(), json!("admin")),
                    ]
                    .into(),
                },
            },
        );
        id
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add_user(
        &mut self,
        user_name: &str,
        password: &str,
        first: &str,
        last: &str,
        email: Option<&str>,
        tenant: &str,
        license: ClientLicenseType,
        admin: AdminType,
    ) -> String {
        let id = self.new_id();
        self.users.insert(
            id.clone(),
            User {
                object: UserObject {
                    id: id.clone(),
                    user_name: Some(user_name.to_owned()),
                    first_name: Some(first.to_owned()),
                    last_name: Some(last.to_owned()),
                    email: email.map(str::to_owned),
                    phone: None,
                    admin_type: Some(admin),
                    role_ids: None,
                    client_license_type: Some(license),
                    status_id: Some(UserStatusId::Enabled),
                    tenant_id: Some(tenant.to_owned()),
                    created_date: Some(self.now_ms),
                    last_login_date: None,
                    extra: [("inheritanceType".to_owned(), json!("PyramidViewUserObject"))].into(),
                },
                password: password.to_owned(),
                roles: BTreeSet::new(),
                private_profile: None,
            },
        );
        id
    }
}
