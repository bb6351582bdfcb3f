//! Pyramid API 2.0 types exactly as on the wire (docs/specs/pyramid.md §4).
//!
//! Reading is lenient: unknown fields are kept in `extra` (nothing read is lost),
//! optional fields may be absent, role objects may spell their keys `roleId`/`roleName`
//! or `id`/`name`, and enums accept codes this crate does not know. Writing is exact:
//! only the documented fields, absent options left out.
//!
//! A request body is one JSON object holding the method's parameters and `"auth"`:
//! see [`crate::client`] for the wrapper key of object parameters.

mod permissions;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use permissions::{Permission, PermissionRules, PermissionSet, Violation};

/// The documented id of the default tenant, which always exists.
pub const DEFAULT_TENANT_ID: &str = "90000000-0000-0000-0000-000000000009";

/// Fields a type does not model, kept as read.
pub type Extra = BTreeMap<String, serde_json::Value>;

/// The success envelope of every JSON method: `{"data": …}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The payload: an object, an array or a bare string.
    pub data: T,
}

/// `ModifiedItemsResult`: the result of write methods.
///
/// HTTP 200 with `success: false` is a failure. Batch methods may partially succeed:
/// compare the length of `modified_list` with the number of items sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedItemsResult {
    /// The success flag; absent is read as success when there is no error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// The failure message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The ids created, changed or deleted (what they are depends on the method).
    #[serde(default, deserialize_with = "null_as_default")]
    pub modified_list: Vec<ItemId>,
}

impl ModifiedItemsResult {
    /// Whether the server reported failure (`success: false`, or an error message
    /// without a flag).
    pub fn is_failure(&self) -> bool {
        match self.success {
            Some(ok) => !ok,
            None => self.error_message.as_deref().is_some_and(|m| !m.is_empty()),
        }
    }

    /// A successful result listing `ids`.
    pub fn ok(ids: impl IntoIterator<Item = String>) -> Self {
        ModifiedItemsResult {
            success: Some(true),
            error_message: None,
            modified_list: ids.into_iter().map(ItemId::new).collect(),
        }
    }

    /// A failed result with `message`.
    pub fn failed(message: impl Into<String>) -> Self {
        ModifiedItemsResult {
            success: Some(false),
            error_message: Some(message.into()),
            modified_list: Vec::new(),
        }
    }
}

/// `ItemId`: an id, with a name "only when relevant". A bare string (the
/// `ApiModifierResult` variant) reads as an id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ItemIdRepr")]
pub struct ItemId {
    /// The id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name, for some methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ItemIdRepr {
    Bare(String),
    Object {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        name: Option<String>,
    },
}

impl From<ItemIdRepr> for ItemId {
    fn from(r: ItemIdRepr) -> Self {
        match r {
            ItemIdRepr::Bare(id) => ItemId::new(id),
            ItemIdRepr::Object { id, name } => ItemId { id, name },
        }
    }
}

impl ItemId {
    /// An item with an id only.
    pub fn new(id: impl Into<String>) -> Self {
        ItemId {
            id: Some(id.into()),
            name: None,
        }
    }

    /// An item with an id and a name.
    pub fn named(id: impl Into<String>, name: impl Into<String>) -> Self {
        ItemId {
            id: Some(id.into()),
            name: Some(name.into()),
        }
    }
}

/// `ProfilePermissionHolder`: the permissions in either or both forms.
///
/// This is also the escape hatch for bits [`PermissionSet::validate`] refuses: a
/// holder is sent as built.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfilePermissionHolder {
    /// Bit indices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_bit_index_list: Option<Vec<i64>>,
    /// Sum of `1 << bit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<i64>,
}

impl ProfilePermissionHolder {
    /// The typed set (see [`PermissionSet::from_holder`]).
    pub fn to_set(&self) -> grantbridge_core::Result<PermissionSet> {
        PermissionSet::from_holder(self)
    }
}

/// `ProfileApiData`: a profile, as sent to `addProfile` and listed back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileApiData {
    /// The id; on `addProfile` a caller-supplied id is used, else one is generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    /// Display name.
    pub name: String,
    /// Description (documented as required; empty when absent on read).
    #[serde(default)]
    pub description: String,
    /// The tenant it belongs to.
    #[serde(default)]
    pub tenant_id: String,
    /// The switches.
    #[serde(default)]
    pub permissions: ProfilePermissionHolder,
    /// Fields not modelled (`createdDate`, `modifiedDate`, `createdBy`, …).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: Extra,
}

