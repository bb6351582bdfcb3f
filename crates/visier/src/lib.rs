//! Visier adapter for grantbridge.
//!
//! | core term | Visier |
//! |---|---|
//! | `User` | user (UUID) |
//! | `Group` | user group |
//! | `Profile` | profile (local or analytic-tenant) |
//! | `Capability` | capability + access/view level, additional capabilities |
//! | `Scope` | whole tenant, or analytic tenant code (+ all children) |
//! | `Validity` | `validityStartTime` / `validityEndTime` |
//! | `Assignment` | profile assignment |
//! | `Membership` | user-group membership |
//!
//! Rooms (docs/architecture.md, "Adapters"): [`wire`] (the DTOs exactly as on the wire), [`client`] (one
//! method per Visier operation, usable as an SDK), [`config`] ([`VisierConfig`]: base URL,
//! credentials, transport defaults), [`auth`] (API key, ASID and OAuth tokens), [`adapter`] ([`VisierSystem`], the core traits), `sandbox` (feature `sandbox`: an in-process emulator of the Visier API).

pub mod adapter;
pub mod auth;
pub mod client;
pub mod config;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod wire;

pub use adapter::VisierSystem;
pub use auth::{AuthMethod, VisierCredentials};
pub use client::{UsersQuery, VisierClient, VisierHooks};
pub use config::VisierConfig;
