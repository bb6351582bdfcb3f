//! User methods: the caller, listing and reading users, their roles and private
//! profile.

use serde_json::{Value, json};

use super::{Reply, failed, ok_ids, param, string, to_json, typed};
use crate::sandbox::state::Store;
use crate::wire::{ClientLicenseType, ItemId, ModifiedItemsResult, UserStatusId};

impl Store {
    /// `access/getMe`.
    pub(super) fn get_me(&self, caller: &str) -> Reply {
        match self.users.get(caller) {
            Some(u) => Reply::Data(self.user_json(u)),
            None => failed("The token's user no longer exists"),
        }
    }

    /// `access/getAllUsersByTenant`.
    pub(super) fn get_all_users_by_tenant(&self, body: &Value) -> Reply {
        let tenant = tri!(self.tenant_param(body));
        Reply::Data(Value::Array(
            self.users
                .values()
                .filter(|u| u.object.tenant_id.as_deref() == Some(tenant.as_str()))
                .map(|u| json!({"id": u.object.id, "name": u.object.user_name}))
                .collect(),
        ))
    }

    /// `access/getAllUsersDataByTenantAndLicenceType`.
    pub(super) fn get_all_users_data_by_tenant_and_licence_type(&self, body: &Value) -> Reply {
        let query: Value = tri!(typed(body, &["tenantUsersGetObject", "data"]));
        let tenant = query
            .get("tenantId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !self.tenants.contains_key(tenant) {
            return failed(format!("Tenant {tenant} was not found"));
        }
        let license = query
            .get("clientLicenseType")
            .and_then(Value::as_i64)
            .map(ClientLicenseType::from_code);
        Reply::Data(Value::Array(
            self.users
                .values()
                .filter(|u| u.object.tenant_id.as_deref() == Some(tenant))
                .filter(|u| license.is_none() || u.object.client_license_type == license)
                .map(|u| self.user_json(u))
                .collect(),
        ))
    }

    /// `access/getUser`.
    pub(super) fn get_user(&self, body: &Value) -> Reply {
        let id = tri!(string(body, "userId"));
        match self.users.get(&id) {
            Some(u) => Reply::Data(self.user_json(u)),
            None => failed(format!("User {id} was not found")),
        }
    }

    /// `access/getUsersByName`.
    pub(super) fn get_users_by_name(&self, body: &Value) -> Reply {
        let name = tri!(string(body, "userName"));
        Reply::Data(Value::Array(
            self.users
                .values()
                .filter(|u| {
                    u.object
                        .user_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                })
                .map(|u| self.user_json(u))
                .collect(),
        ))
    }

    /// `access/getAllRolesByUser`.
    pub(super) fn get_all_roles_by_user(&self, body: &Value) -> Reply {
        let id = tri!(string(body, "userId"));
        match self.users.get(&id) {
            Some(u) => Reply::Data(Value::Array(
                u.roles
                    .iter()
                    .filter_map(|r| self.roles.get(r))
                    .map(|r| to_json(&ItemId::named(r.id.clone(), r.name.clone())))
                    .collect(),
            )),
            None => failed(format!("User {id} was not found")),
        }
    }

    /// `access/getUsersByRole`.
    pub(super) fn get_users_by_role(&self, body: &Value) -> Reply {
        let id = tri!(string(body, "roleId"));
        if !self.roles.contains_key(&id) {
            return failed(format!("Role {id} was not found"));
        }
        Reply::Data(Value::Array(
            self.users
                .values()
                .filter(|u| u.roles.contains(&id))
                .map(|u| self.user_json(u))
                .collect(),
        ))
    }

    /// `access/addUserToRole`.
    pub(super) fn add_user_to_role(&mut self, body: &Value) -> Reply {
        let data: Value = tri!(typed(body, &["addUserRoleData", "data"]));
        let user = data
            .get("userId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let role = data
            .get("roleId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match self.join(&user, &role) {
            Ok(()) => ok_ids([user]),
            Err(e) => failed(e),
        }
    }

    /// `access/addUsersToRole`.
    pub(super) fn add_users_to_role(&mut self, body: &Value) -> Reply {
        let data: Value = tri!(typed(body, &["addUsersRoleData", "data"]));
        let role = data
            .get("roleId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let users: Vec<String> = data
            .get("userIds")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let mut done = Vec::new();
        let mut errors = Vec::new();
        for user in users {
            match self.join(&user, &role) {
                Ok(()) => done.push(ItemId::new(user)),
                Err(e) => errors.push(e),
            }
        }
        Reply::Data(to_json(&ModifiedItemsResult {
            success: Some(errors.is_empty()),
            error_message: (!errors.is_empty()).then(|| errors.join("; ")),
            modified_list: done,
        }))
    }

    fn join(&mut self, user: &str, role: &str) -> Result<(), String> {
        if !self.roles.contains_key(role) {
            return Err(format!("Role {role} was not found"));
        }
        match self.users.get_mut(user) {
            Some(u) => {
                u.roles.insert(role.to_owned());
                Ok(())
            }
            None => Err(format!("User {user} was not found")),
        }
    }

    pub(super) fn update_user_roles(&mut self, body: &Value) -> Reply {
        let data: Value = tri!(typed(body, &["userRolesData", "data"]));
        let user = data
            .get("userId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let list = |key: &str| -> Vec<String> {
            data.get(key)
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default()
        };
        let (add, remove) = (list("rolesToAdd"), list("rolesToRemove"));
        if let Some(r) = add.iter().find(|r| !self.roles.contains_key(*r)) {
            return failed(format!("Role {r} was not found"));
        }
        let Some(u) = self.users.get_mut(&user) else {
            return failed(format!("User {user} was not found"));
        };
        u.roles.extend(add);
        for r in &remove {
            u.roles.remove(r);
        }
        let roles: Vec<ItemId> = u.roles.iter().cloned().map(ItemId::new).collect();
        Reply::Data(to_json(&roles))
    }

    pub(super) fn update_user_db(&mut self, body: &Value) -> Reply {
        let data = tri!(
            param(body, &["updateUserDb", "data", "user"])
                .filter(|v| v.is_object())
                .ok_or_else(|| failed("Missing parameter updateUserDb"))
        );
        let id = data
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let Some(tenant) = self.users.get(&id).and_then(|u| u.object.tenant_id.clone()) else {
            return failed(format!("User {id} was not found"));
        };
        let profile = match data.get("profileId") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(p)) if p.is_empty() => Some(None),
            Some(Value::String(p)) => {
                let in_tenant = self.profiles.get(p).map(|x| &x.data.tenant_id);
                if in_tenant != Some(&tenant) {
                    return failed(format!("Profile {p} was not found in the user's tenant"));
                }
                Some(Some(p.clone()))
            }
            Some(_) => return failed("Invalid parameter profileId"),
        };
        let Some(u) = self.users.get_mut(&id) else {
            return failed(format!("User {id} was not found"));
        };
        if let Some(p) = profile {
            u.private_profile = p;
        }
        let text = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_owned);
        if let Some(e) = text("email") {
            u.object.email = Some(e);
        }
        if let Some(f) = text("firstName") {
            u.object.first_name = Some(f);
        }
        if let Some(l) = text("lastName") {
            u.object.last_name = Some(l);
        }
        if let Some(s) = data.get("statusID").and_then(Value::as_i64) {
            u.object.status_id = Some(UserStatusId::from_code(s));
        }
        ok_ids([id])
    }
}
