//! Profile methods of the access section: listing, adding and deleting profiles,
//! private profiles, and the roles a profile is bound to.

use grantbridge_core::Result;
use serde_json::Value;

use super::{PyramidClient, data_of, decode, mir_failure};
use crate::wire::{ItemId, ModifiedItemsResult, ProfileApiData, ProfileRolesData, RoleData};

impl PyramidClient {
    /// `access/getAllProfiles`: the profiles of every tenant.
    pub async fn get_all_profiles(&self) -> Result<Vec<ProfileApiData>> {
        self.read("getAllProfiles", vec![]).await
    }

    /// `access/getAllProfilesByTenantId`, filtered by `tenantId` on this side too
    /// (a 2020 server was seen to return every tenant's profiles).
    pub async fn get_all_profiles_by_tenant_id(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<ProfileApiData>> {
        let all: Vec<ProfileApiData> = self
            .read(
                "getAllProfilesByTenantId",
                vec![Self::id_param("tenantId", tenant_id)],
            )
            .await?;
        Ok(all
            .into_iter()
            .filter(|p| p.tenant_id.is_empty() || p.tenant_id == tenant_id)
            .collect())
    }

    /// `access/addProfile`: returns the new profile's id (`modifiedList[0].id`).
    ///
    /// The profile is sent as given: build it with [`ProfileApiData::new`] for
    /// validated permissions, or by hand to send any bits.
    pub async fn add_profile(&self, profile: &ProfileApiData) -> Result<String> {
        let param = self.object_param("addProfile", "profileApiData", "profileApiData", profile)?;
        let (response, mir) = self.write("addProfile", vec![param]).await?;
        if let Some(e) = mir_failure(&response, &mir) {
            return Err(e);
        }
        mir.modified_list
            .first()
            .and_then(|i| i.id.clone())
            .ok_or_else(|| response.decode_error("addProfile succeeded without a new id"))
    }

    /// `access/deleteProfile`.
    pub async fn delete_profile(&self, profile_id: &str) -> Result<()> {
        self.write_ok(
            "deleteProfile",
            vec![Self::id_param("profileId", profile_id)],
        )
        .await
        .map(drop)
    }

    /// `access/getPrivateProfileIdForUser`: the user's own profile, if any (`data`
    /// may be an `ItemId`, a bare id or null).
    pub async fn get_private_profile_id_for_user(&self, user_id: &str) -> Result<Option<String>> {
        let response = self
            .call(
                "/API2/access",
                "getPrivateProfileIdForUser",
                vec![Self::id_param("userId", user_id)],
                true,
            )
            .await?;
        match data_of(&response)? {
            Value::Null => Ok(None),
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => Ok(Some(s)),
            data => {
                let item: ItemId = decode(&response, data)?;
                Ok(item.id.filter(|s| !s.is_empty()))
            }
        }
    }

    /// `access/getAllRolesByProfileId`: the roles the profile is bound to.
    pub async fn get_all_roles_by_profile_id(&self, profile_id: &str) -> Result<Vec<RoleData>> {
        self.read(
            "getAllRolesByProfileId",
            vec![Self::id_param("profileId", profile_id)],
        )
        .await
    }

    /// `access/updateRolesByProfileId`: binds and unbinds roles; returns the role ids
    /// the server reports as added or removed (`ItemId[]`, or an MIR's list).
    pub async fn update_roles_by_profile_id(&self, data: &ProfileRolesData) -> Result<Vec<ItemId>> {
        let param = self.object_param(
            "updateRolesByProfileId",
            "profileRolesData",
            "profileRolesData",
            data,
        )?;
        let response = self
            .call("/API2/access", "updateRolesByProfileId", vec![param], false)
            .await?;
        match data_of(&response)? {
            Value::Array(items) => serde_json::from_value(Value::Array(items))
                .map_err(|e| response.decode_error(&e.to_string())),
            data => {
                let mir: ModifiedItemsResult = serde_json::from_value(data)
                    .map_err(|e| response.decode_error(&e.to_string()))?;
                match mir_failure(&response, &mir) {
                    Some(e) => Err(e),
                    None => Ok(mir.modified_list),
                }
            }
        }
    }
}
