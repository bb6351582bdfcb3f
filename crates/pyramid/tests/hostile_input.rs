//! Hostile input and malformed vendor responses through every `PyramidClient` method
//! (issue 9, section 3).
//!
//! Pyramid's API 2.0 takes every id and name in the JSON body of a `POST` to a fixed
//! path (`/API2/{section}/{method}`), the session token as `"auth"` in the body too.
//!
//! 1. Every method that takes an id or a name (directly or inside its input object)
//!    gets every value of the shared corpus
//!    (`grantbridge_core::sandbox::hostile::hostile_ids`) against a demo sandbox. The
//!    sandbox's request log must show that each request went to exactly its method's
//!    path with no query, that the value arrived byte for byte as the JSON string at
//!    its place in the body, that no header was added (no `authorization` either: the
//!    token travels in the body) or carried a line break, and the call must end in a
//!    typed error (`InvalidInput` with nothing sent, `NotFound`, a `Vendor` refusal:
//!    Pyramid refuses with HTTP 200 `success:false`) or in a vendor answer that is
//!    right for the value.
//! 2. Every method's endpoint answers malformed bodies (HTML, truncated JSON, wrong
//!    types, 10 MB, empty with 200, `null`, arrays where objects belong, …) from
//!    wiremock: each call ends in a typed error, never a panic.
//! 3. A proptest feeds arbitrary JSON to every public wire type: no panic.
//!
//! Methods of `PyramidClient` and where each is covered (H: hostile corpus, section 1;
//! M: malformed answers, section 2):
//!
//! | method | argument made hostile | H | M |
//! |---|---|---|---|
//! | `authenticate_user` | `user_name` | H | M |
//! | `authenticate` | (configured credentials) | | M |
//! | `get_me`, `get_default_tenant`, `get_all_tenants`, `get_all_profiles` | (none) | | M |
//! | `create_tenant` | `NewTenant.name` | H | M |
//! | `get_tenant_by_name` | `name` | H | M |
//! | `get_all_profiles_by_tenant_id` | `tenant_id` | H | M |
//! | `add_profile` | `ProfileApiData.name`; `.tenant_id` | H | M |
//! | `delete_profile` | `profile_id` | H | M |
//! | `get_private_profile_id_for_user` | `user_id` | H | M |
//! | `get_all_roles_by_profile_id` | `profile_id` | H | M |
//! | `update_roles_by_profile_id` | `ProfileRolesData.profile_id`; a role to add | H | M |
//! | `create_role` | `NewRole.role_name`; `.tenant_id` | H | M |
//! | `create_roles` | a `NewRole.role_name` | H | M |
//! | `delete_role` | `role_id` | H | M |
//! | `get_role_by_id` | `role_id` | H | M |
//! | `get_all_non_private_roles_by_tenant` | `tenant_id` | H | M |
//! | `get_roles_by_name` | `SearchCriteria.search_value` | H | M |
//! | `get_all_users_by_tenant` | `tenant_id` | H | M |
//! | `get_all_users_data_by_tenant_and_licence_type` | `TenantUsersGetObject.tenant_id` | H | M |
//! | `get_user` | `user_id` | H | M |
//! | `get_users_by_name` | `user_name` | H | M |
//! | `get_all_roles_by_user` | `user_id` | H | M |
//! | `get_users_by_role` | `role_id` | H | M |
//! | `add_user_to_role` | `AddUserRoleData.user_id`; `.role_id` | H | M |
//! | `add_users_to_role` | a `AddUsersRoleData.user_ids` entry | H | M |
//! | `update_user_roles` | `UserRolesData.user_id`; a role to add | H | M |
//! | `update_user_db` | `UpdateUserDb.id`; `.profile_id` | H | M |
//! | `new`, `http` | (configuration, no request) | | |

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use grantbridge_core::Error;
use grantbridge_core::http::{ClientOptions, RetryPolicy, Secret};
use grantbridge_core::sandbox::hostile::{MalformedAnswer, hostile_ids, malformed_answers};
use grantbridge_core::sandbox::{LoggedRequest, SandboxOptions};
use grantbridge_pyramid::sandbox::{PyramidSandbox, Seed};
use grantbridge_pyramid::wire::*;
use grantbridge_pyramid::{PyramidClient, PyramidConfig};
use proptest::prelude::*;
use serde_json::Value;
use wiremock::{Mock, MockServer, ResponseTemplate};

// ---------------------------------------------------------------------------------
// Section 1: the hostile corpus against the sandbox.

/// One way of sending a hostile value through one method: its name here, the
/// request path it must go to, and where in the body the value must arrive.
#[derive(Clone, Copy, Debug)]
struct Case {
    name: &'static str,
    path: &'static str,
    pointer: &'static str,
}

