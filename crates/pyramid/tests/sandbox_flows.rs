#![cfg(feature = "sandbox")]
//! End-to-end flows against the emulator: the seed document's example through the
//! client, the conformance suite through the adapter, call counts, hostile input,
//! token expiry and the request forms Pyramid's own examples use.

use grantbridge_core::conformance::{self, Checked, Fixture, Section, WritePath};
use grantbridge_core::engine::Snapshot;
use grantbridge_core::http::{ClientOptions, RetryPolicy};
use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::{CORE_STAFF, CutAnswers, DEMO_PEOPLE, FaultPlan, SandboxOptions};
use grantbridge_core::{
    Assignment, Capability, Entity, Error, ErrorKind, GroupId, Membership, NewProfile, Outcome,
    Principal, ProfileId, Scope, TenantCode, UserId,
};
use grantbridge_pyramid::sandbox::{PyramidSandbox, SUBSIDIARY_TENANT_ID, Seed};
use grantbridge_pyramid::wire::{
    DEFAULT_TENANT_ID, NewRole, Permission, PermissionRules, PermissionSet, ProfileApiData,
    ProfilePermissionHolder, ProfileRolesData, SearchCriteria, SearchMatchType,
};
use grantbridge_pyramid::{PyramidClient, PyramidConfig, PyramidSystem};
use serde_json::{Value, json};

async fn start(seed: Seed) -> PyramidSandbox {
    PyramidSandbox::start(seed, SandboxOptions::default())
        .await
        .expect("sandbox starts")
}

fn no_retry(config: PyramidConfig) -> PyramidConfig {
    let options = ClientOptions::new("pyramid", config.base_url.clone()).retry(RetryPolicy::none());
    config.with_options(options)
}

fn bodies(sandbox: &PyramidSandbox, method: &str) -> Vec<Value> {
    sandbox
        .log()
        .entries()
        .into_iter()
        .filter(|r| r.path.ends_with(method))
        .filter_map(|r| r.body_json())
        .collect()
}

#[tokio::test]
async fn the_seed_documents_example_flow_runs_end_to_end() {
    let sandbox = start(Seed::Demo).await;
    let client = PyramidClient::new(&sandbox.config()).expect("client");

    // Steps 1-3: authenticate, default tenant, the tenant's profiles.
    client.authenticate().await.expect("step 1");
    let tenant = client.get_default_tenant().await.expect("step 2");
    assert_eq!(tenant, DEFAULT_TENANT_ID);
    let before = client
        .get_all_profiles_by_tenant_id(&tenant)
        .await
        .expect("step 3");
    assert!(before.iter().all(|p| p.tenant_id == tenant));

    // Step 4A: numeric form, with the value meant by `(2^3) + (2^9)`.
    let bits = PermissionSet::from_index_list(&[3, 9]).expect("bits");
    let numeric = ProfileApiData::new(
        "Consumers",
        "Basic tools for consumer user types",
        &tenant,
        bits,
        PermissionRules::Exclusive,
    )
    .expect("valid");
    let p1 = client.add_profile(&numeric).await.expect("step 4A");
    // Step 4B: list form, exactly as the example writes it.
    let listed = ProfileApiData {
        permissions: ProfilePermissionHolder {
            permission_bit_index_list: Some(vec![9, 3]),
            numeric: None,
        },
        ..numeric.clone()
    };
    let p2 = client.add_profile(&listed).await.expect("step 4B");
    assert_ne!(p1, p2);
    let after = client
        .get_all_profiles_by_tenant_id(&tenant)
        .await
        .expect("profiles");
    for id in [&p1, &p2] {
        let p = after
            .iter()
            .find(|p| p.profile_id.as_ref() == Some(id))
            .expect("listed");
        assert_eq!(
            p.permissions.to_set().expect("bits").numeric(),
            520,
            "both forms store bits 3 and 9"
        );
    }

    // Step 5: two roles in one call.
    let roles = client
        .create_roles(&[
            NewRole::new("prole1", &tenant),
            NewRole::new("prole2", &tenant),
        ])
        .await
        .expect("step 5");
    let role1 = roles[0].clone().expect("role1");
    let role2 = roles[1].clone().expect("role2");
    assert_ne!(role1, role2);

    // Step 6: bind the profile to role1; step 7: read the binding back.
    let changed = client
        .update_roles_by_profile_id(&ProfileRolesData {
            profile_id: p1.clone(),
            roles_to_add: vec![role1.clone()],
            roles_to_remove: vec![],
        })
        .await
        .expect("step 6");
    assert_eq!(changed.len(), 1);
    let bound = client
        .get_all_roles_by_profile_id(&p1)
        .await
        .expect("step 7");
    assert_eq!(
        bound
            .iter()
            .map(|r| r.role_id.clone().expect("id"))
            .collect::<Vec<_>>(),
        std::slice::from_ref(&role1)
    );
    assert_eq!(bound[0].role_name, "prole1");

    // Step 8: delete the profile; it and its binding are gone.
    client.delete_profile(&p1).await.expect("step 8");
    let gone = client
        .get_all_profiles_by_tenant_id(&tenant)
        .await
        .expect("profiles");
    assert!(gone.iter().all(|p| p.profile_id.as_deref() != Some(&p1)));
    assert_eq!(
        client
            .get_all_roles_by_profile_id(&p1)
            .await
            .expect_err("deleted")
            .kind(),
        ErrorKind::Vendor
    );

    // The wire carried the example's shapes: token in the body, `data` for createRoles.
    let create = &bodies(&sandbox, "/createRoles")[0];
    assert_eq!(
        create["data"][0],
        json!({"roleName": "prole1", "tenantId": tenant, "isGroupRole": false})
    );
    assert!(create["auth"].is_string());
    let add = &bodies(&sandbox, "/addProfile");
    assert_eq!(
        add[0]["profileApiData"]["permissions"],
        json!({"numeric": 520})
    );
    assert_eq!(
        add[1]["profileApiData"]["permissions"],
        json!({"permissionBitIndexList": [9, 3]})
    );
    assert!(sandbox.log().entries().iter().all(|r| r.method == "POST"));
    sandbox.shutdown().await;
}

