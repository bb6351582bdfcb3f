//! Property tests of the mapping between Pyramid's wire types and the core model
//! (issue 10), through the public surface only:
//!
//! * wire → core → wire: a generated tenant (users, roles incl. hidden and private,
//!   profiles in either permission form, memberships, bindings, private profiles) is
//!   served by a wiremock server, read through [`PyramidSystem`], and rebuilt from the
//!   core values alone; the rebuilt wire objects equal the served ones;
//! * core → wire → core: assignments, memberships and new profiles written through the
//!   adapter to a fresh sandbox read back unchanged; what Pyramid cannot hold fails
//!   with a typed error and changes nothing.

mod props_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use grantbridge_core::http::{ClientOptions, RetryPolicy, Secret};
use grantbridge_core::prelude::*;
use grantbridge_core::sandbox::SandboxOptions;
use grantbridge_core::testing::{cases, runtime};
use grantbridge_core::{
    Assignment, Capability, Error, ErrorKind, Feature, Group, GroupId, Membership, NewProfile,
    Outcome, Principal, Profile, ProfileId, ResourceId, ResourceKind, Scope, TenantCode, User,
    UserId, UserStatus, Validity,
};
use grantbridge_pyramid::sandbox::{PyramidSandbox, SUBSIDIARY_TENANT_ID, Seed};
use grantbridge_pyramid::wire::{
    AdminType, ClientLicenseType, Extra, ItemId, Permission, PermissionRules, PermissionSet,
    ProfileApiData, ProfilePermissionHolder, RoleData, UserObject, UserStatusId,
};
use grantbridge_pyramid::{PermissionForm, PyramidConfig, PyramidSystem};
use props_support::{TENANT, WireState, permission_set, wire_state};
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "cHJvcHM=";

// ---- wire → core → wire ---------------------------------------------------------

/// Serves a [`WireState`] the way a Pyramid server would, for the methods the
/// adapter's reads use.
struct Served(Arc<WireState>);

impl Served {
    fn answer(&self, method: &str, body: &Value) -> Value {
        let s = &self.0;
        let arg = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
        if let Some(t) = body.get("tenantId") {
            assert_eq!(t, &json!(s.tenant), "{method} asked for another tenant");
        }
        match method {
            "getDefaultTenant" => json!(TENANT),
            "getAllUsersByTenant" => s
                .users
                .iter()
                .map(|u| json!({"id": u.id, "name": u.user_name}))
                .collect(),
            "getAllUsersDataByTenantAndLicenceType" => {
                let query = &body["tenantUsersGetObject"];
                assert_eq!(query["tenantId"], json!(s.tenant), "{method}");
                let code = query["clientLicenseType"].as_i64();
                s.users
                    .iter()
                    .filter(|u| u.client_license_type.map(ClientLicenseType::code) == code)
                    .map(|u| serde_json::to_value(u).expect("user"))
                    .collect()
            }
            "getUser" => s
                .users
                .iter()
                .find(|u| u.id == arg("userId"))
                .map(|u| serde_json::to_value(u).expect("user"))
                .unwrap_or(Value::Null),
            "getAllRolesByUser" => s.roles_of[arg("userId")]
                .iter()
                .map(|r| json!(ItemId::new(r.clone())))
                .collect(),
            "getAllNonPrivateRolesByTenant" => s
                .public_roles()
                .map(|r| serde_json::to_value(r).expect("role"))
                .collect(),
            "getAllProfilesByTenantId" => s
                .profiles
                .iter()
                .chain(&s.foreign)
                .map(|p| serde_json::to_value(p).expect("profile"))
                .collect(),
            "getAllRolesByProfileId" => s
                .bindings
                .iter()
                .filter(|(p, _)| p == arg("profileId"))
                .map(|(_, r)| json!({"roleId": r, "roleName": format!("name of {r}")}))
                .collect(),
            "getPrivateProfileIdForUser" => json!(s.private.get(arg("userId"))),
            other => panic!("the adapter's reads do not call {other}"),
        }
    }
}

