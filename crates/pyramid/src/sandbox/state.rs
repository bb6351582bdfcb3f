//! The emulator's data and the semantics of each method.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::wire::{
    AdminType, ClientLicenseType, ItemId, ModifiedItemsResult, Permission, PermissionSet,
    ProfileApiData, ProfilePermissionHolder, RoleData, SearchCriteria, UserObject, UserStatusId,
};

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
    tokens: HashMap<String, (String, bool)>,
    next_id: u64,
    now_ms: i64,
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

    // ---- auth -------------------------------------------------------------------

    pub(crate) fn auth(&mut self, method: &str, body: &Value) -> Reply {
        match method {
            "authenticateuser" => {
                let creds = param(body, &["data", "userCredentials"])
                    .cloned()
                    .unwrap_or_default();
                let user_name = creds
                    .get("userName")
                    .or_else(|| creds.get("username"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let password = creds
                    .get("password")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let found = self.users.values().find(|u| {
                    u.object.user_name.as_deref() == Some(user_name)
                        && !u.password.is_empty()
                        && u.password == password
                        && u.object.status_id != Some(UserStatusId::Disabled)
                });
                match found {
                    Some(user) => {
                        let user_id = user.object.id.clone();
                        self.next_id += 1;
                        let token = token_text(self.next_id, &user_id);
                        self.tokens.insert(token.clone(), (user_id, true));
                        Reply::Token(token)
                    }
                    None => Reply::Text(StatusCode::UNAUTHORIZED, "Invalid credentials".to_owned()),
                }
            }
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
            "getme" => match self.users.get(&caller) {
                Some(u) => Reply::Data(self.user_json(u)),
                None => failed("The token's user no longer exists"),
            },
            "getdefaulttenant" => Reply::Data(json!(self.default_tenant)),
            "getalltenants" => Reply::Data(Value::Array(
                self.tenants
                    .values()
                    .map(|t| {
                        json!({"id": t.id, "name": t.name, "viewerSeats": t.viewer_seats, "proSeats": t.pro_seats,
                        "usedViewerSeats": self.seats(&t.id, ClientLicenseType::Viewer),
                        "usedProSeats": self.seats(&t.id, ClientLicenseType::Professional)})
                    })
                    .collect(),
            )),
            "createtenant" => {
                let t: Value = tri!(typed(body, &["newTenant", "tenant", "data"]));
                let Some(name) = t.get("name").and_then(Value::as_str).filter(|n| !n.trim().is_empty()) else {
                    return failed("A tenant needs a name");
                };
                if self.tenants.values().any(|x| x.name == name) {
                    return failed(format!("A tenant named {name} already exists"));
                }
                let id = match t.get("id").and_then(Value::as_str) {
                    Some(id) if self.tenants.contains_key(id) => {
                        return failed(format!("Tenant {id} already exists"));
                    }
                    Some(id) if !id.is_empty() => id.to_owned(),
                    _ => self.new_id(),
                };
                let name = name.to_owned();
                self.add_tenant(&id, &name);
                if let Some(x) = self.tenants.get_mut(&id) {
                    x.viewer_seats = t.get("viewerSeats").and_then(Value::as_i64).unwrap_or(0);
                    x.pro_seats = t.get("proSeats").and_then(Value::as_i64).unwrap_or(0);
                }
                ok_ids([id])
            }
            "gettenantbyname" => {
                let name = param(body, &["name", "tenantName", "data"]).and_then(Value::as_str).unwrap_or_default();
                match self.tenants.values().find(|t| t.name == name) {
                    Some(t) => Reply::Data(json!({"id": t.id, "name": t.name, "viewerSeats": t.viewer_seats, "proSeats": t.pro_seats})),
                    None => failed(format!("Tenant {name} was not found")),
                }
            }
            "getallprofiles" => Reply::Data(Value::Array(
                self.profiles.values().map(|p| to_json(&p.data)).collect(),
            )),
            "getallprofilesbytenantid" => {
                let tenant = tri!(self.tenant_param(body));
                Reply::Data(Value::Array(
                    self.profiles
                        .values()
                        .filter(|p| p.data.tenant_id == tenant)
                        .map(|p| to_json(&p.data))
                        .collect(),
                ))
            }
            "addprofile" => self.add_profile_call(body),
            "deleteprofile" => {
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
            "getprivateprofileidforuser" => {
                let id = tri!(string(body, "userId"));
                match self.users.get(&id) {
                    None => failed(format!("User {id} was not found")),
                    Some(u) => Reply::Data(match &u.private_profile {
                        Some(p) => to_json(&ItemId::new(p.clone())),
                        None => Value::Null,
                    }),
                }
            }
            "getallrolesbyprofileid" => {
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
            "updaterolesbyprofileid" => self.update_roles_by_profile(body),
            "createrole" => {
                let role: Value = tri!(typed(body, &["roleData", "data"]));
                match self.create_role(&role) {
                    Ok(id) => ok_ids([id]),
                    Err(message) => failed(message),
                }
            }
            "createroles" => {
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
            "deleterole" => {
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
            "getrolebyid" => {
                let id = tri!(string(body, "roleId"));
                match self.roles.get(&id) {
                    Some(r) => Reply::Data(self.role_json(r, false)),
                    None => failed(format!("Role {id} was not found")),
                }
            }
            "getallnonprivaterolesbytenant" => {
                let tenant = tri!(self.tenant_param(body));
                Reply::Data(Value::Array(
                    self.roles
                        .values()
                        .filter(|r| r.tenant == tenant && !r.private)
                        .map(|r| self.role_json(r, false))
                        .collect(),
                ))
            }
            "getrolesbyname" => {
                let criteria: SearchCriteria = tri!(typed(body, &["searchCriteria", "data"]));
                Reply::Data(Value::Array(
                    self.roles
                        .values()
                        .filter(|r| criteria.search_match_type.matches(&r.name, &criteria.search_value))
                        .map(|r| json!({"roleId": r.id, "roleName": r.name, "tenantId": r.tenant}))
                        .collect(),
                ))
            }
            "getallusersbytenant" => {
                let tenant = tri!(self.tenant_param(body));
                Reply::Data(Value::Array(
                    self.users
                        .values()
                        .filter(|u| u.object.tenant_id.as_deref() == Some(tenant.as_str()))
                        .map(|u| json!({"id": u.object.id, "name": u.object.user_name}))
                        .collect(),
                ))
            }
            "getallusersdatabytenantandlicencetype" => {
                let query: Value = tri!(typed(body, &["tenantUsersGetObject", "data"]));
                let tenant = query.get("tenantId").and_then(Value::as_str).unwrap_or_default();
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
            "getuser" => {
                let id = tri!(string(body, "userId"));
                match self.users.get(&id) {
                    Some(u) => Reply::Data(self.user_json(u)),
                    None => failed(format!("User {id} was not found")),
                }
            }
            "getusersbyname" => {
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
            "getallrolesbyuser" => {
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
            "getusersbyrole" => {
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
            "addusertorole" => {
                let data: Value = tri!(typed(body, &["addUserRoleData", "data"]));
                let user = data.get("userId").and_then(Value::as_str).unwrap_or_default().to_owned();
                let role = data.get("roleId").and_then(Value::as_str).unwrap_or_default().to_owned();
                match self.join(&user, &role) {
                    Ok(()) => ok_ids([user]),
                    Err(e) => failed(e),
                }
            }
            "adduserstorole" => {
                let data: Value = tri!(typed(body, &["addUsersRoleData", "data"]));
                let role = data.get("roleId").and_then(Value::as_str).unwrap_or_default().to_owned();
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
            "updateuserroles" => self.update_user_roles(body),
            "updateuserdb" => self.update_user_db(body),
            _ => Reply::Error(StatusCode::NOT_FOUND, format!("No such access method {method:?}")),
        }
    }

    fn seats(&self, tenant: &str, license: ClientLicenseType) -> usize {
        self.users
            .values()
            .filter(|u| u.object.tenant_id.as_deref() == Some(tenant))
            .filter(|u| u.object.client_license_type == Some(license))
            .count()
    }

    fn tenant_param(&self, body: &Value) -> Result<String, Reply> {
        let tenant = string(body, "tenantId")?;
        if self.tenants.contains_key(&tenant) {
            Ok(tenant)
        } else {
            Err(failed(format!("Tenant {tenant} was not found")))
        }
    }

    fn add_profile_call(&mut self, body: &Value) -> Reply {
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

    fn update_roles_by_profile(&mut self, body: &Value) -> Reply {
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

    fn update_user_roles(&mut self, body: &Value) -> Reply {
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

    fn update_user_db(&mut self, body: &Value) -> Reply {
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

/// A base64-looking token (hex digits are base64 characters) unique per login.
fn token_text(n: u64, user: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in user.bytes().chain(n.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("cHlyYW1pZC1{n:08x}{h:016x}")
}