const fn case(name: &'static str, path: &'static str, pointer: &'static str) -> Case {
    Case {
        name,
        path,
        pointer,
    }
}

const A: &str = "/API2/access/";

const CASES: &[Case] = &[
    case(
        "authenticate_user",
        "/API2/auth/authenticateUser",
        "/data/userName",
    ),
    case("create_tenant", "/API2/access/createTenant", "/tenant/name"),
    case(
        "get_tenant_by_name",
        "/API2/access/getTenantByName",
        "/tenantName",
    ),
    case(
        "get_all_profiles_by_tenant_id",
        "/API2/access/getAllProfilesByTenantId",
        "/tenantId",
    ),
    case(
        "add_profile(name)",
        "/API2/access/addProfile",
        "/profileApiData/name",
    ),
    case(
        "add_profile(tenantId)",
        "/API2/access/addProfile",
        "/profileApiData/tenantId",
    ),
    case("delete_profile", "/API2/access/deleteProfile", "/profileId"),
    case(
        "get_private_profile_id_for_user",
        "/API2/access/getPrivateProfileIdForUser",
        "/userId",
    ),
    case(
        "get_all_roles_by_profile_id",
        "/API2/access/getAllRolesByProfileId",
        "/profileId",
    ),
    case(
        "update_roles_by_profile_id(profileId)",
        "/API2/access/updateRolesByProfileId",
        "/profileRolesData/profileId",
    ),
    case(
        "update_roles_by_profile_id(role)",
        "/API2/access/updateRolesByProfileId",
        "/profileRolesData/rolesToAdd/0",
    ),
    case(
        "create_role(name)",
        "/API2/access/createRole",
        "/roleData/roleName",
    ),
    case(
        "create_role(tenantId)",
        "/API2/access/createRole",
        "/roleData/tenantId",
    ),
    case(
        "create_roles",
        "/API2/access/createRoles",
        "/data/0/roleName",
    ),
    case("delete_role", "/API2/access/deleteRole", "/roleId"),
    case("get_role_by_id", "/API2/access/getRoleById", "/roleId"),
    case(
        "get_all_non_private_roles_by_tenant",
        "/API2/access/getAllNonPrivateRolesByTenant",
        "/tenantId",
    ),
    case(
        "get_roles_by_name",
        "/API2/access/getRolesByName",
        "/data/searchValue",
    ),
    case(
        "get_all_users_by_tenant",
        "/API2/access/getAllUsersByTenant",
        "/tenantId",
    ),
    case(
        "get_all_users_data_by_tenant_and_licence_type",
        "/API2/access/getAllUsersDataByTenantAndLicenceType",
        "/tenantUsersGetObject/tenantId",
    ),
    case("get_user", "/API2/access/getUser", "/userId"),
    case(
        "get_users_by_name",
        "/API2/access/getUsersByName",
        "/userName",
    ),
    case(
        "get_all_roles_by_user",
        "/API2/access/getAllRolesByUser",
        "/userId",
    ),
    case(
        "get_users_by_role",
        "/API2/access/getUsersByRole",
        "/roleId",
    ),
    case(
        "add_user_to_role(userId)",
        "/API2/access/addUserToRole",
        "/addUserRoleData/userId",
    ),
    case(
        "add_user_to_role(roleId)",
        "/API2/access/addUserToRole",
        "/addUserRoleData/roleId",
    ),
    case(
        "add_users_to_role",
        "/API2/access/addUsersToRole",
        "/addUsersRoleData/userIds/0",
    ),
    case(
        "update_user_roles(userId)",
        "/API2/access/updateUserRoles",
        "/userRolesData/userId",
    ),
    case(
        "update_user_roles(role)",
        "/API2/access/updateUserRoles",
        "/userRolesData/rolesToAdd/0",
    ),
    case(
        "update_user_db(id)",
        "/API2/access/updateUserDb",
        "/updateUserDb/id",
    ),
    case(
        "update_user_db(profileId)",
        "/API2/access/updateUserDb",
        "/updateUserDb/profileId",
    ),
];

/// The headers the client sends; anything else would be injected.
const ALLOWED_HEADERS: &[&str] = &[
    "host",
    "user-agent",
    "accept",
    "content-type",
    "content-length",
];

/// Valid ids of the demo data, for the arguments that are not under test.
struct Known {
    tenant: String,
    user: String,
    role: String,
    profile: String,
}

