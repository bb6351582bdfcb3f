//! The Visier wire format: serde types exactly as on the wire.
//!
//! Names follow the vendor's DTOs (`ProfileGetAPIResponseDTO` is
//! [`ProfileGetApiResponseDto`]; each type's doc names its wire DTO, so one grep finds
//! it). The rules of the spec (`specs/visier.md` §2, §4, §9):
//!
//! * every field is optional; unknown fields are ignored, an absent or `null` list is
//!   empty and an absent bool is false;
//! * times are epoch milliseconds sent as **decimal strings** ([`Millis`]); a JSON
//!   number is accepted on read; `i64::MIN` / `i64::MAX` mean "no start" / "permanent";
//! * `forAllChildren` and the other booleans are JSON booleans on write, and the strings
//!   `"true"` / `"false"` are accepted on read (Visier's own curl samples send them);
//! * `additionalCapabilities` is a plain array in [`ProfileGetApiResponseDto`] but an
//!   object `{additionalCapabilities: [...]}` in [`ProfileAssignedForLocalTenantDto`];
//!   both forms are read everywhere, each is written in its own DTO's form;
//! * a profile detail wrapped as `{"profiles":[…]}` (the docs' form) reads as its first
//!   element.
//!
//! Requests omit `None` fields (as the official SDK does) and keep `false`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use serde_with::skip_serializing_none;

// ---------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------

/// Epoch milliseconds (UTC), written as a decimal string (`"1571122800000"`).
///
/// Reads a string or a JSON number. [`Millis::NO_START`] (`Long.MIN_VALUE`) and
/// [`Millis::PERMANENT`] (`Long.MAX_VALUE`) are Visier's "unbounded" sentinels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Millis(pub i64);

impl Millis {
    /// `"-9223372036854775808"`: the window has no start.
    pub const NO_START: Millis = Millis(i64::MIN);
    /// `"9223372036854775807"`: the window never ends.
    pub const PERMANENT: Millis = Millis(i64::MAX);

    /// A window start as an optional bound: absent or [`Millis::NO_START`] is `None`.
    pub fn start_bound(value: Option<Millis>) -> Option<i64> {
        value.filter(|m| *m != Millis::NO_START).map(|m| m.0)
    }

    /// A window end as an optional bound: absent or [`Millis::PERMANENT`] is `None`.
    pub fn end_bound(value: Option<Millis>) -> Option<i64> {
        value.filter(|m| *m != Millis::PERMANENT).map(|m| m.0)
    }

    /// The wire value of an optional start (unbounded: [`Millis::NO_START`]).
    pub fn from_start(bound: Option<i64>) -> Millis {
        bound.map_or(Millis::NO_START, Millis)
    }

    /// The wire value of an optional end (unbounded: [`Millis::PERMANENT`]).
    pub fn from_end(bound: Option<i64>) -> Millis {
        bound.map_or(Millis::PERMANENT, Millis)
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Millis;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("epoch milliseconds as a decimal string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Millis, E> {
                v.trim()
                    .parse::<i64>()
                    .map(Millis)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Millis, E> {
                Ok(Millis(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Millis, E> {
                i64::try_from(v)
                    .map(Millis)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Reads a bool, also from the strings `"true"`/`"false"` (any case); `null` is absent.
fn lenient_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean or the string \"true\"/\"false\"")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// [`lenient_opt_bool`] with absent/`null` as false.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    lenient_opt_bool(d).map(Option::unwrap_or_default)
}

/// A field that may be `null`: `null` reads as the default (an empty list).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// `additionalCapabilities` in either form: `[..]` or `{"additionalCapabilities":[..]}`.
fn either_capabilities<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        Object {
            #[serde(
                default,
                rename = "additionalCapabilities",
                deserialize_with = "nullable"
            )]
            additional_capabilities: Vec<String>,
        },
        Null(()),
    }
    Ok(match Either::deserialize(d)? {
        Either::List(v) => v,
        Either::Object {
            additional_capabilities,
        } => additional_capabilities,
        Either::Null(()) => Vec::new(),
    })
}

/// Writes capabilities in the object form of `AdditionalCapabilitiesDTO`.
fn capabilities_as_object<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Obj<'a> {
        #[serde(rename = "additionalCapabilities")]
        additional_capabilities: &'a [String],
    }
    Obj {
        additional_capabilities: v,
    }
    .serialize(s)
}

