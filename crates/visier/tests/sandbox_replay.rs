#![cfg(feature = "sandbox")]
//! Replays every request Visier's official Python SDK sent
//! (`tests/fixtures/official_python_sdk_requests.jsonl`, see `tests/fixtures/README.md`)
//! byte for byte against a fresh sandbox seeded with the recording's ids, and checks the
//! status and the shape of each answer.

use grantbridge_core::sandbox::SandboxOptions;
use grantbridge_core::testing::Fixtures;
use grantbridge_visier::sandbox::{Seed, VisierSandbox};
use grantbridge_visier::wire::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Requests in the recording today; a shorter file means the fixture is missing or cut.
const RECORDED: usize = 45;

fn recording() -> Vec<Value> {
    Fixtures::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"), 1)
        .json_lines("official_python_sdk_requests.jsonl", RECORDED)
}

/// Sends one recorded request as raw bytes (method, raw target, headers in recorded
/// order and case with `Host` replaced, body) and returns (status, content type, body).
async fn send_raw(addr: &str, line: &Value) -> (u16, String, Vec<u8>) {
    let mut req = format!(
        "{} {} HTTP/1.1\r\n",
        line["method"].as_str().expect("method"),
        line["raw_target"].as_str().expect("target")
    );
    for h in line["headers"].as_array().expect("headers") {
        let (name, value) = (h[0].as_str().expect("name"), h[1].as_str().expect("value"));
        if name.eq_ignore_ascii_case("host") {
            req.push_str(&format!("Host: {addr}\r\n"));
        } else if name.eq_ignore_ascii_case("content-length") {
            // Written below from the body actually sent (equal for recorded lines).
        } else {
            req.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let body = line["body_text"].as_str().unwrap_or_default();
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("Connection: close\r\n\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(&bytes).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, raw[split + 4..].to_vec())
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> T {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

/// The documented shape of each successful answer, checked by decoding it.
fn check_shape(method: &str, path: &str, body: &[u8]) {
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, seg.as_slice()) {
        ("POST", ["v1", "admin", "visierSecureToken"]) => {
            assert!(!body.is_empty(), "token body");
        }
        ("POST", ["v1", "auth", "oauth2", "token"]) => {
            let t: OAuth2TokenResponse = decode(body);
            assert!(t.access_token.is_some() && t.expires_in.is_some());
        }
        (
            "GET",
            ["v1", "admin", "profiles"] | ["v1", "admin", "profiles", "accessible-tenants"],
        ) => {
            let p: ProfilesGetApiResponseDto = decode(body);
            assert!(!p.profiles.is_empty());
        }
        ("GET", ["v1", "admin", "profiles", ..]) => {
            let p: ProfileGetApiResponseDto = decode(body);
            assert!(p.profile_id.is_some() && !p.capabilities.is_empty());
        }
        ("GET", ["v1", "admin", "users", _, "profiles"]) => {
            let _: AllProfileAssignedForLocalTenantDto = decode(body);
        }
        ("GET", ["v1", "admin", "users", _, "accessible-tenant-profiles"]) => {
            let _: AllProfileAssignedForAccessibleTenantDto = decode(body);
        }
        ("GET", ["v1", "admin", "users"]) => {
            let u: AllUsersGetApiResponseDto = decode(body);
            assert_eq!(u.users.len(), 1, "limit=1 honoured");
        }
        ("PUT", ["v1", "admin", "profiles", "accessible-tenants", _, "assign"]) => {
            let r: AccessibleTenantProfileAssignmentResponseDto = decode(body);
            assert!(!r.errors, "{r:?}");
            // 2 users × 3 tenants.
            assert_eq!(r.successful_assignments.len(), 6);
        }
        ("PUT", ["v1", "admin", "profiles", _, "assign"]) => {
            let r: LocalTenantProfileAssignmentResponseDto = decode(body);
            assert!(!r.errors && r.successful_assignments.len() == 2, "{r:?}");
        }
        ("DELETE", ["v1", "admin", "profiles", "accessible-tenants", _, "remove"]) => {
            let r: AccessibleTenantProfileRevokeResponseDto = decode(body);
            assert!(
                r.bad_user_ids.is_empty() && r.bad_tenant_codes.is_empty(),
                "{r:?}"
            );
            assert_eq!(r.succeeded.len() + r.unaffected_users.len(), 2);
        }
        ("DELETE", ["v1", "admin", "profiles", _, "remove"]) => {
            let r: LocalTenantProfileRevokeResponseDto = decode(body);
            assert!(r.failed.is_empty() && r.succeeded.len() == 2, "{r:?}");
        }
        ("PUT", ["v1", "admin", "permissions", "users"]) => {
            let r: AssignRevokePermissionsResponseDto = decode(body);
            assert_eq!(r.tenants[0].status.as_deref(), Some("Succeed"), "{r:?}");
        }
        other => panic!("no shape check for {other:?}"),
    }
}

#[tokio::test]
async fn every_recorded_sdk_request_is_accepted() {
    let sandbox = VisierSandbox::start(Seed::Fixtures, SandboxOptions::default())
        .await
        .expect("sandbox");
    let addr = sandbox.base_url().trim_start_matches("http://").to_owned();
    let lines = recording();
    assert_eq!(lines.len(), RECORDED);
    for line in &lines {
        let seq = line["seq"].as_u64().expect("seq");
        let method = line["method"].as_str().expect("method");
        let path = line["path"].as_str().expect("path");
        let (status, content_type, body) = send_raw(&addr, line).await;
        // The documented deliberate error cases used trigger ids of the recording
        // server; here they are unknown profiles.
        if [33, 34, 35, 37, 39].contains(&seq) {
            assert_eq!(status, 404, "seq {seq} {path}");
            let s: StatusDto = decode(&body);
            assert_eq!(s.code_text().as_deref(), Some("USER_INPUT_ERROR"));
            assert!(s.rci.is_some() && s.message_text().is_some());
            continue;
        }
        assert!(
            (200..300).contains(&status),
            "seq {seq} {method} {path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        if path != "/v1/admin/visierSecureToken" {
            assert!(
                content_type.starts_with("application/json"),
                "seq {seq}: {content_type}"
            );
        }
        check_shape(method, path, &body);
    }
    // The log saw every request exactly as sent (raw target with `~` unescaped).
    let log = sandbox.log();
    assert_eq!(log.len(), RECORDED);
    assert!(
        log.entries()
            .iter()
            .any(|e| e.raw_target.contains("tenantCode=WFF_j1r~c7o"))
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_get_documented_errors() {
    let sandbox = VisierSandbox::start(Seed::Fixtures, SandboxOptions::default())
        .await
        .expect("sandbox");
    let addr = sandbox.base_url().trim_start_matches("http://").to_owned();
    let lines = recording();
    let mut get = lines[22].clone(); // seq 23: GET /v1/admin/profiles, preset token
    assert_eq!(get["seq"], 23);
    // Unknown token.
    get["headers"] = serde_json::json!([
        ["Cookie", "VisierASIDToken=forged"],
        ["apikey", "probe-api-key"]
    ]);
    let (status, _, body) = send_raw(&addr, &get).await;
    assert_eq!(status, 401);
    let s: StatusDto = decode(&body);
    assert_eq!(s.code_text().as_deref(), Some("AUTHENTICATION_ERROR"));
    // Wrong API key with a good token.
    get["headers"] = serde_json::json!([
        ["Cookie", "VisierASIDToken=preset-asid-token"],
        ["apikey", "nope"]
    ]);
    assert_eq!(send_raw(&addr, &get).await.0, 401);
    // Wrong password at login.
    let mut login = lines[0].clone();
    login["body_text"] = "username=probe.user%40example.com&password=wrong".into();
    login["headers"] = serde_json::json!([
        ["Content-Type", "application/x-www-form-urlencoded"],
        ["Content-Length", "50"]
    ]);
    assert_eq!(send_raw(&addr, &login).await.0, 401);
    sandbox.shutdown().await;
}
