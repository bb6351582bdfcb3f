//! [`Snapshot`]: everything one system grants, read at one time.

use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::SystemId;
use crate::model::{Assignment, Group, Membership, Profile, User};
use crate::traits::{AccessSystem, Capabilities};

/// The snapshot file format this build writes and reads.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

/// Users, groups, profiles, memberships and assignments of one system at one time.
///
/// Lists are sorted (by id, or by key for assignments and memberships) so that two
/// snapshots of the same state are byte-identical and diffs are stable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`SNAPSHOT_FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// The system read.
    pub system: SystemId,
    /// When the reading started.
    pub taken_at: Timestamp,
    /// What the system supports; planning reads it.
    pub capabilities: Capabilities,
    /// Users, sorted by id.
    pub users: Vec<User>,
    /// Groups, sorted by id.
    pub groups: Vec<Group>,
    /// Profiles, sorted by id.
    pub profiles: Vec<Profile>,
    /// Memberships, sorted.
    pub memberships: Vec<Membership>,
    /// Assignments, sorted.
    pub assignments: Vec<Assignment>,
}

impl Snapshot {
    /// Reads every list of `system` once, concurrently (the adapter's own rate limiter
    /// decides how much really runs in parallel).
    pub async fn take(system: &dyn AccessSystem) -> Result<Snapshot> {
        let taken_at = Timestamp::now();
        let (users, groups, profiles, memberships, assignments) = futures::try_join!(
            system.list_users(),
            system.list_groups(),
            system.list_profiles(),
            system.list_memberships(),
            system.list_assignments(),
        )?;
        Ok(Snapshot::from_parts(
            system.id().clone(),
            taken_at,
            system.capabilities(),
            users,
            groups,
            profiles,
            memberships,
            assignments,
        ))
    }

    /// Builds a snapshot from lists, sorting and de-duplicating them.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        system: SystemId,
        taken_at: Timestamp,
        capabilities: Capabilities,
        mut users: Vec<User>,
        mut groups: Vec<Group>,
        mut profiles: Vec<Profile>,
        mut memberships: Vec<Membership>,
        mut assignments: Vec<Assignment>,
    ) -> Snapshot {
        users.sort_by(|a, b| a.id.cmp(&b.id));
        users.dedup_by(|a, b| a.id == b.id);
        groups.sort_by(|a, b| a.id.cmp(&b.id));
        groups.dedup_by(|a, b| a.id == b.id);
        profiles.sort_by(|a, b| a.id.cmp(&b.id));
        profiles.dedup_by(|a, b| a.id == b.id);
        memberships.sort();
        memberships.dedup();
        assignments.sort();
        assignments.dedup();
        Snapshot {
            format_version: SNAPSHOT_FORMAT_VERSION,
            system,
            taken_at,
            capabilities,
            users,
            groups,
            profiles,
            memberships,
            assignments,
        }
    }

    /// Serializes to pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::invalid("snapshot", e.to_string()))
    }

    /// Parses JSON, refusing format versions this build does not know.
    pub fn from_json(json: &str) -> Result<Snapshot> {
        #[derive(Deserialize)]
        struct Version {
            format_version: Option<u32>,
        }
        let version: Version = serde_json::from_str(json)
            .map_err(|e| Error::invalid("snapshot JSON", e.to_string()))?;
        match version.format_version {
            Some(SNAPSHOT_FORMAT_VERSION) => {}
            Some(v) => {
                return Err(Error::invalid(
                    "snapshot format_version",
                    format!(
                        "{v} is not supported by this build (it reads version {SNAPSHOT_FORMAT_VERSION}); \
                         take the snapshot again or use a matching grantbridge"
                    ),
                ));
            }
            None => {
                return Err(Error::invalid(
                    "snapshot",
                    "no format_version field: this is not a grantbridge snapshot",
                ));
            }
        }
        serde_json::from_str(json).map_err(|e| Error::invalid("snapshot JSON", e.to_string()))
    }

    /// Writes the snapshot to a file as JSON.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?).map_err(|e| Error::io(path, e))
    }

    /// Reads a snapshot file.
    pub fn load(path: impl AsRef<Path>) -> Result<Snapshot> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Snapshot::from_json(&json).map_err(|e| match e {
            Error::InvalidInput { what, why } => Error::InvalidInput {
                what: format!("{} ({what})", path.display()),
                why,
            },
            other => other,
        })
    }

    /// The user with this e-mail (case-insensitive), if any.
    pub fn user_by_email(&self, email: &crate::Email) -> Option<&User> {
        self.users.iter().find(|u| u.email.as_ref() == Some(email))
    }
}
