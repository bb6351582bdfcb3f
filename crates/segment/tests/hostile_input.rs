//! Hostile input and malformed vendor responses through every `SegmentClient` method
//! (issue 9, section 3).
//!
//! 1. Every method that takes an id, a name, an e-mail, a resource type or a cursor
//!    gets every value of the shared corpus
//!    (`grantbridge_core::sandbox::hostile::hostile_ids`) against a demo sandbox. The
//!    sandbox's request log must show that each request stayed on its endpoint (same
//!    method, same number of path segments, fixed segments intact, the value arriving
//!    byte for byte in its own segment, query value or JSON string), that no header
//!    was added or carried a line break, and the call must end in a typed error
//!    (`InvalidInput` with nothing sent, `NotFound` naming the value, a 4xx `Vendor`)
//!    or in a vendor answer that is right for the value.
//! 2. Every method's endpoint answers malformed bodies (HTML, truncated JSON, wrong
//!    types, 10 MB, empty with 200, `null`, arrays where objects belong, …) from
//!    wiremock: each call ends in a typed error, never a panic.
//! 3. A proptest feeds arbitrary JSON to every public wire type: no panic.
//!
//! Methods of `SegmentClient` and where each is covered (H: hostile corpus, section 1;
//! M: malformed answers, section 2):
//!
//! | method | argument made hostile | H | M |
//! |---|---|---|---|
//! | `add_permissions_to_user` | `user_id`; a permission's `roleId` | H | M |
//! | `replace_permissions_for_user` | `user_id`; a permission's `roleId`, resource `id` | H | M |
//! | `create_invites` | an invite's `email` | H | M |
//! | `delete_invites` | an e-mail | H | M |
//! | `delete_users` | a user id | H | M |
//! | `get_user` | `user_id` | H | M |
//! | `list_invites` / `stream_invites` | cursor / (count only) | H | M |
//! | `list_user_groups_from_user` / `stream_user_groups_from_user` | `user_id` | H | M |
//! | `list_users` / `stream_users` | cursor / (count only) | H | M |
//! | `list_roles` / `stream_roles` | cursor / (count only) | H | M |
//! | `list_user_groups` / `stream_user_groups` | cursor / (count only) | H | M |
//! | `get_user_group` | `group_id` | H | M |
//! | `create_user_group` | `name` | H | M |
//! | `update_user_group` | `group_id`; `name` | H | M |
//! | `delete_user_group` | `group_id` | H | M |
//! | `add_users_to_user_group` | `group_id`; an e-mail | H | M |
//! | `replace_users_in_user_group` | `group_id`; an e-mail | H | M |
//! | `remove_users_from_user_group` | `group_id`; an e-mail | H | M |
//! | `list_users_from_user_group` / `stream_users_from_user_group` | `group_id` | H | M |
//! | `list_invites_from_user_group` / `stream_invites_from_user_group` | `group_id` | H | M |
//! | `add_permissions_to_user_group` | `group_id` | H | M |
//! | `replace_permissions_for_user_group` | `group_id`; a permission's `roleId` | H | M |
//! | `get_workspace` | (none) | | M |
//! | `list_sources` / `stream_sources` | cursor / (count only) | H | M |
//! | `list_warehouses` / `stream_warehouses` | cursor / (count only) | H | M |
//! | `list_spaces` / `stream_spaces` | cursor / (count only) | H | M |
//! | `list_functions` / `stream_functions` | `resource_type` | H | M |
//! | `list_labels` | (none) | | M |
//! | `pages` | a caller-built `Request` (no id of its own) | | |
//! | `new`, `from_http`, `http` | (configuration, no request) | | |

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;

use futures::{FutureExt, TryStreamExt};
use grantbridge_core::Error;
use grantbridge_core::http::{RateLimit, RetryPolicy, Secret};
use grantbridge_core::sandbox::hostile::{MalformedAnswer, hostile_ids, malformed_answers};
use grantbridge_core::sandbox::{LoggedRequest, RateWindow, SandboxOptions};
use grantbridge_segment::sandbox::{READ_CLASS, Seed, SegmentSandbox};
use grantbridge_segment::wire::*;
use grantbridge_segment::{IAM_MUTATION, SegmentClient, SegmentConfig};
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate};

// ---------------------------------------------------------------------------------
// Section 1: the hostile corpus against the sandbox.