/// A system on a generated seed, and a conformance fixture naming its objects.
async fn generated(users: usize) -> (PyramidSandbox, PyramidSystem, Fixture) {
    let sandbox = start(Seed::Generated { users }).await;
    let system = PyramidSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let all = system.list_users().await.expect("users");
    let users: Vec<UserId> = all
        .iter()
        .filter(|u| {
            u.extra
                .get("userName")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with("user-"))
        })
        .map(|u| u.id.clone())
        .collect();
    let groups: Vec<GroupId> = system
        .list_groups()
        .await
        .expect("groups")
        .into_iter()
        .map(|g| g.id)
        .collect();
    let profiles = system.list_profiles().await.expect("profiles");
    let fixture = Fixture {
        users,
        groups,
        grants: profiles
            .iter()
            .take(2)
            .map(|p| (p.id.clone(), system.scope()))
            .collect(),
        // Another tenant is invalid input, not an unsupported kind: see
        // adapter_refusals_are_typed.
        unsupported_scopes: vec![],
        bulk: 25,
        // Writes take effect and their answers are cut: a user's (private) profile is
        // written by updateUserDb, a role's profiles by updateRolesByProfileId (both
        // under .../update), role memberships by updateUserRoles.
        answers: Some(std::sync::Arc::new(
            CutAnswers::new(sandbox.controls())
                .path(WritePath::Grant, "POST", "/API2/access/update")
                .path(WritePath::Revoke, "POST", "/API2/access/update")
                .path(
                    WritePath::AddMemberships,
                    "POST",
                    "/API2/access/updateUserRoles",
                )
                .path(
                    WritePath::RemoveMemberships,
                    "POST",
                    "/API2/access/updateUserRoles",
                ),
        )),
    };
    (sandbox, system, fixture)
}

