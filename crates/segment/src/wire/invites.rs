//! Invites: the invite shapes written by `createInvites` (plain resources, labels at
//! permission level), the e-mail lists and the invite list page.

use serde::{Deserialize, Serialize};

use super::envelope::{Paged, PaginationOutput, paged};
use super::{Label, ResourceType};

/// `ResourceV1`: a plain resource, used only inside invites.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resource {
    /// Resource id.
    pub id: String,
    /// Resource kind.
    #[serde(rename = "type")]
    pub kind: ResourceType,
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

paged!(
    /// `{invites: string[], pagination}` (e-mails only).
    ListInvitesOutput, invites, "invites", String
);