/// One piece of an endpoint's path: fixed text, or the segment holding the value.
#[derive(Clone, Copy, Debug)]
enum Seg {
    Lit(&'static str),
    Value,
}

/// Where the hostile value must arrive.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// The `Seg::Value` path segment.
    Path,
    /// This query key; the query must hold exactly `keys`.
    Query {
        key: &'static str,
        keys: &'static [&'static str],
    },
    /// This JSON pointer into the body.
    Body(&'static str),
}

/// One way of sending a hostile value through one method.
#[derive(Clone, Copy, Debug)]
struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static [Seg],
    slot: Slot,
}

use Seg::{Lit, Value as V};

const PAGE_KEYS: &[&str] = &["pagination.count", "pagination.cursor"];

const fn cursor(name: &'static str, path: &'static [Seg]) -> Case {
    Case {
        name,
        method: "GET",
        path,
        slot: Slot::Query {
            key: "pagination.cursor",
            keys: PAGE_KEYS,
        },
    }
}

const CASES: &[Case] = &[
    Case {
        name: "get_user",
        method: "GET",
        path: &[Lit("users"), V],
        slot: Slot::Path,
    },
    Case {
        name: "list_user_groups_from_user",
        method: "GET",
        path: &[Lit("users"), V, Lit("groups")],
        slot: Slot::Path,
    },
    Case {
        name: "stream_user_groups_from_user",
        method: "GET",
        path: &[Lit("users"), V, Lit("groups")],
        slot: Slot::Path,
    },
    Case {
        name: "add_permissions_to_user",
        method: "POST",
        path: &[Lit("users"), V, Lit("permissions")],
        slot: Slot::Path,
    },
    Case {
        name: "replace_permissions_for_user",
        method: "PUT",
        path: &[Lit("users"), V, Lit("permissions")],
        slot: Slot::Path,
    },
    Case {
        name: "add_permissions_to_user(roleId)",
        method: "POST",
        path: &[Lit("users"), Lit("{user}"), Lit("permissions")],
        slot: Slot::Body("/permissions/0/roleId"),
    },
    Case {
        name: "replace_permissions_for_user(roleId)",
        method: "PUT",
        path: &[Lit("users"), Lit("{user}"), Lit("permissions")],
        slot: Slot::Body("/permissions/0/roleId"),
    },
    Case {
        name: "replace_permissions_for_user(resource id)",
        method: "PUT",
        path: &[Lit("users"), Lit("{user}"), Lit("permissions")],
        slot: Slot::Body("/permissions/0/resources/0/id"),
    },
    Case {
        name: "delete_users",
        method: "DELETE",
        path: &[Lit("users")],
        slot: Slot::Query {
            key: "userIds.0",
            keys: &["userIds.0"],
        },
    },
    Case {
        name: "create_invites",
        method: "POST",
        path: &[Lit("invites")],
        slot: Slot::Body("/invites/0/email"),
    },
    Case {
        name: "delete_invites",
        method: "DELETE",
        path: &[Lit("invites")],
        slot: Slot::Query {
            key: "emails.0",
            keys: &["emails.0"],
        },
    },
    Case {
        name: "get_user_group",
        method: "GET",
        path: &[Lit("groups"), V],
        slot: Slot::Path,
    },
    Case {
        name: "create_user_group",
        method: "POST",
        path: &[Lit("groups")],
        slot: Slot::Body("/name"),
    },
    Case {
        name: "update_user_group",
        method: "PATCH",
        path: &[Lit("groups"), V],
        slot: Slot::Path,
    },
    Case {
        name: "update_user_group(name)",
        method: "PATCH",
        path: &[Lit("groups"), Lit("{group}")],
        slot: Slot::Body("/name"),
    },
    Case {
        name: "delete_user_group",
        method: "DELETE",
        path: &[Lit("groups"), V],
        slot: Slot::Path,
    },
    Case {
        name: "add_users_to_user_group",
        method: "POST",
        path: &[Lit("groups"), V, Lit("users")],
        slot: Slot::Path,
    },
    Case {
        name: "add_users_to_user_group(email)",
        method: "POST",
        path: &[Lit("groups"), Lit("{group}"), Lit("users")],
        slot: Slot::Body("/emails/0"),
    },
    Case {
        name: "replace_users_in_user_group",
        method: "PUT",
        path: &[Lit("group"), V, Lit("users")],
        slot: Slot::Path,
    },
    Case {
        name: "replace_users_in_user_group(email)",
        method: "PUT",
        path: &[Lit("group"), Lit("{group}"), Lit("users")],
        slot: Slot::Body("/emails/0"),
    },
    Case {
        name: "remove_users_from_user_group",
        method: "DELETE",
        path: &[Lit("group"), V, Lit("users")],
        slot: Slot::Path,
    },
    Case {
        name: "remove_users_from_user_group(email)",
        method: "DELETE",
        path: &[Lit("group"), Lit("{group}"), Lit("users")],
        slot: Slot::Query {
            key: "emails.0",
            keys: &["emails.0"],
        },
    },
    Case {
        name: "list_users_from_user_group",
        method: "GET",
        path: &[Lit("groups"), V, Lit("users")],
        slot: Slot::Path,
    },
    Case {
        name: "stream_users_from_user_group",
        method: "GET",
        path: &[Lit("groups"), V, Lit("users")],
        slot: Slot::Path,
    },
    Case {
        name: "list_invites_from_user_group",
        method: "GET",
        path: &[Lit("groups"), V, Lit("invites")],
        slot: Slot::Path,
    },
    Case {
        name: "stream_invites_from_user_group",
        method: "GET",
        path: &[Lit("groups"), V, Lit("invites")],
        slot: Slot::Path,
    },
    Case {
        name: "add_permissions_to_user_group",
        method: "POST",
        path: &[Lit("groups"), V, Lit("permissions")],
        slot: Slot::Path,
    },
    Case {
        name: "replace_permissions_for_user_group",
        method: "PUT",
        path: &[Lit("groups"), V, Lit("permissions")],
        slot: Slot::Path,
    },
    Case {
        name: "replace_permissions_for_user_group(roleId)",
        method: "PUT",
        path: &[Lit("groups"), Lit("{group}"), Lit("permissions")],
        slot: Slot::Body("/permissions/0/roleId"),
    },
    Case {
        name: "list_functions",
        method: "GET",
        path: &[Lit("functions")],
        slot: Slot::Query {
            key: "resourceType",
            keys: &["resourceType", "pagination.count"],
        },
    },
    Case {
        name: "stream_functions",
        method: "GET",
        path: &[Lit("functions")],
        slot: Slot::Query {
            key: "resourceType",
            keys: &["resourceType", "pagination.count", "pagination.cursor"],
        },
    },
    cursor("list_users(cursor)", &[Lit("users")]),
    cursor("list_invites(cursor)", &[Lit("invites")]),
    cursor("list_roles(cursor)", &[Lit("roles")]),
    cursor("list_user_groups(cursor)", &[Lit("groups")]),
    cursor("list_sources(cursor)", &[Lit("sources")]),
    cursor("list_warehouses(cursor)", &[Lit("warehouses")]),
    cursor("list_spaces(cursor)", &[Lit("spaces")]),
];

