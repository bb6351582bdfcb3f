//! The traits every connected system implements (docs/architecture.md, "The traits").
//!
//! Small traits, one umbrella: tools hold `Arc<dyn AccessSystem>`. All are
//! object-safe through [`async_trait`]. Batch writes return exactly one [`Outcome`]
//! per input item, in input order: a failure of one item never hides the others.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::engine::TargetIdentity;
use crate::error::{Entity, Error, Feature, Result};
use crate::ids::{ProfileId, SystemId};
use crate::model::{
    Assignment, Group, Membership, NewProfile, Principal, Profile, Scope, ScopeKind, User,
};

/// What a system can do. The engine reads these instead of guessing; a call the system
/// cannot honour returns [`Error::Unsupported`], never a silent no-op.
///
/// A `Copy` struct of public fields, `#[non_exhaustive]` so that a new capability
/// breaks neither adapters nor saved snapshots. Outside this crate, start from
/// [`Capabilities::minimal`] or [`Capabilities::full`] and chain the `with_…` setters
/// (or assign fields of a `let mut`):
///
/// ```
/// use grantbridge_core::Capabilities;
///
/// const CAPS: Capabilities = Capabilities::minimal()
///     .with_group_principals(true)
///     .with_groups(true)
///     .with_max_batch(500);
/// let mut caps = CAPS;
/// caps.page_size = Some(200);
/// assert!(caps.groups && !caps.validity_windows);
/// ```
///
/// When deserialized (a snapshot's `capabilities`), a missing field takes its value
/// from [`Capabilities::minimal`], which is also [`Default`]: a capability a snapshot
/// does not mention is not assumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
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

    /// Sets [`validity_windows`](Self::validity_windows).
    #[must_use]
    pub const fn with_validity_windows(mut self, validity_windows: bool) -> Self {
        self.validity_windows = validity_windows;
        self
    }

    /// Sets [`system_scope`](Self::system_scope).
    #[must_use]
    pub const fn with_system_scope(mut self, system_scope: bool) -> Self {
        self.system_scope = system_scope;
        self
    }

    /// Sets [`tenant_scopes`](Self::tenant_scopes).
    #[must_use]
    pub const fn with_tenant_scopes(mut self, tenant_scopes: bool) -> Self {
        self.tenant_scopes = tenant_scopes;
        self
    }

    /// Sets [`resource_scopes`](Self::resource_scopes).
    #[must_use]
    pub const fn with_resource_scopes(mut self, resource_scopes: bool) -> Self {
        self.resource_scopes = resource_scopes;
        self
    }

    /// Sets [`user_principals`](Self::user_principals).
    #[must_use]
    pub const fn with_user_principals(mut self, user_principals: bool) -> Self {
        self.user_principals = user_principals;
        self
    }

    /// Sets [`group_principals`](Self::group_principals).
    #[must_use]
    pub const fn with_group_principals(mut self, group_principals: bool) -> Self {
        self.group_principals = group_principals;
        self
    }

    /// Sets [`groups`](Self::groups).
    #[must_use]
    pub const fn with_groups(mut self, groups: bool) -> Self {
        self.groups = groups;
        self
    }

    /// Sets [`membership_write`](Self::membership_write).
    #[must_use]
    pub const fn with_membership_write(mut self, membership_write: bool) -> Self {
        self.membership_write = membership_write;
        self
    }

    /// Sets [`profile_create`](Self::profile_create).
    #[must_use]
    pub const fn with_profile_create(mut self, profile_create: bool) -> Self {
        self.profile_create = profile_create;
        self
    }

    /// Sets [`profile_delete`](Self::profile_delete).
    #[must_use]
    pub const fn with_profile_delete(mut self, profile_delete: bool) -> Self {
        self.profile_delete = profile_delete;
        self
    }

    /// Sets [`max_assignments_per_user`](Self::max_assignments_per_user).
    #[must_use]
    pub const fn with_max_assignments_per_user(
        mut self,
        max_assignments_per_user: Option<u32>,
    ) -> Self {
        self.max_assignments_per_user = max_assignments_per_user;
        self
    }

    /// Sets [`max_batch`](Self::max_batch).
    #[must_use]
    pub const fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch;
        self
    }

    /// Sets [`page_size`](Self::page_size).
    #[must_use]
    pub const fn with_page_size(mut self, page_size: Option<usize>) -> Self {
        self.page_size = page_size;
        self
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
    /// [`Capabilities::minimal`]: what is not stated is not assumed.
    fn default() -> Self {
        Self::minimal()
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

/// The system id the traits' default methods name in their errors.
mod identity {
    use super::AccessSystem;
    use crate::ids::SystemId;

    /// The id of the system behind a [`ProfileCatalog`](super::ProfileCatalog) or a
    /// [`Directory`](super::Directory), so that their default methods name it in
    /// [`Error::Unsupported`](crate::Error::Unsupported).
    ///
    /// Sealed (unnameable outside this module) and implemented for every
    /// [`AccessSystem`] from its `id()`: implementors write nothing, and callers
    /// keep calling `AccessSystem::id` without ambiguity.
    pub trait Identity: Send + Sync {
        /// [`AccessSystem::id`] of the implementor.
        fn system_id(&self) -> &SystemId;
    }

    impl<T: AccessSystem + ?Sized> Identity for T {
        fn system_id(&self) -> &SystemId {
            self.id()
        }
    }
}

/// The profiles a system offers.
///
/// Implemented by [`AccessSystem`]s only: its default methods name the system by
/// [`AccessSystem::id`].
#[async_trait]
pub trait ProfileCatalog: identity::Identity {
    /// All profiles, with their capabilities where the vendor lists them.
    async fn list_profiles(&self) -> Result<Vec<Profile>>;

    /// One profile with its capabilities; [`Error::NotFound`] if absent.
    async fn get_profile(&self, id: &ProfileId) -> Result<Profile>;

    /// Creates a profile. Default: [`Error::Unsupported`] naming the system's id
    /// ([`Feature::ProfileCreate`]).
    async fn create_profile(&self, profile: &NewProfile) -> Result<Profile> {
        let _ = profile;
        Err(Error::unsupported(
            self.system_id().as_str(),
            Feature::ProfileCreate,
        ))
    }

    /// Deletes a profile. Default: [`Error::Unsupported`] naming the system's id
    /// ([`Feature::ProfileDelete`]).
    async fn delete_profile(&self, id: &ProfileId) -> Result<()> {
        let _ = id;
        Err(Error::unsupported(
            self.system_id().as_str(),
            Feature::ProfileDelete,
        ))
    }
}

/// The people and groups of a system.
///
/// Implemented by [`AccessSystem`]s only: its default methods name the system by
/// [`AccessSystem::id`].
#[async_trait]
pub trait Directory: identity::Identity {
    /// All users (including pending invites where the vendor has them).
    async fn list_users(&self) -> Result<Vec<User>>;

    /// All groups; empty when the system has none.
    async fn list_groups(&self) -> Result<Vec<Group>>;

    /// All memberships; empty when the system has no groups.
    async fn list_memberships(&self) -> Result<Vec<Membership>>;

    /// Adds users to groups; one outcome per item, in order.
    ///
    /// Default: every item fails with [`Error::Unsupported`] naming the system's id
    /// ([`Feature::MembershipWrite`]), for systems without membership writes.
    async fn add_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        membership_write_unsupported(self.system_id(), items.len())
    }

    /// Removes users from groups; one outcome per item, in order.
    ///
    /// Default: every item fails with [`Error::Unsupported`] naming the system's id
    /// ([`Feature::MembershipWrite`]), for systems without membership writes.
    async fn remove_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        membership_write_unsupported(self.system_id(), items.len())
    }
}

