//! Segment Public API IAM types, exactly as on the wire.
//!
//! Field names are the API's (`roleId`, `memberCount`, …). Reading is lenient:
//! unknown fields (`policyId`, `subjectId`, `subjectType` in the docs' samples) are
//! ignored, `labels` may be absent or `[]`, and `memberCount` / `totalEntries` may be
//! `3` or `3.0`. Writing is exact: optional fields left empty are omitted, as the
//! official SDKs omit them.
//!
//! Permissions come in three shapes (spec §7):
//!
//! * [`PermissionInput`] — what add/replace take: labels live **inside**
//!   `resources[]` ([`PermissionResource::labels`]);
//! * [`InvitePermission`] — what invites take: labels at permission level, plain
//!   [`Resource`]s without labels;
//! * [`Permission`] / [`AccessPermission`] — what reads and write responses return.

use std::fmt;

use serde::de::{self, Deserializer};
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

/// `ResourceV1`: a plain resource, used only inside invites.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resource {
    /// Resource id.
    pub id: String,
    /// Resource kind.
    #[serde(rename = "type")]
    pub kind: ResourceType,
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

/// `InvitePermissionV1`: one permission of an invite (labels at permission level).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitePermission {
    /// The role granted.
    pub role_id: String,
    /// Where it applies; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<Resource>>,
    /// Label restrictions; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Label>>,
}

/// `InviteV1`: one person to invite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// The invitee's e-mail address.
    pub email: String,
    /// What they get on accepting; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<InvitePermission>>,
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

/// `UserV1`: a workspace user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Direct permissions (not those inherited through groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
}

/// `MinimalUserV1`: a user without permissions (group member lists).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinimalUser {
    /// User id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// E-mail address.
    pub email: String,
}

/// `UserGroupV1`: a user group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserGroup {
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: String,
    /// Members (`3` or `3.0` on the wire).
    #[serde(default, deserialize_with = "lenient_count")]
    pub member_count: u64,
    /// The group's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
}

/// `MinimalUserGroupV1`: a group without permissions or count (a user's groups).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinimalUserGroup {
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: String,
}

/// `RoleV1`: a role (a core `Profile`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Role id.
    pub id: String,
    /// Role name, e.g. `Workspace Owner`.
    pub name: String,
    /// What the role allows.
    #[serde(default)]
    pub description: String,
}

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

/// `PaginationInput`: what to ask for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaginationInput {
    /// Items per page, 1..=1000.
    pub count: u32,
    /// Opaque cursor from a previous page; `None` for the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl PaginationInput {
    /// The first page of `count` items.
    pub fn first(count: u32) -> Self {
        PaginationInput {
            count,
            cursor: None,
        }
    }
}

/// `PaginationOutput`: where a page sits.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginationOutput {
    /// This page's cursor.
    #[serde(default)]
    pub current: String,
    /// The next page's cursor; absent **or** null on the last page.
    #[serde(default)]
    pub next: Option<String>,
    /// The previous page's cursor; absent or null on the first.
    #[serde(default)]
    pub previous: Option<String>,
    /// Items in all pages, when the server computed it (`3` or `3.0`).
    #[serde(
        default,
        deserialize_with = "lenient_opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_entries: Option<u64>,
}

/// `{"data": …}`: every success body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The payload.
    pub data: T,
}

/// `RequestError`: one entry of an error body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestError {
    /// `input-validation`, `RequestError`, `not-found`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The offending field, for validation errors (`pagination.count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Extra data (`msBeforeNext`, … on a 429).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// The HTTP status, when repeated in the body.
    #[serde(
        default,
        deserialize_with = "lenient_opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<u64>,
}

/// `{"errors": [...]}`: every failure body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// One entry per problem (one per failed field for a 422).
    pub errors: Vec<RequestError>,
}

/// `{"status":"SUCCESS"}` of the deletes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusOutput {
    /// `SUCCESS` (the only documented value).
    pub status: String,
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

/// `{invites: InviteV1[]}`: create invites body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateInvitesInput {
    /// The invites.
    pub invites: Vec<Invite>,
}

/// `{emails: string[]}`: create invites response, and the body of the group
/// add/replace users operations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emails {
    /// E-mail addresses.
    #[serde(default)]
    pub emails: Vec<String>,
}

/// `{name: string}`: create/rename a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupName {
    /// The name.
    pub name: String,
}

/// `{user: UserV1}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetUserOutput {
    /// The user.
    pub user: User,
}

/// `{userGroup: UserGroupV1}`: get/create/update group, add/replace users.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserGroupOutput {
    /// The group.
    pub user_group: UserGroup,
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

