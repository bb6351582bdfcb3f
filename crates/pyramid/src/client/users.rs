//! User methods of the access section: listing and reading users, and their roles
//! and private profile.

use grantbridge_core::{Entity, Result};

use super::{PyramidClient, attribute, mir_failure, vendor};
use crate::wire::{
    AddUserRoleData, AddUsersRoleData, ItemId, TenantUsersGetObject, UpdateUserDb, UserObject,
    UserRolesData,
};

impl PyramidClient {
    /// `access/getAllUsersByTenant`: the ids (and names) of the tenant's users.
    pub async fn get_all_users_by_tenant(&self, tenant_id: &str) -> Result<Vec<ItemId>> {
        self.read(
            "getAllUsersByTenant",
            vec![Self::id_param("tenantId", tenant_id)],
        )
        .await
    }

    /// `access/getAllUsersDataByTenantAndLicenceType`: full user objects of one
    /// license type.
    pub async fn get_all_users_data_by_tenant_and_licence_type(
        &self,
        query: &TenantUsersGetObject,
    ) -> Result<Vec<UserObject>> {
        let param = self.object_param(
            "getAllUsersDataByTenantAndLicenceType",
            "tenantUsersGetObject",
            "tenantUsersGetObject",
            query,
        )?;
        self.read("getAllUsersDataByTenantAndLicenceType", vec![param])
            .await
    }

    /// `access/getUser`.
    ///
    /// `{"data": null}` is [`Error::NotFound`](grantbridge_core::Error::NotFound); a
    /// `success:false` answer stays [`Error::Vendor`](grantbridge_core::Error::Vendor).
    pub async fn get_user(&self, user_id: &str) -> Result<UserObject> {
        self.read_one(
            "getUser",
            Self::id_param("userId", user_id),
            Entity::User,
            user_id,
        )
        .await
    }

    /// `access/getUsersByName`.
    pub async fn get_users_by_name(&self, user_name: &str) -> Result<Vec<UserObject>> {
        self.read(
            "getUsersByName",
            vec![Self::id_param("userName", user_name)],
        )
        .await
    }

    /// `access/getAllRolesByUser`.
    pub async fn get_all_roles_by_user(&self, user_id: &str) -> Result<Vec<ItemId>> {
        self.read("getAllRolesByUser", vec![Self::id_param("userId", user_id)])
            .await
    }

    /// `access/getUsersByRole`.
    pub async fn get_users_by_role(&self, role_id: &str) -> Result<Vec<UserObject>> {
        self.read("getUsersByRole", vec![Self::id_param("roleId", role_id)])
            .await
    }

    /// `access/addUserToRole`.
    pub async fn add_user_to_role(&self, data: &AddUserRoleData) -> Result<()> {
        let param =
            self.object_param("addUserToRole", "addUserRoleData", "addUserRoleData", data)?;
        self.write_ok("addUserToRole", vec![param]).await.map(drop)
    }

    /// `access/addUsersToRole`: one result per user, in order (a partial success is
    /// attributed by the user ids the server lists).
    pub async fn add_users_to_role(&self, data: &AddUsersRoleData) -> Result<Vec<Result<()>>> {
        let param = self.object_param(
            "addUsersToRole",
            "addUsersRoleData",
            "addUsersRoleData",
            data,
        )?;
        let (response, mir) = self.write("addUsersToRole", vec![param]).await?;
        if mir.is_failure() && mir.modified_list.is_empty() {
            let e = mir_failure(&response, &mir).unwrap_or_else(|| vendor(&response, "failed"));
            return Ok(data.user_ids.iter().map(|_| Err(e.clone())).collect());
        }
        let ids: Vec<&str> = data.user_ids.iter().map(String::as_str).collect();
        Ok(attribute(&response, &mir, &ids)
            .into_iter()
            .map(|r| r.map(drop))
            .collect())
    }

    /// `access/updateUserRoles`: adds and removes roles of one user; returns the
    /// user's final role ids.
    pub async fn update_user_roles(&self, data: &UserRolesData) -> Result<Vec<ItemId>> {
        let param = self.object_param("updateUserRoles", "userRolesData", "userRolesData", data)?;
        self.read_write("updateUserRoles", vec![param]).await
    }

    /// `access/updateUserDb`: changes a database user; here mostly its private
    /// profile (see [`UpdateUserDb`]).
    pub async fn update_user_db(&self, data: &UpdateUserDb) -> Result<()> {
        let param = self.object_param("updateUserDb", "updateUserDb", "updateUserDb", data)?;
        self.write_ok("updateUserDb", vec![param]).await.map(drop)
    }
}
