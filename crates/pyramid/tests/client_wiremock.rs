//! The exact requests the client sends, and how each failure shape becomes a typed
//! error. Every test mounts a catch-all 500 so an unexpected request fails loudly.

use grantbridge_core::http::{ClientOptions, RetryPolicy, Secret};
use grantbridge_core::{Error, ErrorKind};
use grantbridge_pyramid::wire::{
    AddUserRoleData, AddUsersRoleData, ClientLicenseType, ItemId, NewRole, Permission,
    PermissionRules, PermissionSet, ProfileApiData, ProfileRolesData, SearchCriteria,
    SearchMatchType, TenantUsersGetObject, UpdateUserDb, UserRolesData,
};
use grantbridge_pyramid::{KeyStyle, ObjectKeys, PyramidClient, PyramidConfig};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "dG9rZW4tb25l";
const TOKEN2: &str = "dG9rZW4tdHdv";
const TENANT: &str = "90000000-0000-0000-0000-000000000009";

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    server
}

fn config(server: &MockServer) -> PyramidConfig {
    PyramidConfig::new(server.uri(), "admin", Secret::new("pw-s3cret!"))
        .with_options(ClientOptions::new("pyramid", server.uri()).retry(RetryPolicy::none()))
}

/// A client that already holds `TOKEN`.
fn client(server: &MockServer) -> PyramidClient {
    let mut c = config(server);
    c.token = Some(Secret::new(TOKEN));
    PyramidClient::new(&c).expect("client")
}

async fn expect_call(server: &MockServer, api_method: &str, body: Value, answer: Value) {
    Mock::given(method("POST"))
        .and(path(format!("/API2/access/{api_method}")))
        .and(header("content-type", "application/json"))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(server)
        .await;
}

fn mir(ids: &[&str]) -> Value {
    json!({"data": {"success": true, "modifiedList": ids.iter().map(|i| json!({"id": i})).collect::<Vec<_>>()}})
}