// ---------------------------------------------------------------------------------
// Profiles
// ---------------------------------------------------------------------------------

/// `CapabilitiesDTO`: one capability of a profile with its levels.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CapabilityDto {
    /// Capability name, e.g. `Security`, `UserManagement`.
    pub capability: Option<String>,
    /// e.g. `Write`, `NoAccess`.
    pub access_level: Option<String>,
    /// e.g. `Detailed`, `Simple`.
    pub view_level: Option<String>,
}

/// `ProfilesGetAPIResponseDTO`: the answer of `get_all_profiles` and
/// `get_analytic_profiles`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProfilesGetApiResponseDto {
    /// Every profile, unpaginated.
    #[serde(deserialize_with = "nullable")]
    pub profiles: Vec<ProfileGetApiResponseDto>,
}

/// `ProfileGetAPIResponseDTO`: one profile with its capabilities.
///
/// Reads the flat form and the docs' wrapped `{"profiles":[…]}` form (first element).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "ProfileDetailRepr")]
pub struct ProfileGetApiResponseDto {
    /// The profile's UUID.
    pub profile_id: Option<String>,
    /// Its name, e.g. `PARTNER_ADMIN`.
    pub display_name: Option<String>,
    /// Its capabilities.
    pub capabilities: Vec<CapabilityDto>,
    /// Additional capabilities (a plain array on the wire here).
    pub additional_capabilities: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ProfileFlat {
    profile_id: Option<String>,
    display_name: Option<String>,
    #[serde(deserialize_with = "nullable")]
    capabilities: Vec<CapabilityDto>,
    #[serde(deserialize_with = "either_capabilities")]
    additional_capabilities: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ProfileDetailRepr {
    #[serde(flatten)]
    flat: ProfileFlat,
    #[serde(deserialize_with = "nullable")]
    profiles: Vec<ProfileFlat>,
}

impl From<ProfileFlat> for ProfileGetApiResponseDto {
    fn from(p: ProfileFlat) -> Self {
        ProfileGetApiResponseDto {
            profile_id: p.profile_id,
            display_name: p.display_name,
            capabilities: p.capabilities,
            additional_capabilities: p.additional_capabilities,
        }
    }
}

impl From<ProfileDetailRepr> for ProfileGetApiResponseDto {
    fn from(r: ProfileDetailRepr) -> Self {
        let flat_is_empty = r.flat.profile_id.is_none() && r.flat.display_name.is_none();
        match r.profiles.into_iter().next() {
            Some(first) if flat_is_empty => first.into(),
            _ => r.flat.into(),
        }
    }
}

/// `AllProfileAssignedForLocalTenantDTO`: the answer of `get_user_profile`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AllProfileAssignedForLocalTenantDto {
    /// The user's profiles in the (target) tenant.
    #[serde(deserialize_with = "nullable")]
    pub assigned_profiles: Vec<ProfileAssignedForLocalTenantDto>,
}

/// `ProfileAssignedForLocalTenantDTO`: a profile a user holds in one tenant.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProfileAssignedForLocalTenantDto {
    /// The profile's UUID.
    pub profile_id: Option<String>,
    /// Its name.
    pub display_name: Option<String>,
    /// Inclusive start.
    pub validity_start_time: Option<Millis>,
    /// Exclusive end.
    pub validity_end_time: Option<Millis>,
    /// Its capabilities.
    #[serde(deserialize_with = "nullable")]
    pub capabilities: Vec<CapabilityDto>,
    /// Additional capabilities (an *object* `{additionalCapabilities: [..]}` on the
    /// wire here; the array form is read too).
    #[serde(
        deserialize_with = "either_capabilities",
        serialize_with = "capabilities_as_object"
    )]
    pub additional_capabilities: Vec<String>,
}