fn membership_write_unsupported(system: &SystemId, n: usize) -> Vec<Outcome> {
    Outcome::all_failed(
        n,
        &Error::unsupported(system.as_str(), Feature::MembershipWrite),
    )
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
    ///
    /// Default: [`list_assignments`](AssignmentStore::list_assignments) filtered by
    /// principal (an unknown principal holds none). Override it where the system reads
    /// one principal more cheaply.
    async fn list_assignments_for(&self, principal: &Principal) -> Result<Vec<Assignment>> {
        Ok(self
            .list_assignments()
            .await?
            .into_iter()
            .filter(|a| &a.principal == principal)
            .collect())
    }

    /// Grants a batch; one outcome per item, in order.
    async fn grant(&self, items: &[Assignment]) -> Vec<Outcome>;

    /// Revokes a batch; one outcome per item, in order.
    async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome>;
}

/// A connected system: catalog, directory and assignments, with an id and capabilities.
///
/// Also implemented for `Arc<T>` and `Box<T>` of any `T: AccessSystem` (including
/// `dyn AccessSystem`), forwarding every method, so an `Arc<dyn AccessSystem>` goes
/// wherever an `impl AccessSystem` is expected.
pub trait AccessSystem: ProfileCatalog + Directory + AssignmentStore {
    /// The system's name, e.g. `visier-prod`.
    fn id(&self) -> &SystemId;

