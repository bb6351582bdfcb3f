//! The engine: snapshot → translate → plan → execute → verify (docs/architecture.md,
//! "The engine").
//!
//! Nothing here does I/O beyond local files; systems are reached through the traits.
//!
//! ```
//! use grantbridge_core::engine::{self, ExecuteOptions, Mapping, Mode, Snapshot};
//! use grantbridge_core::{Assignment, Capabilities, Email, InMemorySystem, Principal, Profile, ProfileId, Scope, SystemId, User, UserId};
//!
//! # futures::executor::block_on(async {
//! let ana = |id: &str| User::new(UserId::new(id).unwrap()).with_email(Email::new("ana@example.com").unwrap());
//! let source = InMemorySystem::builder(SystemId::new("old").unwrap())
//!     .user(ana("a-1"))
//!     .profile(Profile::new(ProfileId::new("ADMIN").unwrap(), "Administrator"))
//!     .assignment(Assignment::new(Principal::User(UserId::new("a-1").unwrap()), ProfileId::new("ADMIN").unwrap(), Scope::System))
//!     .build();
//! let target = InMemorySystem::builder(SystemId::new("new").unwrap())
//!     .user(ana("b-7"))
//!     .profile(Profile::new(ProfileId::new("owner").unwrap(), "Owner"))
//!     .build();
//! let mapping = Mapping::parse(r#"
//!     [[rules]]
//!     from = "Administrator"
//!     to = [{ profile = "Owner" }]
//! "#, "inline.toml")?;
//!
//! let desired = engine::translate(&Snapshot::take(&source).await?, &mapping, &Snapshot::take(&target).await?)?;
//! let plan = engine::plan(&desired, &Snapshot::take(&target).await?, Mode::Additive);
//! assert_eq!(plan.changes.len(), 1);
//! let report = engine::execute(&plan, &target, &ExecuteOptions::default()).await?;
//! assert_eq!(report.counts().applied, 1);
//! // Verify: nothing is left to do.
//! let again = engine::plan(&desired, &Snapshot::take(&target).await?, Mode::Additive);
//! assert!(again.is_empty());
//! # Ok::<(), grantbridge_core::Error>(())
//! # }).unwrap();
//! ```

mod execute;
mod journal;
pub mod mapping;
mod plan;
mod report;
mod snapshot;
mod target;
mod translate;

pub use execute::{ExecuteOptions, Progress, ProgressFn, execute};
pub use journal::read_journal;
pub use mapping::{
    GroupMatch, Location, MAPPING_VERSION, Mapping, PrincipalMatch, ProfileRef, Rule, RuleTarget,
    ScopePattern, ValidityPolicy,
};
pub use plan::{
    Change, Continuation, Mode, PLAN_FORMAT_VERSION, Plan, PlanSummary, SummaryKey, SummaryRow,
    plan,
};
pub use report::{
    AccessRow, ItemResult, OutcomeRow, Resumption, RunCounts, RunReport, access_rows,
    csv_safe_cell, outcome_rows, write_access_csv, write_outcomes_csv,
};
pub use snapshot::{SNAPSHOT_FORMAT_VERSION, Snapshot};
pub use target::TargetIdentity;
pub use translate::{Desired, SkipReason, Skipped, SkippedItem, translate, translate_at};