/// `AllProfileAssignedForAccessibleTenantDTO`: the answer of
/// `get_analytic_user_profile`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AllProfileAssignedForAccessibleTenantDto {
    /// The user's analytic-tenant profiles.
    #[serde(deserialize_with = "nullable")]
    pub assigned_profiles_for_accessible_tenant: Vec<ProfileAssignedForAccessibleTenantDto>,
}

/// `ProfileAssignedForAccessibleTenantDTO`: an analytic profile held on a tenant.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProfileAssignedForAccessibleTenantDto {
    /// The profile's UUID.
    pub profile_id: Option<String>,
    /// Its name.
    pub display_name: Option<String>,
    /// The analytic tenant, e.g. `WFF_j1r~c7o`.
    pub tenant_code: Option<String>,
    /// Whether it covers every tenant below `tenant_code`.
    #[serde(deserialize_with = "lenient_bool")]
    pub for_all_children: bool,
    /// Inclusive start ([`Millis::NO_START`]: none).
    pub validity_start_time: Option<Millis>,
    /// Exclusive end ([`Millis::PERMANENT`]: none).
    pub validity_end_time: Option<Millis>,
}

/// `TargetTenantCodeDTO`: an analytic tenant an assignment applies to.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetTenantCodeDto {
    /// The tenant code.
    pub tenant_code: Option<String>,
    /// Whether all its children are included (omitted: false).
    #[serde(deserialize_with = "lenient_opt_bool")]
    pub for_all_children: Option<bool>,
}

/// `LocalTenantProfileAssignmentRequestDTO`: body of `assign_profile`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LocalTenantProfileAssignmentRequestDto {
    /// The users to assign to.
    #[serde(deserialize_with = "nullable")]
    pub target_user_ids: Vec<String>,
    /// Inclusive start.
    pub validity_start_time: Option<Millis>,
    /// Exclusive end.
    pub validity_end_time: Option<Millis>,
}

/// `ErrorDTO`: a per-item error inside a 200 answer.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorDto {
    /// Root cause id (`RCI…`), for Visier support.
    pub root_cause_id: Option<String>,
    /// Classification, e.g. `USER_INPUT_ERROR`.
    pub error_code: Option<String>,
    /// Human-readable message.
    pub error_message: Option<String>,
}

/// `UserIdErrorDTO` (and `ReducedUserIdErrorDTO`, whose error only has a message).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserIdErrorDto {
    /// The refused user id.
    pub user_id: Option<String>,
    /// Why.
    pub error: Option<ErrorDto>,
}

/// `TenantCodeErrorDTO` (and `ReducedTenantCodeErrorDTO`).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TenantCodeErrorDto {
    /// The refused tenant code.
    pub tenant_code: Option<String>,
    /// As requested.
    #[serde(deserialize_with = "lenient_opt_bool")]
    pub for_all_children: Option<bool>,
    /// Why.
    pub error: Option<ErrorDto>,
}

/// `SuccessfulLocalTenantProfileAssignmentDTO` (also used for removals).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserIdDto {
    /// The user.
    pub user_id: Option<String>,
}

/// `FailedLocalTenantProfileAssignmentDTO`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FailedLocalAssignmentDto {
    /// The user.
    pub user_id: Option<String>,
    /// Why.
    pub error: Option<ErrorDto>,
}

/// `LocalTenantProfileAssignmentResponseDTO`: answer of `assign_profile` (HTTP 200
/// even when items fail).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LocalTenantProfileAssignmentResponseDto {
    /// Whether any item failed.
    #[serde(deserialize_with = "lenient_bool")]
    pub errors: bool,
    /// Users that do not exist or are invalid.
    #[serde(deserialize_with = "nullable")]
    pub bad_user_ids: Vec<UserIdErrorDto>,
    /// Assignments that failed.
    #[serde(deserialize_with = "nullable")]
    pub failed_assignments: Vec<FailedLocalAssignmentDto>,
    /// Assignments made.
    #[serde(deserialize_with = "nullable")]
    pub successful_assignments: Vec<UserIdDto>,
}