impl ProfileApiData {
    /// A new profile for `addProfile` with validated permissions, sent in the
    /// numeric form.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        tenant_id: impl Into<String>,
        permissions: PermissionSet,
        rules: PermissionRules,
    ) -> grantbridge_core::Result<Self> {
        permissions.validate(rules)?;
        Ok(ProfileApiData {
            profile_id: None,
            name: name.into(),
            description: description.into(),
            tenant_id: tenant_id.into(),
            permissions: permissions.to_numeric_holder(),
            extra: Extra::new(),
        })
    }
}

/// `ProfileRolesData`: the input of `updateRolesByProfileId`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileRolesData {
    /// The profile.
    pub profile_id: String,
    /// Roles to bind the profile to.
    pub roles_to_add: Vec<String>,
    /// Roles to unbind.
    pub roles_to_remove: Vec<String>,
}

/// `RoleData` (and `RoleMinimalData`): a role as listed.
///
/// Some methods answer `roleId`/`roleName`, others `id`/`name`; both are read, and
/// when both appear the `role…` spelling wins. Written back as `roleId`/`roleName`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "RoleDataRepr")]
pub struct RoleData {
    /// The role id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    /// The role name.
    pub role_name: String,
    /// Opaque role settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_settings: Option<String>,
    /// Whether the role is hidden (no shared workgroup folder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_hidden: Option<bool>,
    /// The tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Undocumented flag seen in responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_private: Option<bool>,
    /// Undocumented flag (AD group role or workgroup folder; sources differ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_group_role: Option<bool>,
    /// Who created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Fields not modelled.
    #[serde(flatten, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: Extra,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleDataRepr {
    #[serde(default)]
    role_id: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    role_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role_settings: Option<String>,
    #[serde(default)]
    is_hidden: Option<bool>,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    is_private: Option<bool>,
    #[serde(default)]
    is_group_role: Option<bool>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(flatten)]
    extra: Extra,
}

impl From<RoleDataRepr> for RoleData {
    fn from(r: RoleDataRepr) -> Self {
        RoleData {
            role_id: r.role_id.or(r.id),
            role_name: r.role_name.or(r.name).unwrap_or_default(),
            role_settings: r.role_settings,
            is_hidden: r.is_hidden,
            tenant_id: r.tenant_id,
            is_private: r.is_private,
            is_group_role: r.is_group_role,
            created_by: r.created_by,
            extra: r.extra,
        }
    }
}

/// A role to create with `createRole` / `createRoles` (`RoleData` on input).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewRole {
    /// The name; Pyramid appends " (1)" to a duplicate rather than refusing it.
    pub role_name: String,
    /// The tenant.
    pub tenant_id: String,
    /// Sent by Pyramid's own example as `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_group_role: Option<bool>,
    /// Whether the role is hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_hidden: Option<bool>,
}

impl NewRole {
    /// A plain role, as Pyramid's example creates it (`isGroupRole: false`).
    pub fn new(name: impl Into<String>, tenant_id: impl Into<String>) -> Self {
        NewRole {
            role_name: name.into(),
            tenant_id: tenant_id.into(),
            is_group_role: Some(false),
            is_hidden: None,
        }
    }
}

/// `SearchCriteria` of `getRolesByName`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchCriteria {
    /// The text to match.
    pub search_value: String,
    /// How to match (default equals).
    #[serde(default = "SearchMatchType::equals")]
    pub search_match_type: SearchMatchType,
}

/// `AddUserRoleData` of `addUserToRole`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddUserRoleData {
    /// The user.
    pub user_id: String,
    /// The role.
    pub role_id: String,
}

/// `AddUsersRoleData` of `addUsersToRole`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddUsersRoleData {
    /// The users.
    pub user_ids: Vec<String>,
    /// The role.
    pub role_id: String,
}

/// `UserRolesData` of `updateUserRoles`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRolesData {
    /// The user.
    pub user_id: String,
    /// Roles to add.
    #[serde(default)]
    pub roles_to_add: Vec<String>,
    /// Roles to remove.
    #[serde(default)]
    pub roles_to_remove: Vec<String>,
}

/// `UpdateUserDbObject` of `updateUserDb`: only the fields set are sent.
///
/// `profile_id` is the user's private (user-level) profile: `Some(Some(id))` sets it,
/// `Some(None)` sends `"profileId": null` to clear it (the documents do not say how
/// to clear one; null is this crate's choice), `None` leaves it out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUserDb {
    /// The user.
    pub id: String,
    /// The private profile (see above).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_option"
    )]
    pub profile_id: Option<Option<String>>,
    /// New e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// New first name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// New last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// New role set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_ids: Option<Vec<String>>,
    /// New status.
    #[serde(default, rename = "statusID", skip_serializing_if = "Option::is_none")]
    pub status_id: Option<UserStatusId>,
}

