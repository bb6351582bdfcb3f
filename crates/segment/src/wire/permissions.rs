//! Permissions: resource kinds, labels and resources, the permission shapes written
//! (add/replace input) and read (users, groups, add/replace responses).

use std::fmt;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};

/// The kind of resource a permission applies to.
///
/// The five documented kinds, plus [`ResourceType::Other`] so that a kind Segment adds
/// later is read (and written back) instead of failing a whole listing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    /// `WORKSPACE`: the whole workspace (label restrictions go here).
    Workspace,
    /// `SOURCE`: one source.
    Source,
    /// `SPACE`: one Engage/Unify space.
    Space,
    /// `WAREHOUSE`: one warehouse.
    Warehouse,
    /// `FUNCTION`: one function.
    Function,
    /// A kind this crate does not know, kept verbatim.
    Other(String),
}

impl ResourceType {
    /// The documented kinds, in the spec's order.
    pub const KNOWN: [ResourceType; 5] = [
        ResourceType::Function,
        ResourceType::Source,
        ResourceType::Space,
        ResourceType::Warehouse,
        ResourceType::Workspace,
    ];

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ResourceType::Workspace => "WORKSPACE",
            ResourceType::Source => "SOURCE",
            ResourceType::Space => "SPACE",
            ResourceType::Warehouse => "WAREHOUSE",
            ResourceType::Function => "FUNCTION",
            ResourceType::Other(s) => s,
        }
    }

    /// Parses a wire spelling; unknown spellings become [`ResourceType::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "WORKSPACE" => ResourceType::Workspace,
            "SOURCE" => ResourceType::Source,
            "SPACE" => ResourceType::Space,
            "WAREHOUSE" => ResourceType::Warehouse,
            "FUNCTION" => ResourceType::Function,
            other => ResourceType::Other(other.to_owned()),
        }
    }

    /// Whether this is one of the five documented kinds.
    pub fn is_known(&self) -> bool {
        !matches!(self, ResourceType::Other(_))
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ResourceType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResourceType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ResourceType::parse(&s))
    }
}

/// A label (`AllowedLabelBeta` in permissions, `LabelV1` on sources and `/labels`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Label {
    /// Key, e.g. `environment`.
    pub key: String,
    /// Value, e.g. `prod`.
    pub value: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Label {
    /// A label without a description.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Label {
            key: key.into(),
            value: value.into(),
            description: None,
        }
    }
}

/// `PermissionResourceV1`: a resource of a permission, with labels that narrow it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PermissionResource {
    /// Resource id (workspace, source, … id).
    pub id: String,
    /// Resource kind.
    #[serde(rename = "type")]
    pub kind: ResourceType,
    /// Labels; absent and `[]` read the same, and an empty list is not written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Label>,
}

impl PermissionResource {
    /// A resource without labels.
    pub fn new(kind: ResourceType, id: impl Into<String>) -> Self {
        PermissionResource {
            id: id.into(),
            kind,
            labels: Vec::new(),
        }
    }
}

/// `PermissionInputV1`: one permission to add or replace (labels inside resources).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionInput {
    /// The role granted.
    pub role_id: String,
    /// Where it applies (required by the schema; may be `[]`).
    #[serde(default)]
    pub resources: Vec<PermissionResource>,
}

/// `PermissionV1`: a permission as read on a user or a user group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// The role's name.
    #[serde(default)]
    pub role_name: String,
    /// The role's id.
    pub role_id: String,
    /// Where it applies.
    #[serde(default)]
    pub resources: Vec<PermissionResource>,
    /// Permission-level labels (read model only; absent and `[]` read the same).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Label>,
}

/// `AccessPermissionV1`: a permission in an add/replace response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPermission {
    /// The role's id.
    pub role_id: String,
    /// The role's name.
    #[serde(default)]
    pub role_name: String,
    /// Where it applies.
    #[serde(default)]
    pub resources: Vec<PermissionResource>,
}

/// `{permissions: PermissionInputV1[]}`: add/replace permissions body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionsInput {
    /// The permissions.
    pub permissions: Vec<PermissionInput>,
}

/// `{permissions: AccessPermissionV1[]}`: add/replace permissions response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionsOutput {
    /// The new (user add) or updated (replace, group add) permissions.
    #[serde(default)]
    pub permissions: Vec<AccessPermission>,
}
