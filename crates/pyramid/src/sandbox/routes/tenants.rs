//! Tenant methods: the default tenant, listing, creating and finding tenants.

use serde_json::{Value, json};

use super::{Reply, failed, ok_ids, param, typed};
use crate::sandbox::state::Store;
use crate::wire::ClientLicenseType;

impl Store {
    /// `access/getDefaultTenant`.
    pub(super) fn get_default_tenant(&self) -> Reply {
        Reply::Data(json!(self.default_tenant))
    }

    /// `access/getAllTenants`.
    pub(super) fn get_all_tenants(&self) -> Reply {
        Reply::Data(Value::Array(
            self.tenants
                .values()
                .map(|t| {
                    json!({"id": t.id, "name": t.name, "viewerSeats": t.viewer_seats, "proSeats": t.pro_seats,
                    "usedViewerSeats": self.seats(&t.id, ClientLicenseType::Viewer),
                    "usedProSeats": self.seats(&t.id, ClientLicenseType::Professional)})
                })
                .collect(),
        ))
    }

    /// `access/createTenant`.
    pub(super) fn create_tenant(&mut self, body: &Value) -> Reply {
        let t: Value = tri!(typed(body, &["newTenant", "tenant", "data"]));
        let Some(name) = t
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
        else {
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

    /// `access/getTenantByName`.
    pub(super) fn get_tenant_by_name(&self, body: &Value) -> Reply {
        let name = param(body, &["name", "tenantName", "data"])
            .and_then(Value::as_str)
            .unwrap_or_default();
        match self.tenants.values().find(|t| t.name == name) {
            Some(t) => Reply::Data(
                json!({"id": t.id, "name": t.name, "viewerSeats": t.viewer_seats, "proSeats": t.pro_seats}),
            ),
            None => failed(format!("Tenant {name} was not found")),
        }
    }

    fn seats(&self, tenant: &str, license: ClientLicenseType) -> usize {
        self.users
            .values()
            .filter(|u| u.object.tenant_id.as_deref() == Some(tenant))
            .filter(|u| u.object.client_license_type == Some(license))
            .count()
    }
}
