//! The client sends exactly what the spec documents: method, path, query string and
//! JSON body of every operation are pinned here; error paths map to typed errors.

use std::time::Duration;

use futures::TryStreamExt;
use grantbridge_core::http::{RateLimit, RetryPolicy, Secret};
use grantbridge_core::{Error, ErrorKind};
use grantbridge_segment::wire::*;
use grantbridge_segment::{SegmentClient, SegmentConfig};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "sgp_wiremock_token_1234";

/// Matches the raw query string exactly (`None`: no query at all).
fn raw_query(expected: Option<&'static str>) -> impl Fn(&Request) -> bool {
    move |req: &Request| req.url.query() == expected
}

/// Matches the JSON body exactly (`None`: an empty body).
fn body(expected: Option<Value>) -> impl Fn(&Request) -> bool {
    move |req: &Request| match &expected {
        None => req.body.is_empty(),
        Some(v) => serde_json::from_slice::<Value>(&req.body).ok().as_ref() == Some(v),
    }
}

async fn setup() -> (MockServer, SegmentClient) {
    let server = MockServer::start().await;
    // Anything not pinned below fails loudly.
    Mock::given(|_: &Request| true)
        .respond_with(ResponseTemplate::new(599).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    let mut config = SegmentConfig::new(server.uri(), Secret::new(TOKEN))
        .with_mutation_limit(RateLimit::per_second(1000));
    config.options = config.options.retry(RetryPolicy::none());
    let client = SegmentClient::new(&config).expect("client");
    (server, client)
}

fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "data": data }))
}