impl Respond for Served {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        if path == "/API2/auth/authenticateUser" {
            return ResponseTemplate::new(200).set_body_string(TOKEN);
        }
        let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
        assert_eq!(body["auth"], json!(TOKEN), "{path}");
        let method = path.strip_prefix("/API2/access/").expect("access path");
        ResponseTemplate::new(200).set_body_json(json!({ "data": self.answer(method, &body) }))
    }
}

async fn serve(state: WireState) -> (MockServer, PyramidSystem) {
    let server = MockServer::start().await;
    let tenant = (state.tenant != TENANT).then(|| state.tenant.clone());
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(Served(Arc::new(state)))
        .mount(&server)
        .await;
    let mut config = PyramidConfig::new(server.uri(), "admin", Secret::new("pw-long-1"))
        .with_options(ClientOptions::new("pyramid", server.uri()).retry(RetryPolicy::none()));
    // The default tenant is asked for; another one is configured.
    if let Some(t) = tenant {
        config = config.with_tenant(t);
    }
    let system = PyramidSystem::connect(config).await.expect("connect");
    (server, system)
}

/// Takes `key` out of `extra` as a `T`.
fn take<T: serde::de::DeserializeOwned>(extra: &mut Extra, key: &str) -> Option<T> {
    extra
        .remove(key)
        .map(|v| serde_json::from_value(v).expect("extra field of the expected type"))
}

/// Rebuilds the wire user from the core user alone (`roleIds` travel as memberships).
fn user_to_wire(u: &User) -> UserObject {
    let mut extra = u.extra.clone();
    let email = u
        .email
        .as_ref()
        .map(|e| e.as_str().to_owned())
        .or_else(|| take(&mut extra, "email"));
    UserObject {
        id: u.id.as_str().to_owned(),
        user_name: take(&mut extra, "userName"),
        first_name: take(&mut extra, "firstName"),
        last_name: take(&mut extra, "lastName"),
        email,
        phone: take(&mut extra, "phone"),
        admin_type: take::<i64>(&mut extra, "adminType").map(AdminType::from_code),
        role_ids: None,
        client_license_type: take::<i64>(&mut extra, "clientLicenseType")
            .map(ClientLicenseType::from_code),
        status_id: take::<i64>(&mut extra, "statusID").map(UserStatusId::from_code),
        tenant_id: take(&mut extra, "tenantId"),
        created_date: take(&mut extra, "createdDate"),
        last_login_date: take(&mut extra, "lastLoginDate"),
        extra,
    }
}

/// Rebuilds the wire role from the core group alone.
fn group_to_wire(g: &Group) -> RoleData {
    let mut extra = g.extra.clone();
    RoleData {
        role_id: Some(g.id.as_str().to_owned()),
        role_name: g.name.clone(),
        role_settings: take(&mut extra, "roleSettings"),
        is_hidden: take(&mut extra, "isHidden"),
        tenant_id: take(&mut extra, "tenantId"),
        is_private: take(&mut extra, "isPrivate"),
        is_group_role: take(&mut extra, "isGroupRole"),
        created_by: take(&mut extra, "createdBy"),
        extra,
    }
}

/// Rebuilds the wire profile from the core profile alone.
fn profile_to_wire(p: &Profile) -> ProfileApiData {
    let mut extra = p.extra.clone();
    ProfileApiData {
        profile_id: Some(p.id.as_str().to_owned()),
        name: p.name.clone(),
        description: p.description.clone().unwrap_or_default(),
        tenant_id: take(&mut extra, "tenantId").unwrap_or_default(),
        permissions: take(&mut extra, "permissions").unwrap_or_default(),
        extra,
    }
}

fn names(set: PermissionSet) -> Vec<Capability> {
    set.iter().map(|p| Capability::new(p.name())).collect()
}

fn tenant_scope(tenant: &str) -> Scope {
    Scope::tenant(TenantCode::new(tenant).expect("code"), false)
}

