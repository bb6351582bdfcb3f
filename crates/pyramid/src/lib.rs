//! Pyramid Analytics adapter for grantbridge: the REST API 2.0 access section
//! (profiles, roles, users, tenants).
//!
//! | core term | Pyramid |
//! |---|---|
//! | `User` | user (id) |
//! | `Group` | **role** |
//! | `Profile` | profile |
//! | `Capability` | permission bit (26 named bits) |
//! | `Scope` | tenant |
//! | `Validity` | unsupported |
//! | `Assignment` | profile bound to a role (group), or a user's private profile |
//! | `Membership` | user in role |
//!
//! Rooms (docs/architecture.md, "Adapters"):
//!
//! * [`wire`]: serde types as on the wire, and the typed 26-bit [`wire::PermissionSet`];
//! * [`config`]: [`PyramidConfig`], what a client needs to connect;
//! * [`client`]: [`PyramidClient`], one method per API2 method, usable on its own;
//! * [`adapter`]: [`PyramidSystem`], the core [`AccessSystem`](grantbridge_core::AccessSystem);
//! * `sandbox` (feature `sandbox`): a stateful in-process emulator of the API.
//!
//! ```no_run
//! use grantbridge_core::prelude::*;
//! use grantbridge_pyramid::{PyramidConfig, PyramidSystem};
//!
//! # async fn run() -> grantbridge_core::Result<()> {
//! let system = PyramidSystem::connect(PyramidConfig::from_env()?).await?;
//! for profile in system.list_profiles().await? {
//!     println!("{}: {:?}", profile.name, profile.capabilities);
//! }
//! # Ok(()) }
//! ```

pub mod adapter;
pub mod client;
pub mod config;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod wire;

pub use adapter::PyramidSystem;
pub use client::{PyramidClient, PyramidHooks};
pub use config::{KeyStyle, ObjectKeys, PermissionForm, PyramidConfig};
