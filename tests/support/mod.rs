//! Shared by the integration tests of the facade package.

pub mod faults;
