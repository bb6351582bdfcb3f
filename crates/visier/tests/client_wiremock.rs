//! The exact requests the client sends: method, path, query, headers and JSON body of
//! each of the ten Profiles operations, the Users/permission calls, and every auth flow
//! (ASID login, OAuth password grant, refresh before expiry, one renewal on 401).

use grantbridge_core::http::{RetryPolicy, Secret};
use grantbridge_core::{Error, ErrorKind, TenantCode};
use grantbridge_visier::wire::*;
use grantbridge_visier::{UsersQuery, VisierClient, VisierConfig, VisierCredentials};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const PROFILE: &str = "07ca543c-b64b-3fab-a8c1-02655ae47ecd";
const APROFILE: &str = "af1e7ba4-eef0-41db-9e44-5bac6151cd14";
const USER: &str = "82424d8b-f99c-cd4d-9ac7-568919d9a0e4";

fn config(server: &MockServer, creds: VisierCredentials) -> VisierConfig {
    VisierConfig::new(server.uri(), creds)
        .with_options(VisierConfig::default_options(&server.uri()).retry(RetryPolicy::none()))
}

fn preset(server: &MockServer) -> VisierClient {
    VisierClient::new(
        &config(
            server,
            VisierCredentials::asid_token("the-api-key", "preset-asid-token"),
        )
        .with_tenant(Some(TenantCode::new("WFF_j1r~c7o").expect("code"))),
    )
    .expect("client")
}

/// Answers everything with `body`; unexpected requests are still recorded.
async fn answer_all(server: &MockServer, body: Value) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_names(r: &Request) -> Vec<String> {
    let mut names: Vec<String> = r.headers.keys().map(|k| k.as_str().to_owned()).collect();
    names.sort();
    names
}

/// Pins one request: method, path+query, the credential headers, TargetTenantID
/// presence, and the JSON body (or its absence).
fn pin(r: &Request, m: &str, target: &str, tenant: bool, body: Option<Value>) {
    assert_eq!(r.method.as_str(), m, "{target}");
    let got = match r.url.query() {
        Some(q) => format!("{}?{q}", r.url.path()),
        None => r.url.path().to_owned(),
    };
    assert_eq!(got, target);
    assert_eq!(header(r, "apikey"), Some("the-api-key"), "{target}");
    assert_eq!(
        header(r, "cookie"),
        Some("VisierASIDToken=preset-asid-token"),
        "{target}"
    );
    assert_eq!(
        header(r, "authorization"),
        None,
        "exactly one credential: {target}"
    );
    assert_eq!(header(r, "accept"), Some("application/json"), "{target}");
    assert_eq!(
        header(r, "targettenantid"),
        tenant.then_some("WFF_j1r~c7o"),
        "TargetTenantID on {target}"
    );
    match body {
        Some(want) => {
            assert_eq!(
                header(r, "content-type"),
                Some("application/json"),
                "{target}"
            );
            assert_eq!(
                header(r, "content-length").map(str::to_owned),
                Some(r.body.len().to_string()),
                "{target}: Content-Length set, no chunking"
            );
            let got: Value = serde_json::from_slice(&r.body).expect("JSON body");
            assert_eq!(got, want, "{target}");
        }
        None => {
            assert!(r.body.is_empty(), "{target}: no body");
            assert_eq!(header(r, "content-type"), None, "{target}");
        }
    }
}

