//! Segment adapter for grantbridge.
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
//! The client, adapter and sandbox arrive with the Segment adapter issue.
