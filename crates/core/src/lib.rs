//! # grantbridge-core
//!
//! The vendor-neutral heart of grantbridge: the access model (users, groups, profiles,
//! assignments with scope and validity, memberships), the small async traits every
//! connected system implements, a complete in-memory reference system, and the
//! conformance suite every adapter runs.
//!
//! The model, traits and engine need neither an HTTP client nor a tokio runtime; the
//! shared HTTP transport is the opt-in feature `http`, the emulator plumbing the
//! feature `sandbox`.
//!
//! | core term | meaning | Visier | Segment | Pyramid |
//! |---|---|---|---|---|
//! | [`User`] | a person who can hold access | user | user or pending invite | user |
//! | [`Group`] | a named set of users that can hold access | user group | user group | role |
//! | [`Profile`] | a grantable bundle of capabilities | profile | role | profile |
//! | [`Capability`] | one permission inside a profile | capability + level | (none) | permission bit |
//! | [`Scope`] | where an assignment applies | tenant / analytic tenant | resource + labels | tenant |
//! | [`Validity`] | `[from, until)` window | validity start/end | unsupported | unsupported |
//! | [`Assignment`] | principal + profile + scope + validity | profile assignment | (role, resource) | profile on role / private profile |
//! | [`Membership`] | user in group | group membership | group membership | user in role |
//!
//! ```
//! use grantbridge_core::{
//!     AccessSystemExt, Assignment, Capabilities, InMemorySystem, Principal, Profile,
//!     ProfileId, Scope, SystemId, User, UserId,
//! };
//!
//! # futures::executor::block_on(async {
//! let ana = UserId::new("ana")?;
//! let admin = ProfileId::new("admin")?;
//! let system = InMemorySystem::builder(SystemId::new("demo")?)
//!     .capabilities(Capabilities::full())
//!     .user(User::new(ana.clone()))
//!     .profile(Profile::new(admin.clone(), "Admin"))
//!     .build();
//! let grant = Assignment::new(Principal::User(ana), admin, Scope::System);
//! assert!(system.grant_one(&grant).await?); // applied
//! assert!(!system.grant_one(&grant).await?); // already in state
//! # Ok::<(), grantbridge_core::Error>(())
//! # }).unwrap();
//! ```

pub mod coalesce;
pub mod conformance;
#[cfg(any(feature = "http", feature = "sandbox"))]
mod credentials;
pub mod engine;
mod error;
#[cfg(feature = "http")]
pub mod http;
mod ids;
mod memory;
mod model;
mod outcomes;
#[cfg(feature = "sandbox")]
pub mod sandbox;
#[cfg(feature = "testing")]
pub mod testing;
mod traits;

pub use error::{Entity, Error, ErrorKind, Feature, Result, SourceError};
pub use ids::{
    Email, GroupId, MAX_ID_LEN, ProfileId, ResourceId, ResourceKind, SystemId, TenantCode, UserId,
};
pub use memory::{CallStats, InMemoryBuilder, InMemorySystem};
pub use model::{
    Assignment, AssignmentKey, Capability, Extra, Group, Label, Membership, NewProfile, Principal,
    Profile, Scope, ScopeKind, User, UserStatus, Validity,
};
pub use outcomes::{FailedWrite, OutcomeSlots, UNCONFIRMED_CODE};
pub use traits::{
    AccessSystem, AccessSystemExt, AssignmentStore, Capabilities, Directory, Outcome,
    ProfileCatalog,
};

/// The traits, for `use grantbridge_core::prelude::*;`.
pub mod prelude {
    pub use crate::traits::{
        AccessSystem, AccessSystemExt, AssignmentStore, Directory, ProfileCatalog,
    };
}

/// Re-exported so implementors use the same `async_trait` attribute.
pub use async_trait::async_trait;
/// Re-exported so callers name timestamps with the same type.
pub use jiff::Timestamp;