/// `AccessibleTenantProfileAssignmentRequestDTO`: body of `assign_analytic_profile`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccessibleTenantProfileAssignmentRequestDto {
    /// The administrating-tenant users to assign to.
    #[serde(deserialize_with = "nullable")]
    pub target_user_ids: Vec<String>,
    /// The analytic tenants (every user gets every tenant).
    #[serde(deserialize_with = "nullable")]
    pub target_tenant_codes: Vec<TargetTenantCodeDto>,
    /// Inclusive start.
    pub validity_start_time: Option<Millis>,
    /// Exclusive end (in the past: revokes).
    pub validity_end_time: Option<Millis>,
}

/// `SuccessfulAccessibleTenantProfileAssignmentDTO`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SuccessfulAccessibleAssignmentDto {
    /// The user.
    pub user_id: Option<String>,
    /// The tenant.
    pub tenant_code: Option<String>,
    /// As requested.
    #[serde(deserialize_with = "lenient_opt_bool")]
    pub for_all_children: Option<bool>,
}

/// `FailedAccessibleTenantProfileAssignmentDTO`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FailedAccessibleAssignmentDto {
    /// The user.
    pub user_id: Option<String>,
    /// The tenant.
    pub tenant_code: Option<String>,
    /// As requested.
    #[serde(deserialize_with = "lenient_opt_bool")]
    pub for_all_children: Option<bool>,
    /// Why.
    pub error: Option<ErrorDto>,
}

/// `AccessibleTenantProfileAssignmentResponseDTO`: answer of
/// `assign_analytic_profile`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccessibleTenantProfileAssignmentResponseDto {
    /// Whether any item failed.
    #[serde(deserialize_with = "lenient_bool")]
    pub errors: bool,
    /// Tenants refused.
    #[serde(deserialize_with = "nullable")]
    pub bad_tenant_codes: Vec<TenantCodeErrorDto>,
    /// Users refused.
    #[serde(deserialize_with = "nullable")]
    pub bad_user_ids: Vec<UserIdErrorDto>,
    /// Assignments that failed.
    #[serde(deserialize_with = "nullable")]
    pub failed_assignments: Vec<FailedAccessibleAssignmentDto>,
    /// Assignments made.
    #[serde(deserialize_with = "nullable")]
    pub successful_assignments: Vec<SuccessfulAccessibleAssignmentDto>,
}

/// `LocalTenantProfileRevokeRequestDTO`: body of `remove_profile`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LocalTenantProfileRevokeRequestDto {
    /// The users to remove the profile from.
    #[serde(deserialize_with = "nullable")]
    pub target_user_ids: Vec<String>,
}

/// `FailedLocalTenantProfileRevokeDTO`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FailedLocalRevokeDto {
    /// The user.
    pub user_id: Option<String>,
    /// Why, e.g. `User ID does not exist`.
    pub message: Option<String>,
}

/// `LocalTenantProfileRevokeResponseDTO`: answer of `remove_profile`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LocalTenantProfileRevokeResponseDto {
    /// Removals that failed.
    #[serde(deserialize_with = "nullable")]
    pub failed: Vec<FailedLocalRevokeDto>,
    /// Removals made.
    #[serde(deserialize_with = "nullable")]
    pub succeeded: Vec<UserIdDto>,
}

/// `AccessibleTenantProfileRevokeRequestDTO`: body of `remove_analytic_profile`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccessibleTenantProfileRevokeRequestDto {
    /// The users.
    #[serde(deserialize_with = "nullable")]
    pub target_user_ids: Vec<String>,
    /// The tenants.
    #[serde(deserialize_with = "nullable")]
    pub target_tenant_codes: Vec<TargetTenantCodeDto>,
}

/// `AccessibleTenantProfileRevokeResponseDTO`: answer of `remove_analytic_profile`.
///
/// The spec has no `failed` key here, but seed 001's sample shows one; it is read too.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccessibleTenantProfileRevokeResponseDto {
    /// Tenants refused.
    #[serde(deserialize_with = "nullable")]
    pub bad_tenant_codes: Vec<TenantCodeErrorDto>,
    /// Users refused.
    #[serde(deserialize_with = "nullable")]
    pub bad_user_ids: Vec<UserIdErrorDto>,
    /// Users who did not hold the profile there.
    #[serde(deserialize_with = "nullable")]
    pub unaffected_users: Vec<UserIdDto>,
    /// Removals made.
    #[serde(deserialize_with = "nullable")]
    pub succeeded: Vec<UserIdDto>,
    /// Removals that failed (docs' sample only).
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<FailedLocalRevokeDto>,
}