async fn expect(
    server: &MockServer,
    m: &'static str,
    p: &'static str,
    query: Option<&'static str>,
    json_body: Option<Value>,
    response: ResponseTemplate,
) {
    Mock::given(method(m))
        .and(path(p))
        .and(raw_query(query))
        .and(body(json_body))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

fn perm(role: &str, kind: ResourceType, id: &str, labels: &[(&str, &str)]) -> PermissionInput {
    PermissionInput {
        role_id: role.into(),
        resources: vec![PermissionResource {
            id: id.into(),
            kind,
            labels: labels.iter().map(|(k, v)| Label::new(*k, *v)).collect(),
        }],
    }
}

fn user_json(id: &str, email: &str) -> Value {
    json!({"id": id, "name": id, "email": email, "permissions": []})
}

fn group_json(id: &str) -> Value {
    json!({"id": id, "name": "G", "memberCount": 1, "permissions": []})
}

#[tokio::test]
async fn user_operations_are_pinned() {
    let (server, client) = setup().await;
    let perms = vec![
        perm(
            "1aEW",
            ResourceType::Workspace,
            "9aQ1",
            &[("environment", "prod")],
        ),
        perm("2TiI", ResourceType::Source, "rh5B", &[]),
    ];
    let perms_json = json!({"permissions": [
        {"roleId": "1aEW", "resources": [{"id": "9aQ1", "type": "WORKSPACE",
            "labels": [{"key": "environment", "value": "prod"}]}]},
        {"roleId": "2TiI", "resources": [{"id": "rh5B", "type": "SOURCE"}]}]});
    let echo = ok(json!({"permissions": [{"roleId": "1aEW", "roleName": "R",
        "resources": [{"id": "9aQ1", "type": "WORKSPACE"}]}]}));
    expect(
        &server,
        "POST",
        "/users/u%2F1/permissions",
        None,
        Some(perms_json.clone()),
        echo.clone(),
    )
    .await;
    expect(
        &server,
        "PUT",
        "/users/u%2F1/permissions",
        None,
        Some(perms_json),
        echo.clone(),
    )
    .await;
    expect(
        &server,
        "PUT",
        "/users/u2/permissions",
        None,
        Some(json!({"permissions": []})),
        echo,
    )
    .await;
    assert_eq!(
        client
            .add_permissions_to_user("u/1", &perms)
            .await
            .expect("add")
            .permissions
            .len(),
        1
    );
    client
        .replace_permissions_for_user("u/1", &perms)
        .await
        .expect("replace");
    client
        .replace_permissions_for_user("u2", &[])
        .await
        .expect("replace empty");

    expect(
        &server,
        "POST",
        "/invites",
        None,
        Some(json!({"invites": [
        {"email": "new@example.com", "permissions": [{"roleId": "r",
            "resources": [{"id": "w", "type": "WORKSPACE"}]}]},
        {"email": "l@example.com", "permissions": [{"roleId": "r",
            "labels": [{"key": "environment", "value": "prod"}]}]},
        {"email": "none@example.com"}]})),
        ResponseTemplate::new(201).set_body_json(json!({"data": {"emails": ["new@example.com"]}})),
    )
    .await;
    let invites = vec![
        Invite {
            email: "new@example.com".into(),
            permissions: Some(vec![InvitePermission {
                role_id: "r".into(),
                resources: Some(vec![Resource {
                    id: "w".into(),
                    kind: ResourceType::Workspace,
                }]),
                labels: None,
            }]),
        },
        Invite {
            email: "l@example.com".into(),
            permissions: Some(vec![InvitePermission {
                role_id: "r".into(),
                resources: None,
                labels: Some(vec![Label::new("environment", "prod")]),
            }]),
        },
        Invite {
            email: "none@example.com".into(),
            permissions: None,
        },
    ];
    assert_eq!(
        client
            .create_invites(&invites)
            .await
            .expect("201 is success")
            .emails
            .len(),
        1
    );

    let success = ok(json!({"status": "SUCCESS"}));
    expect(
        &server,
        "DELETE",
        "/invites",
        Some("emails.0=new.person%40example.com&emails.1=a%2Bb%40example.com"),
        None,
        success.clone(),
    )
    .await;
    client
        .delete_invites(&["new.person@example.com".into(), "a+b@example.com".into()])
        .await
        .expect("delete invites");
    expect(
        &server,
        "DELETE",
        "/users",
        Some("userIds.0=dLPz&userIds.1=q8Zk%3D"),
        None,
        success,
    )
    .await;
    client
        .delete_users(&["dLPz".into(), "q8Zk=".into()])
        .await
        .expect("delete users");

    expect(
        &server,
        "GET",
        "/users/a%2Fb%20c",
        None,
        None,
        ok(json!({"user": user_json("a/b c", "x@example.com")})),
    )
    .await;
    assert_eq!(client.get_user("a/b c").await.expect("get").id, "a/b c");

    expect(
        &server,
        "GET",
        "/users/u1/groups",
        Some("pagination.count=10"),
        None,
        ok(json!({"groups": [{"id": "g", "name": "G"}], "pagination": {"current": "MA=="}})),
    )
    .await;
    client
        .list_user_groups_from_user("u1", &PaginationInput::first(10))
        .await
        .expect("groups of user");

    expect(
        &server,
        "GET",
        "/invites",
        Some("pagination.count=10&pagination.cursor=Mg%3D%3D"),
        None,
        ok(json!({"invites": ["p@example.com"], "pagination": {"current": "Mg==", "next": null}})),
    )
    .await;
    let page = client
        .list_invites(&PaginationInput {
            count: 10,
            cursor: Some("Mg==".into()),
        })
        .await
        .expect("invites");
    assert_eq!(page.invites, ["p@example.com"]);

    expect(
        &server,
        "GET",
        "/users",
        Some("pagination.count=2"),
        None,
        ok(json!({"users": [user_json("a", "a@example.com")], "pagination": {"current": "MA=="}})),
    )
    .await;
    client
        .list_users(&PaginationInput::first(2))
        .await
        .expect("users");
    expect(&server, "GET", "/roles", Some("pagination.count=3"), None,
        ok(json!({"roles": [{"id": "r", "name": "Workspace Owner", "description": "d"}], "pagination": {"current": "MA=="}}))).await;
    client
        .list_roles(&PaginationInput::first(3))
        .await
        .expect("roles");
}

#[tokio::test]
async fn group_operations_are_pinned_with_the_singular_paths() {
    let (server, client) = setup().await;
    let g = ok(json!({"userGroup": group_json("g1")}));
    let success = ok(json!({"status": "SUCCESS"}));
    let emails = vec!["ada@example.com".to_owned(), "a+b@example.com".to_owned()];
    let emails_json = json!({"emails": ["ada@example.com", "a+b@example.com"]});
    expect(
        &server,
        "GET",
        "/groups",
        Some("pagination.count=10"),
        None,
        ok(json!({"userGroups": [group_json("g1")], "pagination": {"current": "MA=="}})),
    )
    .await;
    expect(&server, "GET", "/groups/g%201", None, None, g.clone()).await;
    expect(
        &server,
        "POST",
        "/groups",
        None,
        Some(json!({"name": "New Group"})),
        g.clone(),
    )
    .await;
    expect(
        &server,
        "PATCH",
        "/groups/g1",
        None,
        Some(json!({"name": "Renamed"})),
        g.clone(),
    )
    .await;
    expect(&server, "DELETE", "/groups/g1", None, None, success.clone()).await;
    expect(
        &server,
        "POST",
        "/groups/g1/users",
        None,
        Some(emails_json.clone()),
        g.clone(),
    )
    .await;
    expect(
        &server,
        "PUT",
        "/group/g1/users",
        None,
        Some(emails_json),
        g.clone(),
    )
    .await;
    expect(
        &server,
        "DELETE",
        "/group/g1/users",
        Some("emails.0=ada%40example.com&emails.1=a%2Bb%40example.com"),
        None,
        success,
    )
    .await;
    expect(&server, "GET", "/groups/g1/users", Some("pagination.count=10"), None,
        ok(json!({"users": [{"id": "u", "name": "U", "email": "u@example.com"}], "pagination": {"current": "MA=="}}))).await;
    expect(
        &server,
        "GET",
        "/groups/g1/invites",
        Some("pagination.count=10"),
        None,
        ok(json!({"emails": ["i@example.com"], "pagination": {"current": "MA=="}})),
    )
    .await;
    let perms = vec![perm("r", ResourceType::Space, "sp1", &[])];
    let perms_json =
        json!({"permissions": [{"roleId": "r", "resources": [{"id": "sp1", "type": "SPACE"}]}]});
    let echo = ok(json!({"permissions": []}));
    expect(
        &server,
        "POST",
        "/groups/g1/permissions",
        None,
        Some(perms_json.clone()),
        echo.clone(),
    )
    .await;
    expect(
        &server,
        "PUT",
        "/groups/g1/permissions",
        None,
        Some(perms_json),
        echo,
    )
    .await;

    client
        .list_user_groups(&PaginationInput::first(10))
        .await
        .expect("list");
    client.get_user_group("g 1").await.expect("get");
    client.create_user_group("New Group").await.expect("create");
    client
        .update_user_group("g1", "Renamed")
        .await
        .expect("rename");
    client.delete_user_group("g1").await.expect("delete");
    client
        .add_users_to_user_group("g1", &emails)
        .await
        .expect("add users");
    client
        .replace_users_in_user_group("g1", &emails)
        .await
        .expect("replace users");
    client
        .remove_users_from_user_group("g1", &emails)
        .await
        .expect("remove users");
    client
        .list_users_from_user_group("g1", &PaginationInput::first(10))
        .await
        .expect("members");
    client
        .list_invites_from_user_group("g1", &PaginationInput::first(10))
        .await
        .expect("invites");
    client
        .add_permissions_to_user_group("g1", &perms)
        .await
        .expect("add perms");
    client
        .replace_permissions_for_user_group("g1", &perms)
        .await
        .expect("replace perms");
}

#[tokio::test]
async fn workspace_and_resource_lists_are_pinned() {
    let (server, client) = setup().await;
    let page = json!({"current": "MA=="});
    expect(
        &server,
        "GET",
        "/",
        None,
        None,
        ok(json!({"workspace": {"id": "w", "slug": "s", "name": "n"}})),
    )
    .await;
    expect(&server, "GET", "/sources", Some("pagination.count=5"), None,
        ok(json!({"sources": [{"id": "s1", "slug": "web", "workspaceId": "w", "enabled": true,
            "writeKeys": ["k"], "labels": [{"key": "environment", "value": "prod"}], "metadata": {}}], "pagination": page}))).await;
    expect(&server, "GET", "/warehouses", Some("pagination.count=5"), None,
        ok(json!({"warehouses": [{"id": "wh", "workspaceId": "w", "enabled": true, "settings": {}, "metadata": {}}], "pagination": page}))).await;
    expect(
        &server,
        "GET",
        "/spaces",
        Some("pagination.count=5"),
        None,
        ok(json!({"spaces": [{"id": "sp", "slug": "x", "name": "X"}], "pagination": page})),
    )
    .await;
    expect(
        &server,
        "GET",
        "/functions",
        Some("resourceType=DESTINATION&pagination.count=5"),
        None,
        ok(json!({"functions": [{"id": "f", "displayName": "F"}], "pagination": page})),
    )
    .await;
    expect(
        &server,
        "GET",
        "/labels",
        None,
        None,
        ok(json!({"labels": [{"key": "environment", "value": "prod", "description": "d"}]})),
    )
    .await;
    assert_eq!(client.get_workspace().await.expect("ws").id, "w");
    let p = PaginationInput::first(5);
    assert_eq!(
        client.list_sources(&p).await.expect("sources").sources[0]
            .labels
            .len(),
        1
    );
    client.list_warehouses(&p).await.expect("warehouses");
    client.list_spaces(&p).await.expect("spaces");
    client
        .list_functions("DESTINATION", &p)
        .await
        .expect("functions");
    assert_eq!(client.list_labels().await.expect("labels").len(), 1);
}

#[tokio::test]
async fn streams_follow_next_until_absent_or_null() {
    let (server, client) = setup().await;
    expect(
        &server,
        "GET",
        "/users",
        Some("pagination.count=2"),
        None,
        ok(
            json!({"users": [user_json("a", "a@example.com"), user_json("b", "b@example.com")],
            "pagination": {"current": "MA==", "next": "Mg=="}}),
        ),
    )
    .await;
    expect(
        &server,
        "GET",
        "/users",
        Some("pagination.count=2&pagination.cursor=Mg%3D%3D"),
        None,
        ok(json!({"users": [user_json("c", "c@example.com")],
            "pagination": {"current": "Mg==", "previous": "MA=="}})),
    )
    .await;
    let users: Vec<User> = client
        .stream_users(2)
        .try_collect()
        .await
        .expect("all pages");
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);

    expect(&server, "GET", "/roles", Some("pagination.count=1"), None,
        ok(json!({"roles": [{"id": "r1", "name": "R1"}], "pagination": {"current": "MA==", "next": "MQ=="}}))).await;
    expect(&server, "GET", "/roles", Some("pagination.count=1&pagination.cursor=MQ%3D%3D"), None,
        ok(json!({"roles": [{"id": "r2", "name": "R2"}], "pagination": {"current": "MQ==", "next": null}}))).await;
    let roles: Vec<Role> = client
        .stream_roles(1)
        .try_collect()
        .await
        .expect("null next ends");
    assert_eq!(roles.len(), 2);
    assert_eq!(client.http().stats().requests, 4);
}

