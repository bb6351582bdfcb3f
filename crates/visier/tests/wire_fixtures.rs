//! Every documented Visier response deserializes into the wire types, and the wire
//! rules of the spec (string times, sentinels, lenient bools, both forms of
//! `additionalCapabilities`, the wrapped detail) hold in both directions.

use grantbridge_core::testing::Fixtures;
use grantbridge_visier::wire::*;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Response bodies in `tests/fixtures/responses` today (see `tests/fixtures/README.md`).
const RESPONSE_FILES: usize = 16;

/// The fixture folder; panics if it is missing or holds fewer files than today.
fn fixtures() -> Fixtures {
    Fixtures::open(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/responses"),
        RESPONSE_FILES,
    )
}

fn load<T: DeserializeOwned>(name: &str) -> T {
    fixtures().json(name)
}

#[test]
fn every_fixture_file_is_covered() {
    let names = fixtures().names();
    let covered = [
        "assign_analytic_profile.json",
        "assign_analytic_profile_partial_failure.json",
        "assign_permissions.json",
        "assign_profile.json",
        "error_status_404.json",
        "get_all_profiles.json",
        "get_all_users.json",
        "get_analytic_profile_detail.json",
        "get_analytic_profiles.json",
        "get_analytic_user_profile.json",
        "get_profile_detail.json",
        "get_profile_detail_wrapped.json",
        "get_user_profile.json",
        "oauth2_token.json",
        "remove_analytic_profile.json",
        "remove_profile.json",
    ];
    assert_eq!(
        names, covered,
        "a fixture was added or removed: cover it below"
    );
}

#[test]
fn profile_lists_and_details() {
    let all: ProfilesGetApiResponseDto = load("get_all_profiles.json");
    assert_eq!(all.profiles.len(), 1);
    let p = &all.profiles[0];
    assert_eq!(
        p.profile_id.as_deref(),
        Some("07ca543c-b64b-3fab-a8c1-02655ae47ecd")
    );
    assert_eq!(p.display_name.as_deref(), Some("PARTNER_ADMIN"));
    assert_eq!(p.capabilities.len(), 5);
    assert_eq!(p.capabilities[0].access_level.as_deref(), Some("Write"));
    assert_eq!(p.additional_capabilities.len(), 7);

    let analytic: ProfilesGetApiResponseDto = load("get_analytic_profiles.json");
    assert_eq!(
        analytic.profiles[0].additional_capabilities,
        ["AccessToAllData"]
    );

    let detail: ProfileGetApiResponseDto = load("get_profile_detail.json");
    assert_eq!(detail.capabilities.len(), 5);
    let adetail: ProfileGetApiResponseDto = load("get_analytic_profile_detail.json");
    assert_eq!(
        adetail.profile_id.as_deref(),
        Some("af1e7ba4-eef0-41db-9e44-5bac6151cd14")
    );
}

#[test]
fn wrapped_detail_reads_as_its_first_profile() {
    let wrapped: ProfileGetApiResponseDto = load("get_profile_detail_wrapped.json");
    assert_eq!(
        wrapped.profile_id.as_deref(),
        Some("be29ae0d-85d5-4a06-a247-35b85a240319")
    );
    assert_eq!(wrapped.capabilities.len(), 5);
    assert_eq!(wrapped.additional_capabilities.len(), 7);
    // The flat form wins when both are present; an empty wrapper is an empty DTO.
    let both: ProfileGetApiResponseDto =
        serde_json::from_value(json!({"profileId": "flat", "profiles": [{"profileId": "inner"}]}))
            .expect("decodes");
    assert_eq!(both.profile_id.as_deref(), Some("flat"));
    let empty: ProfileGetApiResponseDto =
        serde_json::from_value(json!({"profiles": []})).expect("decodes");
    assert_eq!(empty, ProfileGetApiResponseDto::default());
    // Writes are always flat.
    let out = serde_json::to_value(&wrapped).expect("ser");
    assert!(out.get("profiles").is_none());
    assert!(out["additionalCapabilities"].is_array());
}