fn profile(name: &str, tenant: &str) -> ProfileApiData {
    ProfileApiData {
        profile_id: None,
        name: name.to_owned(),
        description: String::new(),
        tenant_id: tenant.to_owned(),
        permissions: ProfilePermissionHolder {
            permission_bit_index_list: Some(vec![3]),
            numeric: None,
        },
        extra: Extra::new(),
    }
}

fn role(name: &str, tenant: &str) -> NewRole {
    NewRole {
        role_name: name.to_owned(),
        tenant_id: tenant.to_owned(),
        is_group_role: Some(false),
        is_hidden: None,
    }
}

/// Calls the method of `case` with `v` in its place. `Ok(())` means the vendor
/// answered and the answer is right for `v` (checked here).
async fn call(client: &PyramidClient, k: &Known, case: &Case, v: &str) -> Result<(), Error> {
    let s = |x: &str| x.to_owned();
    match case.name {
        "authenticate_user" => {
            let token = client
                .authenticate_user(v, &Secret::new("not-the-password"))
                .await?;
            drop(token);
            panic!("logged in as {v:?} with a wrong password");
        }
        "create_tenant" => {
            let tenant = NewTenant {
                id: None,
                name: s(v),
                viewer_seats: 1,
                pro_seats: 1,
                show_group_folder: None,
            };
            assert!(!client.create_tenant(&tenant).await?.is_empty());
        }
        "get_tenant_by_name" => {
            let t = client.get_tenant_by_name(v).await?;
            assert_eq!(t.name.as_deref(), Some(v), "another tenant answered");
        }
        "get_all_profiles_by_tenant_id" => {
            let all = client.get_all_profiles_by_tenant_id(v).await?;
            assert!(
                all.iter().all(|p| p.tenant_id == v),
                "another tenant's profiles"
            );
        }
        "add_profile(name)" => {
            assert!(!client.add_profile(&profile(v, &k.tenant)).await?.is_empty());
        }
        "add_profile(tenantId)" => drop(client.add_profile(&profile("P", v)).await?),
        "delete_profile" => client.delete_profile(v).await?,
        "get_private_profile_id_for_user" => {
            let p = client.get_private_profile_id_for_user(v).await?;
            assert_eq!(p, None, "a private profile for an unknown user");
        }
        "get_all_roles_by_profile_id" => {
            let roles = client.get_all_roles_by_profile_id(v).await?;
            assert!(roles.is_empty(), "roles bound to an unknown profile");
        }
        "update_roles_by_profile_id(profileId)" => {
            let data = ProfileRolesData {
                profile_id: s(v),
                roles_to_add: vec![k.role.clone()],
                roles_to_remove: vec![],
            };
            drop(client.update_roles_by_profile_id(&data).await?);
        }
        "update_roles_by_profile_id(role)" => {
            let data = ProfileRolesData {
                profile_id: k.profile.clone(),
                roles_to_add: vec![s(v)],
                roles_to_remove: vec![],
            };
            let changed = client.update_roles_by_profile_id(&data).await?;
            assert!(
                changed.iter().all(|i| i.id.as_deref() == Some(v)),
                "{changed:?}"
            );
        }
        "create_role(name)" => assert!(!client.create_role(&role(v, &k.tenant)).await?.is_empty()),
        "create_role(tenantId)" => drop(client.create_role(&role("R", v)).await?),
        "create_roles" => {
            let results = client.create_roles(&[role(v, &k.tenant)]).await?;
            assert_eq!(results.len(), 1, "one result per role");
            if let Err(e) = &results[0] {
                assert!(matches!(e, Error::Vendor { .. }), "{e}");
            }
        }
        "delete_role" => client.delete_role(v).await?,
        "get_role_by_id" => {
            let r = client.get_role_by_id(v).await?;
            assert_eq!(r.role_id.as_deref(), Some(v), "another role answered");
        }
        "get_all_non_private_roles_by_tenant" => {
            let roles = client.get_all_non_private_roles_by_tenant(v).await?;
            assert!(roles.iter().all(|r| r.tenant_id.as_deref() == Some(v)));
        }
        "get_roles_by_name" => {
            let criteria = SearchCriteria {
                search_value: s(v),
                search_match_type: SearchMatchType::Equals,
            };
            let roles = client.get_roles_by_name(&criteria).await?;
            assert!(
                roles
                    .iter()
                    .all(|r| r.role_name.to_lowercase() == v.to_lowercase()),
                "a role of another name matched"
            );
        }
        "get_all_users_by_tenant" => {
            assert!(client.get_all_users_by_tenant(v).await?.is_empty());
        }
        "get_all_users_data_by_tenant_and_licence_type" => {
            let query = TenantUsersGetObject {
                tenant_id: s(v),
                client_license_type: ClientLicenseType::Viewer,
            };
            let users = client
                .get_all_users_data_by_tenant_and_licence_type(&query)
                .await?;
            assert!(users.is_empty(), "users of an unknown tenant");
        }
        "get_user" => {
            let u = client.get_user(v).await?;
            assert_eq!(u.id, v, "another user answered");
        }
        "get_users_by_name" => {
            let users = client.get_users_by_name(v).await?;
            assert!(
                users.iter().all(
                    |u| u.user_name.as_deref().map(str::to_lowercase) == Some(v.to_lowercase())
                ),
                "a user of another name matched"
            );
        }
        "get_all_roles_by_user" => assert!(client.get_all_roles_by_user(v).await?.is_empty()),
        "get_users_by_role" => assert!(client.get_users_by_role(v).await?.is_empty()),
        "add_user_to_role(userId)" => {
            let data = AddUserRoleData {
                user_id: s(v),
                role_id: k.role.clone(),
            };
            client.add_user_to_role(&data).await?;
        }
        "add_user_to_role(roleId)" => {
            let data = AddUserRoleData {
                user_id: k.user.clone(),
                role_id: s(v),
            };
            client.add_user_to_role(&data).await?;
        }
        "add_users_to_role" => {
            let data = AddUsersRoleData {
                user_ids: vec![s(v)],
                role_id: k.role.clone(),
            };
            let results = client.add_users_to_role(&data).await?;
            assert_eq!(results.len(), 1, "one result per user");
            if let Err(e) = &results[0] {
                assert!(matches!(e, Error::Vendor { .. }), "{e}");
            }
        }
        "update_user_roles(userId)" => {
            let data = UserRolesData {
                user_id: s(v),
                roles_to_add: vec![k.role.clone()],
                roles_to_remove: vec![],
            };
            drop(client.update_user_roles(&data).await?);
        }
        "update_user_roles(role)" => {
            let data = UserRolesData {
                user_id: k.user.clone(),
                roles_to_add: vec![s(v)],
                roles_to_remove: vec![],
            };
            drop(client.update_user_roles(&data).await?);
        }
        "update_user_db(id)" => {
            let data = UpdateUserDb {
                id: s(v),
                profile_id: Some(None),
                ..UpdateUserDb::default()
            };
            client.update_user_db(&data).await?;
        }
        "update_user_db(profileId)" => {
            let data = UpdateUserDb {
                id: k.user.clone(),
                profile_id: Some(Some(s(v))),
                ..UpdateUserDb::default()
            };
            client.update_user_db(&data).await?;
        }
        other => panic!("no call for case {other}"),
    }
    Ok(())
}

