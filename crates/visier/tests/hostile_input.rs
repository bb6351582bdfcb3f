#![cfg(feature = "sandbox")]
//! Hostile input and malformed vendor responses through the `VisierClient` methods
//! that take an id (issue 9, section 3).
//!
//! 1. Every method that takes an id in its path gets every value of the shared
//!    corpus (`grantbridge_core::sandbox::hostile::hostile_ids`) against a sandbox.
//!    The request log must show that each request went to exactly its endpoint (the
//!    path of the same call with a plain id, the hostile id as one percent-encoded
//!    segment that decodes to the value byte for byte, no `?`/`#` beyond the query of
//!    the plain call), that it carried exactly the headers of the plain call, none with
//!    a line break; the call ends in a typed error (`InvalidInput` with nothing sent,
//!    or the vendor's refusal) or in a correct answer. The assign/remove bodies carry
//!    a hostile user id too, which must arrive as that JSON string.
//! 2. Each method's decoder gets malformed answers from wiremock (the shared
//!    `hostile::malformed_answers`, plus truncated JSON, every field mistyped, 10 MB of
//!    it): a typed error, never a panic or a success.
//! 3. A proptest feeds arbitrary JSON to every response wire type: no panic.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use grantbridge_core::Error;
use grantbridge_core::http::RetryPolicy;
use grantbridge_core::sandbox::hostile::{MalformedAnswer, hostile_ids, malformed_answers};
use grantbridge_core::sandbox::{LoggedRequest, SandboxOptions};
use grantbridge_visier::sandbox::{Seed, VisierSandbox};
use grantbridge_visier::wire::*;
use grantbridge_visier::{UsersQuery, VisierClient, VisierConfig, VisierCredentials};
use proptest::prelude::*;
use serde_json::Value;
use wiremock::{Mock, MockServer, ResponseTemplate};

const METHODS: [&str; 11] = [
    "get_profile_detail",
    "get_analytic_profile_detail",
    "get_user_profile",
    "get_analytic_user_profile",
    "get_user",
    "get_user_group_users",
    "get_permission_users",
    "assign_profile",
    "remove_profile",
    "assign_analytic_profile",
    "remove_analytic_profile",
];

/// Calls `method` with `id` in its path (and, for writes, `body_user` in its body);
/// `Ok` carries the answer as JSON.
async fn call(
    client: &VisierClient,
    method: &str,
    id: &str,
    body_user: &str,
) -> Result<Value, Error> {
    let users = vec![body_user.to_owned()];
    let tenants = vec![TargetTenantCodeDto {
        tenant_code: Some("WFF_j1r~c7o".to_owned()),
        for_all_children: Some(false),
    }];
    let end = Some(Millis::PERMANENT);
    let start = Some(Millis::NO_START);
    let json = |v: &dyn erased::Ser| v.json();
    match method {
        "get_profile_detail" => client.get_profile_detail(id).await.map(|r| json(&r)),
        "get_analytic_profile_detail" => client
            .get_analytic_profile_detail(id)
            .await
            .map(|r| json(&r)),
        "get_user_profile" => client.get_user_profile(id).await.map(|r| json(&r)),
        "get_analytic_user_profile" => client.get_analytic_user_profile(id).await.map(|r| json(&r)),
        "get_user" => client
            .get_user(id, &UsersQuery::default())
            .await
            .map(|r| json(&r)),
        "get_user_group_users" => client
            .get_user_group_users(id, None, None, None)
            .await
            .map(|r| json(&r)),
        "get_permission_users" => client
            .get_permission_users(id, None, None, None)
            .await
            .map(|r| json(&r)),
        "assign_profile" => client
            .assign_profile(
                id,
                &LocalTenantProfileAssignmentRequestDto {
                    target_user_ids: users,
                    validity_start_time: start,
                    validity_end_time: end,
                },
            )
            .await
            .map(|r| json(&r)),
        "remove_profile" => client
            .remove_profile(
                id,
                &LocalTenantProfileRevokeRequestDto {
                    target_user_ids: users,
                },
            )
            .await
            .map(|r| json(&r)),
        "assign_analytic_profile" => client
            .assign_analytic_profile(
                id,
                &AccessibleTenantProfileAssignmentRequestDto {
                    target_user_ids: users,
                    target_tenant_codes: tenants,
                    validity_start_time: start,
                    validity_end_time: end,
                },
            )
            .await
            .map(|r| json(&r)),
        "remove_analytic_profile" => client
            .remove_analytic_profile(
                id,
                &AccessibleTenantProfileRevokeRequestDto {
                    target_user_ids: users,
                    target_tenant_codes: tenants,
                },
            )
            .await
            .map(|r| json(&r)),
        other => panic!("unknown method {other}"),
    }
}