#[tokio::test]
async fn the_ten_profile_operations_send_exactly_what_the_spec_says() {
    let server = MockServer::start().await;
    answer_all(&server, json!({})).await;
    let c = preset(&server);
    let users = vec![
        "1f4a7176-7f45-0147-b21f-472ae2167285".to_owned(),
        "33ba5517-e4dc-a548-8d5f-b43f7a412506".to_owned(),
    ];
    let tenants = vec![
        TargetTenantCodeDto {
            tenant_code: Some("WFF_j1r".into()),
            for_all_children: Some(true),
        },
        TargetTenantCodeDto {
            tenant_code: Some("WFF_j1r~d8p".into()),
            for_all_children: None,
        },
    ];
    c.get_all_profiles().await.expect("1");
    c.get_profile_detail(PROFILE).await.expect("2");
    c.get_analytic_profiles().await.expect("3");
    c.get_analytic_profile_detail(APROFILE).await.expect("4");
    c.get_user_profile(USER).await.expect("5");
    c.get_analytic_user_profile(USER).await.expect("6");
    c.assign_profile(
        PROFILE,
        &LocalTenantProfileAssignmentRequestDto {
            target_user_ids: users.clone(),
            validity_start_time: Some(Millis(1_571_122_800_000)),
            validity_end_time: Some(Millis(1_571_727_600_000)),
        },
    )
    .await
    .expect("7");
    c.assign_analytic_profile(
        APROFILE,
        &AccessibleTenantProfileAssignmentRequestDto {
            target_user_ids: users.clone(),
            target_tenant_codes: tenants.clone(),
            validity_start_time: Some(Millis::NO_START),
            validity_end_time: Some(Millis::PERMANENT),
        },
    )
    .await
    .expect("8");
    c.remove_profile(
        PROFILE,
        &LocalTenantProfileRevokeRequestDto {
            target_user_ids: users.clone(),
        },
    )
    .await
    .expect("9");
    c.remove_analytic_profile(
        APROFILE,
        &AccessibleTenantProfileRevokeRequestDto {
            target_user_ids: users.clone(),
            target_tenant_codes: tenants[..1].to_vec(),
        },
    )
    .await
    .expect("10");

    let got = server.received_requests().await.expect("recorded");
    assert_eq!(got.len(), 10);
    pin(&got[0], "GET", "/v1/admin/profiles", true, None);
    pin(
        &got[1],
        "GET",
        &format!("/v1/admin/profiles/{PROFILE}"),
        true,
        None,
    );
    pin(
        &got[2],
        "GET",
        "/v1/admin/profiles/accessible-tenants",
        false,
        None,
    );
    pin(
        &got[3],
        "GET",
        &format!("/v1/admin/profiles/accessible-tenants/{APROFILE}"),
        false,
        None,
    );
    pin(
        &got[4],
        "GET",
        &format!("/v1/admin/users/{USER}/profiles"),
        true,
        None,
    );
    pin(
        &got[5],
        "GET",
        &format!("/v1/admin/users/{USER}/accessible-tenant-profiles"),
        false,
        None,
    );
    pin(
        &got[6],
        "PUT",
        &format!("/v1/admin/profiles/{PROFILE}/assign"),
        true,
        Some(
            json!({"targetUserIds": users, "validityStartTime": "1571122800000", "validityEndTime": "1571727600000"}),
        ),
    );
    pin(
        &got[7],
        "PUT",
        &format!("/v1/admin/profiles/accessible-tenants/{APROFILE}/assign"),
        false,
        Some(json!({"targetUserIds": users,
            "targetTenantCodes": [{"tenantCode": "WFF_j1r", "forAllChildren": true}, {"tenantCode": "WFF_j1r~d8p"}],
            "validityStartTime": "-9223372036854775808", "validityEndTime": "9223372036854775807"})),
    );
    pin(
        &got[8],
        "DELETE",
        &format!("/v1/admin/profiles/{PROFILE}/remove"),
        true,
        Some(json!({"targetUserIds": users})),
    );
    pin(
        &got[9],
        "DELETE",
        &format!("/v1/admin/profiles/accessible-tenants/{APROFILE}/remove"),
        true,
        Some(
            json!({"targetUserIds": users, "targetTenantCodes": [{"tenantCode": "WFF_j1r", "forAllChildren": true}]}),
        ),
    );
    // No other headers sneak in (e.g. a second credential).
    let names = header_names(&got[6]);
    for n in &names {
        assert!(
            [
                "accept",
                "apikey",
                "content-length",
                "content-type",
                "cookie",
                "host",
                "targettenantid",
                "user-agent"
            ]
            .contains(&n.as_str()),
            "unexpected header {n}"
        );
    }
}