/// The headers the client sends; anything else would be injected.
const ALLOWED_HEADERS: &[&str] = &[
    "host",
    "user-agent",
    "accept",
    "authorization",
    "content-type",
    "content-length",
];

/// Valid ids of the demo workspace, for the arguments that are not under test.
struct Known {
    user_id: String,
    email: String,
    group_id: String,
    role_id: String,
    workspace_id: String,
}

fn valid_permission(known: &Known) -> PermissionInput {
    PermissionInput {
        role_id: known.role_id.clone(),
        resources: vec![PermissionResource::new(
            ResourceType::Workspace,
            known.workspace_id.clone(),
        )],
    }
}

/// Calls the method of `case` with `v` in its slot. `Ok(())` means the vendor
/// answered and the answer is right for `v` (checked here).
async fn call(client: &SegmentClient, known: &Known, case: &Case, v: &str) -> Result<(), Error> {
    let first = PaginationInput::first(10);
    let page = PaginationInput {
        count: 10,
        cursor: Some(v.to_owned()),
    };
    let perm = valid_permission(known);
    let one = |s: &str| vec![s.to_owned()];
    match case.name {
        "get_user" => {
            let user = client.get_user(v).await?;
            assert_eq!(user.id, v, "get_user answered another user");
        }
        "list_user_groups_from_user" => drop(client.list_user_groups_from_user(v, &first).await?),
        "stream_user_groups_from_user" => {
            drop(
                client
                    .stream_user_groups_from_user(v, 10)
                    .try_collect::<Vec<_>>()
                    .await?,
            );
        }
        "add_permissions_to_user" => drop(client.add_permissions_to_user(v, &[perm]).await?),
        "replace_permissions_for_user" => {
            drop(client.replace_permissions_for_user(v, &[perm]).await?);
        }
        "add_permissions_to_user(roleId)" => {
            let p = PermissionInput {
                role_id: v.to_owned(),
                ..perm
            };
            drop(client.add_permissions_to_user(&known.user_id, &[p]).await?);
        }
        "replace_permissions_for_user(roleId)" => {
            let p = PermissionInput {
                role_id: v.to_owned(),
                ..perm
            };
            drop(
                client
                    .replace_permissions_for_user(&known.user_id, &[p])
                    .await?,
            );
        }
        "replace_permissions_for_user(resource id)" => {
            let p = PermissionInput {
                resources: vec![PermissionResource::new(ResourceType::Source, v)],
                ..perm
            };
            drop(
                client
                    .replace_permissions_for_user(&known.user_id, &[p])
                    .await?,
            );
        }
        "delete_users" => {
            // Deleting an unknown user is a documented no-op success.
            let out = client.delete_users(&one(v)).await?;
            assert_eq!(out.status, "SUCCESS");
        }
        "create_invites" => {
            let invite = Invite {
                email: v.to_owned(),
                permissions: Some(vec![InvitePermission {
                    role_id: known.role_id.clone(),
                    resources: None,
                    labels: None,
                }]),
            };
            let out = client.create_invites(&[invite]).await?;
            assert_eq!(
                out.emails,
                one(v),
                "the invite came back under another e-mail"
            );
        }
        "delete_invites" => {
            let out = client.delete_invites(&one(v)).await?;
            assert_eq!(out.status, "SUCCESS");
        }
        "get_user_group" => {
            let group = client.get_user_group(v).await?;
            assert_eq!(group.id, v, "get_user_group answered another group");
        }
        "create_user_group" => {
            let group = client.create_user_group(v).await?;
            assert_eq!(group.name, v, "the group was created under another name");
        }
        "update_user_group" => drop(client.update_user_group(v, "renamed").await?),
        "update_user_group(name)" => {
            let group = client.update_user_group(&known.group_id, v).await?;
            assert_eq!(
                (group.id.as_str(), group.name.as_str()),
                (known.group_id.as_str(), v)
            );
        }
        "delete_user_group" => drop(client.delete_user_group(v).await?),
        "add_users_to_user_group" => {
            drop(
                client
                    .add_users_to_user_group(v, &one(&known.email))
                    .await?,
            );
        }
        "add_users_to_user_group(email)" => {
            drop(
                client
                    .add_users_to_user_group(&known.group_id, &one(v))
                    .await?,
            );
        }
        "replace_users_in_user_group" => {
            drop(
                client
                    .replace_users_in_user_group(v, &one(&known.email))
                    .await?,
            );
        }
        "replace_users_in_user_group(email)" => {
            drop(
                client
                    .replace_users_in_user_group(&known.group_id, &one(v))
                    .await?,
            );
        }
        "remove_users_from_user_group" => {
            drop(
                client
                    .remove_users_from_user_group(v, &one(&known.email))
                    .await?,
            );
        }
        "remove_users_from_user_group(email)" => {
            drop(
                client
                    .remove_users_from_user_group(&known.group_id, &one(v))
                    .await?,
            );
        }
        "list_users_from_user_group" => drop(client.list_users_from_user_group(v, &first).await?),
        "stream_users_from_user_group" => {
            drop(
                client
                    .stream_users_from_user_group(v, 10)
                    .try_collect::<Vec<_>>()
                    .await?,
            );
        }
        "list_invites_from_user_group" => {
            drop(client.list_invites_from_user_group(v, &first).await?);
        }
        "stream_invites_from_user_group" => {
            drop(
                client
                    .stream_invites_from_user_group(v, 10)
                    .try_collect::<Vec<_>>()
                    .await?,
            );
        }
        "add_permissions_to_user_group" => {
            drop(client.add_permissions_to_user_group(v, &[perm]).await?);
        }
        "replace_permissions_for_user_group" => {
            drop(
                client
                    .replace_permissions_for_user_group(v, &[perm])
                    .await?,
            );
        }
        "replace_permissions_for_user_group(roleId)" => {
            let p = PermissionInput {
                role_id: v.to_owned(),
                ..perm
            };
            drop(
                client
                    .replace_permissions_for_user_group(&known.group_id, &[p])
                    .await?,
            );
        }
        "list_functions" => {
            let out = client.list_functions(v, &first).await?;
            assert!(
                out.functions.is_empty(),
                "functions listed for the unknown resource type {v:?}"
            );
        }
        "stream_functions" => {
            let all = client
                .stream_functions(v, 10)
                .try_collect::<Vec<_>>()
                .await?;
            assert!(all.is_empty(), "functions listed for {v:?}");
        }
        "list_users(cursor)" => drop(client.list_users(&page).await?),
        "list_invites(cursor)" => drop(client.list_invites(&page).await?),
        "list_roles(cursor)" => drop(client.list_roles(&page).await?),
        "list_user_groups(cursor)" => drop(client.list_user_groups(&page).await?),
        "list_sources(cursor)" => drop(client.list_sources(&page).await?),
        "list_warehouses(cursor)" => drop(client.list_warehouses(&page).await?),
        "list_spaces(cursor)" => drop(client.list_spaces(&page).await?),
        other => panic!("no call for case {other}"),
    }
    Ok(())
}