// ---------------------------------------------------------------------------------
// Users V1 and user groups
// ---------------------------------------------------------------------------------

/// `AllUsersGetAPIResponseDTO`: a page of `GET /v1/admin/users`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AllUsersGetApiResponseDto {
    /// The users of this page.
    #[serde(deserialize_with = "nullable")]
    pub users: Vec<UserGetApiResponseDto>,
    /// The page size asked for.
    pub limit: Option<u32>,
    /// The offset of this page.
    pub start: Option<u32>,
}

/// `UserGetAPIResponseDTO`: one user.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGetApiResponseDto {
    /// The user's UUID.
    pub user_id: Option<String>,
    /// Login name (often an e-mail).
    pub username: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Employee id.
    pub employee_id: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Whether the account is enabled.
    #[serde(deserialize_with = "lenient_opt_bool")]
    pub account_enabled: Option<bool>,
    /// Profiles, when asked for with `assignedProfiles=true` (absent if none).
    pub profiles: Option<AllProfileAssignedForLocalTenantDto>,
    /// Permissions, when asked for with `assignedPermissions=true`.
    pub permissions: Option<UserPermissionsDto>,
    /// User groups, when asked for with `assignedUserGroups=true`.
    pub user_groups: Option<UserUserGroupsDto>,
    /// Last login.
    pub last_login: Option<LastLoginDto>,
}

/// `{assignedPermissions: [...]}` inside a user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserPermissionsDto {
    /// The permissions.
    #[serde(deserialize_with = "nullable")]
    pub assigned_permissions: Vec<PermissionRefDto>,
}

/// `{assignedUserGroups: [...]}` inside a user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserUserGroupsDto {
    /// The groups.
    #[serde(deserialize_with = "nullable")]
    pub assigned_user_groups: Vec<UserGroupRefDto>,
}

/// `{timestamp}` of a user's last login.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LastLoginDto {
    /// When.
    pub timestamp: Option<Millis>,
}

/// A permission reference `{permissionId, displayName, description}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionRefDto {
    /// The permission id.
    pub permission_id: Option<String>,
    /// Its name.
    pub display_name: Option<String>,
    /// Its description.
    pub description: Option<String>,
}

/// A user-group reference `{userGroupId, displayName}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupRefDto {
    /// The group id.
    pub user_group_id: Option<String>,
    /// Its name.
    pub display_name: Option<String>,
}

/// `UserGroupsGetAPIResponseDTO`: a page of `GET /v1/admin/user-groups`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupsGetApiResponseDto {
    /// The groups of this page.
    #[serde(deserialize_with = "nullable")]
    pub user_groups: Vec<UserGroupGetApiResponseDto>,
    /// The page size asked for.
    pub limit: Option<u32>,
    /// The offset of this page.
    pub start: Option<u32>,
}

/// `UserGroupGetAPIResponseDTO`: one group with its permissions.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupGetApiResponseDto {
    /// The group id.
    pub user_group_id: Option<String>,
    /// Its name.
    pub display_name: Option<String>,
    /// Its permissions.
    #[serde(deserialize_with = "nullable")]
    pub permissions: Vec<PermissionRefDto>,
}

/// `UserGroupsUsersDTO`: a page of `GET /v1/admin/user-groups/{id}/users`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupsUsersDto {
    /// Members per tenant.
    #[serde(deserialize_with = "nullable")]
    pub tenants: Vec<UserGroupsUsersForTenantDto>,
    /// The page size asked for.
    pub limit: Option<u32>,
    /// The offset of this page.
    pub start: Option<u32>,
}

/// Members of a group in one tenant.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupsUsersForTenantDto {
    /// The tenant.
    pub tenant_code: Option<String>,
    /// The members.
    #[serde(deserialize_with = "nullable")]
    pub users: Vec<UserRefDto>,
}