#[tokio::test]
async fn users_groups_and_permissions_requests() {
    let server = MockServer::start().await;
    answer_all(&server, json!({})).await;
    let c = preset(&server).with_target_tenant(None);
    c.get_all_users(&UsersQuery {
        tenant_code: Some("WFF_j1r~c7o".into()),
        assigned_profiles: Some(true),
        assigned_permissions: Some(false),
        limit: Some(1),
        start: Some(0),
        ..UsersQuery::default()
    })
    .await
    .expect("users");
    c.assign_permissions(&AssignRevokePermissionsRequestDto {
        permissions: vec![PermissionUsersDto {
            permission_id: Some("perm-1".into()),
            user_ids: vec!["u1".into()],
        }],
        target_project_for_tenants_list: None,
    })
    .await
    .expect("perm");
    c.remove_users_from_user_groups(&UsersToUserGroupsRequestDto {
        user_groups: vec![UserGroupUsersDto {
            user_group_id: Some("g/1".into()),
            user_ids: vec!["u1".into()],
        }],
        target_project_for_tenants_list: None,
    })
    .await
    .expect("groups");
    c.get_user_group_users("g/1", None, Some(100), Some(0))
        .await
        .expect("members");
    let got = server.received_requests().await.expect("recorded");
    // `~` may go out as `%7E`: both are the same character to a server.
    let q = got[0].url.query().expect("query").replace("%7E", "~");
    assert_eq!(
        q,
        "tenantCode=WFF_j1r~c7o&assignedProfiles=true&assignedPermissions=false&limit=1&start=0"
    );
    assert_eq!(header(&got[0], "targettenantid"), None);
    assert_eq!(got[1].method.as_str(), "PUT");
    assert_eq!(got[1].url.path(), "/v1/admin/permissions/users");
    assert_eq!(
        serde_json::from_slice::<Value>(&got[1].body).expect("json"),
        json!({"permissions": [{"permissionId": "perm-1", "userIds": ["u1"]}]})
    );
    assert_eq!(got[2].method.as_str(), "DELETE");
    assert_eq!(got[2].url.path(), "/v1/admin/user-groups/users");
    assert_eq!(
        serde_json::from_slice::<Value>(&got[2].body).expect("json"),
        json!({"userGroups": [{"userGroupId": "g/1", "userIds": ["u1"]}]})
    );
    assert_eq!(got[3].url.path(), "/v1/admin/user-groups/g%2F1/users");
}

#[tokio::test]
async fn hostile_ids_never_leave_their_path_segment() {
    let server = MockServer::start().await;
    answer_all(&server, json!({})).await;
    let c = preset(&server);
    for id in ["../../admin", "a/b c", "x?y=1#f", "%2F", "ü;,"] {
        c.get_user_profile(id).await.expect("sent");
    }
    let got = server.received_requests().await.expect("recorded");
    let paths: Vec<&str> = got.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        paths,
        [
            "/v1/admin/users/..%2F..%2Fadmin/profiles",
            "/v1/admin/users/a%2Fb%20c/profiles",
            "/v1/admin/users/x%3Fy%3D1%23f/profiles",
            "/v1/admin/users/%252F/profiles",
            "/v1/admin/users/%C3%BC%3B%2C/profiles",
        ]
    );
    assert!(got.iter().all(|r| r.url.query().is_none()));
    // Ids that cannot be one segment are refused before anything is sent.
    for id in ["", ".", ".."] {
        let err = c.get_profile_detail(id).await.expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{id:?}");
    }
    assert_eq!(server.received_requests().await.expect("recorded").len(), 5);
}

#[tokio::test]
async fn paging_stops_on_a_short_page_and_refuses_a_repeated_one() {
    use futures::TryStreamExt;
    let server = MockServer::start().await;
    let user = |i: usize| json!({"userId": format!("u{i}")});
    Mock::given(method("GET"))
        .and(path("/v1/admin/users"))
        .respond_with(move |r: &Request| {
            let start: usize = r
                .url
                .query_pairs()
                .find(|(k, _)| k == "start")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let n = if start < 4 { 2 } else { 1 };
            let users: Vec<Value> = (start..start + n).map(user).collect();
            ResponseTemplate::new(200)
                .set_body_json(json!({"users": users, "limit": 2, "start": start}))
        })
        .mount(&server)
        .await;
    let c = preset(&server);
    let all: Vec<UserGetApiResponseDto> = c
        .stream_users(UsersQuery {
            limit: Some(2),
            ..UsersQuery::default()
        })
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(all.len(), 5);
    assert_eq!(server.received_requests().await.expect("r").len(), 3);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/admin/users"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"users": [user(0), user(1)]})),
        )
        .mount(&server)
        .await;
    let err = preset(&server)
        .stream_users(UsersQuery {
            limit: Some(2),
            ..UsersQuery::default()
        })
        .try_collect::<Vec<_>>()
        .await
        .expect_err("a server ignoring start must not loop forever");
    assert_eq!(err.kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn error_bodies_keep_the_vendor_message_code_and_rci() {
    let server = MockServer::start().await;
    Mock::given(path(format!("/v1/admin/profiles/{PROFILE}")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "code": "USER_INPUT_ERROR", "localizedMessage": "Synthetic: profile not found",
            "message": "", "rci": "RCI0000000", "userError": true})))
        .mount(&server)
        .await;
    Mock::given(path("/v1/admin/profiles"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><title>Oops</title></html>"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v1/admin/profiles/accessible-tenants"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"code": 7, "message": "denied"})),
        )
        .mount(&server)
        .await;
    let c = preset(&server);
    match c.get_profile_detail(PROFILE).await.expect_err("404") {
        Error::Vendor {
            status,
            code,
            message,
            request_id,
            ..
        } => {
            assert_eq!(status, 404);
            assert_eq!(code.as_deref(), Some("USER_INPUT_ERROR"));
            assert_eq!(message, "Synthetic: profile not found");
            assert_eq!(request_id.as_deref(), Some("RCI0000000"));
        }
        other => panic!("{other:?}"),
    }
    match c.get_all_profiles().await.expect_err("500") {
        Error::Vendor {
            status: 500,
            message,
            ..
        } => assert!(message.contains("Oops"), "{message}"),
        other => panic!("{other:?}"),
    }
    let e = c.get_analytic_profiles().await.expect_err("403");
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert!(e.to_string().contains("denied"), "{e}");
}

