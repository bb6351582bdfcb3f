//! Pyramid Analytics adapter for grantbridge.
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
//! The client, adapter and sandbox arrive with the Pyramid adapter issue.
