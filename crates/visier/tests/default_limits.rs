#![cfg(feature = "sandbox")]
//! The client-side rate limits of the *default* Visier configuration are the vendor's
//! published ones: 100 calls per minute and 6000 per hour, per API key, whatever the
//! call (a login, a read or a write all count against the one budget).
//!
//! The tests run on tokio's paused clock against a sandbox on the same runtime that
//! has no rate window of its own (so it sends no budget headers that could slow the
//! client down): virtual time advances only while the client's limiter waits. The
//! request count comes from the sandbox's log, not from the client. The clients keep
//! the default rate limits and retries and only drop their timeouts, which on a
//! paused clock would fire whenever the runtime idles.

use std::time::Duration;

use grantbridge_core::http::{ClientOptions, RetryPolicy};
use grantbridge_core::sandbox::SandboxOptions;
use grantbridge_visier::sandbox::{Seed, VisierSandbox};
use grantbridge_visier::wire::{UserGroupUsersDto, UsersToUserGroupsRequestDto};
use grantbridge_visier::{UsersQuery, VisierClient, VisierConfig, VisierCredentials};
use tokio::time::Instant;

const MINUTE: Duration = Duration::from_secs(60);

/// Visier's default transport options for `sandbox`, timeouts removed.
fn no_timeouts(sandbox: &VisierSandbox) -> ClientOptions {
    VisierConfig::default_options(&sandbox.base_url())
        .connect_timeout(None)
        .request_timeout(None)
}

/// A sandbox without rate windows and a client with Visier's default configuration
/// (password login), timeouts removed.
async fn setup() -> (VisierSandbox, VisierClient) {
    let sandbox = VisierSandbox::start(Seed::Generated { users: 3 }, SandboxOptions::default())
        .await
        .expect("sandbox");
    let config = VisierConfig::new(sandbox.base_url(), sandbox.credentials().password_login())
        .with_options(no_timeouts(&sandbox));
    let client = VisierClient::new(&config).expect("client");
    (sandbox, client)
}

#[tokio::test(start_paused = true)]
async fn the_101st_call_in_a_minute_waits_for_the_window_whatever_its_kind() {
    let (sandbox, client) = setup().await;
    let start = Instant::now();

    // A login and two reads to learn a group and a user ...
    let group = client.get_all_user_groups().await.expect("groups")[0]
        .user_group_id
        .clone()
        .expect("group id");
    let query = UsersQuery {
        limit: Some(10),
        ..UsersQuery::default()
    };
    let user = client.get_all_users(&query).await.expect("users").users[0]
        .user_id
        .clone()
        .expect("user id");
    assert_eq!(sandbox.log().len(), 3, "login, groups page, users page");
    let add = UsersToUserGroupsRequestDto {
        user_groups: vec![UserGroupUsersDto {
            user_group_id: Some(group),
            user_ids: vec![user],
        }],
        target_project_for_tenants_list: None,
    };

    // ... then reads and writes, alternating, up to 100 requests: none waits.
    let mut write = true;
    while sandbox.log().len() < 100 {
        if write {
            client.add_users_to_user_groups(&add).await.expect("write");
        } else {
            client.get_all_profiles().await.expect("read");
        }
        write = !write;
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "request {} of the first 100 waited",
            sandbox.log().len()
        );
    }
    assert_eq!(sandbox.log().len(), 100);
    let log = sandbox.log().entries();
    let count = |m: &str| log.iter().filter(|r| r.method == m).count();
    assert_eq!(
        (count("POST"), count("PUT"), count("GET")),
        (1, 49, 50),
        "one login, writes and reads share the budget"
    );

    // The 101st goes when the first leaves the window: one minute after the login,
    // whether it is a read ...
    client.get_all_profiles().await.expect("read");
    assert_eq!(sandbox.log().len(), 101);
    assert_eq!(
        start.elapsed(),
        MINUTE,
        "the 101st call waited for the window"
    );
    // ... and the rest of that minute's budget is then spent at once; the next
    // write again waits for the window (the 201st request, a minute later).
    while sandbox.log().len() < 200 {
        client.get_all_profiles().await.expect("read");
    }
    assert_eq!(start.elapsed(), MINUTE);
    client.add_users_to_user_groups(&add).await.expect("write");
    assert_eq!(sandbox.log().len(), 201);
    assert_eq!(start.elapsed(), 2 * MINUTE, "the 201st call waited too");
    assert!(
        sandbox.log().entries().iter().all(|r| r.status == 200),
        "every call succeeded"
    );
    sandbox.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn six_thousand_calls_an_hour_at_one_hundred_a_minute() {
    let (sandbox, login) = setup().await;
    // A ready token (the sandbox's never expire), so that no renewal login joins the
    // reads an hour in; the login that fetched it is not counted.
    let credentials = sandbox.credentials().clone();
    let token = login
        .asid_token(&credentials.username, &credentials.password, None)
        .await
        .expect("token");
    let config = VisierConfig::new(
        sandbox.base_url(),
        VisierCredentials::asid_token(credentials.api_key, token),
    )
    .with_options(no_timeouts(&sandbox));
    let client = VisierClient::new(&config).expect("client");
    sandbox.log().clear();
    let start = Instant::now();
    // Read n (1-based) goes at minute (n - 1) / 100: the minute window paces the hour,
    // and an hourly budget below 6000 would hold the last reads back to minute 60.
    for n in 1..=6001u32 {
        client.get_all_profiles().await.expect("read");
        let expected = MINUTE * ((n - 1) / 100);
        if start.elapsed() != expected {
            panic!(
                "read {n} went at {:?}, expected {expected:?}",
                start.elapsed()
            );
        }
    }
    assert_eq!(sandbox.log().len(), 6001);
    assert_eq!(
        start.elapsed(),
        60 * MINUTE,
        "the 6001st read went in the second hour"
    );
    sandbox.shutdown().await;
}

/// The configured limits themselves: an hourly budget above what the minute window
/// allows in an hour would be invisible in timing, so the configuration is read too.
#[test]
fn the_default_configuration_holds_visiers_published_limits() {
    let config = VisierConfig::new(
        "https://acme.api.visier.io",
        VisierCredentials::asid_token("key", "token"),
    );
    let debug = format!("{:?}", config.options);
    for limit in [
        "RateLimit { requests: 100, per: 60s }",
        "RateLimit { requests: 6000, per: 3600s }",
    ] {
        assert_eq!(debug.matches(limit).count(), 1, "{limit} in {debug}");
    }
    assert_eq!(
        grantbridge_visier::auth::retry_policy(),
        RetryPolicy::default()
    );
}