// -- Auth flows --------------------------------------------------------------------

fn form(r: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&r.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn asid_login_then_cookie_on_every_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/admin/visierSecureToken"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/plain")
                .set_body_string("asid-token-1\n"),
        )
        .expect(1)
        .mount(&server)
        .await;
    answer_all(&server, json!({"profiles": []})).await;
    let c = VisierClient::new(&config(
        &server,
        VisierCredentials::password("the-api-key", "probe.user@example.com", "p@ss w&rd=1"),
    ))
    .expect("client");
    c.get_all_profiles().await.expect("1");
    c.get_analytic_profiles().await.expect("2");
    let got = server.received_requests().await.expect("r");
    assert_eq!(got.len(), 3, "one login for two calls");
    let login = &got[0];
    assert_eq!(login.method.as_str(), "POST");
    assert_eq!(
        header(login, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(header(login, "apikey"), Some("the-api-key"));
    assert_eq!(header(login, "cookie"), None);
    assert_eq!(
        std::str::from_utf8(&login.body).expect("utf8"),
        "username=probe.user%40example.com&password=p%40ss+w%26rd%3D1"
    );
    for call in &got[1..] {
        assert_eq!(header(call, "cookie"), Some("VisierASIDToken=asid-token-1"));
        assert_eq!(header(call, "apikey"), Some("the-api-key"));
        assert_eq!(header(call, "authorization"), None);
    }
}

async fn oauth_server(expires_in: i64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/oauth2/token"))
        .respond_with(move |r: &Request| {
            let f = form(r);
            let grant = f
                .iter()
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v.clone());
            let (access, refresh) = match grant.as_deref() {
                Some("password") => ("access-1", "refresh-1"),
                Some("refresh_token") => ("access-2", "refresh-2"),
                _ => {
                    return ResponseTemplate::new(400)
                        .set_body_json(json!({"error": "unsupported_grant_type"}));
                }
            };
            ResponseTemplate::new(200).set_body_json(json!({
                "access_token": access, "refresh_token": refresh, "id_token": "id",
                "token_type": "Bearer", "expires_in": expires_in}))
        })
        .mount(&server)
        .await;
    answer_all(&server, json!({"profiles": []})).await;
    server
}

fn oauth_client(server: &MockServer) -> VisierClient {
    VisierClient::new(&config(
        server,
        VisierCredentials::oauth2_password(
            "the-api-key",
            "probe-client",
            "s3cr/et+x",
            "probe.user@example.com",
            "p@ss w&rd=1",
        ),
    ))
    .expect("client")
}

#[tokio::test]
async fn oauth_password_grant_then_bearer() {
    let server = oauth_server(3600).await;
    let c = oauth_client(&server);
    c.get_all_profiles().await.expect("1");
    c.get_all_profiles().await.expect("2");
    let got = server.received_requests().await.expect("r");
    assert_eq!(got.len(), 3, "the token is reused while valid");
    let t = &got[0];
    assert_eq!(t.url.path(), "/v1/auth/oauth2/token");
    assert_eq!(header(t, "apikey"), Some("the-api-key"));
    assert_eq!(
        header(t, "authorization"),
        Some("Basic cHJvYmUtY2xpZW50OnMzY3IlMkZldCUyQng="),
        "HTTP Basic over client_id:urlencode(secret), as the official SDK"
    );
    assert_eq!(
        std::str::from_utf8(&t.body).expect("utf8"),
        "grant_type=password&client_id=probe-client&username=probe.user%40example.com&password=p%40ss+w%26rd%3D1"
    );
    for call in &got[1..] {
        assert_eq!(header(call, "authorization"), Some("Bearer access-1"));
        assert_eq!(header(call, "cookie"), None);
    }
}

