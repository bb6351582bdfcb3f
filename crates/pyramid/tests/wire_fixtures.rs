//! Every fixture response deserializes into the wire types, and the permission set
//! converts between both wire forms with its combination rules.

use grantbridge_core::ErrorKind;
use grantbridge_core::testing::Fixtures;
use grantbridge_pyramid::wire::{
    AdminType, ClientLicenseType, DEFAULT_TENANT_ID, Envelope, ModifiedItemsResult, Permission,
    PermissionRules, PermissionSet, ProfileApiData, ProfilePermissionHolder, RoleData,
    UpdateUserDb, UserObject, UserStatusId, Violation,
};
use proptest::prelude::*;
use serde::de::DeserializeOwned;

/// Response bodies in `tests/fixtures/responses` today (see `tests/fixtures/README.md`).
const RESPONSE_FILES: usize = 7;

/// The fixture folder; panics if it is missing or holds fewer files than today.
fn fixture_dir() -> Fixtures {
    Fixtures::open(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/responses"),
        RESPONSE_FILES,
    )
}

fn fixture<T: DeserializeOwned>(name: &str) -> T {
    fixture_dir().json(name)
}

#[test]
fn every_fixture_file_is_covered() {
    let names = fixture_dir().names();
    assert_eq!(
        names,
        [
            "add_profile.json",
            "add_profile_failure.json",
            "create_roles.json",
            "get_all_profiles_by_tenant_id.json",
            "get_default_tenant.json",
            "get_roles_by_name.json",
            "get_users_by_name.json",
        ],
        "a new fixture needs a test below"
    );
}

#[test]
fn default_tenant_is_a_bare_string() {
    let env: Envelope<String> = fixture("get_default_tenant.json");
    assert_eq!(env.data, DEFAULT_TENANT_ID);
}

#[test]
fn modified_items_results() {
    let ok: Envelope<ModifiedItemsResult> = fixture("add_profile.json");
    assert!(!ok.data.is_failure());
    assert_eq!(
        ok.data.modified_list[0].id.as_deref(),
        Some("00000000-0000-4000-8000-000000000101")
    );
    let failed: Envelope<ModifiedItemsResult> = fixture("add_profile_failure.json");
    assert!(failed.data.is_failure());
    assert_eq!(
        failed.data.error_message.as_deref(),
        Some("Synthetic: profile could not be added")
    );
    assert!(failed.data.modified_list.is_empty());
    let roles: Envelope<ModifiedItemsResult> = fixture("create_roles.json");
    let ids: Vec<_> = roles
        .data
        .modified_list
        .iter()
        .map(|i| i.id.clone().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "00000000-0000-4000-8000-000000000201",
            "00000000-0000-4000-8000-000000000202"
        ]
    );
}

#[test]
fn profiles_carry_520_for_bits_3_and_9() {
    let env: Envelope<Vec<ProfileApiData>> = fixture("get_all_profiles_by_tenant_id.json");
    let p = &env.data[0];
    assert_eq!(
        p.profile_id.as_deref(),
        Some("00000000-0000-4000-8000-000000000101")
    );
    assert_eq!(p.tenant_id, DEFAULT_TENANT_ID);
    let set = p.permissions.to_set().expect("known bits");
    assert_eq!(
        set.iter().collect::<Vec<_>>(),
        [Permission::AppDiscovery, Permission::DisAdvancedAnalytics]
    );
}

#[test]
fn roles_by_name_and_users_by_name() {
    let roles: Envelope<Vec<RoleData>> = fixture("get_roles_by_name.json");
    assert_eq!(
        roles.data[0].role_id.as_deref(),
        Some("00000000-0000-4000-8000-000000000201")
    );
    assert_eq!(roles.data[0].role_name, "test role");
    let users: Envelope<Vec<UserObject>> = fixture("get_users_by_name.json");
    let u = &users.data[0];
    assert_eq!(u.user_name.as_deref(), Some("john"));
    assert_eq!(u.admin_type, Some(AdminType::None));
    assert_eq!(u.client_license_type, Some(ClientLicenseType::Professional));
    assert_eq!(u.status_id, Some(UserStatusId::Enabled));
    assert_eq!(
        u.role_ids.as_deref(),
        Some(&["00000000-0000-4000-8000-000000000201".to_owned()][..])
    );
}

