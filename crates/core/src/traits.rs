//! The traits every connected system implements (docs/architecture.md, "The traits").
//!
//! Small traits, one umbrella: tools hold `Arc<dyn AccessSystem>`. All are
//! object-safe through [`async_trait`]. Batch writes return exactly one [`Outcome`]
//! per input item, in input order: a failure of one item never hides the others.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Entity, Error, Feature, Result};
use crate::ids::{ProfileId, SystemId};
use crate::model::{
    Assignment, Group, Membership, NewProfile, Principal, Profile, Scope, ScopeKind, User,
};

/// What a system can do. The engine reads these instead of guessing; a call the system
/// cannot honour returns [`Error::Unsupported`], never a silent no-op.
///
/// A plain `Copy` struct of public fields (like OpenDAL's): build one with
/// struct-update syntax from [`Capabilities::full`] or [`Capabilities::minimal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Bounded validity windows on assignments.
    pub validity_windows: bool,
    /// Assignments on [`Scope::System`].
    pub system_scope: bool,
    /// Assignments on [`Scope::Tenant`].
    pub tenant_scopes: bool,
    /// Assignments on [`Scope::Resource`].
    pub resource_scopes: bool,
    /// Assignments held by users directly.
    pub user_principals: bool,
    /// Assignments held by groups.
    pub group_principals: bool,
    /// Groups and memberships can be listed.
    pub groups: bool,
    /// Memberships can be added and removed.
    pub membership_write: bool,
    /// Profiles can be created.
    pub profile_create: bool,
    /// Profiles can be deleted.
    pub profile_delete: bool,
    /// At most this many assignments per user (Pyramid: one private profile).
    pub max_assignments_per_user: Option<u32>,
    /// Largest batch worth passing to one `grant`/`revoke` call; the engine chunks to it.
    pub max_batch: usize,
    /// Items per page on the wire for the system's list calls, if it pages.
    pub page_size: Option<usize>,
}

impl Capabilities {
    /// Everything supported, unlimited.
    pub const fn full() -> Self {
        Self {
            validity_windows: true,
            system_scope: true,
            tenant_scopes: true,
            resource_scopes: true,
            user_principals: true,
            group_principals: true,
            groups: true,
            membership_write: true,
            profile_create: true,
            profile_delete: true,
            max_assignments_per_user: None,
            max_batch: 1000,
            page_size: None,
        }
    }

    /// Only system-wide, always-valid assignments to users; no groups, no writes to the
    /// catalog.
    pub const fn minimal() -> Self {
        Self {
            validity_windows: false,
            system_scope: true,
            tenant_scopes: false,
            resource_scopes: false,
            user_principals: true,
            group_principals: false,
            groups: false,
            membership_write: false,
            profile_create: false,
            profile_delete: false,
            max_assignments_per_user: None,
            max_batch: 100,
            page_size: None,
        }
    }

    /// Whether assignments on this kind of scope are supported.
    pub fn supports_scope(&self, kind: ScopeKind) -> bool {
        match kind {
            ScopeKind::System => self.system_scope,
            ScopeKind::Tenant => self.tenant_scopes,
            ScopeKind::Resource => self.resource_scopes,
        }
    }

    /// The capability an assignment needs that this system lacks, if any: the shape
    /// checks every adapter makes before touching the wire.
    pub fn missing_for(&self, assignment: &Assignment) -> Option<Feature> {
        match &assignment.principal {
            Principal::User(_) if !self.user_principals => return Some(Feature::UserPrincipals),
            Principal::Group(_) if !self.group_principals => {
                return Some(Feature::GroupPrincipals);
            }
            _ => {}
        }
        let scope_feature = match assignment.scope {
            Scope::System => Feature::SystemScope,
            Scope::Tenant { .. } => Feature::TenantScopes,
            Scope::Resource { .. } => Feature::ResourceScopes,
        };
        if !self.supports_scope(assignment.scope.kind()) {
            return Some(scope_feature);
        }
        if !self.validity_windows && !assignment.validity.is_unbounded() {
            return Some(Feature::ValidityWindows);
        }
        None
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::full()
    }
}

/// The result of one item of a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "error", rename_all = "snake_case")]
pub enum Outcome {
    /// The change was made.
    Applied,
    /// Nothing to do: the system was already in the requested state.
    AlreadyInState,
    /// The item failed; other items of the batch are unaffected.
    Failed(Error),
}

impl Outcome {
    /// Whether the system now holds the requested state (applied or already so).
    pub fn is_done(&self) -> bool {
        !matches!(self, Outcome::Failed(_))
    }