async fn wire_core_wire(state: WireState) -> Result<(), TestCaseError> {
    let (_server, system) = serve(state.clone()).await;
    prop_assert_eq!(system.scope(), tenant_scope(&state.tenant));

    let users = system.list_users().await.expect("users");
    let want: Vec<UserObject> = state
        .users
        .iter()
        .map(|u| UserObject {
            role_ids: None,
            ..u.clone()
        })
        .collect();
    let got: Vec<UserObject> = users.iter().map(user_to_wire).collect();
    prop_assert_eq!(got, want, "users");
    for (core, wire) in users.iter().zip(&state.users) {
        prop_assert_eq!(
            core.status == UserStatus::Disabled,
            wire.status_id == Some(UserStatusId::Disabled),
            "status of {}",
            wire.id
        );
    }

    let groups = system.list_groups().await.expect("groups");
    let got: Vec<RoleData> = groups.iter().map(group_to_wire).collect();
    let want: Vec<RoleData> = state.public_roles().cloned().collect();
    prop_assert_eq!(got, want, "roles");

    let profiles = system.list_profiles().await.expect("profiles");
    let got: Vec<ProfileApiData> = profiles.iter().map(profile_to_wire).collect();
    prop_assert_eq!(&got, &state.profiles, "profiles");
    for (core, wire) in profiles.iter().zip(&state.profiles) {
        let set = PermissionSet::from_holder(&wire.permissions).expect("valid holder");
        prop_assert_eq!(
            &core.capabilities,
            &names(set),
            "capabilities of {}",
            core.name
        );
    }

    let got: BTreeSet<Membership> = system
        .list_memberships()
        .await
        .expect("memberships")
        .into_iter()
        .collect();
    let want: BTreeSet<Membership> = state
        .roles_of
        .iter()
        .flat_map(|(u, roles)| roles.iter().map(move |r| (u, r)))
        .filter(|(_, r)| state.is_public_role(r))
        .map(|(u, r)| {
            Membership::new(
                UserId::new(u.clone()).expect("id"),
                GroupId::new(r.clone()).expect("id"),
            )
        })
        .collect();
    prop_assert_eq!(got, want, "memberships");

    let got: BTreeSet<Assignment> = system
        .list_assignments()
        .await
        .expect("assignments")
        .into_iter()
        .collect();
    let bound = state.bindings.iter().map(|(p, r)| {
        Assignment::new(
            Principal::Group(GroupId::new(r.clone()).expect("id")),
            ProfileId::new(p.clone()).expect("id"),
            tenant_scope(&state.tenant),
        )
    });
    let private = state.private.iter().map(|(u, p)| {
        Assignment::new(
            Principal::User(UserId::new(u.clone()).expect("id")),
            ProfileId::new(p.clone()).expect("id"),
            tenant_scope(&state.tenant),
        )
    });
    let want: BTreeSet<Assignment> = bound.chain(private).collect();
    prop_assert_eq!(got, want, "assignments");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(32), max_shrink_iters: 4096, ..ProptestConfig::default() })]

    /// Everything a Pyramid tenant holds survives the trip into the core model: the
    /// wire objects can be rebuilt from the core values alone.
    #[test]
    fn wire_to_core_to_wire_is_lossless(state in wire_state()) {
        runtime().block_on(wire_core_wire(state))?;
    }

    /// The strategies themselves: generated sets obey their rules, broken ones do not.
    #[test]
    fn generated_bit_sets_obey_their_rules(
        exclusive in permission_set(PermissionRules::Exclusive),
        strict in permission_set(PermissionRules::Strict),
        broken in props_support::exclusive_violation(),
    ) {
        prop_assert!(exclusive.validate(PermissionRules::Exclusive).is_ok(), "{}", exclusive);
        prop_assert!(strict.validate(PermissionRules::Strict).is_ok(), "{}", strict);
        prop_assert!(broken.validate(PermissionRules::Exclusive).is_err(), "{}", broken);
    }

    /// Both permission forms, and both at once, read as the same capabilities.
    #[test]
    fn any_valid_bit_set_reads_as_its_names_in_either_form(set in permission_set(PermissionRules::Exclusive)) {
        for holder in [set.to_numeric_holder(), set.to_list_holder(), ProfilePermissionHolder {
            permission_bit_index_list: Some(set.index_list()),
            numeric: Some(set.numeric()),
        }] {
            prop_assert_eq!(PermissionSet::from_holder(&holder).expect("valid"), set);
            let names: Vec<&str> = set.iter().map(Permission::name).collect();
            prop_assert_eq!(PermissionSet::from_names(names).expect("names"), set);
        }
    }
}