#[test]
fn user_profiles_with_object_form_capabilities_and_sentinels() {
    let local: AllProfileAssignedForLocalTenantDto = load("get_user_profile.json");
    let a = &local.assigned_profiles[0];
    assert_eq!(a.validity_start_time, Some(Millis(1_546_550_635_000)));
    assert_eq!(a.validity_end_time, Some(Millis(1_579_496_820_000)));
    assert_eq!(a.additional_capabilities, ["Approve", "DataUpload"]);
    // Written back in the object form of this DTO, times as strings.
    let out = serde_json::to_value(a).expect("ser");
    assert_eq!(
        out["additionalCapabilities"],
        json!({"additionalCapabilities": ["Approve", "DataUpload"]})
    );
    assert_eq!(out["validityStartTime"], json!("1546550635000"));

    let analytic: AllProfileAssignedForAccessibleTenantDto = load("get_analytic_user_profile.json");
    let a = &analytic.assigned_profiles_for_accessible_tenant[0];
    assert!(a.for_all_children);
    assert_eq!(a.validity_start_time, Some(Millis::NO_START));
    assert_eq!(a.validity_end_time, Some(Millis::PERMANENT));
    assert_eq!(Millis::start_bound(a.validity_start_time), None);
    assert_eq!(Millis::end_bound(a.validity_end_time), None);
    let out = serde_json::to_value(a).expect("ser");
    assert_eq!(out["validityStartTime"], json!("-9223372036854775808"));
    assert_eq!(out["validityEndTime"], json!("9223372036854775807"));
}

#[test]
fn assign_and_remove_answers() {
    let local: LocalTenantProfileAssignmentResponseDto = load("assign_profile.json");
    assert!(!local.errors);
    assert_eq!(local.successful_assignments.len(), 2);
    assert!(local.bad_user_ids.is_empty() && local.failed_assignments.is_empty());

    let analytic: AccessibleTenantProfileAssignmentResponseDto =
        load("assign_analytic_profile.json");
    assert_eq!(
        analytic.successful_assignments[0].for_all_children,
        Some(true)
    );

    let partial: AccessibleTenantProfileAssignmentResponseDto =
        load("assign_analytic_profile_partial_failure.json");
    assert!(partial.errors);
    assert_eq!(
        partial.bad_user_ids[0].user_id.as_deref(),
        Some("1f4a7176-7f45-0147-b21f-472ae2167285")
    );
    let err = partial.bad_user_ids[0].error.as_ref().expect("error");
    assert_eq!(err.error_code.as_deref(), Some("USER_INPUT_ERROR"));
    assert_eq!(err.root_cause_id.as_deref(), Some("RCI0000002"));
    assert_eq!(partial.successful_assignments.len(), 3);

    let removed: LocalTenantProfileRevokeResponseDto = load("remove_profile.json");
    assert_eq!(
        removed.failed[0].message.as_deref(),
        Some("User ID does not exist")
    );
    assert_eq!(removed.succeeded.len(), 1);

    let aremoved: AccessibleTenantProfileRevokeResponseDto = load("remove_analytic_profile.json");
    assert_eq!(aremoved.succeeded.len(), 1);
    assert_eq!(
        aremoved.bad_user_ids[0]
            .error
            .as_ref()
            .and_then(|e| e.error_message.as_deref()),
        Some("Synthetic: user ID does not exist")
    );
    assert!(aremoved.unaffected_users.is_empty());
}

#[test]
fn users_permissions_tokens_and_errors() {
    let users: AllUsersGetApiResponseDto = load("get_all_users.json");
    assert_eq!((users.limit, users.start), (Some(1), Some(0)));
    let u = &users.users[0];
    assert_eq!(u.account_enabled, Some(true));
    assert_eq!(
        u.profiles.as_ref().map(|p| p.assigned_profiles.len()),
        Some(1)
    );
    assert_eq!(
        u.last_login.as_ref().and_then(|l| l.timestamp),
        Some(Millis(1_700_000_000_000))
    );

    let perms: AssignRevokePermissionsResponseDto = load("assign_permissions.json");
    assert_eq!(perms.tenants[0].status.as_deref(), Some("Succeed"));

    let token: OAuth2TokenResponse = load("oauth2_token.json");
    assert_eq!(token.expires_in, Some(3600));
    assert_eq!(
        token.access_token.as_deref(),
        Some("synthetic-access-token")
    );
    let dbg = format!("{token:?}");
    assert!(
        !dbg.contains("synthetic-access-token") && !dbg.contains("synthetic-refresh-token"),
        "{dbg}"
    );

    let status: StatusDto = load("error_status_404.json");
    assert_eq!(status.code_text().as_deref(), Some("USER_INPUT_ERROR"));
    assert_eq!(
        status.message_text().as_deref(),
        Some("Synthetic: profile not found")
    );
    assert_eq!(status.user_error, Some(true));
    // google.rpc.Status and the gateway form.
    let rpc: StatusDto =
        serde_json::from_value(json!({"code": 5, "message": "not found", "details": []}))
            .expect("rpc");
    assert_eq!(rpc.code_text().as_deref(), Some("5"));
    let gw: StatusDto = serde_json::from_value(
        json!({"errorCode": "INTERNAL_SERVER_ERROR", "message": "Internal server error", "rci": "RCI9000002"}),
    )
    .expect("gateway");
    assert_eq!(gw.code_text().as_deref(), Some("INTERNAL_SERVER_ERROR"));
}