/// A value short enough to print in a failure message.
fn short(v: &str) -> String {
    let s: String = v.chars().take(40).collect();
    if s.len() < v.len() {
        format!("{s:?}… ({} chars)", v.chars().count())
    } else {
        format!("{s:?}")
    }
}

/// Checks one logged request of `case` carrying `v`; returns why it is wrong.
fn check_request(case: &Case, v: &str, req: &LoggedRequest) -> Result<(), String> {
    if req.method != "POST" || req.path != case.path || req.raw_target != case.path {
        return Err(format!(
            "{} {} instead of POST {}",
            req.method,
            short(&req.raw_target),
            case.path
        ));
    }
    let body = req.body_json().ok_or("the body is not JSON")?;
    if body.pointer(case.pointer) != Some(&Value::String(v.to_owned())) {
        return Err(format!("body {} does not hold the value", case.pointer));
    }
    for (name, value) in &req.headers {
        if !ALLOWED_HEADERS.contains(&name.as_str()) {
            return Err(format!("unexpected header {name:?}"));
        }
        if value.contains(['\r', '\n', '\0']) {
            return Err(format!("header {name} holds a control character"));
        }
        if v.len() >= 6 && value.contains(v) {
            return Err(format!("header {name} carries the value"));
        }
    }
    Ok(())
}

/// Whether `error` is an acceptable answer; `sent` is whether any request went out.
fn check_error(case: &Case, error: &Error, sent: bool) -> Result<(), String> {
    match error {
        Error::InvalidInput { .. } if !sent => Ok(()),
        Error::NotFound { .. } => Ok(()),
        // Pyramid refuses with HTTP 200 and `success:false`.
        Error::Vendor { status, .. } if *status == 200 || (400..500).contains(status) => Ok(()),
        Error::Authentication { .. } if case.name == "authenticate_user" => Ok(()),
        other => Err(format!("untyped or server-side failure: {other}")),
    }
}