#[tokio::test]
async fn a_repeated_cursor_is_an_error_not_a_loop() {
    let (server, client) = setup().await;
    Mock::given(method("GET")).and(path("/groups"))
        .respond_with(ok(json!({"userGroups": [group_json("g")], "pagination": {"current": "MA==", "next": "MA=="}})))
        .mount(&server).await;
    let err = client
        .stream_user_groups(10)
        .try_collect::<Vec<_>>()
        .await
        .expect_err("loop");
    // Issue 14: one pagination guard in core, one error for every vendor.
    assert!(
        matches!(&err, Error::Decode { status: 200, message, .. }
            if message == "GET /groups repeated a page/cursor; stopping instead of looping"),
        "{err}"
    );
    assert_eq!(client.http().stats().requests, 1);

    // A cycle over two cursors is caught too.
    let (server, client) = setup().await;
    Mock::given(method("GET")).and(path("/invites")).and(raw_query(Some("pagination.count=1")))
        .respond_with(ok(json!({"invites": ["a@example.com"], "pagination": {"current": "MA==", "next": "MQ=="}})))
        .mount(&server).await;
    Mock::given(method("GET")).and(path("/invites")).and(raw_query(Some("pagination.count=1&pagination.cursor=MQ%3D%3D")))
        .respond_with(ok(json!({"invites": ["b@example.com"], "pagination": {"current": "MQ==", "next": "MA=="}})))
        .mount(&server).await;
    let err = client
        .stream_invites(1)
        .try_collect::<Vec<_>>()
        .await
        .expect_err("cycle");
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(client.http().stats().requests, 2);
}