/// A user reference `{userId, username}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserRefDto {
    /// The user id.
    pub user_id: Option<String>,
    /// The login name.
    pub username: Option<String>,
}

/// `UsersToUserGroupsRequestDTO`: body of `PUT|DELETE /v1/admin/user-groups/users`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UsersToUserGroupsRequestDto {
    /// Users per group.
    #[serde(deserialize_with = "nullable")]
    pub user_groups: Vec<UserGroupUsersDto>,
    /// Optional projects per tenant.
    pub target_project_for_tenants_list: Option<TargetProjectForTenantsListDto>,
}

/// `{userGroupId, userIds}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserGroupUsersDto {
    /// The group.
    pub user_group_id: Option<String>,
    /// The users.
    #[serde(deserialize_with = "nullable")]
    pub user_ids: Vec<String>,
}

/// `TargetProjectForTenantsListDTO`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetProjectForTenantsListDto {
    /// Projects per tenant.
    #[serde(deserialize_with = "nullable")]
    pub target_project_for_tenants: Vec<TargetProjectForTenantDto>,
}

/// `{tenantCode, projectId}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetProjectForTenantDto {
    /// The tenant.
    pub tenant_code: Option<String>,
    /// The project.
    pub project_id: Option<String>,
}

/// `SecurityAssignmentResponseDTO`: answer of the group-membership writes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityAssignmentResponseDto {
    /// Results per tenant.
    #[serde(deserialize_with = "nullable")]
    pub tenants: Vec<SecurityAssignmentTenantDto>,
}

/// One tenant's result of a membership write.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityAssignmentTenantDto {
    /// The tenant.
    pub tenant_code: Option<String>,
    /// `Succeed`, `Failed` or `Unknown`.
    pub status: Option<String>,
    /// Why, when it failed.
    pub message: Option<String>,
    /// The project, if any.
    pub project_id: Option<String>,
    /// What was assigned (or removed), per group.
    #[serde(deserialize_with = "nullable")]
    pub assignments: Vec<SecurityAssignmentDto>,
}

/// `{id, name, users}`: the users affected in one group.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityAssignmentDto {
    /// The group (or permission) id.
    pub id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// The users affected.
    #[serde(deserialize_with = "nullable")]
    pub users: Vec<UserRefDto>,
}

// ---------------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------------

/// `{permissions: [PermissionDTO]}`: answer of `GET /v1/admin/permissions`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionsListDto {
    /// The permissions.
    #[serde(deserialize_with = "nullable")]
    pub permissions: Vec<PermissionDto>,
}

/// `PermissionDTO`; its security configuration is kept verbatim in `extra`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionDto {
    /// The permission id.
    pub permission_id: Option<String>,
    /// Its name.
    pub display_name: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// Caller-chosen correlation id.
    pub correlation_id: Option<String>,
    /// Every other field (data security, capabilities, content packages), verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `AssignRevokePermissionsRequestDTO`: body of `PUT|DELETE /v1/admin/permissions/users`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignRevokePermissionsRequestDto {
    /// Users per permission.
    #[serde(deserialize_with = "nullable")]
    pub permissions: Vec<PermissionUsersDto>,
    /// Optional projects per tenant.
    pub target_project_for_tenants_list: Option<TargetProjectForTenantsListDto>,
}

/// `{permissionId, userIds}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionUsersDto {
    /// The permission.
    pub permission_id: Option<String>,
    /// The users.
    #[serde(deserialize_with = "nullable")]
    pub user_ids: Vec<String>,
}

/// `AssignRevokePermissionsResponseDTO`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignRevokePermissionsResponseDto {
    /// Results per tenant.
    #[serde(deserialize_with = "nullable")]
    pub tenants: Vec<AssignRevokePermissionsTenantDto>,
    /// Session repository id (session-based permissions).
    pub session_repo_id: Option<String>,
}

