#![cfg(feature = "sandbox")]
//! Injected faults become typed errors, reads are retried through them, and nothing
//! secret reaches Debug output or error messages.

use std::time::Duration;

use grantbridge_core::ErrorKind;
use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::{FaultPlan, SandboxOptions};
use grantbridge_visier::sandbox::{Seed, VisierSandbox};
use grantbridge_visier::{VisierClient, VisierSystem};

#[tokio::test]
async fn faults_become_typed_errors() {
    let sandbox = VisierSandbox::start(Seed::Demo, SandboxOptions::default())
        .await
        .expect("sandbox");
    let client = VisierClient::new(&sandbox.config()).expect("client");
    client
        .get_all_profiles()
        .await
        .expect("login and first call");
    let controls = sandbox.controls();
    for (plan, kinds) in [
        (
            FaultPlan::none().with_server_error(1.0),
            &[ErrorKind::Vendor][..],
        ),
        (
            FaultPlan::none().with_reset(1.0),
            &[ErrorKind::Transport][..],
        ),
        (
            FaultPlan::none().with_truncated(1.0),
            &[ErrorKind::Transport, ErrorKind::Decode][..],
        ),
        (
            FaultPlan::none().with_rate_limited(1.0),
            &[ErrorKind::RateLimited][..],
        ),
    ] {
        controls.set_faults(plan);
        let err = client.get_all_profiles().await.expect_err("fault");
        assert!(kinds.contains(&err.kind()), "{err:?}");
        if err.kind() == ErrorKind::Vendor {
            assert!(err.is_retryable(), "{err}");
        }
        let text = format!("{err} {err:?}");
        let creds = sandbox.credentials();
        assert!(!text.contains(creds.api_key.expose()), "{text}");
        assert!(!text.contains(creds.password.expose()), "{text}");
    }
    controls.set_faults(FaultPlan::none());
    // A fresh client: the first one now (rightly) waits out the minute the 429's
    // X-RateLimit-Remaining-Minute: 0 announced.
    let fresh = VisierClient::new(&sandbox.config()).expect("client");
    fresh.get_all_profiles().await.expect("healthy again");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn idempotent_reads_are_retried_through_transient_faults() {
    let sandbox = VisierSandbox::start(
        Seed::Demo,
        SandboxOptions::default().with_seed(7).with_faults(
            FaultPlan::none()
                .with_server_error(0.3)
                .with_reset(0.1)
                .with_path_prefix("/v1/admin/profiles"),
        ),
    )
    .await
    .expect("sandbox");
    let config = sandbox.config();
    let options = config.options.clone().retry(
        grantbridge_visier::auth::retry_policy()
            .max_attempts(12)
            .delays(Duration::from_millis(1), Duration::from_millis(5)),
    );
    let config = config.with_options(options);
    let system = VisierSystem::connect(config).await.expect("connect");
    for _ in 0..5 {
        let profiles = system.list_profiles().await.expect("retried to success");
        assert_eq!(profiles.len(), 8);
    }
    let faults = sandbox.log().faults().into_iter().flatten().count();
    assert!(faults > 0, "the plan injected faults");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn debug_output_holds_no_secret() {
    let sandbox = VisierSandbox::start(Seed::Demo, SandboxOptions::default())
        .await
        .expect("sandbox");
    let creds = sandbox.credentials();
    let config = sandbox.config();
    let client = VisierClient::new(&config).expect("client");
    client.get_all_profiles().await.expect("call");
    let system = VisierSystem::connect(config.clone())
        .await
        .expect("connect");
    let dump = format!(
        "{config:?} {client:?} {system:?} {creds:?} {sandbox:?} {:?}",
        sandbox.log().entries()
    );
    for secret in [
        creds.api_key.expose(),
        creds.password.expose(),
        creds.client_secret.expose(),
    ] {
        assert!(!dump.contains(secret), "{secret} leaked");
    }
    assert!(!dump.contains("sandbox-asid-"), "a token leaked");
    sandbox.shutdown().await;
}