/// Percent-decodes `s` (`+` stays `+`: the client encodes it as `%2B`).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
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
fn check_request(case: &Case, known: &Known, v: &str, req: &LoggedRequest) -> Result<(), String> {
    if req.method != case.method {
        return Err(format!("method {} instead of {}", req.method, case.method));
    }
    // The target is exactly path [+ "?" + query]: nothing after a `#`, no second `?`.
    let (path, query) = match req.raw_target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (req.raw_target.as_str(), None),
    };
    if path != req.path || req.raw_target.contains('#') {
        return Err(format!(
            "target {:?} is not path + query",
            short(&req.raw_target)
        ));
    }
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    if segments.len() != case.path.len() {
        return Err(format!(
            "{} path segments instead of {}: {}",
            segments.len(),
            case.path.len(),
            short(path)
        ));
    }
    for (got, want) in segments.iter().zip(case.path) {
        match want {
            Lit("{user}") if *got == known.user_id => {}
            Lit("{group}") if *got == known.group_id => {}
            Lit(lit) if got == lit => {}
            V if percent_decode(got).as_deref() == Some(v) => {}
            _ => return Err(format!("segment {} is not {want:?}", short(got))),
        }
    }
    match case.slot {
        Slot::Path => {}
        Slot::Query { key, keys } => {
            let query = query.ok_or("no query")?;
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let names: BTreeSet<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
            if pairs.len() != names.len() || !names.iter().all(|k| keys.contains(k)) {
                return Err(format!("query keys {names:?} instead of {keys:?}"));
            }
            let value = pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str());
            if value != Some(v) {
                return Err(format!("query {key} arrived as {:?}", value.map(short)));
            }
        }
        Slot::Body(pointer) => {
            let body = req.body_json().ok_or("the body is not JSON")?;
            if body.pointer(pointer) != Some(&Value::String(v.to_owned())) {
                return Err(format!("body {pointer} does not hold the value"));
            }
        }
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