/// Regression (found by `wire_to_core_to_wire_is_lossless`): the adapter dropped the
/// modelled user fields it did not map (first and last name merged into the display
/// name, phone, a status other than disabled, creation and last login dates) and the
/// role fields `roleSettings` and `createdBy`.
#[test]
fn user_names_phone_status_dates_and_role_settings_survive_the_mapping() {
    let user = UserObject {
        id: "u-0".into(),
        user_name: Some("mary".into()),
        first_name: Some("Mary Ann".into()),
        last_name: Some("Smith".into()),
        email: Some("mary@example.com".into()),
        phone: Some("+4412345".into()),
        admin_type: Some(AdminType::None),
        role_ids: Some(vec![]),
        client_license_type: Some(ClientLicenseType::Viewer),
        status_id: Some(UserStatusId::Other(3)),
        tenant_id: Some(TENANT.into()),
        created_date: Some(1_600_000_000_000),
        last_login_date: Some(1_700_000_000_000),
        extra: Extra::new(),
    };
    let role = RoleData {
        role_id: Some("r-0".into()),
        role_name: "Auditors".into(),
        role_settings: Some("folder=off".into()),
        is_hidden: Some(true),
        tenant_id: Some(TENANT.into()),
        is_private: None,
        is_group_role: None,
        created_by: Some("admin".into()),
        extra: Extra::new(),
    };
    let state = WireState {
        tenant: TENANT.into(),
        foreign: vec![],
        users: vec![user],
        lists_role_ids: true,
        roles_of: [("u-0".to_owned(), vec![])].into(),
        roles: vec![role],
        profiles: vec![],
        bindings: BTreeSet::new(),
        private: BTreeMap::new(),
    };
    runtime().block_on(wire_core_wire(state)).expect("lossless");
}

// ---- core → wire → core ---------------------------------------------------------

/// A fresh sandbox with `users` generated users and the adapter over it.
async fn sandbox(users: usize, form: PermissionForm) -> (PyramidSandbox, PyramidSystem) {
    let sandbox = PyramidSandbox::start(Seed::Generated { users }, SandboxOptions::default())
        .await
        .expect("sandbox");
    let mut config = sandbox.config();
    config.permission_form = form;
    let system = PyramidSystem::connect(config).await.expect("connect");
    (sandbox, system)
}

/// The generated users (not the administrator), groups and profiles.
async fn objects(system: &PyramidSystem) -> (Vec<UserId>, Vec<GroupId>, Vec<ProfileId>) {
    let users = system
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .filter(|u| u.extra["userName"] != "admin")
        .map(|u| u.id)
        .collect();
    let groups = system
        .list_groups()
        .await
        .expect("groups")
        .into_iter()
        .map(|g| g.id)
        .collect();
    let profiles = system
        .list_profiles()
        .await
        .expect("profiles")
        .into_iter()
        .map(|p| p.id)
        .collect();
    (users, groups, profiles)
}

async fn sorted_assignments(system: &PyramidSystem) -> BTreeSet<Assignment> {
    system
        .list_assignments()
        .await
        .expect("assignments")
        .into_iter()
        .collect()
}

/// Which supported assignments to write: `(group, profile)` bindings, and one
/// optional private profile per user.
#[derive(Clone, Debug)]
struct Supported {
    bindings: BTreeSet<(usize, usize)>,
    private: Vec<Option<usize>>,
}

fn supported() -> impl Strategy<Value = Supported> {
    (
        proptest::collection::btree_set((0usize..3, 0usize..3), 0..=9),
        proptest::collection::vec(proptest::option::of(0usize..3), 3),
    )
        .prop_map(|(bindings, private)| Supported { bindings, private })
}