async fn known_ids(client: &PyramidClient) -> Known {
    let tenant = client.get_default_tenant().await.expect("tenant");
    let user = client
        .get_all_users_by_tenant(&tenant)
        .await
        .expect("users")
        .into_iter()
        .find_map(|u| u.id)
        .expect("a demo user");
    let role = client
        .get_all_non_private_roles_by_tenant(&tenant)
        .await
        .expect("roles")
        .into_iter()
        .find_map(|r| r.role_id)
        .expect("a demo role");
    let profile = client
        .get_all_profiles_by_tenant_id(&tenant)
        .await
        .expect("profiles")
        .into_iter()
        .find_map(|p| p.profile_id)
        .expect("a demo profile");
    Known {
        tenant,
        user,
        role,
        profile,
    }
}

#[tokio::test]
async fn hostile_ids_stay_in_the_body_and_get_typed_answers() {
    let sandbox = PyramidSandbox::start(Seed::Demo, SandboxOptions::default())
        .await
        .expect("sandbox");
    let mut config = sandbox.config();
    config.options = config.options.retry(RetryPolicy::none());
    let client = PyramidClient::new(&config).expect("client");
    client.authenticate().await.expect("login");
    let known = known_ids(&client).await;
    let log = sandbox.log();
    let ids = hostile_ids();
    let mut failures = Vec::new();
    let (mut calls, mut requests, mut refused, mut answered) = (0, 0, 0, 0);
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for case in CASES {
        assert!(case.path.starts_with(A) || case.path.starts_with("/API2/auth/"));
        for v in &ids {
            // Only this call's requests stay in the log (copying a long log per
            // call would make the run quadratic).
            log.clear();
            let outcome = AssertUnwindSafe(call(&client, &known, case, v))
                .catch_unwind()
                .await;
            calls += 1;
            let sent: Vec<LoggedRequest> = log.entries();
            requests += sent.len();
            let mut problems: Vec<String> = sent
                .iter()
                .filter_map(|req| check_request(case, v, req).err())
                .collect();
            match &outcome {
                Err(_) => problems.push("panicked".to_owned()),
                Ok(Ok(())) if sent.is_empty() => problems.push("Ok without a request".to_owned()),
                Ok(Ok(())) => answered += 1,
                Ok(Err(e)) => {
                    *kinds.entry(format!("{:?}", e.kind())).or_default() += 1;
                    match check_error(case, e, !sent.is_empty()) {
                        Ok(()) if sent.is_empty() => refused += 1,
                        Ok(()) => {}
                        Err(p) => problems.push(p),
                    }
                }
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{} with {}: {}",
                    case.name,
                    short(v),
                    problems.join("; ")
                ));
            }
        }
    }
    println!(
        "pyramid hostile corpus: {} values x {} cases = {calls} calls, {requests} requests \
         checked, {refused} refused before sending, {answered} answered successfully; \
         errors by kind: {kinds:?}",
        ids.len(),
        CASES.len(),
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(calls, ids.len() * CASES.len());
    sandbox.shutdown().await;
}

// ---------------------------------------------------------------------------------
// Section 2: malformed vendor answers through every decoder.