    /// What the system supports.
    fn capabilities(&self) -> Capabilities;

    /// Who this system is, without secrets: journals and run reports record it and
    /// refuse to resume or roll back on a target that does not match
    /// ([`TargetIdentity::matches`]). Default: the system id alone; adapters add the
    /// API host, tenant or workspace, and the authenticated principal.
    fn identity(&self) -> TargetIdentity {
        TargetIdentity::new(self.id().clone())
    }
}

/// Forwards every method of the core traits (the provided ones too, so the inner
/// system's overrides are kept) from a smart pointer to its `T: AccessSystem`.
macro_rules! forward_access_system {
    ($($pointer:ident),+) => {$(
        #[async_trait]
        impl<T: AccessSystem + ?Sized> ProfileCatalog for $pointer<T> {
            async fn list_profiles(&self) -> Result<Vec<Profile>> {
                (**self).list_profiles().await
            }

            async fn get_profile(&self, id: &ProfileId) -> Result<Profile> {
                (**self).get_profile(id).await
            }

            async fn create_profile(&self, profile: &NewProfile) -> Result<Profile> {
                (**self).create_profile(profile).await
            }

            async fn delete_profile(&self, id: &ProfileId) -> Result<()> {
                (**self).delete_profile(id).await
            }
        }

        #[async_trait]
        impl<T: AccessSystem + ?Sized> Directory for $pointer<T> {
            async fn list_users(&self) -> Result<Vec<User>> {
                (**self).list_users().await
            }

            async fn list_groups(&self) -> Result<Vec<Group>> {
                (**self).list_groups().await
            }

            async fn list_memberships(&self) -> Result<Vec<Membership>> {
                (**self).list_memberships().await
            }

            async fn add_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
                (**self).add_memberships(items).await
            }

            async fn remove_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
                (**self).remove_memberships(items).await
            }
        }

        #[async_trait]
        impl<T: AccessSystem + ?Sized> AssignmentStore for $pointer<T> {
            async fn list_assignments(&self) -> Result<Vec<Assignment>> {
                (**self).list_assignments().await
            }

            async fn list_assignments_for(
                &self,
                principal: &Principal,
            ) -> Result<Vec<Assignment>> {
                (**self).list_assignments_for(principal).await
            }

            async fn grant(&self, items: &[Assignment]) -> Vec<Outcome> {
                (**self).grant(items).await
            }

            async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome> {
                (**self).revoke(items).await
            }
        }

        impl<T: AccessSystem + ?Sized> AccessSystem for $pointer<T> {
            fn id(&self) -> &SystemId {
                (**self).id()
            }

            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }

            fn identity(&self) -> TargetIdentity {
                (**self).identity()
            }
        }
    )+};
}