async fn core_wire_core(items: Supported) -> Result<(), TestCaseError> {
    let (sandbox, system) = sandbox(3, PermissionForm::Numeric).await;
    let (users, groups, profiles) = objects(&system).await;
    let scope = system.scope();
    let wanted: Vec<Assignment> = items
        .bindings
        .iter()
        .map(|&(g, p)| {
            Assignment::new(
                Principal::Group(groups[g].clone()),
                profiles[p].clone(),
                scope.clone(),
            )
        })
        .chain(items.private.iter().enumerate().filter_map(|(u, p)| {
            p.map(|p| {
                Assignment::new(
                    Principal::User(users[u].clone()),
                    profiles[p].clone(),
                    scope.clone(),
                )
            })
        }))
        .collect();
    let got = system.grant(&wanted).await;
    prop_assert!(
        got.iter().all(|o| matches!(o, Outcome::Applied)),
        "{:?}",
        got
    );
    let want: BTreeSet<Assignment> = wanted.iter().cloned().collect();
    prop_assert_eq!(sorted_assignments(&system).await, want.clone());
    for a in &wanted {
        let held = system
            .list_assignments_for(&a.principal)
            .await
            .expect("for one principal");
        prop_assert!(held.contains(a), "{} not listed for its principal", a);
    }
    // Granting again changes nothing; revoking removes exactly what was granted.
    let again = system.grant(&wanted).await;
    prop_assert!(
        again.iter().all(|o| matches!(o, Outcome::AlreadyInState)),
        "{:?}",
        again
    );
    let gone = system.revoke(&wanted).await;
    prop_assert!(
        gone.iter().all(|o| matches!(o, Outcome::Applied)),
        "{:?}",
        gone
    );
    prop_assert_eq!(sorted_assignments(&system).await, BTreeSet::new());
    sandbox.shutdown().await;
    Ok(())
}

/// A core item Pyramid cannot hold, and the error kind (and feature) it must get.
#[derive(Clone, Debug)]
enum Refused {
    /// A window on a grant.
    Window { group: bool, from: i64, len: i64 },
    /// The whole system instead of the tenant.
    SystemScope { group: bool },
    /// A resource (Segment-style) scope.
    ResourceScope { group: bool },
    /// The tenant with children (Pyramid tenants have none).
    Children { group: bool },
    /// Another tenant than the system's.
    OtherTenant { group: bool },
    /// A second private profile (1 or 2) for the user who holds profile 0.
    SecondPrivate { profile: usize },
    /// An id the tenant does not know.
    Unknown { what: u8 },
}

fn refused() -> impl Strategy<Value = Refused> {
    prop_oneof![
        (any::<bool>(), 0i64..2_000_000_000_000, 1i64..1_000_000_000)
            .prop_map(|(group, from, len)| Refused::Window { group, from, len }),
        any::<bool>().prop_map(|group| Refused::SystemScope { group }),
        any::<bool>().prop_map(|group| Refused::ResourceScope { group }),
        any::<bool>().prop_map(|group| Refused::Children { group }),
        any::<bool>().prop_map(|group| Refused::OtherTenant { group }),
        (1usize..3).prop_map(|profile| Refused::SecondPrivate { profile }),
        (0u8..3).prop_map(|what| Refused::Unknown { what }),
    ]
}

