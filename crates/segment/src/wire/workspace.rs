//! The workspace and the resources permissions name (sources, warehouses, spaces,
//! functions), their labels, and their responses.

use serde::{Deserialize, Serialize};

use super::Label;
use super::envelope::{Paged, PaginationOutput, paged};

/// `WorkspaceV1`: the token's workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// Workspace id (the `WORKSPACE` resource id).
    pub id: String,
    /// URL slug.
    #[serde(default)]
    pub slug: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// `SourceV1`, the fields that matter for resource ids (the rest are ignored on read).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// Source id (the `SOURCE` resource id).
    pub id: String,
    /// Slug.
    #[serde(default)]
    pub slug: String,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Owning workspace.
    #[serde(default)]
    pub workspace_id: String,
    /// Whether it is enabled.
    #[serde(default)]
    pub enabled: bool,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<Label>,
}

/// `WarehouseV1`, the fields that matter for resource ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Warehouse {
    /// Warehouse id (the `WAREHOUSE` resource id).
    pub id: String,
    /// Owning workspace.
    #[serde(default)]
    pub workspace_id: String,
    /// Whether it is enabled.
    #[serde(default)]
    pub enabled: bool,
    /// Its settings (free-form; the name is usually in `settings.name`).
    #[serde(default)]
    pub settings: serde_json::Value,
}

/// A space (alpha `GET /spaces`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    /// Space id (the `SPACE` resource id).
    pub id: String,
    /// Slug.
    #[serde(default)]
    pub slug: String,
    /// Name.
    #[serde(default)]
    pub name: String,
}

/// A function (`GET /functions`); every field is optional in the spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    /// Function id (the `FUNCTION` resource id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `DESTINATION`, `INSERT_DESTINATION` or `SOURCE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `{workspace: WorkspaceV1}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetWorkspaceOutput {
    /// The workspace.
    pub workspace: Workspace,
}

/// `{labels: LabelV1[]}` (not paginated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListLabelsOutput {
    /// The workspace's labels.
    #[serde(default)]
    pub labels: Vec<Label>,
}

paged!(
    /// `{sources: SourceV1[], pagination}`.
    ListSourcesOutput, sources, "sources", Source
);

paged!(
    /// `{warehouses: WarehouseV1[], pagination}`.
    ListWarehousesOutput, warehouses, "warehouses", Warehouse
);

paged!(
    /// `{spaces: [...], pagination}`.
    ListSpacesOutput, spaces, "spaces", Space
);

paged!(
    /// `{functions: [...], pagination}`.
    ListFunctionsOutput, functions, "functions", Function
);