#[tokio::test]
async fn the_conformance_suite_passes_on_a_fresh_sandbox() {
    let (sandbox, system, fixture) = generated(30).await;
    assert_eq!(fixture.users.len(), 30);
    assert_eq!(fixture.grants.len(), 2);
    // A membership the suite must leave alone.
    let keep = Membership::new(fixture.users[0].clone(), fixture.groups[0].clone());
    assert_eq!(
        system.add_memberships(std::slice::from_ref(&keep)).await,
        [Outcome::Applied]
    );
    let report = conformance::run(&system, &fixture).await;
    // Every section ran but validity, which Pyramid lacks: that one checked the
    // refusal. Sections: grant/list/revoke, partial batch, validity, scopes, group
    // principals, per-user limit, memberships, exhaustive listing, unknown reads, lost
    // answers.
    use Checked::{Absent, Ran};
    let expected: Vec<(Section, Checked)> = Section::ALL
        .into_iter()
        .zip([Ran, Ran, Absent, Ran, Ran, Ran, Ran, Ran, Ran, Ran])
        .collect();
    assert_eq!(report.sections, expected);
    let cut: std::collections::BTreeSet<String> = sandbox
        .log()
        .entries()
        .into_iter()
        .filter(|e| e.fault == Some(grantbridge_core::sandbox::Fault::Truncated))
        .map(|e| e.path)
        .collect();
    assert_eq!(
        cut,
        [
            "/API2/access/updateRolesByProfileId",
            "/API2/access/updateUserDb",
            "/API2/access/updateUserRoles"
        ]
        .map(str::to_owned)
        .into(),
        "the lost-answer section cut every write path"
    );
    assert!(
        system
            .list_memberships()
            .await
            .expect("memberships")
            .contains(&keep)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_snapshot_costs_a_known_number_of_calls() {
    let users = 40;
    let (sandbox, system, _) = generated(users).await;
    let profiles = system.list_profiles().await.expect("profiles").len() as u64;
    let tenant_users = users as u64 + 1; // the generated users and the administrator
    let before = system.client().http().stats().requests;
    let logged_before = sandbox.log().len();
    let snapshot = Snapshot::take(&system).await.expect("snapshot");
    let calls = system.client().http().stats().requests - before;
    // list_users 1+3, list_groups 1, list_profiles 1, list_memberships 1+3+1,
    // list_assignments 2 + one per profile + one per user.
    let expected = 4 + 1 + 1 + 5 + (2 + profiles + tenant_users);
    assert_eq!(
        calls, expected,
        "snapshot of {tenant_users} users and {profiles} profiles"
    );
    assert_eq!(
        (sandbox.log().len() - logged_before) as u64,
        calls,
        "the sandbox saw the same calls"
    );
    assert_eq!(snapshot.users.len() as u64, tenant_users);
    println!("snapshot of {tenant_users} users, {profiles} profiles: {calls} calls");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_demo_seed_matches_the_shared_people_and_hides_other_tenants() {
    let sandbox = start(Seed::Demo).await;
    let system = PyramidSystem::connect(sandbox.config())
        .await
        .expect("connect");
    assert_eq!(system.tenant().as_str(), DEFAULT_TENANT_ID);
    let users = system.list_users().await.expect("users");
    assert!(users.len() >= 200, "{}", users.len());
    let emails: Vec<String> = users
        .iter()
        .filter_map(|u| u.email.as_ref().map(|e| e.normalized().to_owned()))
        .collect();
    for p in &DEMO_PEOPLE[..CORE_STAFF] {
        assert!(emails.contains(&p.email.to_owned()), "{} missing", p.email);
    }
    assert!(
        !emails.iter().any(|e| e.contains("subsidiary")),
        "another tenant's user leaked"
    );
    let ana = users
        .iter()
        .find(|u| {
            u.email
                .as_ref()
                .is_some_and(|e| e.as_str() == "ana.ruiz@example.com")
        })
        .expect("ana");
    assert_eq!(ana.display_name.as_deref(), Some("Ana Ruiz"));

    let profiles = system.list_profiles().await.expect("profiles");
    assert!(profiles.iter().all(|p| p.name != "Subsidiary Viewer"));
    let consumers = profiles
        .iter()
        .find(|p| p.name == "Consumers")
        .expect("consumers");
    assert_eq!(
        consumers.capabilities,
        [
            Capability::new("app_discovery"),
            Capability::new("dis_advanced_analytics")
        ]
    );
    let lite = profiles
        .iter()
        .find(|p| p.name == "Viewer Lite")
        .expect("lite");
    assert!(
        lite.capabilities
            .contains(&Capability::new("dis_lite_version"))
    );

    let groups = system.list_groups().await.expect("groups");
    assert!(
        groups.iter().all(|g| !g.name.starts_with("Private")),
        "private roles are not groups"
    );
    assert!(groups.iter().any(|g| g.name == "Report Viewers"));

    let assignments = system.list_assignments().await.expect("assignments");
    let to_users = assignments
        .iter()
        .filter(|a| a.principal.as_user().is_some())
        .count();
    let to_groups = assignments.len() - to_users;
    assert_eq!(to_users, 3, "three private profiles");
    assert!(to_groups >= 5, "{to_groups}");
    assert!(assignments.iter().all(|a| a.scope == system.scope()));
    let ana_has = system
        .list_assignments_for(&Principal::User(ana.id.clone()))
        .await
        .expect("ana's");
    assert_eq!(ana_has.len(), 1);
    let memberships = system.list_memberships().await.expect("memberships");
    assert!(memberships.len() >= 200, "{}", memberships.len());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn hostile_names_and_ids_never_leave_their_place() {
    let sandbox = start(Seed::Generated { users: 3 }).await;
    let client = PyramidClient::new(&sandbox.config()).expect("client");
    let system = PyramidSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let names = [
        "../../auth/authenticateUser",
        "role\"}, \"auth\": \"stolen",
        "Robert'); DROP TABLE roles;--",
        "ünïcødé / ? # % &",
        "<script>alert(1)</script>",
    ];
    let created = client
        .create_roles(&names.map(|n| NewRole::new(n, DEFAULT_TENANT_ID)))
        .await
        .expect("created");
    for (name, id) in names.iter().zip(&created) {
        let id = id.clone().expect("role id");
        let role = client.get_role_by_id(&id).await.expect("role");
        assert_eq!(role.role_name, *name, "names round-trip as data");
        let found = client
            .get_roles_by_name(&SearchCriteria {
                search_value: (*name).to_owned(),
                search_match_type: SearchMatchType::Equals,
            })
            .await
            .expect("search");
        assert_eq!(found.len(), 1, "{name}");
    }
    let groups = system.list_groups().await.expect("groups");
    for name in names {
        assert!(groups.iter().any(|g| g.name == name), "{name}");
    }
    // Hostile ids fail their own item; nothing else moves.
    let bad_user = UserId::new("../x/../getUser?userId=1").expect("printable id");
    let bad_profile = ProfileId::new("p\"} , \"auth\":\"x").expect("printable id");
    let profile = system.list_profiles().await.expect("profiles")[0]
        .id
        .clone();
    let real_user = system
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.extra["userName"] == "user-0001")
        .expect("user")
        .id;
    let got = system
        .grant(&[
            Assignment::new(
                Principal::User(bad_user.clone()),
                profile.clone(),
                system.scope(),
            ),
            Assignment::new(
                Principal::User(real_user.clone()),
                bad_profile.clone(),
                system.scope(),
            ),
            Assignment::new(
                Principal::User(real_user.clone()),
                profile.clone(),
                system.scope(),
            ),
        ])
        .await;
    assert!(
        matches!(&got[0], Outcome::Failed(Error::NotFound { entity: Entity::User, id }) if id == bad_user.as_str())
    );
    assert!(
        matches!(&got[1], Outcome::Failed(Error::NotFound { entity: Entity::Profile, id }) if id == bad_profile.as_str())
    );
    assert_eq!(got[2], Outcome::Applied);
    let err = system
        .list_assignments_for(&Principal::User(bad_user))
        .await
        .expect_err("unknown");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // Every request went to a fixed method path; ids travelled in bodies only.
    for r in sandbox.log().entries() {
        assert!(r.query().is_none(), "{}", r.raw_target);
        let segments: Vec<&str> = r.path.split('/').collect();
        assert_eq!(segments.len(), 4, "{}", r.path);
        assert!(
            segments[3].chars().all(|c| c.is_ascii_alphabetic()),
            "{}",
            r.path
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_is_renewed_once() {
    let sandbox = start(Seed::Generated { users: 2 }).await;
    let system = PyramidSystem::connect(sandbox.config())
        .await
        .expect("connect");
    assert_eq!(sandbox.log().matching("POST", "/API2/auth/").len(), 1);
    sandbox.state().expire_tokens();
    assert_eq!(system.list_groups().await.expect("renewed").len(), 3);
    let auth = sandbox.log().matching("POST", "/API2/auth/");
    assert_eq!(auth.len(), 2, "logged in again once");
    let statuses: Vec<u16> = sandbox.log().entries().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&401));

    // A token given by the caller is checked at connect and replaced when refused.
    let mut cfg = sandbox.config();
    cfg.token = Some(grantbridge_core::http::Secret::new("bm90LWEtdG9rZW4="));
    let again = PyramidSystem::connect(cfg).await.expect("token replaced");
    assert_eq!(again.tenant().as_str(), DEFAULT_TENANT_ID);
    // Wrong credentials are an authentication error.
    let mut wrong = sandbox.config();
    wrong.password = grantbridge_core::http::Secret::new("nope-nope");
    assert_eq!(
        PyramidSystem::connect(wrong)
            .await
            .expect_err("bad password")
            .kind(),
        ErrorKind::Authentication
    );
    sandbox.shutdown().await;
}

/// POSTs `body` as JSON text (with `content_type`, or none) and returns the status
/// and the body parsed as JSON (or as a JSON string when it is not JSON).
async fn raw(
    http: &reqwest::Client,
    url: String,
    content_type: Option<&str>,
    body: String,
) -> (u16, Value) {
    let mut request = http.post(url).body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

#[tokio::test]
async fn the_sandbox_accepts_the_forms_pyramids_examples_send() {
    let sandbox = start(Seed::Generated { users: 2 }).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", sandbox.base_url());
    let json_ct = Some("application/json");
    let creds = sandbox.credentials();
    let (user, password) = (&creds.username, &creds.password);
    // PYCLI: "auth": null on login; JSPICK: lowercase `username`; text/plain bodies.
    let body = json!({"data": {"username": user, "password": password.expose()}, "auth": null});
    let (status, token) = raw(
        &http,
        url("/api2/auth/authenticateUser"),
        Some("text/plain;charset=UTF-8"),
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let token = token.as_str().expect("text token").to_owned();
    // The documented credentials wrapper works too.
    let body = json!({"userCredentials": {"userName": user, "password": password.expose()}});
    assert_eq!(
        raw(
            &http,
            url("/API2/auth/authenticateUser"),
            json_ct,
            body.to_string()
        )
        .await
        .0,
        200
    );
    // The seed example's trailing space in the method name, no content type at all.
    let body = json!({"tenantId": DEFAULT_TENANT_ID, "auth": token});
    let (status, profiles) = raw(
        &http,
        url("/API2/access/getAllProfilesByTenantId%20"),
        None,
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(profiles["data"].as_array().map(Vec::len), Some(3));
    // createRoles under its documented name, createRole under `data`.
    for (method, mut payload) in [
        (
            "createRoles",
            json!({"roleData": [{"roleName": "doc", "tenantId": DEFAULT_TENANT_ID}]}),
        ),
        (
            "createRole",
            json!({"data": {"roleName": "doc", "tenantId": DEFAULT_TENANT_ID}}),
        ),
    ] {
        payload["auth"] = json!(token);
        let (status, r) = raw(
            &http,
            url(&format!("/API2/access/{method}")),
            json_ct,
            payload.to_string(),
        )
        .await;
        assert_eq!(
            (status, &r["data"]["success"]),
            (200, &json!(true)),
            "{method}: {r}"
        );
    }
    // The duplicate name got " (1)".
    let body = json!({"tenantId": DEFAULT_TENANT_ID, "auth": token});
    let (_, roles) = raw(
        &http,
        url("/API2/access/getAllNonPrivateRolesByTenant"),
        json_ct,
        body.to_string(),
    )
    .await;
    let names: Vec<&str> = roles["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["roleName"].as_str())
        .collect();
    assert!(
        names.contains(&"doc") && names.contains(&"doc (1)"),
        "{names:?}"
    );
    // Refusals: GET, bad JSON, unknown method, missing token, success:false.
    assert_eq!(
        http.get(url("/API2/access/getAllTenants"))
            .send()
            .await
            .expect("get")
            .status(),
        405
    );
    assert_eq!(
        raw(
            &http,
            url("/API2/access/getAllTenants"),
            json_ct,
            "{'auth': x}".into()
        )
        .await
        .0,
        400
    );
    let authed = json!({"auth": token}).to_string();
    assert_eq!(
        raw(
            &http,
            url("/API2/access/noSuchMethod"),
            json_ct,
            authed.clone()
        )
        .await
        .0,
        404
    );
    assert_eq!(
        raw(&http, url("/API3/access/getAllTenants"), json_ct, authed)
            .await
            .0,
        404
    );
    let (status, r) = raw(
        &http,
        url("/API2/access/getAllTenants"),
        json_ct,
        "{}".into(),
    )
    .await;
    assert_eq!(
        (status, r),
        (401, json!({"error": "Invalid or expired token"}))
    );
    let body = json!({"roleId": "nope", "auth": token});
    let (status, r) = raw(
        &http,
        url("/API2/access/deleteRole"),
        json_ct,
        body.to_string(),
    )
    .await;
    assert_eq!((status, &r["data"]["success"]), (200, &json!(false)));
    let (status, r) = raw(
        &http,
        url("/API2/auth/authenticateUser"),
        json_ct,
        json!({"data": {"userName": user, "password": "wrong"}}).to_string(),
    )
    .await;
    assert_eq!((status, r), (401, json!("Invalid credentials")));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn adapter_refusals_are_typed() {
    let sandbox = start(Seed::Generated { users: 2 }).await;
    let system = PyramidSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let profile = system.list_profiles().await.expect("profiles")[0]
        .id
        .clone();
    let user = system.list_users().await.expect("users")[1].id.clone();
    let windowed = Assignment::new(
        Principal::User(user.clone()),
        profile.clone(),
        system.scope(),
    )
    .with_validity(grantbridge_core::Validity::from_millis(Some(1_000), None).expect("window"));
    let other_tenant = Assignment::new(
        Principal::User(user.clone()),
        profile.clone(),
        Scope::tenant(TenantCode::new(SUBSIDIARY_TENANT_ID).expect("code"), false),
    );
    let children = Assignment::new(
        Principal::User(user.clone()),
        profile.clone(),
        Scope::tenant(system.tenant().clone(), true),
    );
    let got = system
        .grant(&[
            windowed,
            Assignment::new(Principal::User(user), profile, Scope::System),
            other_tenant,
            children,
        ])
        .await;
    assert!(matches!(
        &got[0],
        Outcome::Failed(Error::Unsupported {
            feature: grantbridge_core::Feature::ValidityWindows,
            ..
        })
    ));
    assert!(matches!(
        &got[1],
        Outcome::Failed(Error::Unsupported {
            feature: grantbridge_core::Feature::SystemScope,
            ..
        })
    ));
    assert_eq!(
        got[2].error().map(Error::kind),
        Some(ErrorKind::InvalidInput)
    );
    assert_eq!(
        got[3].error().map(Error::kind),
        Some(ErrorKind::InvalidInput)
    );

    // Profiles: created with validated bits, refused with clear errors, deleted.
    let new = NewProfile {
        name: "Discover Pro".into(),
        description: Some("made by a test".into()),
        capabilities: vec![
            Capability::new("app_discovery"),
            Capability::new("dis_advanced_analytics"),
        ],
        scope: Some(system.scope()),
    };
    let created = system.create_profile(&new).await.expect("created");
    assert_eq!(created.capabilities, new.capabilities);
    assert_eq!(
        system
            .get_profile(&created.id)
            .await
            .expect("listed")
            .capabilities,
        new.capabilities
    );
    let exclusive = NewProfile {
        capabilities: vec![
            Capability::new("dis_lite_version"),
            Capability::new("dis_advanced_analytics"),
        ],
        ..new.clone()
    };
    let err = system
        .create_profile(&exclusive)
        .await
        .expect_err("exclusive");
    assert!(
        matches!(&err, Error::InvalidInput { why, .. } if why.contains("cannot be combined")),
        "{err}"
    );
    let unknown = NewProfile {
        capabilities: vec![Capability::new("Discover")],
        ..new.clone()
    };
    assert_eq!(
        system
            .create_profile(&unknown)
            .await
            .expect_err("unknown")
            .kind(),
        ErrorKind::InvalidInput
    );
    system.delete_profile(&created.id).await.expect("deleted");
    assert_eq!(
        system
            .delete_profile(&created.id)
            .await
            .expect_err("gone")
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        system
            .get_profile(&created.id)
            .await
            .expect_err("gone")
            .kind(),
        ErrorKind::NotFound
    );
    // Stricter rules and the list form are configuration.
    let mut strict = sandbox.config();
    strict.permission_rules = PermissionRules::Strict;
    strict.permission_form = grantbridge_pyramid::PermissionForm::List;
    let strict = PyramidSystem::connect(strict).await.expect("strict");
    let err = strict.create_profile(&new).await.expect_err("9 needs 14");
    assert!(
        err.to_string()
            .contains("needs dis_create_data_source (bit 14)"),
        "{err}"
    );
    let full = NewProfile {
        capabilities: [
            Permission::AppDiscovery,
            Permission::DisAdvancedAnalytics,
            Permission::DisCreateDataSource,
        ]
        .map(|p| Capability::new(p.name()))
        .to_vec(),
        ..new.clone()
    };
    let made = strict.create_profile(&full).await.expect("strictly valid");
    assert_eq!(made.capabilities, full.capabilities);
    let sent = bodies(&sandbox, "/addProfile");
    assert_eq!(
        sent.last().expect("sent")["profileApiData"]["permissions"],
        json!({"permissionBitIndexList": [3, 9, 14]})
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn injected_faults_become_per_item_failures() {
    let sandbox = start(Seed::Generated { users: 4 }).await;
    let system = PyramidSystem::connect(no_retry(sandbox.config()))
        .await
        .expect("connect");
    let profile = system.list_profiles().await.expect("profiles")[0]
        .id
        .clone();
    let users: Vec<UserId> = system
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .skip(1)
        .collect();
    let items: Vec<Assignment> = users
        .iter()
        .map(|u| Assignment::new(Principal::User(u.clone()), profile.clone(), system.scope()))
        .collect();
    sandbox
        .sandbox()
        .set_faults(FaultPlan::none().with_server_error(1.0));
    let got = system.grant(&items).await;
    assert_eq!(got.len(), items.len());
    assert!(
        got.iter().all(|o| o
            .error()
            .is_some_and(|e| e.kind() == ErrorKind::Vendor && e.is_retryable())),
        "{got:?}"
    );
    sandbox.sandbox().set_faults(FaultPlan::none());
    assert!(
        system.list_assignments().await.expect("listed").is_empty(),
        "nothing was applied"
    );
    // With retries on, the same batch goes through a 429 storm.
    let retrying = PyramidSystem::connect(sandbox.config())
        .await
        .expect("connect");
    sandbox.sandbox().set_faults(
        FaultPlan::none()
            .with_rate_limited(0.3)
            .with_retry_after(std::time::Duration::from_millis(10)),
    );
    let before = retrying.client().http().stats();
    let got = retrying.grant(&items).await;
    sandbox.sandbox().set_faults(FaultPlan::none());
    let stats = retrying.client().http().stats();
    println!(
        "429 storm: {}/{} granted, {} requests, {} retries, {} rate limited",
        got.iter().filter(|o| o.is_done()).count(),
        items.len(),
        stats.requests - before.requests,
        stats.retries - before.retries,
        stats.rate_limited - before.rate_limited
    );
    assert!(stats.rate_limited > before.rate_limited, "the storm hit");
    assert!(got.iter().all(|o| *o == Outcome::Applied), "{got:?}");
    for a in &items {
        assert!(
            retrying
                .list_assignments_for(&a.principal)
                .await
                .expect("read")
                .contains(a)
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn memberships_and_bindings_round_trip() {
    let sandbox = start(Seed::Generated { users: 5 }).await;
    let system = PyramidSystem::connect(sandbox.config())
        .await
        .expect("connect");
    let users: Vec<UserId> = system
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .collect();
    let groups: Vec<GroupId> = system
        .list_groups()
        .await
        .expect("groups")
        .into_iter()
        .map(|g| g.id)
        .collect();
    let batch: Vec<Membership> = users
        .iter()
        .take(4)
        .map(|u| Membership::new(u.clone(), groups[1].clone()))
        .collect();
    let mut with_dup = batch.clone();
    with_dup.push(batch[0].clone());
    let got = system.add_memberships(&with_dup).await;
    assert_eq!(
        got,
        [
            Outcome::Applied,
            Outcome::Applied,
            Outcome::Applied,
            Outcome::Applied,
            Outcome::AlreadyInState
        ]
    );
    let listed = system.list_memberships().await.expect("list");
    assert!(batch.iter().all(|m| listed.contains(m)));
    // Bindings of one profile to three roles in one write.
    let profile = system.list_profiles().await.expect("profiles")[2]
        .id
        .clone();
    let before = system.client().http().stats().requests;
    let grants: Vec<Assignment> = groups
        .iter()
        .map(|g| Assignment::new(Principal::Group(g.clone()), profile.clone(), system.scope()))
        .collect();
    assert!(
        system
            .grant(&grants)
            .await
            .iter()
            .all(|o| *o == Outcome::Applied)
    );
    let calls = system.client().http().stats().requests - before;
    assert_eq!(
        calls, 4,
        "profiles, roles, one read and one write for the profile"
    );
    assert_eq!(
        system
            .list_assignments_for(&Principal::Group(groups[0].clone()))
            .await
            .expect("for group"),
        [grants[0].clone()]
    );
    assert!(
        system
            .revoke(&grants)
            .await
            .iter()
            .all(|o| *o == Outcome::Applied)
    );
    assert!(
        system
            .remove_memberships(&batch)
            .await
            .iter()
            .all(|o| *o == Outcome::Applied)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn tenants_are_separate_systems() {
    let sandbox = start(Seed::Demo).await;
    let client = PyramidClient::new(&sandbox.config()).expect("client");
    let new = grantbridge_pyramid::wire::NewTenant {
        id: None,
        name: "Branch".into(),
        viewer_seats: 5,
        pro_seats: 1,
        show_group_folder: None,
    };
    let id = client.create_tenant(&new).await.expect("created");
    assert_eq!(
        client
            .get_tenant_by_name("Branch")
            .await
            .expect("by name")
            .id
            .as_deref(),
        Some(id.as_str())
    );
    let err = client
        .create_tenant(&new)
        .await
        .expect_err("duplicate name");
    assert!(
        matches!(&err, Error::Vendor { status: 200, message, .. } if message.contains("already exists")),
        "{err}"
    );
    assert_eq!(client.get_all_tenants().await.expect("tenants").len(), 3);

    let branch = PyramidSystem::connect(sandbox.config().with_tenant(id.clone()))
        .await
        .expect("branch");
    let main = PyramidSystem::connect(sandbox.config())
        .await
        .expect("main");
    assert!(branch.list_profiles().await.expect("profiles").is_empty());
    assert!(branch.list_users().await.expect("users").is_empty());
    let new = NewProfile {
        name: "Branch viewers".into(),
        description: None,
        capabilities: vec![Capability::new("app_presentation")],
        scope: None,
    };
    let created = branch.create_profile(&new).await.expect("created");
    assert_eq!(
        branch.list_profiles().await.expect("profiles"),
        std::slice::from_ref(&created)
    );
    assert!(
        main.list_profiles()
            .await
            .expect("profiles")
            .iter()
            .all(|p| p.id != created.id)
    );
    // A profile of another tenant is unknown here, and a scope naming it is refused.
    let user = main.list_users().await.expect("users")[1].id.clone();
    let got = main
        .grant(&[Assignment::new(
            Principal::User(user),
            created.id.clone(),
            main.scope(),
        )])
        .await;
    assert!(
        matches!(
            &got[0],
            Outcome::Failed(Error::NotFound {
                entity: Entity::Profile,
                ..
            })
        ),
        "{got:?}"
    );
    let wrong_scope = NewProfile {
        scope: Some(main.scope()),
        ..new
    };
    assert_eq!(
        branch
            .create_profile(&wrong_scope)
            .await
            .expect_err("other tenant")
            .kind(),
        ErrorKind::InvalidInput
    );
    sandbox.shutdown().await;
}

/// Every key (and JSON type) of `fixture` is in `actual`; arrays compare their first
/// items.
fn shape_covers(fixture: &Value, actual: &Value, at: &str) {
    match (fixture, actual) {
        (Value::Object(f), Value::Object(a)) => {
            for (k, v) in f {
                let got = a
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}.{k} missing in {actual}"));
                shape_covers(v, got, &format!("{at}.{k}"));
            }
        }
        (Value::Array(f), Value::Array(a)) => {
            if let (Some(f0), Some(a0)) = (f.first(), a.first()) {
                shape_covers(f0, a0, &format!("{at}[0]"));
            }
        }
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => {}
        _ => panic!("{at}: fixture {fixture} vs sandbox {actual}"),
    }
}

#[tokio::test]
async fn sandbox_answers_have_the_fixture_shapes() {
    let sandbox = start(Seed::Demo).await;
    let client = PyramidClient::new(&sandbox.config()).expect("client");
    client.authenticate().await.expect("login");
    let tenant = client.get_default_tenant().await.expect("tenant");
    let bits = PermissionSet::from_numeric(520).expect("bits");
    client
        .add_profile(
            &ProfileApiData::new("Shape", "d", &tenant, bits, PermissionRules::Exclusive)
                .expect("valid"),
        )
        .await
        .expect("added");
    client
        .create_roles(&[
            NewRole::new("test role", &tenant),
            NewRole::new("other", &tenant),
        ])
        .await
        .expect("roles");
    client
        .get_roles_by_name(&SearchCriteria {
            search_value: "test role".into(),
            search_match_type: SearchMatchType::Equals,
        })
        .await
        .expect("search");
    client.get_users_by_name("ana.ruiz").await.expect("users");
    client
        .get_all_profiles_by_tenant_id(&tenant)
        .await
        .expect("profiles");
    // The documented bodies (tests/fixtures/README.md); a missing file fails below.
    let dir = grantbridge_core::testing::Fixtures::open(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/responses"),
        6,
    );
    let answered = |method: &str| -> Value {
        let entries = sandbox
            .log()
            .matching("POST", &format!("/API2/access/{method}"));
        assert!(!entries.is_empty(), "{method} not called");
        // The log keeps requests; ask again for the answer body with the same request.
        entries[0].body_json().expect("request json")
    };
    let http = reqwest::Client::new();
    for (file, method) in [
        ("get_default_tenant.json", "getDefaultTenant"),
        ("add_profile.json", "addProfile"),
        ("create_roles.json", "createRoles"),
        (
            "get_all_profiles_by_tenant_id.json",
            "getAllProfilesByTenantId",
        ),
        ("get_roles_by_name.json", "getRolesByName"),
        ("get_users_by_name.json", "getUsersByName"),
    ] {
        let fixture: Value = dir.json(file);
        let mut request = answered(method);
        // Replay with a fresh token (the logged one is still valid) and a new name so
        // writes do not collide.
        if let Some(p) = request.get_mut("profileApiData") {
            p["name"] = json!("Shape 2");
        }
        let (status, body) = raw(
            &http,
            format!("{}/API2/access/{method}", sandbox.base_url()),
            Some("application/json"),
            request.to_string(),
        )
        .await;
        assert_eq!(status, 200, "{method}: {body}");
        shape_covers(&fixture, &body, file);
    }
    sandbox.shutdown().await;
}
