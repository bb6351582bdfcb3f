//! What the Segment property tests share beyond `grantbridge_core::testing`: a
//! proptest config with bounded shrinking and sandbox options that keep tests fast.

// Each test binary uses a subset of these helpers.
#![allow(dead_code)]

use proptest::test_runner::Config as ProptestConfig;

/// `default_cases` (or `PROPTEST_CASES`) cases with bounded shrinking: each case
/// starts servers, so a failure should report soon.
pub fn config(default_cases: u32) -> ProptestConfig {
    ProptestConfig {
        max_shrink_iters: 512,
        ..grantbridge_core::testing::proptest_config(default_cases)
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