#[tokio::test]
async fn login_sends_credentials_under_data_and_uses_the_text_token() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/API2/auth/authenticateUser"))
        .and(body_json(
            json!({"data": {"userName": "admin", "password": "pw-s3cret!"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!("{TOKEN}\n")))
        .expect(1)
        .mount(&server)
        .await;
    expect_call(
        &server,
        "getDefaultTenant",
        json!({"auth": TOKEN}),
        json!({"data": TENANT}),
    )
    .await;
    let client = PyramidClient::new(&config(&server)).expect("client");
    // The first call logs in by itself.
    assert_eq!(client.get_default_tenant().await.expect("tenant"), TENANT);
}

#[tokio::test]
async fn every_access_method_sends_its_documented_body() {
    let server = server().await;
    let c = client(&server);
    let profile = json!({"profileId": "p1", "name": "Consumers", "description": "d", "tenantId": TENANT, "permissions": {"numeric": 520}});
    let role = json!({"roleId": "r1", "roleName": "prole1", "tenantId": TENANT});
    let user = json!({"id": "u1", "userName": "ana", "clientLicenseType": 200, "statusID": 1, "roleIds": ["r1"]});

    expect_call(
        &server,
        "getMe",
        json!({"auth": TOKEN}),
        json!({"data": user}),
    )
    .await;
    expect_call(
        &server,
        "getAllTenants",
        json!({"auth": TOKEN}),
        json!({"data": [{"id": TENANT, "name": "Default"}]}),
    )
    .await;
    expect_call(
        &server,
        "getAllProfiles",
        json!({"auth": TOKEN}),
        json!({"data": [profile]}),
    )
    .await;
    expect_call(
        &server,
        "getAllProfilesByTenantId",
        json!({"tenantId": TENANT, "auth": TOKEN}),
        // A server that leaks other tenants' profiles: filtered out.
        json!({"data": [profile, {"profileId": "p9", "name": "Other", "tenantId": "t-other", "permissions": {}}]}),
    )
    .await;
    expect_call(
        &server,
        "addProfile",
        json!({"profileApiData": {"name": "Consumers", "description": "Basic tools", "tenantId": TENANT, "permissions": {"numeric": 520}}, "auth": TOKEN}),
        mir(&["p1"]),
    )
    .await;
    expect_call(
        &server,
        "deleteProfile",
        json!({"profileId": "p1", "auth": TOKEN}),
        mir(&["p1"]),
    )
    .await;
    expect_call(
        &server,
        "getPrivateProfileIdForUser",
        json!({"userId": "u1", "auth": TOKEN}),
        json!({"data": {"id": "p1"}}),
    )
    .await;
    expect_call(
        &server,
        "getAllRolesByProfileId",
        json!({"profileId": "p1", "auth": TOKEN}),
        json!({"data": [{"id": "r1", "name": "prole1"}]}),
    )
    .await;
    expect_call(
        &server,
        "updateRolesByProfileId",
        json!({"profileRolesData": {"profileId": "p1", "rolesToAdd": ["r1"], "rolesToRemove": ["r2"]}, "auth": TOKEN}),
        json!({"data": [{"id": "r1"}, {"id": "r2"}]}),
    )
    .await;
    expect_call(
        &server,
        "createRole",
        json!({"roleData": {"roleName": "solo", "tenantId": TENANT, "isGroupRole": false}, "auth": TOKEN}),
        mir(&["r3"]),
    )
    .await;
    expect_call(
        &server,
        "createRoles",
        json!({"data": [{"roleName": "prole1", "tenantId": TENANT, "isGroupRole": false}, {"roleName": "prole2", "tenantId": TENANT, "isGroupRole": false}], "auth": TOKEN}),
        mir(&["r1", "r2"]),
    )
    .await;
    expect_call(
        &server,
        "deleteRole",
        json!({"roleId": "r3", "auth": TOKEN}),
        mir(&["r3"]),
    )
    .await;
    expect_call(
        &server,
        "getRoleById",
        json!({"roleId": "r1", "auth": TOKEN}),
        json!({"data": role}),
    )
    .await;
    expect_call(
        &server,
        "getAllNonPrivateRolesByTenant",
        json!({"tenantId": TENANT, "auth": TOKEN}),
        json!({"data": [role]}),
    )
    .await;
    expect_call(
        &server,
        "getRolesByName",
        json!({"data": {"searchValue": "test role", "searchMatchType": 2}, "auth": TOKEN}),
        json!({"data": [role]}),
    )
    .await;
    expect_call(
        &server,
        "getAllUsersByTenant",
        json!({"tenantId": TENANT, "auth": TOKEN}),
        json!({"data": [{"id": "u1", "name": "ana"}]}),
    )
    .await;
    expect_call(
        &server,
        "getAllUsersDataByTenantAndLicenceType",
        json!({"tenantUsersGetObject": {"tenantId": TENANT, "clientLicenseType": 200}, "auth": TOKEN}),
        json!({"data": [user]}),
    )
    .await;
    expect_call(
        &server,
        "getUser",
        json!({"userId": "u1", "auth": TOKEN}),
        json!({"data": user}),
    )
    .await;
    expect_call(
        &server,
        "getUsersByName",
        json!({"userName": "ana", "auth": TOKEN}),
        json!({"data": [user]}),
    )
    .await;
    expect_call(
        &server,
        "getAllRolesByUser",
        json!({"userId": "u1", "auth": TOKEN}),
        json!({"data": [{"id": "r1"}]}),
    )
    .await;
    expect_call(
        &server,
        "getUsersByRole",
        json!({"roleId": "r1", "auth": TOKEN}),
        json!({"data": [user]}),
    )
    .await;
    expect_call(
        &server,
        "addUserToRole",
        json!({"addUserRoleData": {"userId": "u1", "roleId": "r1"}, "auth": TOKEN}),
        mir(&["u1"]),
    )
    .await;
    expect_call(
        &server,
        "addUsersToRole",
        json!({"addUsersRoleData": {"userIds": ["u1", "u2"], "roleId": "r1"}, "auth": TOKEN}),
        mir(&["u1", "u2"]),
    )
    .await;
    expect_call(
        &server,
        "updateUserRoles",
        json!({"userRolesData": {"userId": "u1", "rolesToAdd": ["r2"], "rolesToRemove": ["r1"]}, "auth": TOKEN}),
        json!({"data": [{"id": "r2"}]}),
    )
    .await;
    expect_call(
        &server,
        "updateUserDb",
        json!({"updateUserDb": {"id": "u1", "profileId": null}, "auth": TOKEN}),
        mir(&["u1"]),
    )
    .await;

    assert_eq!(c.get_me().await.expect("me").id, "u1");
    assert_eq!(
        c.get_all_tenants().await.expect("tenants")[0].id.as_deref(),
        Some(TENANT)
    );
    assert_eq!(c.get_all_profiles().await.expect("profiles").len(), 1);
    let by_tenant = c
        .get_all_profiles_by_tenant_id(TENANT)
        .await
        .expect("by tenant");
    assert_eq!(
        by_tenant.len(),
        1,
        "other tenants' profiles are filtered out"
    );
    let set: PermissionSet = [Permission::DisAdvancedAnalytics, Permission::AppDiscovery]
        .into_iter()
        .collect();
    let new = ProfileApiData::new(
        "Consumers",
        "Basic tools",
        TENANT,
        set,
        PermissionRules::Exclusive,
    )
    .expect("valid");
    assert_eq!(c.add_profile(&new).await.expect("added"), "p1");
    c.delete_profile("p1").await.expect("deleted");
    assert_eq!(
        c.get_private_profile_id_for_user("u1")
            .await
            .expect("private")
            .as_deref(),
        Some("p1")
    );
    assert_eq!(
        c.get_all_roles_by_profile_id("p1").await.expect("roles")[0]
            .role_id
            .as_deref(),
        Some("r1")
    );
    let changed = c
        .update_roles_by_profile_id(&ProfileRolesData {
            profile_id: "p1".into(),
            roles_to_add: vec!["r1".into()],
            roles_to_remove: vec!["r2".into()],
        })
        .await
        .expect("bound");
    assert_eq!(changed, [ItemId::new("r1"), ItemId::new("r2")]);
    assert_eq!(
        c.create_role(&NewRole::new("solo", TENANT))
            .await
            .expect("role"),
        "r3"
    );
    let created = c
        .create_roles(&[
            NewRole::new("prole1", TENANT),
            NewRole::new("prole2", TENANT),
        ])
        .await
        .expect("roles");
    assert_eq!(
        created
            .into_iter()
            .map(|r| r.expect("created"))
            .collect::<Vec<_>>(),
        ["r1", "r2"]
    );
    c.delete_role("r3").await.expect("deleted");
    assert_eq!(
        c.get_role_by_id("r1").await.expect("role").role_name,
        "prole1"
    );
    assert_eq!(
        c.get_all_non_private_roles_by_tenant(TENANT)
            .await
            .expect("roles")
            .len(),
        1
    );
    let criteria = SearchCriteria {
        search_value: "test role".into(),
        search_match_type: SearchMatchType::Equals,
    };
    assert_eq!(
        c.get_roles_by_name(&criteria).await.expect("by name").len(),
        1
    );
    assert_eq!(
        c.get_all_users_by_tenant(TENANT).await.expect("ids"),
        [ItemId::named("u1", "ana")]
    );
    let query = TenantUsersGetObject {
        tenant_id: TENANT.into(),
        client_license_type: ClientLicenseType::Professional,
    };
    assert_eq!(
        c.get_all_users_data_by_tenant_and_licence_type(&query)
            .await
            .expect("users")
            .len(),
        1
    );
    assert_eq!(
        c.get_user("u1").await.expect("user").user_name.as_deref(),
        Some("ana")
    );
    assert_eq!(c.get_users_by_name("ana").await.expect("users").len(), 1);
    assert_eq!(
        c.get_all_roles_by_user("u1").await.expect("roles"),
        [ItemId::new("r1")]
    );
    assert_eq!(c.get_users_by_role("r1").await.expect("users").len(), 1);
    c.add_user_to_role(&AddUserRoleData {
        user_id: "u1".into(),
        role_id: "r1".into(),
    })
    .await
    .expect("added");
    let per_user = c
        .add_users_to_role(&AddUsersRoleData {
            user_ids: vec!["u1".into(), "u2".into()],
            role_id: "r1".into(),
        })
        .await
        .expect("added");
    assert!(per_user.iter().all(Result::is_ok));
    let final_roles = c
        .update_user_roles(&UserRolesData {
            user_id: "u1".into(),
            roles_to_add: vec!["r2".into()],
            roles_to_remove: vec!["r1".into()],
        })
        .await
        .expect("updated");
    assert_eq!(final_roles, [ItemId::new("r2")]);
    c.update_user_db(&UpdateUserDb {
        id: "u1".into(),
        profile_id: Some(None),
        ..Default::default()
    })
    .await
    .expect("cleared");
}

#[tokio::test]
async fn list_form_and_documented_keys_are_configurable() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.token = Some(Secret::new(TOKEN));
    cfg.object_keys = ObjectKeys {
        default: KeyStyle::Documented,
        ..Default::default()
    }
    .with("addProfile", KeyStyle::Data);
    let c = PyramidClient::new(&cfg).expect("client");
    expect_call(
        &server,
        "createRoles",
        json!({"roleData": [{"roleName": "a", "tenantId": TENANT, "isGroupRole": false}], "auth": TOKEN}),
        mir(&["r1"]),
    )
    .await;
    expect_call(
        &server,
        "addProfile",
        json!({"data": {"name": "Consumers", "description": "", "tenantId": TENANT, "permissions": {"permissionBitIndexList": [9, 3]}}, "auth": TOKEN}),
        mir(&["p1"]),
    )
    .await;
    c.create_roles(&[NewRole::new("a", TENANT)])
        .await
        .expect("created")[0]
        .as_ref()
        .expect("ok");
    // The raw escape hatch: the holder goes out exactly as built (the seed's [9,3]).
    let raw = ProfileApiData {
        profile_id: None,
        name: "Consumers".into(),
        description: String::new(),
        tenant_id: TENANT.into(),
        permissions: grantbridge_pyramid::wire::ProfilePermissionHolder {
            permission_bit_index_list: Some(vec![9, 3]),
            numeric: None,
        },
        extra: Default::default(),
    };
    assert_eq!(c.add_profile(&raw).await.expect("added"), "p1");
}

async fn answer(server: &MockServer, api_method: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(format!("/API2/access/{api_method}")))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn failure_envelopes_become_typed_errors() {
    let server = server().await;
    let c = client(&server);
    answer(&server, "addProfile", ResponseTemplate::new(200).set_body_json(json!({"data": {"success": false, "errorMessage": "Synthetic: profile could not be added"}}))).await;
    answer(
        &server,
        "getUser",
        ResponseTemplate::new(200).set_body_json(json!({"error": "user lookup failed"})),
    )
    .await;
    answer(
        &server,
        "getRoleById",
        ResponseTemplate::new(200).set_body_json(json!({"result": {"id": "r1"}})),
    )
    .await;
    answer(
        &server,
        "getAllTenants",
        ResponseTemplate::new(200).set_body_raw(
            "<html><head><title>Login - Pyramid</title></head></html>",
            "text/html",
        ),
    )
    .await;
    answer(
        &server,
        "getAllProfiles",
        ResponseTemplate::new(502)
            .set_body_raw("<html><title>502 Bad Gateway</title></html>", "text/html"),
    )
    .await;
    answer(
        &server,
        "deleteRole",
        ResponseTemplate::new(500).set_body_json(json!({"error": "role is in use"})),
    )
    .await;
    answer(
        &server,
        "getDefaultTenant",
        ResponseTemplate::new(200).set_body_raw("plain text", "text/plain"),
    )
    .await;
    answer(
        &server,
        "getMe",
        ResponseTemplate::new(200).set_body_json(json!({"data": {"success": false}})),
    )
    .await;

    let new = ProfileApiData::new(
        "x",
        "",
        TENANT,
        PermissionSet::EMPTY,
        PermissionRules::Exclusive,
    )
    .expect("valid");
    match c.add_profile(&new).await.expect_err("success:false") {
        Error::Vendor {
            system,
            status,
            message,
            ..
        } => {
            assert_eq!((system.as_str(), status), ("pyramid", 200));
            assert_eq!(message, "Synthetic: profile could not be added");
        }
        other => panic!("{other:?}"),
    }
    match c.get_user("u1").await.expect_err("error key") {
        Error::Vendor {
            status: 200,
            message,
            ..
        } => assert_eq!(message, "user lookup failed"),
        other => panic!("{other:?}"),
    }
    let err = c.get_role_by_id("r1").await.expect_err("no data");
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("no `data`"), "{err}");
    match c.get_all_tenants().await.expect_err("html at 200") {
        Error::Decode {
            status: 200,
            content_type,
            excerpt,
            ..
        } => {
            assert_eq!(content_type.as_deref(), Some("text/html"));
            assert!(excerpt.contains("Login - Pyramid"));
        }
        other => panic!("{other:?}"),
    }
    match c.get_all_profiles().await.expect_err("html 502") {
        Error::Vendor {
            status: 502,
            message,
            ..
        } => assert!(message.contains("502 Bad Gateway"), "{message}"),
        other => panic!("{other:?}"),
    }
    match c.delete_role("r1").await.expect_err("500 json") {
        Error::Vendor {
            status: 500,
            message,
            code,
            ..
        } => {
            assert_eq!(message, "role is in use");
            assert_eq!(code, None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.get_default_tenant().await.expect_err("text").kind(),
        ErrorKind::Decode
    );
    match c.get_me().await.expect_err("bare success:false") {
        Error::Vendor { message, .. } => assert!(message.contains("without a message")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn batch_partial_success_is_reported_per_item() {
    let server = server().await;
    let c = client(&server);
    answer(
        &server,
        "createRoles",
        ResponseTemplate::new(200).set_body_json(json!({"data": {"success": false, "errorMessage": "1 role failed", "modifiedList": [{"id": "r1", "name": "a"}, {"id": "r3", "name": "c"}]}})),
    )
    .await;
    answer(
        &server,
        "addUsersToRole",
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": {"success": false, "errorMessage": "no such user"}})),
    )
    .await;
    let got = c
        .create_roles(&[
            NewRole::new("a", TENANT),
            NewRole::new("b", TENANT),
            NewRole::new("c", TENANT),
        ])
        .await
        .expect("batch");
    assert_eq!(got[0].as_deref().expect("a"), "r1");
    let err = got[1].as_ref().expect_err("b failed");
    assert!(
        err.to_string().contains("listed 2 of 3") && err.to_string().contains("1 role failed"),
        "{err}"
    );
    assert_eq!(got[2].as_deref().expect("c"), "r3");
    let got = c
        .add_users_to_role(&AddUsersRoleData {
            user_ids: vec!["u1".into(), "u2".into()],
            role_id: "r".into(),
        })
        .await
        .expect("batch");
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|r| matches!(r, Err(Error::Vendor { message, .. }) if message == "no such user"))
    );
}

#[tokio::test]
async fn token_answers_and_bad_credentials() {
    let server = server().await;
    let login = |body: ResponseTemplate| {
        Mock::given(method("POST"))
            .and(path("/API2/auth/authenticateUser"))
            .respond_with(body)
    };
    let c = PyramidClient::new(&config(&server)).expect("client");
    let pw = Secret::new("pw-s3cret!");

    login(
        ResponseTemplate::new(200).set_body_raw("<html><title>Sign in</title></html>", "text/html"),
    )
    .up_to_n_times(1)
    .mount(&server)
    .await;
    assert_eq!(
        c.authenticate_user("admin", &pw)
            .await
            .expect_err("html")
            .kind(),
        ErrorKind::Decode
    );

    login(
        ResponseTemplate::new(401).set_body_raw("Invalid credentials for pw-s3cret!", "text/plain"),
    )
    .up_to_n_times(1)
    .mount(&server)
    .await;
    let err = c.authenticate_user("admin", &pw).await.expect_err("401");
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert!(!format!("{err} {err:?}").contains("pw-s3cret!"), "{err:?}");

    login(ResponseTemplate::new(400).set_body_json(json!({"error": "bad user"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    assert_eq!(
        c.authenticate_user("admin", &pw)
            .await
            .expect_err("400")
            .kind(),
        ErrorKind::Authentication
    );

    login(ResponseTemplate::new(200).set_body_string(""))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    assert_eq!(
        c.authenticate_user("admin", &pw)
            .await
            .expect_err("empty")
            .kind(),
        ErrorKind::Authentication
    );

    login(ResponseTemplate::new(200).set_body_json(json!({"error": "locked out"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    match c
        .authenticate_user("admin", &pw)
        .await
        .expect_err("error key")
    {
        Error::Authentication { message } => assert_eq!(message, "locked out"),
        other => panic!("{other:?}"),
    }

    login(ResponseTemplate::new(200).set_body_raw(format!("\"{TOKEN}\""), "application/json"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    assert_eq!(
        c.authenticate_user("admin", &pw)
            .await
            .expect("json string")
            .expose(),
        TOKEN
    );

    login(ResponseTemplate::new(200).set_body_raw(format!("  {TOKEN2}\r\n"), "text/plain"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    assert_eq!(
        c.authenticate_user("admin", &pw)
            .await
            .expect("text")
            .expose(),
        TOKEN2
    );
}

#[tokio::test]
async fn a_refused_token_is_renewed_once() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/API2/auth/authenticateUser"))
        .respond_with(ResponseTemplate::new(200).set_body_string(TOKEN2))
        .expect(2)
        .mount(&server)
        .await;
    // The old token is refused; the new one works for getDefaultTenant only.
    Mock::given(method("POST"))
        .and(path("/API2/access/getDefaultTenant"))
        .and(body_json(json!({"auth": TOKEN})))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid token"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/API2/access/getDefaultTenant"))
        .and(body_json(json!({"auth": TOKEN2})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": TENANT})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/API2/access/getAllTenants"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid token"})))
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server);
    assert_eq!(c.get_default_tenant().await.expect("renewed"), TENANT);
    // Refused again after one renewal: the error surfaces, no loop.
    let err = c.get_all_tenants().await.expect_err("still refused");
    assert_eq!(err.kind(), ErrorKind::Authentication);
    let requests = server.received_requests().await.expect("recorded");
    let bodies: Vec<String> = requests
        .iter()
        .map(|r: &Request| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(
        bodies.iter().filter(|b| b.contains("userName")).count(),
        2,
        "{bodies:?}"
    );
    assert!(!format!("{err} {err:?}").contains(TOKEN2));
}

#[tokio::test]
async fn a_token_only_config_does_not_try_to_log_in() {
    let server = server().await;
    answer(
        &server,
        "getAllTenants",
        ResponseTemplate::new(401).set_body_json(json!({"error": "expired"})),
    )
    .await;
    let cfg = PyramidConfig::from_lookup(|k| match k {
        "PYRAMID_BASE_URL" => Some(server.uri()),
        "PYRAMID_TOKEN" => Some(TOKEN.to_owned()),
        _ => None,
    })
    .expect("token config");
    let c = PyramidClient::new(
        &cfg.with_options(ClientOptions::new("pyramid", server.uri()).retry(RetryPolicy::none())),
    )
    .expect("client");
    assert_eq!(
        c.get_all_tenants().await.expect_err("expired").kind(),
        ErrorKind::Authentication
    );
    assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
}

#[test]
fn config_from_env_and_debug_hide_secrets() {
    let vars = |user: bool, pass: bool| {
        move |k: &str| match k {
            "PYRAMID_BASE_URL" => Some("https://pyramid.example.com".to_owned()),
            "PYRAMID_USERNAME" if user => Some("admin".to_owned()),
            "PYRAMID_PASSWORD" if pass => Some("hunter2-long".to_owned()),
            "PYRAMID_TENANT" => Some("t1".to_owned()),
            _ => None,
        }
    };
    let cfg = PyramidConfig::from_lookup(vars(true, true)).expect("complete");
    assert_eq!(
        (cfg.username.as_str(), cfg.tenant.as_deref()),
        ("admin", Some("t1"))
    );
    assert_eq!(cfg.password.expose(), "hunter2-long");
    let dbg = format!("{cfg:?}");
    assert!(!dbg.contains("hunter2"), "{dbg}");
    let err = PyramidConfig::from_lookup(vars(true, false)).expect_err("no password");
    assert!(err.to_string().contains("PYRAMID_PASSWORD"), "{err}");
    assert!(PyramidConfig::from_lookup(vars(false, true)).is_err());
    assert!(
        PyramidConfig::from_lookup(|_| None)
            .expect_err("nothing")
            .to_string()
            .contains("PYRAMID_BASE_URL")
    );
    // Plain http to a remote host is refused by the transport.
    let remote = PyramidConfig::new("http://pyramid.example.com", "a", Secret::new("p"));
    assert_eq!(
        PyramidClient::new(&remote).expect_err("http").kind(),
        ErrorKind::InvalidInput
    );
    // Options built for another URL are caught.
    let mismatched = PyramidConfig::new("https://a.example.com", "a", Secret::new("p"))
        .with_options(ClientOptions::new("pyramid", "https://b.example.com"));
    assert_eq!(
        PyramidClient::new(&mismatched)
            .expect_err("mismatch")
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn hostile_ids_stay_inside_the_json_body() {
    let server = server().await;
    let c = client(&server);
    let hostile = "../../auth/authenticateUser?x=1#\"}, \"auth\": \"stolen";
    expect_call(
        &server,
        "getUser",
        json!({"userId": hostile, "auth": TOKEN}),
        json!({"data": {"id": hostile}}),
    )
    .await;
    assert_eq!(c.get_user(hostile).await.expect("user").id, hostile);
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/API2/access/getUser");
    assert_eq!(requests[0].url.query(), None);
}

#[tokio::test]
async fn tenant_methods_use_the_keys_clients_send_and_null_is_not_found() {
    let server = server().await;
    let c = client(&server);
    expect_call(
        &server,
        "createTenant",
        json!({"tenant": {"name": "Subsidiary", "viewerSeats": 10, "proSeats": 2}, "auth": TOKEN}),
        mir(&["t2"]),
    )
    .await;
    expect_call(
        &server,
        "getTenantByName",
        json!({"tenantName": "Subsidiary", "auth": TOKEN}),
        json!({"data": {"id": "t2", "name": "Subsidiary", "viewerSeats": 10, "tenantSettings": {"showGroupFolder": true}}}),
    )
    .await;
    expect_call(
        &server,
        "getUser",
        json!({"userId": "gone", "auth": TOKEN}),
        json!({"data": null}),
    )
    .await;
    let new = grantbridge_pyramid::wire::NewTenant {
        id: None,
        name: "Subsidiary".into(),
        viewer_seats: 10,
        pro_seats: 2,
        show_group_folder: None,
    };
    assert_eq!(c.create_tenant(&new).await.expect("created"), "t2");
    let t = c.get_tenant_by_name("Subsidiary").await.expect("tenant");
    assert_eq!((t.id.as_deref(), t.viewer_seats), (Some("t2"), Some(10)));
    assert!(
        t.extra.contains_key("tenantSettings"),
        "unmodelled fields are kept"
    );
    match c.get_user("gone").await.expect_err("null") {
        Error::NotFound { entity, id } => assert_eq!(
            (entity, id.as_str()),
            (grantbridge_core::Entity::User, "gone")
        ),
        other => panic!("{other:?}"),
    }
}