#[tokio::test]
async fn validation_errors_keep_every_field() {
    let (server, client) = setup().await;
    Mock::given(method("GET")).and(path("/users"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({"errors": [
            {"type": "input-validation", "message": "\"count\" must be between 1 and 1000", "field": "pagination.count"},
            {"type": "input-validation", "message": "\"cursor\" is invalid", "field": "pagination.cursor"}]})))
        .mount(&server).await;
    let err = client
        .list_users(&PaginationInput::first(5))
        .await
        .expect_err("422");
    match &err {
        Error::Vendor {
            status: 422,
            code,
            message,
            ..
        } => {
            assert_eq!(code.as_deref(), Some("input-validation"));
            assert!(
                message.contains("pagination.count: \"count\" must be between 1 and 1000"),
                "{message}"
            );
            assert!(message.contains("pagination.cursor"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Out-of-range counts never reach the wire.
    for bad in [0, 1001] {
        let err = client
            .list_users(&PaginationInput::first(bad))
            .await
            .expect_err("count");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
    assert_eq!(client.http().stats().requests, 1);
}

#[tokio::test]
async fn not_found_is_typed_and_auth_failures_do_not_leak_the_token() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/users/notfound"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"errors": [{"type": "not-found", "message": "Resource not found"}]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/groups/nope"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"errors": [{"type": "not-found"}]})),
        )
        .mount(&server)
        .await;
    let err = client.get_user("notfound").await.expect_err("404");
    assert_eq!(
        err,
        Error::not_found(grantbridge_core::Entity::User, "notfound")
    );
    let err = client.get_user_group("nope").await.expect_err("404");
    assert_eq!(
        err,
        Error::not_found(grantbridge_core::Entity::Group, "nope")
    );

    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"errors": [{"type": "unauthorized",
            "message": format!("token {TOKEN} is invalid")}]})),
        )
        .mount(&server)
        .await;
    let err = client.get_workspace().await.expect_err("401");
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert!(!err.to_string().contains(TOKEN), "{err}");
    assert!(!format!("{err:?}").contains(TOKEN));
}

