//! Role methods of the access section: creating, deleting, reading and searching
//! roles.

use grantbridge_core::{Entity, Error, Result};

use super::{PyramidClient, attribute, mir_failure, vendor};
use crate::wire::{NewRole, RoleData, SearchCriteria};

impl PyramidClient {
    /// `access/createRole`: returns the new role's id. A duplicate name is not
    /// refused: the server appends " (1)".
    pub async fn create_role(&self, role: &NewRole) -> Result<String> {
        let param = self.object_param("createRole", "roleData", "roleData", role)?;
        let mir = self.write_ok("createRole", vec![param]).await?;
        mir.modified_list
            .first()
            .and_then(|i| i.id.clone())
            .ok_or_else(|| Error::Decode {
                status: 200,
                content_type: None,
                message: "createRole succeeded without a new id".to_owned(),
                excerpt: String::new(),
            })
    }

    /// `access/createRoles`: one result per role, in order. A partial success is
    /// attributed by position when every role is listed, else by name.
    pub async fn create_roles(&self, roles: &[NewRole]) -> Result<Vec<Result<String>>> {
        let param = self.object_param("createRoles", "roleData", "data", roles)?;
        let (response, mir) = self.write("createRoles", vec![param]).await?;
        if mir.is_failure() && mir.modified_list.is_empty() {
            let e = mir_failure(&response, &mir).unwrap_or_else(|| vendor(&response, "failed"));
            return Ok(roles.iter().map(|_| Err(e.clone())).collect());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.role_name.as_str()).collect();
        Ok(attribute(&response, &mir, &names))
    }

    /// `access/deleteRole` (cannot be undone).
    pub async fn delete_role(&self, role_id: &str) -> Result<()> {
        self.write_ok("deleteRole", vec![Self::id_param("roleId", role_id)])
            .await
            .map(drop)
    }

    /// `access/getRoleById`.
    ///
    /// `{"data": null}` is [`Error::NotFound`]; a `success:false` answer (how the
    /// sandbox refuses an unknown id) stays [`Error::Vendor`].
    pub async fn get_role_by_id(&self, role_id: &str) -> Result<RoleData> {
        self.read_one(
            "getRoleById",
            Self::id_param("roleId", role_id),
            Entity::Group,
            role_id,
        )
        .await
    }

    /// `access/getAllNonPrivateRolesByTenant`.
    pub async fn get_all_non_private_roles_by_tenant(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<RoleData>> {
        self.read(
            "getAllNonPrivateRolesByTenant",
            vec![Self::id_param("tenantId", tenant_id)],
        )
        .await
    }

    /// `access/getRolesByName`.
    pub async fn get_roles_by_name(&self, criteria: &SearchCriteria) -> Result<Vec<RoleData>> {
        let param = self.object_param("getRolesByName", "searchCriteria", "data", criteria)?;
        self.read("getRolesByName", vec![param]).await
    }
}