/// Whether `error` is an acceptable answer to `v` in `case`; `sent` is whether any
/// request went out.
fn check_error(case: &Case, v: &str, error: &Error, sent: bool) -> Result<(), String> {
    match error {
        Error::InvalidInput { .. } if !sent => Ok(()),
        Error::InvalidInput { .. } => Err("InvalidInput after sending a request".to_owned()),
        Error::NotFound { id, .. } if matches!(case.slot, Slot::Path) && id != v => {
            Err(format!("NotFound names {} instead of the value", short(id)))
        }
        Error::NotFound { .. } => Ok(()),
        Error::Vendor { status, .. } if (400..500).contains(status) => Ok(()),
        other => Err(format!("untyped or server-side failure: {other}")),
    }
}

async fn hostile_sandbox() -> (SegmentSandbox, SegmentClient) {
    // Windows wide enough that the corpus never meets a 429.
    let options = SandboxOptions::default()
        .with_class_rate_limit(IAM_MUTATION, RateWindow::per_minute(1_000_000))
        .with_class_rate_limit(READ_CLASS, RateWindow::per_minute(1_000_000));
    let sandbox = SegmentSandbox::start(Seed::Demo, options)
        .await
        .expect("sandbox");
    let mut config = sandbox.config();
    config.options = config.options.retry(RetryPolicy::none());
    let client = SegmentClient::new(&config).expect("client");
    (sandbox, client)
}

async fn known_ids(client: &SegmentClient) -> Known {
    let users = client
        .list_users(&PaginationInput::first(1))
        .await
        .expect("users");
    let user = users.users.first().expect("a demo user").clone();
    let groups = client
        .list_user_groups(&PaginationInput::first(1))
        .await
        .expect("groups");
    let roles = client
        .list_roles(&PaginationInput::first(1))
        .await
        .expect("roles");
    Known {
        user_id: user.id,
        email: user.email,
        group_id: groups.user_groups.first().expect("a demo group").id.clone(),
        role_id: roles.roles.first().expect("a demo role").id.clone(),
        workspace_id: client.get_workspace().await.expect("workspace").id,
    }
}

