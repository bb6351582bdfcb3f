//! Tenant methods of the access section: the default tenant, listing, creating and
//! finding tenants.

use grantbridge_core::{Entity, Error, Result};
use serde_json::Value;

use super::PyramidClient;
use crate::wire::{NewTenant, TenantData};

impl PyramidClient {
    /// `access/getDefaultTenant`: the default tenant's id (`{"data":"<id>"}`).
    pub async fn get_default_tenant(&self) -> Result<String> {
        self.read("getDefaultTenant", vec![]).await
    }

    /// `access/getAllTenants`.
    pub async fn get_all_tenants(&self) -> Result<Vec<TenantData>> {
        self.read("getAllTenants", vec![]).await
    }

    /// `access/createTenant`: returns the new tenant's id (`modifiedList[0].id`).
    /// Pyramid's example and third-party clients send it under `tenant`.
    pub async fn create_tenant(&self, tenant: &NewTenant) -> Result<String> {
        let param = self.object_param("createTenant", "newTenant", "tenant", tenant)?;
        let mir = self.write_ok("createTenant", vec![param]).await?;
        mir.modified_list
            .first()
            .and_then(|i| i.id.clone())
            .ok_or_else(|| Error::Decode {
                status: 200,
                content_type: None,
                message: "createTenant succeeded without a new id".to_owned(),
                excerpt: String::new(),
            })
    }

    /// `access/getTenantByName`. Documented as `name`; third-party clients send
    /// `tenantName` (the observed default). `{"data": null}` is [`Error::NotFound`].
    pub async fn get_tenant_by_name(&self, name: &str) -> Result<TenantData> {
        let key = self.inner.keys.key("getTenantByName", "name", "tenantName");
        self.read_one(
            "getTenantByName",
            (key, Value::String(name.to_owned())),
            Entity::Tenant,
            name,
        )
        .await
    }
}