/// The shared malformed answers, then those malformed only for this envelope.
fn bad_answers() -> Vec<MalformedAnswer> {
    let ten_mb = 10 * 1024 * 1024;
    let json = "application/json";
    let big_json = format!(r#"{{"padding":"{}","data":42}}"#, "x".repeat(ten_mb)).into_bytes();
    let b = |name, status, content_type, body: &str| {
        MalformedAnswer::new(name, status, content_type, body)
    };
    let mut all = malformed_answers();
    all.extend([
        b("truncated json", 200, json, r#"{"data":{"success":tr"#),
        b("array envelope", 200, json, r#"[{"data":{}}]"#),
        b("no data", 200, json, r#"{"result":{}}"#),
        b("data number", 200, json, r#"{"data":42}"#),
        b("data bool", 200, json, r#"{"data":true}"#),
        b("data null", 200, json, r#"{"data":null}"#),
        b("data string", 200, json, r#"{"data":"x"}"#),
        b("data array", 200, json, r#"{"data":[]}"#),
        b("data array of arrays", 200, json, r#"{"data":[[],[1]]}"#),
        b(
            "data object",
            200,
            json,
            r#"{"data":{"id":5,"success":"yes"}}"#,
        ),
        b(
            "wrong field types",
            200,
            json,
            r#"{"data":{"success":"no","modifiedList":7,"errorMessage":[]}}"#,
        ),
        b(
            "error object",
            200,
            json,
            r#"{"error":{"code":[1]},"data":{}}"#,
        ),
        MalformedAnswer {
            name: "10 MB json of the wrong type",
            status: 200,
            content_type: json,
            body: big_json,
        },
        b("400 error not a string", 400, json, r#"{"error":42}"#),
        b("500 truncated json", 500, json, r#"{"error":"#),
    ]);
    all
}

/// Every method of the client.
const ALL_METHODS: &[&str] = &[
    "authenticate_user",
    "authenticate",
    "get_me",
    "get_default_tenant",
    "get_all_tenants",
    "create_tenant",
    "get_tenant_by_name",
    "get_all_profiles",
    "get_all_profiles_by_tenant_id",
    "add_profile",
    "delete_profile",
    "get_private_profile_id_for_user",
    "get_all_roles_by_profile_id",
    "update_roles_by_profile_id",
    "create_role",
    "create_roles",
    "delete_role",
    "get_role_by_id",
    "get_all_non_private_roles_by_tenant",
    "get_roles_by_name",
    "get_all_users_by_tenant",
    "get_all_users_data_by_tenant_and_licence_type",
    "get_user",
    "get_users_by_name",
    "get_all_roles_by_user",
    "get_users_by_role",
    "add_user_to_role",
    "add_users_to_role",
    "update_user_roles",
    "update_user_db",
];

/// Calls `name` with valid arguments; `Ok` when the call succeeded (with its items'
/// errors, for the batch calls, counted as failure).
async fn call_plain(client: &PyramidClient, name: &str) -> Result<(), Error> {
    let t = "t1";
    let all_ok =
        |results: Vec<Result<(), Error>>| results.into_iter().collect::<Result<(), Error>>();
    match name {
        "authenticate_user" => client
            .authenticate_user("admin", &Secret::new("pw"))
            .await
            .map(drop),
        "authenticate" => client.authenticate().await,
        "get_me" => client.get_me().await.map(drop),
        "get_default_tenant" => client.get_default_tenant().await.map(drop),
        "get_all_tenants" => client.get_all_tenants().await.map(drop),
        "create_tenant" => {
            let tenant = NewTenant {
                id: None,
                name: "T".into(),
                viewer_seats: 1,
                pro_seats: 1,
                show_group_folder: None,
            };
            client.create_tenant(&tenant).await.map(drop)
        }
        "get_tenant_by_name" => client.get_tenant_by_name("T").await.map(drop),
        "get_all_profiles" => client.get_all_profiles().await.map(drop),
        "get_all_profiles_by_tenant_id" => client.get_all_profiles_by_tenant_id(t).await.map(drop),
        "add_profile" => client.add_profile(&profile("P", t)).await.map(drop),
        "delete_profile" => client.delete_profile("p1").await,
        "get_private_profile_id_for_user" => {
            client.get_private_profile_id_for_user("u1").await.map(drop)
        }
        "get_all_roles_by_profile_id" => client.get_all_roles_by_profile_id("p1").await.map(drop),
        "update_roles_by_profile_id" => {
            let data = ProfileRolesData {
                profile_id: "p1".into(),
                roles_to_add: vec!["r1".into()],
                roles_to_remove: vec![],
            };
            client.update_roles_by_profile_id(&data).await.map(drop)
        }
        "create_role" => client.create_role(&role("R", t)).await.map(drop),
        "create_roles" => {
            let results = client.create_roles(&[role("R", t)]).await?;
            all_ok(results.into_iter().map(|r| r.map(drop)).collect())
        }
        "delete_role" => client.delete_role("r1").await,
        "get_role_by_id" => client.get_role_by_id("r1").await.map(drop),
        "get_all_non_private_roles_by_tenant" => client
            .get_all_non_private_roles_by_tenant(t)
            .await
            .map(drop),
        "get_roles_by_name" => {
            let criteria = SearchCriteria {
                search_value: "R".into(),
                search_match_type: SearchMatchType::Equals,
            };
            client.get_roles_by_name(&criteria).await.map(drop)
        }
        "get_all_users_by_tenant" => client.get_all_users_by_tenant(t).await.map(drop),
        "get_all_users_data_by_tenant_and_licence_type" => {
            let query = TenantUsersGetObject {
                tenant_id: t.into(),
                client_license_type: ClientLicenseType::Viewer,
            };
            client
                .get_all_users_data_by_tenant_and_licence_type(&query)
                .await
                .map(drop)
        }
        "get_user" => client.get_user("u1").await.map(drop),
        "get_users_by_name" => client.get_users_by_name("alice").await.map(drop),
        "get_all_roles_by_user" => client.get_all_roles_by_user("u1").await.map(drop),
        "get_users_by_role" => client.get_users_by_role("r1").await.map(drop),
        "add_user_to_role" => {
            let data = AddUserRoleData {
                user_id: "u1".into(),
                role_id: "r1".into(),
            };
            client.add_user_to_role(&data).await
        }
        "add_users_to_role" => {
            let data = AddUsersRoleData {
                user_ids: vec!["u1".into()],
                role_id: "r1".into(),
            };
            all_ok(client.add_users_to_role(&data).await?)
        }
        "update_user_roles" => {
            let data = UserRolesData {
                user_id: "u1".into(),
                roles_to_add: vec!["r1".into()],
                roles_to_remove: vec![],
            };
            client.update_user_roles(&data).await.map(drop)
        }
        "update_user_db" => {
            let data = UpdateUserDb {
                id: "u1".into(),
                profile_id: Some(None),
                ..UpdateUserDb::default()
            };
            client.update_user_db(&data).await
        }
        other => panic!("no call for {other}"),
    }
}

/// Answers that are right for some methods (a bare token text, a null private
/// profile, a list that is empty): the call may succeed there.
fn legitimately_accepted(method: &str, bad: &str) -> bool {
    let list = matches!(
        method,
        "get_all_tenants"
            | "get_all_profiles"
            | "get_all_profiles_by_tenant_id"
            | "get_all_roles_by_profile_id"
            | "update_roles_by_profile_id"
            | "get_all_non_private_roles_by_tenant"
            | "get_roles_by_name"
            | "get_all_users_by_tenant"
            | "get_all_users_data_by_tenant_and_licence_type"
            | "get_users_by_name"
            | "get_all_roles_by_user"
            | "get_users_by_role"
            | "update_user_roles"
    );
    match bad {
        // `auth/*` answers a bare token: these texts look like one.
        "json null" | "string" => matches!(method, "authenticate_user" | "authenticate"),
        "data null" => method == "get_private_profile_id_for_user",
        // `{"data": "<token>"}` is a tolerated spelling of the token answer.
        "data string" => matches!(
            method,
            "get_default_tenant"
                | "get_private_profile_id_for_user"
                | "authenticate_user"
                | "authenticate"
        ),
        "data array" => list,
        _ => false,
    }
}

#[tokio::test]
async fn malformed_answers_become_typed_errors_on_every_endpoint() {
    let server = MockServer::start().await;
    let client = wiremock_client(&server);
    let mut failures = Vec::new();
    let mut checked = 0;
    let answers = bad_answers();
    for bad in &answers {
        server.reset().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(
                ResponseTemplate::new(bad.status).set_body_raw(bad.body.clone(), bad.content_type),
            )
            .mount(&server)
            .await;
        for name in ALL_METHODS {
            let outcome = AssertUnwindSafe(call_plain(&client, name))
                .catch_unwind()
                .await;
            checked += 1;
            let problem = match outcome {
                Err(_) => Some("panicked".to_owned()),
                Ok(Ok(())) if legitimately_accepted(name, bad.name) => None,
                Ok(Ok(())) => Some("accepted the answer".to_owned()),
                Ok(Err(e)) => {
                    let text = e.to_string();
                    if text.len() > 4_000 {
                        Some(format!("error message of {} bytes", text.len()))
                    } else if matches!(e, Error::Transport { .. }) {
                        Some(format!("an HTTP answer read as a transport error: {text}"))
                    } else {
                        None
                    }
                }
            };
            if let Some(p) = problem {
                failures.push(format!("{name} on {}: {p}", bad.name));
            }
        }
    }
    println!(
        "pyramid malformed answers: {} answers x {} methods = {checked} calls",
        answers.len(),
        ALL_METHODS.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn wiremock_client(server: &MockServer) -> PyramidClient {
    let mut config = PyramidConfig::new(server.uri(), "admin", Secret::new("pw-s3cret!"))
        .with_options(ClientOptions::new("pyramid", server.uri()).retry(RetryPolicy::none()));
    config.token = Some(Secret::new("dG9rZW4tb25l"));
    PyramidClient::new(&config).expect("client")
}

async fn answering(body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_owned(), "application/json"))
        .mount(&server)
        .await;
    server
}

/// Bug found by the malformed answers: serde reads a struct from a JSON array, so
/// `{"data":[]}` decoded as an empty `ModifiedItemsResult` and every write
/// (`deleteRole`, `addUserToRole`, `updateUserDb`, …) reported success. Fixed in
/// `PyramidClient::write`.
#[tokio::test]
async fn regression_array_data_is_not_a_successful_write() {
    for body in [r#"{"data":[]}"#, r#"{"data":[true,"x",[]]}"#] {
        let server = answering(body).await;
        let client = wiremock_client(&server);
        let err = client.delete_role("r1").await.expect_err(body);
        assert!(matches!(err, Error::Decode { .. }), "{body}: {err}");
        let data = AddUserRoleData {
            user_id: "u1".into(),
            role_id: "r1".into(),
        };
        let err = client.add_user_to_role(&data).await.expect_err(body);
        assert!(matches!(err, Error::Decode { .. }), "{body}: {err}");
        let err = client.create_role(&role("R", "t1")).await.expect_err(body);
        assert!(matches!(err, Error::Decode { .. }), "{body}: {err}");
    }
}

/// Bug found by the malformed answers: a `success` flag of the wrong type
/// (`"success":"false"`) failed to parse, was replaced by a default (no failure) and
/// the refusal was read as the object asked for. Fixed in `decode`.
#[tokio::test]
async fn regression_mistyped_success_flag_is_a_decode_error() {
    let body = r#"{"data":{"success":"false","errorMessage":"no such role"}}"#;
    let server = answering(body).await;
    let client = wiremock_client(&server);
    let err = client.get_role_by_id("r1").await.expect_err("garbled");
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    let err = client.get_tenant_by_name("T").await.expect_err("garbled");
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    // A well-typed refusal is still the vendor's error with its message.
    let server = answering(r#"{"data":{"success":false,"errorMessage":"no such role"}}"#).await;
    let client = wiremock_client(&server);
    let err = client.get_role_by_id("r1").await.expect_err("refused");
    assert!(
        matches!(&err, Error::Vendor { message, .. } if message.contains("no such role")),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------
// Section 3: arbitrary JSON into every public wire type.

/// The wire field names, so generated objects reach the fields and not only the
/// "unknown field" path.
const FIELD_NAMES: &[&str] = &[
    "data",
    "error",
    "success",
    "errorMessage",
    "modifiedList",
    "id",
    "name",
    "profileId",
    "description",
    "tenantId",
    "permissions",
    "permissionBitIndexList",
    "numeric",
    "rolesToAdd",
    "rolesToRemove",
    "roleId",
    "roleName",
    "roleSettings",
    "isHidden",
    "isPrivate",
    "isGroupRole",
    "createdBy",
    "searchValue",
    "searchMatchType",
    "userId",
    "userIds",
    "email",
    "firstName",
    "lastName",
    "roleIds",
    "statusID",
    "statusId",
    "userName",
    "username",
    "phone",
    "adminType",
    "clientLicenseType",
    "createdDate",
    "lastLoginDate",
    "viewerSeats",
    "usedViewerSeats",
    "proSeats",
    "usedProSeats",
    "showGroupFolder",
    "password",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (0i64..30).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        let key = prop_oneof![
            4 => proptest::sample::select(FIELD_NAMES).prop_map(str::to_owned),
            1 => ".{0,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key, inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Deserializes `value` into `T` from the value and from its text: errors are fine,
/// a panic fails the property.
fn feed<T: serde::de::DeserializeOwned>(value: &Value, text: &str) {
    let _ = serde_json::from_value::<T>(value.clone());
    let _ = serde_json::from_str::<T>(text);
}

macro_rules! feed_all {
    ($value:expr, $text:expr; $($t:ty),* $(,)?) => {{
        let mut n = 0usize;
        $( feed::<$t>($value, $text); feed::<Envelope<$t>>($value, $text); n += 1; )*
        n
    }};
}

/// Every public wire type of `grantbridge_pyramid::wire` with `Deserialize`, each
/// also inside `Envelope<…>` and the lists the client reads; returns how many.
fn feed_every_wire_type(value: &Value) -> usize {
    let text = value.to_string();
    let text = text.as_str();
    let n = feed_all!(value, text;
        ModifiedItemsResult, ItemId, ProfilePermissionHolder, ProfileApiData,
        ProfileRolesData, RoleData, NewRole, SearchCriteria, AddUserRoleData,
        AddUsersRoleData, UserRolesData, UpdateUserDb, UserObject, TenantUsersGetObject,
        TenantData, NewTenant, UserCredentials, AdminType, ClientLicenseType,
        UserStatusId, SearchMatchType, PermissionRules,
        Vec<ItemId>, Vec<RoleData>, Vec<UserObject>, Vec<TenantData>,
        Vec<ProfileApiData>, String,
    );
    // The holder's permission bits are parsed on top of serde.
    if let Ok(holder) = serde_json::from_value::<ProfilePermissionHolder>(value.clone()) {
        let _ = holder.to_set();
    }
    n
}

proptest! {
    // The default config reads PROPTEST_CASES; failures print their input instead of
    // writing a regressions file.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_json_never_panics_a_wire_type(value in arb_json()) {
        prop_assert_eq!(feed_every_wire_type(&value), 28);
    }
}