#[test]
fn lenient_reads() {
    // forAllChildren as a string (Visier's curl samples), times as numbers, nulls,
    // unknown fields, absent defaults.
    let req: AccessibleTenantProfileAssignmentRequestDto = serde_json::from_value(json!({
        "targetUserIds": ["u1"],
        "targetTenantCodes": [{"tenantCode": "WFF_j1r", "forAllChildren": "true"},
                              {"tenantCode": "WFF_j1r~c7o", "forAllChildren": "False"},
                              {"tenantCode": "WFF_j1r~d8p"}],
        "validityStartTime": 1571122800000_i64,
        "validityEndTime": "9223372036854775807",
        "somethingNew": {"x": 1}
    }))
    .expect("lenient");
    assert_eq!(req.target_tenant_codes[0].for_all_children, Some(true));
    assert_eq!(req.target_tenant_codes[1].for_all_children, Some(false));
    assert_eq!(req.target_tenant_codes[2].for_all_children, None);
    assert_eq!(req.validity_start_time, Some(Millis(1_571_122_800_000)));
    let nulls: LocalTenantProfileAssignmentResponseDto =
        serde_json::from_value(json!({"errors": null, "badUserIds": null})).expect("nulls");
    assert!(!nulls.errors && nulls.bad_user_ids.is_empty());
    let empty: AccessibleTenantProfileAssignmentResponseDto =
        serde_json::from_value(json!({})).expect("empty");
    assert!(!empty.errors && empty.successful_assignments.is_empty());
    // Garbage is still refused with an error, not silently read.
    assert!(
        serde_json::from_value::<ProfileAssignedForAccessibleTenantDto>(
            json!({"forAllChildren": "yes"})
        )
        .is_err()
    );
    assert!(serde_json::from_value::<LastLoginDto>(json!({"timestamp": "12x"})).is_err());
    assert!(serde_json::from_value::<LastLoginDto>(json!({"timestamp": 1.5})).is_err());
}

#[test]
fn requests_serialize_exactly_as_the_sdk_sends_them() {
    let req = AccessibleTenantProfileAssignmentRequestDto {
        target_user_ids: vec!["a".into(), "b".into()],
        target_tenant_codes: vec![
            TargetTenantCodeDto {
                tenant_code: Some("WFF_j1r".into()),
                for_all_children: Some(true),
            },
            TargetTenantCodeDto {
                tenant_code: Some("WFF_j1r~c7o".into()),
                for_all_children: Some(false),
            },
            TargetTenantCodeDto {
                tenant_code: Some("WFF_j1r~d8p".into()),
                for_all_children: None,
            },
        ],
        validity_start_time: Some(Millis::NO_START),
        validity_end_time: Some(Millis::PERMANENT),
    };
    assert_eq!(
        serde_json::to_string(&req).expect("ser"),
        r#"{"targetUserIds":["a","b"],"targetTenantCodes":[{"tenantCode":"WFF_j1r","forAllChildren":true},{"tenantCode":"WFF_j1r~c7o","forAllChildren":false},{"tenantCode":"WFF_j1r~d8p"}],"validityStartTime":"-9223372036854775808","validityEndTime":"9223372036854775807"}"#
    );
    let local = LocalTenantProfileAssignmentRequestDto {
        target_user_ids: vec!["a".into()],
        validity_start_time: Some(Millis(1_571_122_800_000)),
        validity_end_time: None,
    };
    assert_eq!(
        serde_json::to_string(&local).expect("ser"),
        r#"{"targetUserIds":["a"],"validityStartTime":"1571122800000"}"#
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn millis_round_trip_as_strings_and_numbers(ms in any::<i64>()) {
            let s = serde_json::to_string(&Millis(ms)).expect("ser");
            prop_assert_eq!(&s, &format!("\"{ms}\""));
            prop_assert_eq!(serde_json::from_str::<Millis>(&s).expect("de"), Millis(ms));
            prop_assert_eq!(serde_json::from_str::<Millis>(&ms.to_string()).expect("num"), Millis(ms));
        }

        #[test]
        fn bounds_round_trip(start in proptest::option::of(any::<i64>().prop_filter("not min", |v| *v != i64::MIN)),
                             end in proptest::option::of(any::<i64>().prop_filter("not max", |v| *v != i64::MAX))) {
            prop_assert_eq!(Millis::start_bound(Some(Millis::from_start(start))), start);
            prop_assert_eq!(Millis::end_bound(Some(Millis::from_end(end))), end);
        }
    }
}
