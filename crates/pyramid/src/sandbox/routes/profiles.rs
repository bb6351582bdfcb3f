//! Profile methods: listing, adding and deleting profiles, private profiles, and the
//! roles a profile is bound to.

use serde_json::{Value, json};

use super::{Reply, failed, ok_ids, string, to_json, typed};
use crate::sandbox::state::{Profile, Store};
use crate::wire::{ItemId, Permission, PermissionSet, ProfileApiData, ProfilePermissionHolder};

impl Store {
    /// `access/getAllProfiles`.
    pub(super) fn get_all_profiles(&self) -> Reply {
        Reply::Data(Value::Array(
            self.profiles.values().map(|p| to_json(&p.data)).collect(),
        ))
    }

    /// `access/getAllProfilesByTenantId`.
    pub(super) fn get_all_profiles_by_tenant_id(&self, body: &Value) -> Reply {
        let tenant = tri!(self.tenant_param(body));
        Reply::Data(Value::Array(
            self.profiles
                .values()
                .filter(|p| p.data.tenant_id == tenant)
                .map(|p| to_json(&p.data))
                .collect(),
        ))
    }

    /// `access/deleteProfile`.
    pub(super) fn delete_profile(&mut self, body: &Value) -> Reply {
        let id = tri!(string(body, "profileId"));
        if self.profiles.remove(&id).is_none() {
            return failed(format!("Profile {id} was not found"));
        }
        self.bindings.retain(|(p, _)| *p != id);
        for u in self.users.values_mut() {
            if u.private_profile.as_deref() == Some(id.as_str()) {
                u.private_profile = None;
            }
        }
        ok_ids([id])
    }

    /// `access/getPrivateProfileIdForUser`.
    pub(super) fn get_private_profile_id_for_user(&self, body: &Value) -> Reply {
        let id = tri!(string(body, "userId"));
        match self.users.get(&id) {
            None => failed(format!("User {id} was not found")),
            Some(u) => Reply::Data(match &u.private_profile {
                Some(p) => to_json(&ItemId::new(p.clone())),
                None => Value::Null,
            }),
        }
    }

    /// `access/getAllRolesByProfileId`.
    pub(super) fn get_all_roles_by_profile_id(&self, body: &Value) -> Reply {
        let id = tri!(string(body, "profileId"));
        if !self.profiles.contains_key(&id) {
            return failed(format!("Profile {id} was not found"));
        }
        Reply::Data(Value::Array(
            self.bindings
                .iter()
                .filter(|(p, _)| *p == id)
                .filter_map(|(_, r)| self.roles.get(r))
                .map(|r| self.role_json(r, true))
                .collect(),
        ))
    }

    pub(super) fn add_profile_call(&mut self, body: &Value) -> Reply {
        let profile: ProfileApiData = tri!(typed(body, &["profileApiData", "data"]));
        if profile.name.trim().is_empty() {
            return failed("A profile needs a name");
        }
        if !self.tenants.contains_key(&profile.tenant_id) {
            return failed(format!("Tenant {} was not found", profile.tenant_id));
        }
        let bits = match PermissionSet::from_holder(&profile.permissions) {
            Ok(b) => b,
            Err(e) => return failed(format!("Invalid permissions: {e}")),
        };
        let lite = bits.contains(Permission::DisLiteVersion);
        if lite
            && (bits.contains(Permission::DisAdvancedAnalytics)
                || bits.contains(Permission::DisCreateShareable))
        {
            return failed("Permission switches 22 and 9/18 are mutually exclusive");
        }
        let id = match profile.profile_id.as_deref() {
            Some(id) if self.profiles.contains_key(id) => {
                return failed(format!("Profile {id} already exists"));
            }
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => self.new_id(),
        };
        let stored = ProfileApiData {
            profile_id: Some(id.clone()),
            permissions: ProfilePermissionHolder {
                permission_bit_index_list: None,
                numeric: Some(bits.numeric()),
            },
            extra: [
                ("createdDate".to_owned(), json!(self.now_ms)),
                ("createdBy".to_owned(), json!("admin")),
            ]
            .into(),
            ..profile
        };
        self.profiles.insert(id.clone(), Profile { data: stored });
        ok_ids([id])
    }

    pub(super) fn update_roles_by_profile(&mut self, body: &Value) -> Reply {
        let data: Value = tri!(typed(body, &["profileRolesData", "data"]));
        let profile = data
            .get("profileId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let Some(tenant) = self
            .profiles
            .get(&profile)
            .map(|p| p.data.tenant_id.clone())
        else {
            return failed(format!("Profile {profile} was not found"));
        };
        let list = |key: &str| -> Vec<String> {
            data.get(key)
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default()
        };
        let mut changed = Vec::new();
        for role in list("rolesToAdd") {
            let fits = self.roles.get(&role).is_some_and(|r| r.tenant == tenant);
            if fits && self.bindings.insert((profile.clone(), role.clone())) {
                changed.push(ItemId::new(role));
            }
        }
        for role in list("rolesToRemove") {
            if self.bindings.remove(&(profile.clone(), role.clone())) {
                changed.push(ItemId::new(role));
            }
        }
        Reply::Data(to_json(&changed))
    }
}