#[test]
fn roles_read_both_spellings_and_keep_extras() {
    let a: RoleData = serde_json::from_str(r#"{"id":"r1","name":"Sales","isPrivate":false,"x":1}"#)
        .expect("id/name");
    let b: RoleData =
        serde_json::from_str(r#"{"roleId":"r1","roleName":"Sales","isPrivate":false,"x":1}"#)
            .expect("roleId");
    assert_eq!(a, b);
    assert_eq!(a.extra.get("x"), Some(&serde_json::json!(1)));
    let both: RoleData =
        serde_json::from_str(r#"{"roleId":"r1","id":"r2","roleName":"A","name":"B"}"#)
            .expect("both");
    assert_eq!(
        (both.role_id.as_deref(), both.role_name.as_str()),
        (Some("r1"), "A")
    );
    assert_eq!(
        serde_json::to_value(&b).expect("ser"),
        serde_json::json!({"roleId":"r1","roleName":"Sales","isPrivate":false,"x":1})
    );
}

#[test]
fn enums_keep_unknown_codes() {
    let u: UserObject =
        serde_json::from_str(r#"{"id":"u","clientLicenseType":300,"adminType":2,"statusID":0}"#)
            .expect("user");
    assert_eq!(u.client_license_type, Some(ClientLicenseType::Other(300)));
    assert_eq!(u.admin_type, Some(AdminType::EnterpriseAdmin));
    assert_eq!(
        serde_json::to_value(u.client_license_type).expect("ser"),
        serde_json::json!(300)
    );
    assert!(serde_json::from_str::<UserObject>(r#"{"id":"u","statusID":"x"}"#).is_err());
}

#[test]
fn update_user_db_writes_exactly_what_is_set() {
    let set = UpdateUserDb {
        id: "u1".into(),
        profile_id: Some(Some("p1".into())),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&set).expect("ser"),
        r#"{"id":"u1","profileId":"p1"}"#
    );
    let clear = UpdateUserDb {
        id: "u1".into(),
        profile_id: Some(None),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&clear).expect("ser"),
        r#"{"id":"u1","profileId":null}"#
    );
    let back: UpdateUserDb = serde_json::from_str(r#"{"id":"u1","profileId":null}"#).expect("de");
    assert_eq!(back, clear);
    let none: UpdateUserDb = serde_json::from_str(r#"{"id":"u1"}"#).expect("de");
    assert_eq!(none.profile_id, None);
}

#[test]
fn bits_3_and_9_are_520_not_the_seed_examples_xor() {
    let set = PermissionSet::from_index_list(&[9, 3]).expect("known");
    assert_eq!(set.numeric(), 520);
    assert_eq!(set.numeric(), (1 << 3) + (1 << 9));
    assert_ne!(
        set.numeric(),
        2 ^ 3 ^ 9,
        "the seed example's XOR gives 12 = bits {{2, 3}}"
    );
    assert_eq!(
        PermissionSet::from_numeric(12).expect("known").index_list(),
        [2, 3]
    );
    assert_eq!(
        set.to_list_holder(),
        ProfilePermissionHolder {
            permission_bit_index_list: Some(vec![3, 9]),
            numeric: None
        }
    );
    assert_eq!(
        serde_json::to_string(&set.to_numeric_holder()).expect("ser"),
        r#"{"numeric":520}"#
    );
}

#[test]
fn holders_prefer_the_list_and_refuse_unknown_bits() {
    let both = ProfilePermissionHolder {
        permission_bit_index_list: Some(vec![1]),
        numeric: Some(8),
    };
    assert_eq!(
        PermissionSet::from_holder(&both).expect("ok").index_list(),
        [1]
    );
    assert!(
        PermissionSet::from_holder(&ProfilePermissionHolder::default())
            .expect("ok")
            .is_empty()
    );
    for bad in [-1, 1 << 26, i64::MAX, (1 << 40) | 1] {
        let err = PermissionSet::from_numeric(bad).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
    }
    assert!(
        PermissionSet::from_numeric(1 << 40)
            .expect_err("bit 40")
            .to_string()
            .contains("40")
    );
    for bad in [26, -1, 64] {
        assert_eq!(
            PermissionSet::from_index_list(&[3, bad])
                .expect_err("refused")
                .kind(),
            ErrorKind::InvalidInput
        );
    }
    assert_eq!(
        PermissionSet::from_numeric((1 << 26) - 1).expect("all"),
        PermissionSet::ALL
    );
    let err = PermissionSet::from_names(["app_discovery", "discover"]).expect_err("unknown name");
    assert!(err.to_string().contains("\"discover\""), "{err}");
}

#[test]
fn exclusive_and_needs_rules() {
    use Permission as P;
    let lite_pro: PermissionSet = [
        P::AppDiscovery,
        P::DisCreateDataSource,
        P::DisLiteVersion,
        P::DisAdvancedAnalytics,
        P::DisCreateShareable,
    ]
    .into_iter()
    .collect();
    assert_eq!(
        lite_pro.violations(PermissionRules::Exclusive),
        [
            Violation::Exclusive(P::DisAdvancedAnalytics, P::DisLiteVersion),
            Violation::Exclusive(P::DisCreateShareable, P::DisLiteVersion)
        ]
    );
    let err = lite_pro
        .validate(PermissionRules::Exclusive)
        .expect_err("exclusive");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("dis_lite_version (bit 22)"),
        "{err}"
    );
    assert!(lite_pro.validate(PermissionRules::None).is_ok());

    // The seed's own example {3, 9} passes the default rules but not the strict ones.
    let seed = PermissionSet::from_numeric(520).expect("known");
    assert!(seed.validate(PermissionRules::Exclusive).is_ok());
    assert_eq!(
        seed.violations(PermissionRules::Strict),
        [Violation::Needs(
            P::DisAdvancedAnalytics,
            P::DisCreateDataSource
        )]
    );
    let strict_ok = PermissionSet::from_index_list(&[3, 9, 14]).expect("known");
    assert!(strict_ok.validate(PermissionRules::Strict).is_ok());
    let model: PermissionSet = [P::ModExecuteProcess].into_iter().collect();
    assert_eq!(
        model.violations(PermissionRules::Strict),
        [Violation::Needs(P::ModExecuteProcess, P::AppModel)]
    );
    let formulate: PermissionSet = [P::LogCreateFormulas, P::AppLogic].into_iter().collect();
    assert_eq!(
        formulate.violations(PermissionRules::Strict),
        [Violation::Needs(P::LogCreateFormulas, P::LogCustomColumns)]
    );
}

fn valid_sets() -> impl Strategy<Value = PermissionSet> {
    (0u32..(1 << 26)).prop_filter_map("exclusive pairs", |bits| {
        let set = PermissionSet::from_numeric(i64::from(bits)).ok()?;
        set.validate(PermissionRules::Strict).is_ok().then_some(set)
    })
}

proptest! {
    #[test]
    fn valid_sets_survive_numeric_and_list_forms(set in valid_sets()) {
        prop_assert_eq!(PermissionSet::from_numeric(set.numeric()).expect("numeric"), set);
        prop_assert_eq!(PermissionSet::from_index_list(&set.index_list()).expect("list"), set);
        let via_json: ProfilePermissionHolder = serde_json::from_str(&serde_json::to_string(&set.to_list_holder()).expect("ser")).expect("de");
        prop_assert_eq!(PermissionSet::from_holder(&via_json).expect("holder"), set);
        let names: Vec<&str> = set.iter().map(Permission::name).collect();
        prop_assert_eq!(PermissionSet::from_names(names).expect("names"), set);
    }

    #[test]
    fn any_bits_round_trip_and_shuffled_lists_agree(bits in 0u32..(1 << 26), extra in proptest::collection::vec(0i64..26, 0..8)) {
        let set = PermissionSet::from_numeric(i64::from(bits)).expect("in range");
        prop_assert_eq!(PermissionSet::from_numeric(set.numeric()).expect("numeric"), set);
        let mut list = set.index_list();
        list.extend(&extra);
        list.reverse();
        let merged = PermissionSet::from_index_list(&list).expect("list");
        prop_assert_eq!(merged.numeric(), set.numeric() | extra.iter().fold(0, |acc, b| acc | (1 << b)));
        prop_assert_eq!(set.len(), bits.count_ones() as usize);
    }
}
