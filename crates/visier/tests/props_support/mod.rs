//! What the property tests share: case counts that respect `PROPTEST_CASES`, a
//! runtime per case, and outcome kinds without error wording.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use grantbridge_core::{Error, Outcome};

/// `default` unless `PROPTEST_CASES` asks for another count (CI runs the default; a
/// long local run sets the variable).
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A current-thread runtime for one case.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// An outcome as `applied`, `already`, `unsupported:<Feature>` or
/// `failed:<ErrorKind>`, so two systems whose messages differ can be compared.
pub fn kind(o: &Outcome) -> String {
    match o {
        Outcome::Applied => "applied".into(),
        Outcome::AlreadyInState => "already".into(),
        Outcome::Failed(Error::Unsupported { feature, .. }) => format!("unsupported:{feature:?}"),
        Outcome::Failed(e) => format!("failed:{:?}", e.kind()),
    }
}
