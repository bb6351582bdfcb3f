//! Segment adapter for grantbridge: the Public API's IAM (users, invites, roles, user
//! groups, permissions).
//!
//! | core term | Segment |
//! |---|---|
//! | `User` | user (id) or pending invite (email only) |
//! | `Group` | user group |
//! | `Profile` | **role** |
//! | `Capability` | none: roles are opaque |
//! | `Scope` | resource: WORKSPACE/SOURCE/SPACE/WAREHOUSE/FUNCTION id, with labels |
//! | `Validity` | unsupported |
//! | `Assignment` | one (role, resource) pair of a permission |
//! | `Membership` | group membership (by email) |
//!
//! Rooms (docs/architecture.md, "Adapters"): [`wire`] (serde types as on the wire), [`config`] (how to reach
//! a workspace), [`client`] (one method per vendor operation), [`adapter`] (the core
//! traits), and `sandbox` (feature `sandbox`: an in-process emulator of the API).

pub mod adapter;
pub mod client;
pub mod config;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod wire;

pub use adapter::SegmentSystem;
pub use client::{DEFAULT_PAGE_SIZE, SegmentClient};
pub use config::{EU_BASE_URL, IAM_MUTATION, SegmentConfig, US_BASE_URL};
