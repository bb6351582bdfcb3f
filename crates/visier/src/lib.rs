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
//! Rooms (DESIGN.md §5): [`wire`] (the DTOs exactly as on the wire).

pub mod wire;