/// Serialize any answer to JSON without naming its type.
mod erased {
    pub trait Ser {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

fn header_names(r: &LoggedRequest) -> Vec<String> {
    let mut n: Vec<String> = r.headers.iter().map(|(k, _)| k.clone()).collect();
    n.sort();
    n.dedup();
    n
}

const PROBE: &str = "probe-id-0001";

#[tokio::test]
async fn every_hostile_id_stays_in_its_endpoint_path_and_adds_no_header() {
    let sandbox = VisierSandbox::start(Seed::Fixtures, SandboxOptions::default())
        .await
        .expect("sandbox");
    let client = VisierClient::new(&sandbox.config()).expect("client");
    // Log in once so every later request is the call itself.
    client.get_all_profiles().await.expect("login");
    let log = sandbox.log();
    let (mut checked, mut refused_unsent) = (0usize, 0usize);
    for method in METHODS {
        let before = log.len();
        let _ = call(&client, method, PROBE, PROBE).await;
        let plain = log.entries()[before..].to_vec();
        assert_eq!(plain.len(), 1, "{method}: one request");
        let plain = &plain[0];
        let (plain_path, plain_query) = match plain.raw_target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (plain.raw_target.clone(), None),
        };
        let segments: Vec<&str> = plain_path.split('/').collect();
        let at = segments
            .iter()
            .position(|s| *s == PROBE)
            .expect("the id is one path segment");
        for id in hostile_ids() {
            let before = log.len();
            let result = AssertUnwindSafe(call(&client, method, &id, &id))
                .catch_unwind()
                .await;
            let result = match result {
                Ok(r) => r,
                Err(_) => panic!("{method}({id:?}) panicked"),
            };
            let sent = log.entries()[before..].to_vec();
            match (&result, sent.as_slice()) {
                (Err(Error::InvalidInput { .. }), []) => refused_unsent += 1,
                (_, [r]) => {
                    let (path, query) = match r.raw_target.split_once('?') {
                        Some((p, q)) => (p, Some(q.to_owned())),
                        None => (r.raw_target.as_str(), None),
                    };
                    assert_eq!(query, plain_query, "{method}({id:?}): query");
                    assert!(!r.raw_target.contains('#'), "{method}({id:?}): fragment");
                    let got: Vec<&str> = path.split('/').collect();
                    assert_eq!(got.len(), segments.len(), "{method}({id:?}): {path}");
                    for (k, (g, p)) in got.iter().zip(&segments).enumerate() {
                        if k == at {
                            assert_eq!(
                                percent_decode(g).as_deref(),
                                Some(id.as_bytes()),
                                "{method}({id:?}): id segment {g}"
                            );
                            assert!(*g != "." && *g != "..", "{method}: dot segment");
                        } else {
                            assert_eq!(g, p, "{method}({id:?}): fixed segment");
                        }
                    }
                    assert_eq!(r.method, plain.method);
                    assert_eq!(
                        header_names(r),
                        header_names(plain),
                        "{method}({id:?}): headers"
                    );
                    for (k, v) in &r.headers {
                        assert!(!v.contains(['\r', '\n']), "{method}({id:?}): header {k}");
                    }
                    if method.starts_with("assign") || method.starts_with("remove") {
                        let body = r.body_json().expect("JSON body");
                        assert_eq!(
                            body["targetUserIds"][0].as_str(),
                            Some(id.as_str()),
                            "{method}({id:?}): body user"
                        );
                    }
                    // The tenant knows none of these ids: a refusal, or an answer that
                    // names no success.
                    if let Ok(v) = &result {
                        let text = v.to_string();
                        assert!(
                            !text.contains("\"successfulAssignments\":[{")
                                && !text.contains("\"succeeded\":[{"),
                            "{method}({id:?}) succeeded: {text}"
                        );
                    }
                }
                (r, sent) => panic!("{method}({id:?}): {r:?} after {} requests", sent.len()),
            }
            checked += 1;
        }
    }
    eprintln!(
        "{checked} hostile calls: {refused_unsent} refused before sending, {} sent and checked",
        checked - refused_unsent
    );
    assert!(checked >= 11 * 50, "{checked} calls");
    sandbox.shutdown().await;
}

// ---------------------------------------------------------------------------------
// Section 2: malformed answers through every decoder.

/// The shared malformed answers, then those malformed only for Visier's shapes.
fn malformed() -> Vec<MalformedAnswer> {
    const JSON: &str = "application/json";
    // Every response field of every method, each of a type its decoder must refuse.
    let wrong: String = "{\"profiles\":7,\"assignedProfiles\":\"x\",\"assignedProfilesForAccessibleTenant\":\"x\",\"succeeded\":7,\"failed\":\"x\",\"errors\":\"yes\",\"badUserIds\":1,\"profileId\":[1],\"users\":{},\"userId\":[1],\"successfulAssignments\":true,\"tenants\":5,\"permissions\":\"p\"}".to_owned();
    // The same object behind 10 MB of padding (under the default 32 MiB cap, so the
    // decoder, not the cap, has to refuse it).
    let big = format!("{{\"padding\":\"{}\",{}", "x".repeat(10 << 20), &wrong[1..]);
    let mut all = malformed_answers();
    all.extend([
        MalformedAnswer::new("html 502", 502, "text/html", "<html>Bad gateway</html>"),
        MalformedAnswer::new("truncated", 200, JSON, "{\"profiles\":[{\"profileId\":\"a"),
        MalformedAnswer::new("wrong types", 200, JSON, wrong),
        MalformedAnswer::new("array", 200, JSON, "[1,2,3]"),
        MalformedAnswer::new("10 MB", 200, JSON, big),
    ]);
    all
}

#[tokio::test]
async fn malformed_answers_are_typed_errors_never_panics() {
    for answer in malformed() {
        let what = answer.name;
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(
                ResponseTemplate::new(answer.status).set_body_raw(answer.body, answer.content_type),
            )
            .mount(&server)
            .await;
        let config = VisierConfig::new(
            server.uri(),
            VisierCredentials::asid_token("api-key", "preset-token"),
        )
        .with_options(VisierConfig::default_options(&server.uri()).retry(RetryPolicy::none()));
        let client = VisierClient::new(&config).expect("client");
        for method in METHODS {
            let r = AssertUnwindSafe(call(&client, method, "p-1", "u-1"))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| panic!("{method} panicked on {what}"));
            // Each case is garbage for every method: a typed error, never a success.
            if let Ok(v) = &r {
                panic!("{method} accepted {what}: {v}");
            }
        }
        let r = AssertUnwindSafe(client.get_all_profiles())
            .catch_unwind()
            .await
            .unwrap_or_else(|_| panic!("get_all_profiles panicked on {what}"));
        assert!(r.is_err(), "get_all_profiles accepted {what}");
    }
}