#[tokio::test]
async fn html_error_pages_become_vendor_errors() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/roles"))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("content-type", "text/html")
                .set_body_string(
                    "<html><head><title>502 Bad Gateway</title></head><body>oops</body></html>",
                ),
        )
        .mount(&server)
        .await;
    let err = client
        .list_roles(&PaginationInput::first(10))
        .await
        .expect_err("502");
    match &err {
        Error::Vendor {
            status: 502,
            message,
            ..
        } => assert!(message.contains("502 Bad Gateway"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
    // A 200 with an HTML body is a decode error, not a panic or an empty list.
    Mock::given(method("GET"))
        .and(path("/invites"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html>maintenance</html>"),
        )
        .mount(&server)
        .await;
    let err = client
        .list_invites(&PaginationInput::first(10))
        .await
        .expect_err("html");
    assert_eq!(err.kind(), ErrorKind::Decode);
}

fn rate_limited_body() -> Value {
    json!({"errors": [{"type": "RequestError", "message": "Too many requests",
        "data": {"remainingPoints": 0, "msBeforeNext": 57647, "consumedPoints": 21}}]})
}

#[tokio::test]
async fn rate_limits_carry_the_servers_wait() {
    let (server, client) = setup().await;
    // Retry-After wins over msBeforeNext.
    Mock::given(method("POST"))
        .and(path("/users/a/permissions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "7")
                .set_body_json(rate_limited_body()),
        )
        .mount(&server)
        .await;
    let err = client
        .add_permissions_to_user("a", &[])
        .await
        .expect_err("429");
    assert_eq!(
        err,
        Error::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    // Without Retry-After, the body's msBeforeNext. (Fresh clients: the limiter
    // rightly holds a class back after a 429 until the server's window reopens.)
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/users/b/permissions"))
        .respond_with(ResponseTemplate::new(429).set_body_json(rate_limited_body()))
        .mount(&server)
        .await;
    let err = client
        .add_permissions_to_user("b", &[])
        .await
        .expect_err("429");
    assert_eq!(err.retry_after(), Some(Duration::from_millis(57647)));
    // Only X-RateLimit-Reset: the time to the reset date.
    let (server, client) = setup().await;
    let reset = httpdate_in(Duration::from_secs(30));
    Mock::given(method("POST"))
        .and(path("/users/c/permissions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-reset", reset.as_str())
                .set_body_json(
                    json!({"errors": [{"type": "RequestError", "message": "Too many requests"}]}),
                ),
        )
        .mount(&server)
        .await;
    let err = client
        .add_permissions_to_user("c", &[])
        .await
        .expect_err("429");
    let wait = err.retry_after().expect("reset hint");
    assert!(
        wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
        "{wait:?}"
    );
}

fn httpdate_in(d: Duration) -> String {
    // RFC 7231 IMF-fixdate without a date crate: format via jiff.
    let at = jiff::Timestamp::now() + jiff::SignedDuration::try_from(d).expect("small");
    at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[tokio::test]
async fn a_429_is_retried_after_the_hint_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/users/u/permissions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(rate_limited_body()),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/users/u/permissions"))
        .respond_with(ok(json!({"permissions": []})))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = SegmentConfig::new(server.uri(), Secret::new(TOKEN));
    config.options = config
        .options
        .retry(RetryPolicy::default().delays(Duration::from_millis(1), Duration::from_millis(5)));
    let client = SegmentClient::new(&config).expect("client");
    client
        .replace_permissions_for_user("u", &[])
        .await
        .expect("retried");
    let stats = client.http().stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.rate_limited),
        (2, 1, 1)
    );
}

#[test]
fn config_debug_hides_the_token_and_options_must_match_the_url() {
    let config = SegmentConfig::new("https://eu1.api.segmentapis.com/", Secret::new(TOKEN));
    assert_eq!(config.base_url, grantbridge_segment::EU_BASE_URL);
    let dbg = format!("{config:?}");
    assert!(!dbg.contains(TOKEN), "{dbg}");
    assert!(dbg.contains("[redacted]"), "{dbg}");
    let mut moved = config.clone();
    moved.base_url = grantbridge_segment::US_BASE_URL.into();
    assert_eq!(
        SegmentClient::new(&moved).expect_err("mismatch").kind(),
        ErrorKind::InvalidInput
    );
    let plain = SegmentConfig::new("http://api.segmentapis.com", Secret::new(TOKEN));
    assert_eq!(
        SegmentClient::new(&plain).expect_err("http").kind(),
        ErrorKind::InvalidInput
    );
    let empty = SegmentConfig::us(Secret::new(""));
    assert_eq!(
        SegmentClient::new(&empty).expect_err("empty").kind(),
        ErrorKind::Authentication
    );
}

#[tokio::test]
async fn deletes_refuse_empty_lists_before_sending() {
    let (_server, client) = setup().await;
    assert_eq!(
        client.delete_users(&[]).await.expect_err("empty").kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        client
            .delete_invites(&["".into()])
            .await
            .expect_err("blank")
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(client.http().stats().requests, 0);
}
