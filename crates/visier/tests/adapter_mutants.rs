#![cfg(feature = "sandbox")]
//! Behaviour that cargo-mutants found unguarded in the Visier adapter (see
//! docs/testing.md), each pinned against the emulator: its request log is the oracle.

use grantbridge_core::ErrorKind;
use grantbridge_core::http::Secret;
use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::SandboxOptions;
use grantbridge_visier::sandbox::{Seed, VisierSandbox};
use grantbridge_visier::{VisierConfig, VisierCredentials, VisierSystem};

async fn start() -> (VisierSandbox, VisierSystem) {
    let sandbox = VisierSandbox::start(Seed::Demo, SandboxOptions::default())
        .await
        .expect("sandbox");
    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect");
    (sandbox, system)
}

#[tokio::test]
async fn debug_shows_the_system_and_never_a_secret() {
    let (sandbox, system) = start().await;
    let shown = format!("{system:?}");
    assert!(shown.contains("VisierSystem"), "{shown}");
    assert!(shown.contains("administrating: true"), "{shown}");
    assert!(shown.contains("page_size: 1000"), "{shown}");
    let c = sandbox.credentials();
    for secret in [&c.password, &c.api_key, &c.client_secret] {
        assert!(!shown.contains(secret.expose()), "a secret in {shown}");
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn page_size_and_concurrency_keep_their_bounds_and_reach_the_wire() {
    let (sandbox, system) = start().await;
    assert_eq!(system.page_size(), 1000);
    assert_eq!(system.concurrency(), 8);
    let system = system.with_concurrency(0);
    assert_eq!(system.concurrency(), 1, "at least one read at a time");
    let system = system.with_concurrency(3).with_page_size(0);
    assert_eq!(system.concurrency(), 3);
    assert_eq!(system.page_size(), 1, "at least one user a page");
    assert_eq!(system.with_page_size(5000).page_size(), 1000);

    let system = VisierSystem::connect(sandbox.config())
        .await
        .expect("connect")
        .with_page_size(120);
    let users = system.list_users().await.expect("users");
    assert_eq!(users.len(), 300, "every page read");
    let pages: Vec<String> = sandbox
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.method == "GET" && e.path == "/v1/admin/users")
        .map(|e| e.raw_target.clone())
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    for (query, start) in pages.iter().zip(["start=0", "start=120", "start=240"]) {
        assert!(
            query.contains("limit=120") && query.contains(start),
            "{query}"
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_refused_login_fails_the_connection_rather_than_hiding_analytics() {
    // The probe of analytic profiles is the first call: a wrong password must not be
    // read as "this tenant administers no others".
    let sandbox = VisierSandbox::start(Seed::Demo, SandboxOptions::default())
        .await
        .expect("sandbox");
    let c = sandbox.credentials();
    let wrong = VisierCredentials::password(
        c.api_key.clone(),
        c.username.clone(),
        Secret::new("not-the-password"),
    );
    let mut config = VisierConfig::new(sandbox.base_url(), wrong);
    config.options = sandbox.config().options;
    match VisierSystem::connect(config).await {
        Ok(system) => panic!("connected with a wrong password: {system:?}"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Authentication, "{e}"),
    }
    sandbox.shutdown().await;
}
