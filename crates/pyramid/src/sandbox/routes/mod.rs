//! The methods the emulator serves: `Store::auth` and `Store::access` check the
//! caller and dispatch each method to its function, grouped by resource in submodules.

use axum::http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::state::{Role, Store, User};
use crate::wire::{AdminType, ModifiedItemsResult, RoleData};

/// What a method answers.
pub(crate) enum Reply {
    /// `{"data": …}` with HTTP 200.
    Data(Value),
    /// A bare token, HTTP 200 text/plain.
    Token(String),
    /// Plain text with a status.
    Text(StatusCode, String),
    /// `{"error": …}` with a status.
    Error(StatusCode, String),
}

fn failed(message: impl Into<String>) -> Reply {
    Reply::Data(to_json(&ModifiedItemsResult::failed(message)))
}

fn ok_ids(ids: impl IntoIterator<Item = String>) -> Reply {
    Reply::Data(to_json(&ModifiedItemsResult::ok(ids)))
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A parameter under one of several keys (documented name, `data`, aliases).
fn param<'a>(body: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .find_map(|k| body.get(*k).filter(|v| !v.is_null()))
}

fn typed<T: DeserializeOwned>(body: &Value, keys: &[&str]) -> Result<T, Reply> {
    let v = param(body, keys).ok_or_else(|| failed(format!("Missing parameter {}", keys[0])))?;
    serde_json::from_value(v.clone())
        .map_err(|e| failed(format!("Invalid parameter {}: {e}", keys[0])))
}

fn string(body: &Value, key: &str) -> Result<String, Reply> {
    match body.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(failed(format!("Missing parameter {key}"))),
    }
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reply) => return reply,
        }
    };
}

mod auth;
mod profiles;
mod roles;
mod tenants;
mod users;

impl Store {
    fn user_json(&self, user: &User) -> Value {
        let mut object = user.object.clone();
        object.role_ids = Some(user.roles.iter().cloned().collect());
        to_json(&object)
    }

    fn role_json(&self, role: &Role, short_keys: bool) -> Value {
        let data = RoleData {
            role_id: Some(role.id.clone()),
            role_name: role.name.clone(),
            role_settings: None,
            is_hidden: Some(role.hidden),
            tenant_id: Some(role.tenant.clone()),
            is_private: Some(role.private),
            is_group_role: Some(role.group_role),
            created_by: Some("admin".to_owned()),
            extra: Default::default(),
        };
        let mut v = to_json(&data);
        if short_keys && let Value::Object(map) = &mut v {
            // Some methods spell role keys `id`/`name` (spec Q4).
            if let Some(id) = map.remove("roleId") {
                map.insert("id".to_owned(), id);
            }
            if let Some(name) = map.remove("roleName") {
                map.insert("name".to_owned(), name);
            }
        }
        v
    }

    fn tenant_param(&self, body: &Value) -> Result<String, Reply> {
        let tenant = string(body, "tenantId")?;
        if self.tenants.contains_key(&tenant) {
            Ok(tenant)
        } else {
            Err(failed(format!("Tenant {tenant} was not found")))
        }
    }

    // ---- auth -------------------------------------------------------------------

    pub(crate) fn auth(&mut self, method: &str, body: &Value) -> Reply {
        match method {
            "authenticateuser" => self.authenticate_user(body),
            _ => Reply::Error(
                StatusCode::NOT_FOUND,
                format!("No such auth method {method:?}"),
            ),
        }
    }

    // ---- access -----------------------------------------------------------------

    pub(crate) fn access(&mut self, method: &str, body: &Value) -> Reply {
        let caller = match body
            .get("auth")
            .and_then(Value::as_str)
            .and_then(|t| self.tokens.get(t))
        {
            Some((user, true)) => user.clone(),
            _ => {
                return Reply::Error(
                    StatusCode::UNAUTHORIZED,
                    "Invalid or expired token".to_owned(),
                );
            }
        };
        let is_admin = self
            .users
            .get(&caller)
            .is_some_and(|u| u.object.admin_type.is_some_and(|a| a != AdminType::None));
        if method != "getme" && !is_admin {
            return Reply::Error(
                StatusCode::FORBIDDEN,
                "All REST API calls are limited to administrative users".to_owned(),
            );
        }
        match method {
            "getme" => self.get_me(&caller),
            "getdefaulttenant" => self.get_default_tenant(),
            "getalltenants" => self.get_all_tenants(),
            "createtenant" => self.create_tenant(body),
            "gettenantbyname" => self.get_tenant_by_name(body),
            "getallprofiles" => self.get_all_profiles(),
            "getallprofilesbytenantid" => self.get_all_profiles_by_tenant_id(body),
            "addprofile" => self.add_profile_call(body),
            "deleteprofile" => self.delete_profile(body),
            "getprivateprofileidforuser" => self.get_private_profile_id_for_user(body),
            "getallrolesbyprofileid" => self.get_all_roles_by_profile_id(body),
            "updaterolesbyprofileid" => self.update_roles_by_profile(body),
            "createrole" => self.create_role_call(body),
            "createroles" => self.create_roles(body),
            "deleterole" => self.delete_role(body),
            "getrolebyid" => self.get_role_by_id(body),
            "getallnonprivaterolesbytenant" => self.get_all_non_private_roles_by_tenant(body),
            "getrolesbyname" => self.get_roles_by_name(body),
            "getallusersbytenant" => self.get_all_users_by_tenant(body),
            "getallusersdatabytenantandlicencetype" => {
                self.get_all_users_data_by_tenant_and_licence_type(body)
            }
            "getuser" => self.get_user(body),
            "getusersbyname" => self.get_users_by_name(body),
            "getallrolesbyuser" => self.get_all_roles_by_user(body),
            "getusersbyrole" => self.get_users_by_role(body),
            "addusertorole" => self.add_user_to_role(body),
            "adduserstorole" => self.add_users_to_role(body),
            "updateuserroles" => self.update_user_roles(body),
            "updateuserdb" => self.update_user_db(body),
            _ => Reply::Error(
                StatusCode::NOT_FOUND,
                format!("No such access method {method:?}"),
            ),
        }
    }
}
