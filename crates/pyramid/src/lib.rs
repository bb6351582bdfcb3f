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
//! Rooms (DESIGN §5): [`wire`] (serde types and the typed permission set), `client`
//! (one method per API2 method), `adapter` (the core traits) and, with feature
//! `sandbox`, an in-process emulator.

pub mod client;
pub mod wire;

pub use client::{
    KeyStyle, ObjectKeys, PermissionForm, PyramidClient, PyramidConfig, PyramidHooks,
};
