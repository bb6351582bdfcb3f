//! # grantbridge
//!
//! Read, compare and move access grants across SaaS systems.
//!
//! This is the facade crate. It re-exports the vendor-neutral core as [`core`] and each
//! vendor adapter behind a cargo feature of the same name (all on by default):
//!
//! | feature  | module      | crate                 |
//! |----------|-------------|-----------------------|
//! | (always) | [`core`]    | `grantbridge-core`    |
//! | `visier` | `visier`    | `grantbridge-visier`  |
//! | `segment`| `segment`   | `grantbridge-segment` |
//! | `pyramid`| `pyramid`   | `grantbridge-pyramid` |
//!
//! ```
//! use grantbridge::core::{AccessSystem, Capabilities, InMemorySystem, SystemId};
//!
//! let system = InMemorySystem::builder(SystemId::new("demo").unwrap())
//!     .capabilities(Capabilities::full())
//!     .build();
//! assert_eq!(system.id().as_str(), "demo");
//! ```

pub use grantbridge_core as core;

#[cfg(feature = "pyramid")]
pub use grantbridge_pyramid as pyramid;
#[cfg(feature = "segment")]
pub use grantbridge_segment as segment;
#[cfg(feature = "visier")]
pub use grantbridge_visier as visier;