async fn refusals(items: Vec<Refused>) -> Result<(), TestCaseError> {
    let (sandbox, system) = sandbox(2, PermissionForm::Numeric).await;
    let (users, groups, profiles) = objects(&system).await;
    // The second user already holds private profile 0, profile 1 is bound to group 0.
    let held = vec![
        Assignment::new(
            Principal::User(users[1].clone()),
            profiles[0].clone(),
            system.scope(),
        ),
        Assignment::new(
            Principal::Group(groups[0].clone()),
            profiles[1].clone(),
            system.scope(),
        ),
    ];
    prop_assert!(system.grant(&held).await.iter().all(Outcome::is_done));
    let before = sorted_assignments(&system).await;
    let principal = |group: bool| {
        if group {
            Principal::Group(groups[1].clone())
        } else {
            Principal::User(users[0].clone())
        }
    };
    let on =
        |group: bool, scope: Scope| Assignment::new(principal(group), profiles[2].clone(), scope);
    let mut batch = Vec::new();
    let mut want = Vec::new();
    for r in &items {
        let (a, kind, feature) = match r {
            Refused::Window { group, from, len } => (
                on(*group, system.scope()).with_validity(
                    Validity::from_millis(Some(*from), Some(from + len)).expect("window"),
                ),
                ErrorKind::Unsupported,
                Some(Feature::ValidityWindows),
            ),
            Refused::SystemScope { group } => (
                on(*group, Scope::System),
                ErrorKind::Unsupported,
                Some(Feature::SystemScope),
            ),
            Refused::ResourceScope { group } => (
                on(
                    *group,
                    Scope::resource(
                        ResourceKind::new("WORKSPACE").expect("kind"),
                        ResourceId::new("ws-1").expect("id"),
                    ),
                ),
                ErrorKind::Unsupported,
                Some(Feature::ResourceScopes),
            ),
            Refused::Children { group } => (
                on(*group, Scope::tenant(system.tenant().clone(), true)),
                ErrorKind::InvalidInput,
                None,
            ),
            Refused::OtherTenant { group } => (
                on(
                    *group,
                    Scope::tenant(TenantCode::new(SUBSIDIARY_TENANT_ID).expect("code"), false),
                ),
                ErrorKind::InvalidInput,
                None,
            ),
            Refused::SecondPrivate { profile } => (
                Assignment::new(
                    Principal::User(users[1].clone()),
                    profiles[*profile].clone(),
                    system.scope(),
                ),
                ErrorKind::Conflict,
                None,
            ),
            Refused::Unknown { what } => {
                let principal = match what {
                    0 => Principal::User(UserId::new("no-such-user").expect("id")),
                    1 => Principal::Group(GroupId::new("no-such-role").expect("id")),
                    _ => principal(false),
                };
                let profile = match what {
                    0 | 1 => profiles[0].clone(),
                    _ => ProfileId::new("no-such-profile").expect("id"),
                };
                (
                    Assignment::new(principal, profile, system.scope()),
                    ErrorKind::NotFound,
                    None,
                )
            }
        };
        batch.push(a);
        want.push((kind, feature));
    }
    let got = system.grant(&batch).await;
    prop_assert_eq!(got.len(), batch.len());
    for ((o, (kind, feature)), a) in got.iter().zip(&want).zip(&batch) {
        let err = o.error();
        prop_assert_eq!(err.map(Error::kind), Some(*kind), "{} → {:?}", a, o);
        if let (Some(Error::Unsupported { feature: f, .. }), Some(w)) = (err, feature) {
            prop_assert_eq!(f, w);
        }
    }
    prop_assert_eq!(
        sorted_assignments(&system).await,
        before,
        "a refused item changed the state"
    );
    sandbox.shutdown().await;
    Ok(())
}

/// A new profile Pyramid can hold: any valid bits, in bit order (the order the
/// adapter reads them back in), with or without a description.
#[derive(Clone, Debug)]
struct NewOne {
    name: String,
    description: Option<String>,
    bits: PermissionSet,
    list_form: bool,
    /// Whether the system enforces the "needs" rules too (the bits then obey them).
    strict: bool,
}

fn new_profile() -> impl Strategy<Value = NewOne> {
    (
        props_support::name(),
        proptest::option::of("[A-Z][a-z ]{0,12}[a-z]"),
        any::<bool>().prop_flat_map(|strict| {
            let rules = if strict {
                PermissionRules::Strict
            } else {
                PermissionRules::Exclusive
            };
            (Just(strict), permission_set(rules))
        }),
        any::<bool>(),
    )
        .prop_map(|(name, description, (strict, bits), list_form)| NewOne {
            name,
            description,
            bits,
            list_form,
            strict,
        })
}