#[tokio::test]
async fn oauth_token_is_refreshed_before_it_expires() {
    // A token living 30 s is inside the 60 s renewal margin from the start: the next
    // call renews it with the refresh-token grant instead of risking a 401.
    let server = oauth_server(30).await;
    let c = oauth_client(&server);
    c.get_all_profiles().await.expect("1");
    c.get_all_profiles().await.expect("2");
    let got = server.received_requests().await.expect("r");
    let kinds: Vec<String> = got
        .iter()
        .map(|r| match r.url.path() {
            "/v1/auth/oauth2/token" => form(r)
                .into_iter()
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v)
                .unwrap_or_default(),
            _ => header(r, "authorization").unwrap_or_default().to_owned(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "password",
            "Bearer access-1",
            "refresh_token",
            "Bearer access-2"
        ]
    );
    let refresh = form(&got[2]);
    assert!(
        refresh.contains(&("refresh_token".into(), "refresh-1".into())),
        "{refresh:?}"
    );
    assert!(refresh.contains(&("client_id".into(), "probe-client".into())));
}

#[tokio::test]
async fn a_401_renews_once_then_surfaces_with_its_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/admin/visierSecureToken"))
        .respond_with(ResponseTemplate::new(200).set_body_string("asid-token"))
        .mount(&server)
        .await;
    // First attempt 401, the retry with a fresh token succeeds.
    Mock::given(path("/v1/admin/profiles"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "code": "AUTHENTICATION_ERROR", "localizedMessage": "Credentials expired", "rci": "RCI42"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/admin/profiles"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"profiles": []})))
        .mount(&server)
        .await;
    Mock::given(path("/v1/admin/profiles/force-401"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "code": "AUTHENTICATION_ERROR", "localizedMessage": "Credentials expired", "rci": "RCI42"})))
        .mount(&server)
        .await;
    let c = VisierClient::new(&config(
        &server,
        VisierCredentials::password("k-123", "u", "password-1"),
    ))
    .expect("client");
    c.get_all_profiles()
        .await
        .expect("renewed once and succeeded");
    let logins = |g: &[Request]| g.iter().filter(|r| r.method.as_str() == "POST").count();
    let got = server.received_requests().await.expect("r");
    assert_eq!(got.len(), 4, "login, 401, login, 200");
    assert_eq!(logins(&got), 2);

    let err = c
        .get_profile_detail("force-401")
        .await
        .expect_err("401 twice");
    let got = server.received_requests().await.expect("r");
    assert_eq!(got.len(), 4 + 3, "401, one login, 401: no loop");
    assert_eq!(logins(&got), 3);
    match &err {
        Error::Authentication { message } => {
            assert!(message.contains("401"), "{message}");
            assert!(message.contains("Credentials expired"), "{message}");
            assert!(message.contains("RCI42"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("password-1") && !err.to_string().contains("asid-token"));
}

#[tokio::test]
async fn a_supplied_token_is_not_renewed_and_a_refused_login_is_typed() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/admin/profiles"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"localizedMessage": "expired"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v1/admin/visierSecureToken"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"localizedMessage": "bad password"})),
        )
        .mount(&server)
        .await;
    let c = VisierClient::new(&config(
        &server,
        VisierCredentials::bearer_token("k", "supplied-jwt"),
    ))
    .expect("client");
    let err = c.get_all_profiles().await.expect_err("401");
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(server.received_requests().await.expect("r").len(), 1);

    let c = VisierClient::new(&config(
        &server,
        VisierCredentials::password("k", "u", Secret::new("wrong-password")),
    ))
    .expect("client");
    let err = c.get_all_profiles().await.expect_err("login refused");
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert!(err.to_string().contains("bad password"), "{err}");
    assert!(!err.to_string().contains("wrong-password"));
}

#[tokio::test]
async fn rate_limit_headers_and_429_are_honoured() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/admin/profiles"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-RateLimit-Remaining-Minute", "0")
                .set_body_json(
                    json!({"code": "RATE_LIMIT_EXCEEDED", "localizedMessage": "slow down"}),
                ),
        )
        .mount(&server)
        .await;
    let err = preset(&server).get_all_profiles().await.expect_err("429");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
}