    /// The error, if the item failed.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// `n` copies of the same failure, for a batch that failed as a whole.
    pub fn all_failed(n: usize, error: &Error) -> Vec<Outcome> {
        vec![Outcome::Failed(error.clone()); n]
    }
}

/// The profiles a system offers.
#[async_trait]
pub trait ProfileCatalog: Send + Sync {
    /// All profiles, with their capabilities where the vendor lists them.
    async fn list_profiles(&self) -> Result<Vec<Profile>>;

    /// One profile with its capabilities; [`Error::NotFound`] if absent.
    async fn get_profile(&self, id: &ProfileId) -> Result<Profile>;

    /// Creates a profile. Default: [`Error::Unsupported`].
    async fn create_profile(&self, profile: &NewProfile) -> Result<Profile> {
        let _ = profile;
        Err(Error::unsupported("this system", Feature::ProfileCreate))
    }

    /// Deletes a profile. Default: [`Error::Unsupported`].
    async fn delete_profile(&self, id: &ProfileId) -> Result<()> {
        let _ = id;
        Err(Error::unsupported("this system", Feature::ProfileDelete))
    }
}

/// The people and groups of a system.
#[async_trait]
pub trait Directory: Send + Sync {
    /// All users (including pending invites where the vendor has them).
    async fn list_users(&self) -> Result<Vec<User>>;

    /// All groups; empty when the system has none.
    async fn list_groups(&self) -> Result<Vec<Group>>;

    /// All memberships; empty when the system has no groups.
    async fn list_memberships(&self) -> Result<Vec<Membership>>;

    /// Adds users to groups; one outcome per item, in order.
    async fn add_memberships(&self, items: &[Membership]) -> Vec<Outcome>;

    /// Removes users from groups; one outcome per item, in order.
    async fn remove_memberships(&self, items: &[Membership]) -> Vec<Outcome>;
}

/// Who holds which profile where.
///
/// Assignments are identified by their [`key`](Assignment::key) (principal, profile,
/// scope). `grant` of an existing key with the same window is `AlreadyInState`; with a
/// different window it updates the window (`Applied`). `revoke` removes the key
/// whatever its window; revoking an absent key is `AlreadyInState`.
#[async_trait]
pub trait AssignmentStore: Send + Sync {
    /// Every assignment in the system.
    async fn list_assignments(&self) -> Result<Vec<Assignment>>;

    /// The assignments one principal holds directly (not through groups).
    async fn list_assignments_for(&self, principal: &Principal) -> Result<Vec<Assignment>>;

    /// Grants a batch; one outcome per item, in order.
    async fn grant(&self, items: &[Assignment]) -> Vec<Outcome>;

    /// Revokes a batch; one outcome per item, in order.
    async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome>;
}

/// A connected system: catalog, directory and assignments, with an id and capabilities.
pub trait AccessSystem: ProfileCatalog + Directory + AssignmentStore {
    /// The system's name, e.g. `visier-prod`.
    fn id(&self) -> &SystemId;

    /// What the system supports.
    fn capabilities(&self) -> Capabilities;
}

/// Conveniences over [`AccessSystem`] that implementations never need to write.
#[async_trait]
pub trait AccessSystemExt: AccessSystem {
    /// Grants one assignment; `Ok(true)` if it changed anything.
    async fn grant_one(&self, assignment: &Assignment) -> Result<bool> {
        single(self.grant(std::slice::from_ref(assignment)).await)
    }

    /// Revokes one assignment; `Ok(true)` if it changed anything.
    async fn revoke_one(&self, assignment: &Assignment) -> Result<bool> {
        single(self.revoke(std::slice::from_ref(assignment)).await)
    }

    /// Finds a profile by display name (exact match).
    async fn find_profile_by_name(&self, name: &str) -> Result<Profile> {
        self.list_profiles()
            .await?
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::not_found(Entity::Profile, name))
    }
}

impl<T: AccessSystem + ?Sized> AccessSystemExt for T {}

fn single(mut outcomes: Vec<Outcome>) -> Result<bool> {
    match outcomes.pop() {
        Some(Outcome::Applied) if outcomes.is_empty() => Ok(true),
        Some(Outcome::AlreadyInState) if outcomes.is_empty() => Ok(false),
        Some(Outcome::Failed(e)) if outcomes.is_empty() => Err(e),
        other => Err(Error::invalid(
            "batch result",
            format!(
                "expected one outcome, got {}",
                outcomes.len() + usize::from(other.is_some())
            ),
        )),
    }
}