#[tokio::test]
async fn hostile_ids_stay_in_their_slot_and_get_typed_answers() {
    let (sandbox, client) = hostile_sandbox().await;
    let known = known_ids(&client).await;
    let log = sandbox.log();
    let ids = hostile_ids();
    let mut failures = Vec::new();
    let (mut calls, mut requests, mut refused, mut answered) = (0, 0, 0, 0);
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for case in CASES {
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
            let mut problems = Vec::new();
            for req in &sent {
                if let Err(p) = check_request(case, &known, v, req) {
                    problems.push(p);
                }
            }
            match &outcome {
                Err(_) => problems.push("panicked".to_owned()),
                Ok(Ok(())) if sent.is_empty() => problems.push("Ok without a request".to_owned()),
                Ok(Ok(())) => answered += 1,
                Ok(Err(e)) => {
                    *kinds.entry(format!("{:?}", e.kind())).or_default() += 1;
                    match check_error(case, v, e, !sent.is_empty()) {
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
        "segment hostile corpus: {} values x {} cases = {calls} calls, {requests} requests \
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
    let poisoned = json!({"data": {
        "user": 42, "users": 42, "userGroup": 42, "userGroups": 42, "groups": 42,
        "invites": 42, "emails": 42, "roles": 42, "permissions": 42, "status": 42,
        "workspace": 42, "sources": 42, "warehouses": 42, "spaces": 42,
        "functions": 42, "labels": 42, "pagination": 42,
    }});
    let b = |name, status, content_type, body: &str| {
        MalformedAnswer::new(name, status, content_type, body)
    };
    let mut all = malformed_answers();
    all.extend([
        b(
            "truncated json",
            200,
            json,
            r#"{"data":{"users":[{"id":"a","#,
        ),
        b("array envelope", 200, json, r#"[{"data":{}}]"#),
        b("no data", 200, json, r#"{"result":{}}"#),
        b("data null", 200, json, r#"{"data":null}"#),
        b("data number", 200, json, r#"{"data":42}"#),
        b("data string", 200, json, r#"{"data":"x"}"#),
        b("data array", 200, json, r#"{"data":[]}"#),
        b("data array of arrays", 200, json, r#"{"data":[[]]}"#),
        MalformedAnswer {
            name: "poisoned fields",
            status: 200,
            content_type: json,
            body: poisoned.to_string().into_bytes(),
        },
        MalformedAnswer {
            name: "10 MB json of the wrong type",
            status: 200,
            content_type: json,
            body: big_json,
        },
        b("400 errors not a list", 400, json, r#"{"errors":42}"#),
        b(
            "422 errors of numbers",
            422,
            json,
            r#"{"errors":[42,null]}"#,
        ),
        b("500 truncated json", 500, json, r#"{"errors":[{"type":"#),
    ]);
    all
}

/// Every method of the client, with valid arguments; `Ok` if the call succeeded.
const ALL_METHODS: &[&str] = &[
    "add_permissions_to_user",
    "replace_permissions_for_user",
    "create_invites",
    "delete_invites",
    "delete_users",
    "get_user",
    "list_invites",
    "stream_invites",
    "list_user_groups_from_user",
    "stream_user_groups_from_user",
    "list_users",
    "stream_users",
    "list_roles",
    "stream_roles",
    "list_user_groups",
    "stream_user_groups",
    "get_user_group",
    "create_user_group",
    "update_user_group",
    "delete_user_group",
    "add_users_to_user_group",
    "replace_users_in_user_group",
    "remove_users_from_user_group",
    "list_users_from_user_group",
    "stream_users_from_user_group",
    "list_invites_from_user_group",
    "stream_invites_from_user_group",
    "add_permissions_to_user_group",
    "replace_permissions_for_user_group",
    "get_workspace",
    "list_sources",
    "stream_sources",
    "list_warehouses",
    "stream_warehouses",
    "list_spaces",
    "stream_spaces",
    "list_functions",
    "stream_functions",
    "list_labels",
];

async fn call_plain(client: &SegmentClient, name: &str) -> Result<(), Error> {
    let p = PaginationInput::first(10);
    let perms = [PermissionInput {
        role_id: "r1".into(),
        resources: vec![PermissionResource::new(ResourceType::Workspace, "w1")],
    }];
    let emails = ["a@example.com".to_owned()];
    let invites = [Invite {
        email: "a@example.com".into(),
        permissions: None,
    }];
    fn all<T>(
        s: futures::stream::BoxStream<'static, Result<T, Error>>,
    ) -> impl Future<Output = Result<(), Error>> {
        s.try_collect::<Vec<T>>().map(|r| r.map(drop))
    }
    match name {
        "add_permissions_to_user" => client.add_permissions_to_user("u1", &perms).await.map(drop),
        "replace_permissions_for_user" => client
            .replace_permissions_for_user("u1", &perms)
            .await
            .map(drop),
        "create_invites" => client.create_invites(&invites).await.map(drop),
        "delete_invites" => client.delete_invites(&emails).await.map(drop),
        "delete_users" => client.delete_users(&["u1".to_owned()]).await.map(drop),
        "get_user" => client.get_user("u1").await.map(drop),
        "list_invites" => client.list_invites(&p).await.map(drop),
        "stream_invites" => all(client.stream_invites(10)).await,
        "list_user_groups_from_user" => client.list_user_groups_from_user("u1", &p).await.map(drop),
        "stream_user_groups_from_user" => all(client.stream_user_groups_from_user("u1", 10)).await,
        "list_users" => client.list_users(&p).await.map(drop),
        "stream_users" => all(client.stream_users(10)).await,
        "list_roles" => client.list_roles(&p).await.map(drop),
        "stream_roles" => all(client.stream_roles(10)).await,
        "list_user_groups" => client.list_user_groups(&p).await.map(drop),
        "stream_user_groups" => all(client.stream_user_groups(10)).await,
        "get_user_group" => client.get_user_group("g1").await.map(drop),
        "create_user_group" => client.create_user_group("Team").await.map(drop),
        "update_user_group" => client.update_user_group("g1", "Team").await.map(drop),
        "delete_user_group" => client.delete_user_group("g1").await.map(drop),
        "add_users_to_user_group" => client
            .add_users_to_user_group("g1", &emails)
            .await
            .map(drop),
        "replace_users_in_user_group" => client
            .replace_users_in_user_group("g1", &emails)
            .await
            .map(drop),
        "remove_users_from_user_group" => client
            .remove_users_from_user_group("g1", &emails)
            .await
            .map(drop),
        "list_users_from_user_group" => client.list_users_from_user_group("g1", &p).await.map(drop),
        "stream_users_from_user_group" => all(client.stream_users_from_user_group("g1", 10)).await,
        "list_invites_from_user_group" => client
            .list_invites_from_user_group("g1", &p)
            .await
            .map(drop),
        "stream_invites_from_user_group" => {
            all(client.stream_invites_from_user_group("g1", 10)).await
        }
        "add_permissions_to_user_group" => client
            .add_permissions_to_user_group("g1", &perms)
            .await
            .map(drop),
        "replace_permissions_for_user_group" => client
            .replace_permissions_for_user_group("g1", &perms)
            .await
            .map(drop),
        "get_workspace" => client.get_workspace().await.map(drop),
        "list_sources" => client.list_sources(&p).await.map(drop),
        "stream_sources" => all(client.stream_sources(10)).await,
        "list_warehouses" => client.list_warehouses(&p).await.map(drop),
        "stream_warehouses" => all(client.stream_warehouses(10)).await,
        "list_spaces" => client.list_spaces(&p).await.map(drop),
        "stream_spaces" => all(client.stream_spaces(10)).await,
        "list_functions" => client.list_functions("SOURCE", &p).await.map(drop),
        "stream_functions" => all(client.stream_functions("SOURCE", 10)).await,
        "list_labels" => client.list_labels().await.map(drop),
        other => panic!("no call for {other}"),
    }
}

#[tokio::test]
async fn malformed_answers_become_typed_errors_on_every_endpoint() {
    let server = MockServer::start().await;
    let client = wiremock_client(&server).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for bad in bad_answers() {
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
                Ok(Ok(())) => Some("accepted the answer".to_owned()),
                Ok(Err(e)) => {
                    let text = e.to_string();
                    if text.len() > 4_000 {
                        Some(format!("error message of {} bytes", text.len()))
                    } else if bad.status == 200 && !matches!(e, Error::Decode { .. }) {
                        Some(format!("not a Decode error: {text}"))
                    } else if bad.status != 200 && matches!(e, Error::Transport { .. }) {
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
        "segment malformed answers: {} answers x {} methods = {checked} calls",
        bad_answers().len(),
        ALL_METHODS.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn wiremock_client(server: &MockServer) -> SegmentClient {
    let mut config = SegmentConfig::new(server.uri(), Secret::new("sgp_malformed_token"))
        .with_mutation_limit(RateLimit::per_second(100_000));
    config.options = config.options.retry(RetryPolicy::none());
    SegmentClient::new(&config).expect("client")
}

/// Bug found by the corpus: a URL over 65,534 bytes (a 10,000-emoji id) failed
/// inside reqwest as "connection closed or reset?" (`Error::Transport`, retried by
/// default) although nothing was sent. Fixed in `HttpClient::url_for`.
#[tokio::test]
async fn regression_overlong_url_is_invalid_input_not_a_transport_error() {
    let server = MockServer::start().await;
    let client = wiremock_client(&server).await;
    let id = "\u{1f600}".repeat(10_000);
    let err = client.get_user(&id).await.expect_err("refused");
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    let page = PaginationInput {
        count: 10,
        cursor: Some(id.clone()),
    };
    let err = client.list_users(&page).await.expect_err("refused");
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(
        !err.to_string().contains(&id[..40]),
        "the error repeats the id"
    );
    let received = server.received_requests().await.unwrap_or_default();
    assert!(received.is_empty(), "{} requests sent", received.len());
}

/// Bug found by the malformed answers: serde reads a struct from a JSON array, so
/// `{"data":[]}` was an empty, final page (a snapshot saw no users at all) and
/// `[{"data":{…}}]` a valid envelope. Fixed in `SegmentClient::send`.
#[tokio::test]
async fn regression_array_data_is_a_decode_error_not_an_empty_page() {
    for body in [
        r#"{"data":[]}"#,
        r#"[{"data":{"users":[]}}]"#,
        r#"{"data":[[],{}]}"#,
    ] {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
        let client = wiremock_client(&server).await;
        let err = client
            .list_users(&PaginationInput::first(10))
            .await
            .expect_err(body);
        assert!(matches!(err, Error::Decode { .. }), "{body}: {err}");
        let err = client
            .stream_users(10)
            .try_collect::<Vec<_>>()
            .await
            .expect_err(body);
        assert!(matches!(err, Error::Decode { .. }), "{body}: {err}");
        let err = client.list_labels().await.expect_err(body);
        assert!(matches!(err, Error::Decode { .. }), "{body}: {err}");
    }
}

// ---------------------------------------------------------------------------------
// Section 3: arbitrary JSON into every public wire type.

/// The wire field names, so generated objects reach the fields and not only the
/// "unknown field" path.
const FIELD_NAMES: &[&str] = &[
    "data",
    "errors",
    "id",
    "name",
    "email",
    "key",
    "value",
    "description",
    "type",
    "labels",
    "roleId",
    "roleName",
    "resources",
    "permissions",
    "memberCount",
    "users",
    "invites",
    "groups",
    "userGroups",
    "userGroup",
    "emails",
    "roles",
    "sources",
    "warehouses",
    "spaces",
    "functions",
    "workspace",
    "user",
    "slug",
    "status",
    "message",
    "field",
    "pagination",
    "current",
    "next",
    "previous",
    "totalEntries",
    "count",
    "cursor",
    "enabled",
    "writeKeys",
    "metadata",
    "displayName",
    "resourceType",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("WORKSPACE".to_owned()),
            Just("SOURCE".to_owned()),
            Just(String::new()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
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

/// Every public wire type of `grantbridge_segment::wire`, each also inside
/// `Envelope<…>`; returns how many.
fn feed_every_wire_type(value: &Value) -> usize {
    let text = value.to_string();
    let text = text.as_str();
    feed_all!(value, text;
        ResourceType, Label, PermissionResource, Resource, PermissionInput,
        InvitePermission, Invite, Permission, AccessPermission, User, MinimalUser,
        UserGroup, MinimalUserGroup, Role, Workspace, Source, Warehouse, Space, Function,
        PaginationInput, PaginationOutput, RequestError, ErrorEnvelope, StatusOutput,
        PermissionsInput, PermissionsOutput, CreateInvitesInput, Emails, GroupName,
        GetUserOutput, UserGroupOutput, GetWorkspaceOutput, ListLabelsOutput,
        ListUsersOutput, ListInvitesOutput, ListUserGroupsFromUserOutput, ListRolesOutput,
        ListUserGroupsOutput, ListUsersFromUserGroupOutput, ListInvitesFromUserGroupOutput,
        ListSourcesOutput, ListWarehousesOutput, ListSpacesOutput, ListFunctionsOutput,
    )
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
        let types = feed_every_wire_type(&value);
        prop_assert_eq!(types, 44);
    }
}