async fn profile_round_trip(new: NewOne, broken: PermissionSet) -> Result<(), TestCaseError> {
    let form = if new.list_form {
        PermissionForm::List
    } else {
        PermissionForm::Numeric
    };
    let (sandbox, system) = sandbox(0, form).await;
    let system = if new.strict {
        let mut config = sandbox.config();
        config.permission_form = form;
        config.permission_rules = PermissionRules::Strict;
        PyramidSystem::connect(config).await.expect("connect")
    } else {
        system
    };
    let request = NewProfile {
        name: new.name.clone(),
        description: new.description.clone(),
        capabilities: names(new.bits),
        scope: Some(system.scope()),
    };
    let made = system.create_profile(&request).await.expect("created");
    prop_assert_eq!(&made.name, &request.name);
    prop_assert_eq!(&made.description, &request.description);
    prop_assert_eq!(&made.capabilities, &request.capabilities);
    let listed = system.get_profile(&made.id).await.expect("listed");
    prop_assert_eq!(&listed, &made);
    let count = system.list_profiles().await.expect("profiles").len();

    // What Pyramid cannot hold is refused before anything is written.
    let mut with_level = request.clone();
    with_level
        .capabilities
        .push(Capability::with_level("app_model", "edit"));
    let mut unknown = request.clone();
    unknown.capabilities.push(Capability::new("Discover Pro"));
    let exclusive = NewProfile {
        capabilities: names(broken),
        ..request.clone()
    };
    let other_tenant = NewProfile {
        scope: Some(Scope::tenant(
            TenantCode::new(SUBSIDIARY_TENANT_ID).expect("code"),
            false,
        )),
        ..request.clone()
    };
    let blank = NewProfile {
        name: "  ".into(),
        ..request.clone()
    };
    for bad in [with_level, unknown, exclusive, other_tenant, blank] {
        let err = system.create_profile(&bad).await.expect_err("refused");
        prop_assert_eq!(err.kind(), ErrorKind::InvalidInput, "{:?}: {}", bad, err);
    }
    prop_assert_eq!(system.list_profiles().await.expect("profiles").len(), count);
    sandbox.shutdown().await;
    Ok(())
}

async fn membership_round_trip(pairs: BTreeSet<(usize, usize)>) -> Result<(), TestCaseError> {
    let (sandbox, system) = sandbox(3, PermissionForm::Numeric).await;
    let (users, groups, _) = objects(&system).await;
    let items: Vec<Membership> = pairs
        .iter()
        .map(|&(u, g)| Membership::new(users[u].clone(), groups[g].clone()))
        .collect();
    let got = system.add_memberships(&items).await;
    prop_assert!(
        got.iter().all(|o| matches!(o, Outcome::Applied)),
        "{:?}",
        got
    );
    let listed: BTreeSet<Membership> = system
        .list_memberships()
        .await
        .expect("memberships")
        .into_iter()
        .collect();
    prop_assert_eq!(&listed, &items.iter().cloned().collect());
    let got = system.remove_memberships(&items).await;
    prop_assert!(
        got.iter().all(|o| matches!(o, Outcome::Applied)),
        "{:?}",
        got
    );
    prop_assert!(
        system
            .list_memberships()
            .await
            .expect("memberships")
            .is_empty()
    );
    sandbox.shutdown().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(16), ..ProptestConfig::default() })]

    /// Every assignment Pyramid supports (a profile bound to a role, one private
    /// profile per user) reads back exactly as granted, and revokes cleanly.
    #[test]
    fn core_to_wire_to_core_is_the_identity_for_supported_assignments(items in supported()) {
        runtime().block_on(core_wire_core(items))?;
    }

    /// What Pyramid cannot hold gets a typed error, item by item, and changes nothing.
    #[test]
    fn unsupported_assignments_fail_typed_and_change_nothing(items in proptest::collection::vec(refused(), 1..6)) {
        runtime().block_on(refusals(items))?;
    }

    /// A new profile with any valid bits reads back as created, in either permission
    /// form; invalid ones are refused with `InvalidInput` and create nothing.
    #[test]
    fn new_profiles_round_trip_and_invalid_ones_are_refused(
        new in new_profile(),
        broken in props_support::exclusive_violation(),
    ) {
        runtime().block_on(profile_round_trip(new, broken))?;
    }

    /// Memberships written read back exactly, and remove cleanly.
    #[test]
    fn memberships_round_trip(pairs in proptest::collection::btree_set((0usize..3, 0usize..3), 0..=9)) {
        runtime().block_on(membership_round_trip(pairs))?;
    }
}
