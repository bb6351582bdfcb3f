//! What the property tests share: case counts that respect `PROPTEST_CASES`, outcome
//! kinds without error wording, and sandbox options that keep tests fast.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use grantbridge_core::Outcome;
use proptest::test_runner::Config as ProptestConfig;

/// `default_cases` unless `PROPTEST_CASES` asks for another count (CI runs the
/// default; a long local run sets the variable).
pub fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        // Each case starts servers: keep shrinking bounded so a failure reports soon.
        max_shrink_iters: 512,
        ..ProptestConfig::default()
    }
}

/// An outcome as `applied`, `already` or `failed:<ErrorKind>`, so two systems whose
/// messages differ can still be compared.
pub fn outcome_kind(o: &Outcome) -> String {
    match o {
        Outcome::Applied => "applied".to_owned(),
        Outcome::AlreadyInState => "already".to_owned(),
        Outcome::Failed(e) => format!("failed:{:?}", e.kind()),
    }
}

/// Sandbox rate windows far above what a test sends, so Segment's 60 mutations per
/// minute is not what these tests measure.
#[cfg(feature = "sandbox")]
pub fn fast() -> grantbridge_core::sandbox::SandboxOptions {
    use grantbridge_core::sandbox::{RateWindow, SandboxOptions};
    SandboxOptions::default()
        .with_class_rate_limit("iam-mutation", RateWindow::per_minute(1_000_000))
        .with_class_rate_limit("default", RateWindow::per_minute(1_000_000))
}