/// A paginated list response: its items and where it sits.
pub trait Paged {
    /// The item type.
    type Item;
    /// The wire name of the item array (`users`, `roles`, …).
    const FIELD: &'static str;
    /// Splits the page into items and pagination.
    fn into_parts(self) -> (Vec<Self::Item>, PaginationOutput);
    /// Where the page sits.
    fn pagination(&self) -> &PaginationOutput;
}

macro_rules! paged {
    ($(#[$doc:meta])* $name:ident, $field:ident, $wire:literal, $item:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            /// The page's items.
            #[serde(rename = $wire, default)]
            pub $field: Vec<$item>,
            /// Where the page sits.
            #[serde(default)]
            pub pagination: PaginationOutput,
        }

        impl Paged for $name {
            type Item = $item;
            const FIELD: &'static str = $wire;
            fn into_parts(self) -> (Vec<$item>, PaginationOutput) {
                (self.$field, self.pagination)
            }
            fn pagination(&self) -> &PaginationOutput {
                &self.pagination
            }
        }
    };
}

paged!(
    /// `{users: UserV1[], pagination}`.
    ListUsersOutput, users, "users", User
);
paged!(
    /// `{invites: string[], pagination}` (e-mails only).
    ListInvitesOutput, invites, "invites", String
);
paged!(
    /// `{groups: MinimalUserGroupV1[], pagination}`.
    ListUserGroupsFromUserOutput, groups, "groups", MinimalUserGroup
);
paged!(
    /// `{roles: RoleV1[], pagination}`.
    ListRolesOutput, roles, "roles", Role
);
paged!(
    /// `{userGroups: UserGroupV1[], pagination}`.
    ListUserGroupsOutput, user_groups, "userGroups", UserGroup
);
paged!(
    /// `{users: MinimalUserV1[], pagination}`.
    ListUsersFromUserGroupOutput, users, "users", MinimalUser
);
paged!(
    /// `{emails: string[], pagination}`.
    ListInvitesFromUserGroupOutput, emails, "emails", String
);
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

/// A count that may arrive as `3` or `3.0` (the spec types it `number`).
fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    number_to_count(&n).ok_or_else(|| {
        de::Error::invalid_value(
            de::Unexpected::Other(&n.to_string()),
            &"a non-negative whole number",
        )
    })
}

fn lenient_opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n = Option::<serde_json::Number>::deserialize(d)?;
    match n {
        None => Ok(None),
        Some(n) => number_to_count(&n).map(Some).ok_or_else(|| {
            de::Error::invalid_value(
                de::Unexpected::Other(&n.to_string()),
                &"a non-negative whole number",
            )
        }),
    }
}

fn number_to_count(n: &serde_json::Number) -> Option<u64> {
    if let Some(u) = n.as_u64() {
        return Some(u);
    }
    let f = n.as_f64()?;
    // 2^53: beyond it f64 no longer holds every whole number.
    (f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0).then_some(f as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accept_integral_floats_only() {
        let g: UserGroup =
            serde_json::from_str(r#"{"id":"g","name":"n","memberCount":3.0}"#).expect("float");
        assert_eq!(g.member_count, 3);
        for bad in ["3.5", "-1", "\"3\""] {
            let json = format!(r#"{{"id":"g","name":"n","memberCount":{bad}}}"#);
            assert!(serde_json::from_str::<UserGroup>(&json).is_err(), "{bad}");
        }
        let p: PaginationOutput =
            serde_json::from_str(r#"{"current":"MA==","next":null,"totalEntries":2.0}"#)
                .expect("pagination");
        assert_eq!(p.total_entries, Some(2));
        assert_eq!(p.next, None);
    }

    #[test]
    fn write_shapes_are_exact() {
        let input = PermissionsInput {
            permissions: vec![PermissionInput {
                role_id: "r".into(),
                resources: vec![PermissionResource::new(ResourceType::Workspace, "w")],
            }],
        };
        assert_eq!(
            serde_json::to_string(&input).expect("ser"),
            r#"{"permissions":[{"roleId":"r","resources":[{"id":"w","type":"WORKSPACE"}]}]}"#
        );
        let invite = Invite {
            email: "a@example.com".into(),
            permissions: Some(vec![InvitePermission {
                role_id: "r".into(),
                resources: None,
                labels: Some(vec![Label::new("environment", "prod")]),
            }]),
        };
        assert_eq!(
            serde_json::to_string(&invite).expect("ser"),
            r#"{"email":"a@example.com","permissions":[{"roleId":"r","labels":[{"key":"environment","value":"prod"}]}]}"#
        );
        let unknown: ResourceType = serde_json::from_str("\"DESTINATION\"").expect("other");
        assert_eq!(unknown, ResourceType::Other("DESTINATION".into()));
        assert_eq!(
            serde_json::to_string(&unknown).expect("ser"),
            "\"DESTINATION\""
        );
    }
}