forward_access_system!(Arc, Box);

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

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::ids::{GroupId, UserId};
    use crate::memory::InMemorySystem;

    /// A system that writes only the required methods.
    struct Bare {
        id: SystemId,
        assignments: Vec<Assignment>,
    }

    #[async_trait]
    impl ProfileCatalog for Bare {
        async fn list_profiles(&self) -> Result<Vec<Profile>> {
            Ok(Vec::new())
        }

        async fn get_profile(&self, id: &ProfileId) -> Result<Profile> {
            Err(Error::not_found(Entity::Profile, id.as_str()))
        }
    }

    #[async_trait]
    impl Directory for Bare {
        async fn list_users(&self) -> Result<Vec<User>> {
            Ok(Vec::new())
        }

        async fn list_groups(&self) -> Result<Vec<Group>> {
            Ok(Vec::new())
        }

        async fn list_memberships(&self) -> Result<Vec<Membership>> {
            Ok(Vec::new())
        }
    }

    #[async_trait]
    impl AssignmentStore for Bare {
        async fn list_assignments(&self) -> Result<Vec<Assignment>> {
            Ok(self.assignments.clone())
        }

        async fn grant(&self, items: &[Assignment]) -> Vec<Outcome> {
            vec![Outcome::AlreadyInState; items.len()]
        }

        async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome> {
            vec![Outcome::AlreadyInState; items.len()]
        }
    }

    impl AccessSystem for Bare {
        fn id(&self) -> &SystemId {
            &self.id
        }

        fn capabilities(&self) -> Capabilities {
            Capabilities::minimal()
        }
    }

    fn id<T>(r: Result<T>) -> T {
        r.expect("valid id")
    }

    fn user(u: &str) -> Principal {
        Principal::User(id(UserId::new(u)))
    }

    fn bare() -> Bare {
        let a = |u: &str, p: &str| Assignment::new(user(u), id(ProfileId::new(p)), Scope::System);
        Bare {
            id: id(SystemId::new("bare-prod")),
            assignments: vec![a("ana", "admin"), a("bo", "viewer"), a("ana", "viewer")],
        }
    }

    #[test]
    fn default_methods_name_the_implementors_system() {
        let system = bare();
        let unsupported = |feature| Error::Unsupported {
            system: "bare-prod".into(),
            feature,
        };
        let new = NewProfile {
            name: "P".into(),
            description: None,
            capabilities: Vec::new(),
            scope: None,
        };
        assert_eq!(
            block_on(system.create_profile(&new)).expect_err("unsupported"),
            unsupported(Feature::ProfileCreate)
        );
        assert_eq!(
            block_on(system.delete_profile(&id(ProfileId::new("p")))).expect_err("unsupported"),
            unsupported(Feature::ProfileDelete)
        );
        let m = |u: &str| Membership::new(id(UserId::new(u)), id(GroupId::new("g")));
        let items = [m("ana"), m("bo")];
        let refused = vec![
            Outcome::Failed(unsupported(Feature::MembershipWrite)),
            Outcome::Failed(unsupported(Feature::MembershipWrite)),
        ];
        assert_eq!(block_on(system.add_memberships(&items)), refused);
        assert_eq!(block_on(system.remove_memberships(&items)), refused);
        assert_eq!(block_on(system.add_memberships(&[])), Vec::new());
    }

    #[test]
    fn default_list_assignments_for_filters_by_principal() {
        let system = bare();
        let held: Vec<String> = block_on(system.list_assignments_for(&user("ana")))
            .expect("listed")
            .iter()
            .map(|a| a.profile.to_string())
            .collect();
        assert_eq!(held, ["admin", "viewer"]);
        assert_eq!(
            block_on(system.list_assignments_for(&user("cy"))).expect("listed"),
            Vec::new()
        );
    }

    /// Takes any system by value, as tools do.
    fn describe(system: impl AccessSystem) -> (String, Capabilities, Result<Profile>) {
        let new = NewProfile {
            name: "Made through a pointer".into(),
            description: None,
            capabilities: Vec::new(),
            scope: None,
        };
        let created = block_on(system.create_profile(&new));
        (system.id().to_string(), system.capabilities(), created)
    }

    #[test]
    fn arc_and_box_of_a_system_are_systems() {
        let memory = || {
            InMemorySystem::builder(id(SystemId::new("mem")))
                .capabilities(Capabilities::full())
                .build()
        };
        // The inner system's overrides of provided methods are kept.
        let shared: Arc<dyn AccessSystem> = Arc::new(memory());
        let (name, caps, created) = describe(Arc::clone(&shared));
        assert_eq!((name.as_str(), caps), ("mem", Capabilities::full()));
        assert_eq!(created.expect("created").name, "Made through a pointer");
        let boxed: Box<dyn AccessSystem> = Box::new(bare());
        let (name, caps, created) = describe(boxed);
        assert_eq!(
            (name.as_str(), caps),
            ("bare-prod", Capabilities::minimal())
        );
        assert_eq!(
            created.expect_err("unsupported"),
            Error::unsupported("bare-prod", Feature::ProfileCreate)
        );
        let (name, _, _) = describe(Box::new(Arc::new(bare())));
        assert_eq!(name, "bare-prod");
        // Batches and the extension trait go through the pointer too.
        let grant = Assignment::new(user("ana"), id(ProfileId::new("admin")), Scope::System);
        assert_eq!(
            block_on(shared.grant(std::slice::from_ref(&grant))),
            vec![Outcome::Failed(Error::not_found(Entity::User, "ana"))]
        );
        let by_arc = Arc::new(bare());
        assert!(!block_on(by_arc.grant_one(&grant)).expect("already in state"));
    }

    #[test]
    fn capabilities_missing_from_json_take_minimal_values() {
        let mut json = serde_json::to_value(Capabilities::full()).expect("serializable");
        let fields = json.as_object_mut().expect("an object");
        assert!(fields.remove("groups").is_some());
        assert!(fields.remove("max_batch").is_some());
        let caps: Capabilities = serde_json::from_value(json).expect("deserializable");
        assert_eq!(
            caps,
            Capabilities::full()
                .with_groups(Capabilities::minimal().groups)
                .with_max_batch(Capabilities::minimal().max_batch)
        );
        assert!(!caps.groups && caps.membership_write);
        assert_eq!(caps.max_batch, 100);
        let empty: Capabilities = serde_json::from_str("{}").expect("deserializable");
        assert_eq!(empty, Capabilities::minimal());
        assert_eq!(Capabilities::default(), Capabilities::minimal());
    }

    #[test]
    fn setters_change_one_field_each() {
        let caps = Capabilities::minimal()
            .with_validity_windows(true)
            .with_system_scope(false)
            .with_tenant_scopes(true)
            .with_resource_scopes(true)
            .with_user_principals(false)
            .with_group_principals(true)
            .with_groups(true)
            .with_membership_write(true)
            .with_profile_create(true)
            .with_profile_delete(true)
            .with_max_assignments_per_user(Some(1))
            .with_max_batch(7)
            .with_page_size(Some(50));
        let expected = Capabilities {
            validity_windows: true,
            system_scope: false,
            tenant_scopes: true,
            resource_scopes: true,
            user_principals: false,
            group_principals: true,
            groups: true,
            membership_write: true,
            profile_create: true,
            profile_delete: true,
            max_assignments_per_user: Some(1),
            max_batch: 7,
            page_size: Some(50),
        };
        assert_eq!(caps, expected);
    }
}