/// One tenant's result of a permission assignment.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignRevokePermissionsTenantDto {
    /// The tenant.
    pub tenant_code: Option<String>,
    /// `Succeed`, `Failed` or `Unknown`.
    pub status: Option<String>,
    /// Why, when it failed.
    pub message: Option<String>,
    /// The project, if any.
    pub project_id: Option<String>,
    /// Per permission, the users affected.
    #[serde(deserialize_with = "nullable")]
    pub permissions: Vec<PermissionAssignmentDto>,
}

/// `{permission, users}` in a permission-assignment answer.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionAssignmentDto {
    /// The permission.
    pub permission: Option<PermissionRefDto>,
    /// The users affected.
    #[serde(deserialize_with = "nullable")]
    pub users: Vec<PermissionUserDto>,
}

/// `{userId, username, message}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionUserDto {
    /// The user.
    pub user_id: Option<String>,
    /// The login name.
    pub username: Option<String>,
    /// A per-user message.
    pub message: Option<String>,
}

/// `PermissionAssignedUsersDTO`: a page of `GET /v1/admin/permissions/{id}/users`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionAssignedUsersDto {
    /// Users per tenant.
    #[serde(deserialize_with = "nullable")]
    pub tenants: Vec<PermissionAssignedUsersForTenantDto>,
    /// The page size asked for.
    pub limit: Option<u32>,
    /// The offset of this page.
    pub start: Option<u32>,
}

/// Users holding a permission in one tenant.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionAssignedUsersForTenantDto {
    /// The tenant.
    pub tenant_code: Option<String>,
    /// The users.
    #[serde(deserialize_with = "nullable")]
    pub users: Vec<PermissionAssignedUserDto>,
}

/// `{userId, username, permissionFrom}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionAssignedUserDto {
    /// The user.
    pub user_id: Option<String>,
    /// The login name.
    pub username: Option<String>,
    /// `User`, `UserGroup` or `UserAndUserGroup`.
    pub permission_from: Option<String>,
}

// ---------------------------------------------------------------------------------
// Auth and errors
// ---------------------------------------------------------------------------------

/// `TokenResponse` of `POST /v1/auth/oauth2/token`. `Debug` hides the tokens.
#[skip_serializing_none]
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuth2TokenResponse {
    /// The bearer token.
    pub access_token: Option<String>,
    /// The refresh token, if granted.
    pub refresh_token: Option<String>,
    /// The OpenID id token, if any.
    pub id_token: Option<String>,
    /// `Bearer`.
    pub token_type: Option<String>,
    /// Lifetime in seconds.
    pub expires_in: Option<i64>,
}

impl fmt::Debug for OAuth2TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |o: &Option<String>| o.as_ref().map(|_| "[redacted]");
        f.debug_struct("OAuth2TokenResponse")
            .field("access_token", &shown(&self.access_token))
            .field("refresh_token", &shown(&self.refresh_token))
            .field("id_token", &shown(&self.id_token))
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// An error body in any of Visier's shapes: `Status {code, localizedMessage, message,
/// rci, userError}`, google.rpc.Status `{code: int, message, details}`, or the gateway's
/// `{errorCode, message, rci}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StatusDto {
    /// A string classification (`USER_INPUT_ERROR`) or a google.rpc integer code.
    pub code: Option<Value>,
    /// The gateway form's classification.
    pub error_code: Option<String>,
    /// The localized root-cause message.
    pub localized_message: Option<String>,
    /// A message (unused by the current spec).
    pub message: Option<String>,
    /// Root cause identifier, e.g. `RCI9000001`.
    pub rci: Option<String>,
    /// Whether the caller is at fault.
    #[serde(deserialize_with = "lenient_opt_bool")]
    pub user_error: Option<bool>,
    /// google.rpc details.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Value>,
}

impl StatusDto {
    /// The classification: `code` (string or number) or `errorCode`.
    pub fn code_text(&self) -> Option<String> {
        match &self.code {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => self.error_code.clone().filter(|s| !s.is_empty()),
        }
    }

    /// The best message: `localizedMessage`, else `message`.
    pub fn message_text(&self) -> Option<String> {
        [&self.localized_message, &self.message]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
            .cloned()
    }
}