// ---------------------------------------------------------------------------------
// Section 3: arbitrary JSON into every response wire type.

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
        Just(Value::from("9223372036854775807")),
        Just(Value::from("-9223372036854775808")),
        Just(Value::from("99999999999999999999999")),
    ];
    let keys = prop_oneof![
        Just("profiles".to_owned()),
        Just("profileId".to_owned()),
        Just("assignedProfiles".to_owned()),
        Just("validityStartTime".to_owned()),
        Just("validityEndTime".to_owned()),
        Just("forAllChildren".to_owned()),
        Just("additionalCapabilities".to_owned()),
        Just("capabilities".to_owned()),
        Just("users".to_owned()),
        Just("userId".to_owned()),
        Just("userGroups".to_owned()),
        Just("tenants".to_owned()),
        Just("assignments".to_owned()),
        Just("successfulAssignments".to_owned()),
        Just("badTenantCodes".to_owned()),
        Just("permissions".to_owned()),
        "[a-zA-Z]{1,8}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn decode_all(v: &Value) {
    let text = v.to_string();
    macro_rules! each {
        ($($t:ty),* $(,)?) => {$(
            let _ = serde_json::from_value::<$t>(v.clone());
            let _ = serde_json::from_str::<$t>(&text);
        )*};
    }
    each!(
        Millis,
        CapabilityDto,
        ProfilesGetApiResponseDto,
        ProfileGetApiResponseDto,
        AllProfileAssignedForLocalTenantDto,
        ProfileAssignedForLocalTenantDto,
        AllProfileAssignedForAccessibleTenantDto,
        ProfileAssignedForAccessibleTenantDto,
        LocalTenantProfileAssignmentResponseDto,
        AccessibleTenantProfileAssignmentResponseDto,
        LocalTenantProfileRevokeResponseDto,
        AccessibleTenantProfileRevokeResponseDto,
        AllUsersGetApiResponseDto,
        UserGetApiResponseDto,
        UserGroupsGetApiResponseDto,
        UserGroupGetApiResponseDto,
        UserGroupsUsersDto,
        SecurityAssignmentResponseDto,
        PermissionsListDto,
        AssignRevokePermissionsResponseDto,
        PermissionAssignedUsersDto,
        OAuth2TokenResponse,
        StatusDto,
        LocalTenantProfileAssignmentRequestDto,
        AccessibleTenantProfileAssignmentRequestDto,
        UsersToUserGroupsRequestDto,
        AssignRevokePermissionsRequestDto,
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256), ..ProptestConfig::default() })]

    /// Any JSON into any wire type: an error or a value, never a panic.
    #[test]
    fn arbitrary_json_never_panics_a_wire_type(v in arb_json()) {
        decode_all(&v);
    }
}