/// `PyramidViewUserObject`: a user as listed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserObject {
    /// The user id.
    pub id: String,
    /// Login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Admin level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_type: Option<AdminType>,
    /// The roles the user is in (absent on some servers: then ask `getAllRolesByUser`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_ids: Option<Vec<String>>,
    /// License type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_license_type: Option<ClientLicenseType>,
    /// Enabled or disabled.
    #[serde(default, rename = "statusID", skip_serializing_if = "Option::is_none")]
    pub status_id: Option<UserStatusId>,
    /// The tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Creation time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<i64>,
    /// Last login, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login_date: Option<i64>,
    /// Fields not modelled (`proxyAccount`, `adDomainName`, `inheritanceType`, …).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: Extra,
}

/// `TenantUsersGetObject` of `getAllUsersDataByTenantAndLicenceType`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantUsersGetObject {
    /// The tenant.
    pub tenant_id: String,
    /// The license type.
    pub client_license_type: ClientLicenseType,
}

/// `AdminMultiTenantData`: a tenant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantData {
    /// The tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Viewer seats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewer_seats: Option<i64>,
    /// Viewer seats in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_viewer_seats: Option<i64>,
    /// Professional seats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pro_seats: Option<i64>,
    /// Professional seats in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_pro_seats: Option<i64>,
    /// Fields not modelled (`tenantSettings`, `pulseKey`, …).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: Extra,
}

/// `NewTenantObject` of `createTenant` (multi-tenancy must be enabled on the server).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTenant {
    /// A caller-chosen id, else the server makes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name.
    pub name: String,
    /// Viewer seats.
    pub viewer_seats: i32,
    /// Professional seats.
    pub pro_seats: i32,
    /// Whether roles get a shared group folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_group_folder: Option<bool>,
}

macro_rules! int_enum {
    ($(#[$doc:meta])* $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $code:literal ),* $(,)? }) => {
        $(#[$doc])*
        ///
        /// Travels as a JSON integer; codes this crate does not know are kept in
        /// `Other`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )*
            /// A code not in the documentation this crate was built from.
            Other(i64),
        }

        impl $name {
            /// The wire code.
            pub const fn code(self) -> i64 {
                match self { $( $name::$variant => $code, )* $name::Other(c) => c }
            }

            /// The value for a wire code.
            pub const fn from_code(code: i64) -> Self {
                match code { $( $code => $name::$variant, )* c => $name::Other(c) }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i64(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok($name::from_code(i64::deserialize(d)?))
            }
        }
    };
}

int_enum!(
    /// `AdminType`.
    AdminType {
        /// A normal user.
        None = 0,
        /// A tenant (domain) admin.
        DomainAdmin = 1,
        /// An enterprise admin.
        EnterpriseAdmin = 2,
    }
);

int_enum!(
    /// `ClientLicenseType`. Analyst, Basic and Scientist exist in newer releases;
    /// their codes are unpublished and arrive as `Other`.
    ClientLicenseType {
        /// No license.
        None = 0,
        /// Viewer.
        Viewer = 100,
        /// Professional.
        Professional = 200,
    }
);

int_enum!(
    /// `UserStatusID`.
    UserStatusId {
        /// Disabled.
        Disabled = 0,
        /// Enabled.
        Enabled = 1,
    }
);

int_enum!(
    /// `SearchMatchType`.
    SearchMatchType {
        /// Contains.
        Contains = 0,
        /// Does not contain.
        NotContains = 1,
        /// Equals.
        Equals = 2,
        /// Starts with.
        StartsWith = 3,
        /// Ends with.
        EndsWith = 4,
    }
);

impl SearchMatchType {
    fn equals() -> Self {
        SearchMatchType::Equals
    }

    /// Whether `value` matches `search` under this rule (case-insensitive, as the
    /// admin console searches); `Other` codes match nothing.
    pub fn matches(self, value: &str, search: &str) -> bool {
        let (v, s) = (value.to_lowercase(), search.to_lowercase());
        match self {
            SearchMatchType::Contains => v.contains(&s),
            SearchMatchType::NotContains => !v.contains(&s),
            SearchMatchType::Equals => v == s,
            SearchMatchType::StartsWith => v.starts_with(&s),
            SearchMatchType::EndsWith => v.ends_with(&s),
            SearchMatchType::Other(_) => false,
        }
    }
}

/// Login credentials (`UserCredentials`) as every API2 example sends them:
/// `{"userName": …, "password": …}`. `Debug` hides the password.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserCredentials {
    /// Login name (the documented spelling `username` is accepted on read).
    #[serde(alias = "username")]
    pub user_name: String,
    /// Password.
    pub password: String,
}

impl fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user_name", &self.user_name)
            .field("password", &grantbridge_core::http::REDACTED)
            .finish()
    }
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Reads a present field (even `null`) as `Some(…)`, so `null` becomes `Some(None)`.
fn present_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::<T>::deserialize(d)?))
}
