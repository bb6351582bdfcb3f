//! Profiles (local and analytic-tenant): the profiles and their capabilities, a user's
//! assigned profiles, and the assignment and revocation requests with their answers.

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::{
    Millis, capabilities_as_object, either_capabilities, lenient_bool, lenient_opt_bool, nullable,
};

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
