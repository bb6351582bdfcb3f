//! Role methods: creating, deleting, reading and searching roles.

use serde_json::{Value, json};

use super::{Reply, failed, ok_ids, string, to_json, typed};
use crate::sandbox::state::Store;
use crate::wire::{ItemId, ModifiedItemsResult, SearchCriteria};

impl Store {
    /// `access/createRole`.
    pub(super) fn create_role_call(&mut self, body: &Value) -> Reply {
        let role: Value = tri!(typed(body, &["roleData", "data"]));
        match self.create_role(&role) {
            Ok(id) => ok_ids([id]),
            Err(message) => failed(message),
        }
    }

    /// `access/createRoles`.
    pub(super) fn create_roles(&mut self, body: &Value) -> Reply {
        let roles: Vec<Value> = tri!(typed(body, &["roleData", "data"]));
        let mut created = Vec::new();
        let mut errors = Vec::new();
        for (i, role) in roles.iter().enumerate() {
            match self.create_role(role) {
                Ok(id) => created.push(ItemId::named(id.clone(), self.roles[&id].name.clone())),
                Err(e) => errors.push(format!("role {i}: {e}")),
            }
        }
        Reply::Data(to_json(&ModifiedItemsResult {
            success: Some(errors.is_empty()),
            error_message: (!errors.is_empty()).then(|| errors.join("; ")),
            modified_list: created,
        }))
    }

    /// `access/deleteRole`.
    pub(super) fn delete_role(&mut self, body: &Value) -> Reply {
        let id = tri!(string(body, "roleId"));
        if self.roles.remove(&id).is_none() {
            return failed(format!("Role {id} was not found"));
        }
        self.bindings.retain(|(_, r)| *r != id);
        for u in self.users.values_mut() {
            u.roles.remove(&id);
        }
        ok_ids([id])
    }

    /// `access/getRoleById`.
    pub(super) fn get_role_by_id(&self, body: &Value) -> Reply {
        let id = tri!(string(body, "roleId"));
        match self.roles.get(&id) {
            Some(r) => Reply::Data(self.role_json(r, false)),
            None => failed(format!("Role {id} was not found")),
        }
    }

    /// `access/getAllNonPrivateRolesByTenant`.
    pub(super) fn get_all_non_private_roles_by_tenant(&self, body: &Value) -> Reply {
        let tenant = tri!(self.tenant_param(body));
        Reply::Data(Value::Array(
            self.roles
                .values()
                .filter(|r| r.tenant == tenant && !r.private)
                .map(|r| self.role_json(r, false))
                .collect(),
        ))
    }

    /// `access/getRolesByName`.
    pub(super) fn get_roles_by_name(&self, body: &Value) -> Reply {
        let criteria: SearchCriteria = tri!(typed(body, &["searchCriteria", "data"]));
        Reply::Data(Value::Array(
            self.roles
                .values()
                .filter(|r| {
                    criteria
                        .search_match_type
                        .matches(&r.name, &criteria.search_value)
                })
                .map(|r| json!({"roleId": r.id, "roleName": r.name, "tenantId": r.tenant}))
                .collect(),
        ))
    }

    fn create_role(&mut self, role: &Value) -> Result<String, String> {
        let name = role
            .get("roleName")
            .or_else(|| role.get("name"))
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .ok_or("A role needs a roleName")?;
        let tenant = role
            .get("tenantId")
            .and_then(Value::as_str)
            .unwrap_or(&self.default_tenant)
            .to_owned();
        if !self.tenants.contains_key(&tenant) {
            return Err(format!("Tenant {tenant} was not found"));
        }
        let id = self.add_role(name, &tenant, false);
        if let Some(r) = self.roles.get_mut(&id) {
            r.hidden = role
                .get("isHidden")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            r.group_role = role
                .get("isGroupRole")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
        Ok(id)
    }
}
