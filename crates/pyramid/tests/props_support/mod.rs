//! Strategies shared by the Pyramid property tests: valid permission sets, wire
//! objects (users, roles, profiles) and whole tenant states, small enough that a
//! shrunk counterexample reads like a fixture.
//!
//! Each test crate uses part of this module, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use grantbridge_pyramid::wire::{
    AdminType, ClientLicenseType, Extra, Permission, PermissionRules, PermissionSet,
    ProfileApiData, ProfilePermissionHolder, RoleData, UserObject, UserStatusId,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The tenant every generated state lives in (Pyramid's documented default id).
pub const TENANT: &str = grantbridge_pyramid::wire::DEFAULT_TENANT_ID;

/// Any set of the 26 bits that passes `rules`.
///
/// Starts from any 26-bit value, then (for `Strict`) switches on every prerequisite
/// and finally resolves the one exclusive rule (Discover Lite vs bits 9/18) in the
/// direction a generated flag picks. Nothing needs bits 9, 18 or 22, so dropping them
/// keeps the prerequisites intact. Shrinks towards the empty set.
pub fn permission_set(rules: PermissionRules) -> impl Strategy<Value = PermissionSet> {
    (0u32..(1 << 26), any::<bool>()).prop_map(move |(bits, keep_lite)| {
        let mut set: PermissionSet = Permission::ALL
            .into_iter()
            .filter(|p| bits & (1 << p.bit()) != 0)
            .collect();
        if rules == PermissionRules::Strict {
            // One pass suffices: a prerequisite never has prerequisites itself.
            for p in set.iter().collect::<Vec<_>>() {
                for &q in p.needs() {
                    set.insert(q);
                }
            }
        }
        if rules != PermissionRules::None
            && set.contains(Permission::DisLiteVersion)
            && (set.contains(Permission::DisAdvancedAnalytics)
                || set.contains(Permission::DisCreateShareable))
        {
            if keep_lite {
                set.remove(Permission::DisAdvancedAnalytics);
                set.remove(Permission::DisCreateShareable);
            } else {
                set.remove(Permission::DisLiteVersion);
            }
        }
        set
    })
}

/// A set of bits broken by the exclusive rule (Discover Lite with 9 and/or 18).
pub fn exclusive_violation() -> impl Strategy<Value = PermissionSet> {
    (permission_set(PermissionRules::None), 1u8..4).prop_map(|(mut set, pro)| {
        set.insert(Permission::DisLiteVersion);
        if pro & 1 != 0 {
            set.insert(Permission::DisAdvancedAnalytics);
        }
        if pro & 2 != 0 {
            set.insert(Permission::DisCreateShareable);
        }
        set
    })
}

/// A display name: mostly plain, sometimes with spaces, accents or symbols.
pub fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Z][a-z]{0,7}",
        1 => "[A-Za-z][A-Za-z .'&-]{0,10}[a-z]",
        1 => "[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ ]{0,6}[a-zé]",
    ]
}

/// A JSON value a server may put in a field this crate does not model.
fn extra_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1_000i64..1_000).prop_map(|n| json!(n)),
        "[a-z]{0,6}".prop_map(Value::String),
        proptest::collection::vec("[a-z]{1,3}", 0..3).prop_map(|v| json!(v)),
    ]
}

/// Unknown fields: keys start with `x`, which no modelled Pyramid field does.
pub fn extra() -> impl Strategy<Value = Extra> {
    proptest::collection::btree_map("x[A-Z][a-z]{0,5}", extra_value(), 0..3)
}

/// A license type, including the unpublished codes (Analyst, Basic, Scientist).
pub fn license() -> impl Strategy<Value = ClientLicenseType> {
    prop_oneof![
        3 => Just(ClientLicenseType::Professional),
        3 => Just(ClientLicenseType::Viewer),
        1 => Just(ClientLicenseType::None),
        1 => (300i64..304).prop_map(ClientLicenseType::Other),
    ]
}

/// A user status, including a code this crate does not know.
pub fn status() -> impl Strategy<Value = UserStatusId> {
    prop_oneof![
        4 => Just(UserStatusId::Enabled),
        2 => Just(UserStatusId::Disabled),
        1 => (2i64..5).prop_map(UserStatusId::Other),
    ]
}

/// An e-mail as servers hold it: valid, mixed case, or not an address at all.
pub fn email() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,6}(\\.[a-z]{1,4})?@[a-z]{2,6}\\.(com|org)",
        1 => "[A-Z][a-z]{0,4}@[A-Z][a-z]{1,4}\\.COM",
        1 => Just("not an email".to_owned()),
        1 => Just("".to_owned()),
    ]
}

fn epoch_ms() -> impl Strategy<Value = i64> {
    1_500_000_000_000i64..1_800_000_000_000
}

/// A user of [`TENANT`] as `getUser` answers it, without `roleIds` (the state
/// decides those).
pub fn user(id: String) -> impl Strategy<Value = UserObject> {
    (
        (
            proptest::option::of("[a-z][a-z.]{0,8}"),
            proptest::option::of(name()),
            proptest::option::of(name()),
            proptest::option::of(email()),
            proptest::option::of("\\+[0-9]{4,10}"),
        ),
        (
            proptest::option::of(prop_oneof![
                Just(AdminType::None),
                Just(AdminType::DomainAdmin),
                Just(AdminType::EnterpriseAdmin),
            ]),
            proptest::option::of(license()),
            proptest::option::of(status()),
            proptest::option::of(epoch_ms()),
            proptest::option::of(epoch_ms()),
            extra(),
        ),
    )
        .prop_map(
            move |(
                (user_name, first_name, last_name, email, phone),
                (admin_type, client_license_type, status_id, created, login, extra),
            )| UserObject {
                id: id.clone(),
                user_name,
                first_name,
                last_name,
                email,
                phone,
                admin_type,
                role_ids: None,
                client_license_type,
                status_id,
                tenant_id: Some(TENANT.to_owned()),
                created_date: created,
                last_login_date: login,
                extra,
            },
        )
}

/// A role of [`TENANT`] as `getAllNonPrivateRolesByTenant` answers it; `private`
/// says whether it is a private role (listed nowhere but in users' role lists).
pub fn role(id: String, private: bool) -> impl Strategy<Value = RoleData> {
    (
        name(),
        proptest::option::of("[a-z]{1,4}=[a-z0-9]{1,4}"),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
        proptest::option::of("[a-z]{1,6}"),
        any::<bool>(),
        extra(),
    )
        .prop_map(
            move |(name, settings, hidden, group_role, created_by, spell_private, extra)| {
                RoleData {
                    role_id: Some(id.clone()),
                    role_name: name,
                    role_settings: settings,
                    is_hidden: hidden,
                    tenant_id: Some(TENANT.to_owned()),
                    // A non-private role may or may not say so.
                    is_private: (private || spell_private).then_some(private),
                    is_group_role: group_role,
                    created_by,
                    extra,
                }
            },
        )
}

/// A profile of [`TENANT`] with any valid bit set, in either permission form.
pub fn profile(id: String) -> impl Strategy<Value = ProfileApiData> {
    (
        name(),
        prop_oneof![Just(String::new()), "[A-Z][a-z ]{0,12}"],
        permission_set(PermissionRules::Exclusive),
        0u8..3,
        extra(),
    )
        .prop_map(move |(name, description, set, form, extra)| {
            let permissions = match form {
                0 => set.to_numeric_holder(),
                1 => set.to_list_holder(),
                // Both forms, as some servers answer.
                _ => ProfilePermissionHolder {
                    permission_bit_index_list: Some(set.index_list()),
                    numeric: Some(set.numeric()),
                },
            };
            ProfileApiData {
                profile_id: Some(id.clone()),
                name,
                description,
                tenant_id: TENANT.to_owned(),
                permissions,
                extra,
            }
        })
}

/// A second tenant's id, for states that are not on the default tenant.
pub const OTHER_TENANT: &str = "00000000-0000-4000-8000-0000000b0b0b";

/// A whole tenant as a server holds it.
#[derive(Clone, Debug)]
pub struct WireState {
    /// The tenant (the default one, or [`OTHER_TENANT`]).
    pub tenant: String,
    /// Profiles of a third tenant that a server lists anyway (a 2020 server was
    /// seen to answer every tenant's profiles); never part of the tenant.
    pub foreign: Vec<ProfileApiData>,
    /// Users; their `roleIds` are set when [`WireState::lists_role_ids`].
    pub users: Vec<UserObject>,
    /// Whether the server lists each user's `roleIds` (else `getAllRolesByUser`).
    pub lists_role_ids: bool,
    /// User id → the roles the user is in (private roles included).
    pub roles_of: BTreeMap<String, Vec<String>>,
    /// Non-private and private roles.
    pub roles: Vec<RoleData>,
    /// Profiles.
    pub profiles: Vec<ProfileApiData>,
    /// `(profile id, role id)` bindings, non-private roles only.
    pub bindings: BTreeSet<(String, String)>,
    /// User id → private profile id.
    pub private: BTreeMap<String, String>,
}

impl WireState {
    /// The roles `getAllNonPrivateRolesByTenant` lists.
    pub fn public_roles(&self) -> impl Iterator<Item = &RoleData> {
        self.roles.iter().filter(|r| r.is_private != Some(true))
    }

    /// Whether `id` is a listed (non-private) role.
    pub fn is_public_role(&self, id: &str) -> bool {
        self.public_roles()
            .any(|r| r.role_id.as_deref() == Some(id))
    }
}

/// Any valid tenant: up to 4 users, 3 roles (some private), 3 profiles, with any
/// memberships, bindings and private profiles, on the default or another tenant.
pub fn wire_state() -> impl Strategy<Value = WireState> {
    (
        tenant_objects(),
        any::<bool>(),
        proptest::collection::vec(
            (0..3usize).prop_flat_map(|i| profile(format!("q-{i}"))),
            0..2,
        ),
    )
        .prop_map(|(mut state, other, mut foreign)| {
            if other {
                state.tenant = OTHER_TENANT.to_owned();
                for u in &mut state.users {
                    u.tenant_id = Some(OTHER_TENANT.to_owned());
                }
                for r in &mut state.roles {
                    r.tenant_id = Some(OTHER_TENANT.to_owned());
                }
                for p in &mut state.profiles {
                    p.tenant_id = OTHER_TENANT.to_owned();
                }
            }
            for p in &mut foreign {
                p.tenant_id = "00000000-0000-4000-8000-00000000f0f0".to_owned();
            }
            state.foreign = foreign;
            state
        })
}

fn tenant_objects() -> impl Strategy<Value = WireState> {
    (0usize..=4, 0usize..=3, 0usize..=3)
        .prop_flat_map(|(nu, nr, np)| {
            let users: Vec<_> = (0..nu).map(|i| user(format!("u-{i}"))).collect();
            let roles: Vec<_> = (0..nr)
                .map(|i| {
                    any::<bool>().prop_flat_map(move |private| role(format!("r-{i}"), private))
                })
                .collect();
            let profiles: Vec<_> = (0..np).map(|i| profile(format!("p-{i}"))).collect();
            (
                users,
                roles,
                profiles,
                proptest::collection::vec(
                    proptest::collection::btree_set(0..nr.max(1), 0..=nr),
                    nu,
                ),
                proptest::collection::btree_set((0..np.max(1), 0..nr.max(1)), 0..=np * nr),
                proptest::collection::vec(proptest::option::of(0..np.max(1)), nu),
                any::<bool>(),
            )
        })
        .prop_map(
            |(mut users, roles, profiles, members, bindings, private, lists_role_ids)| {
                let role_id = |r: usize| roles.get(r).and_then(|r| r.role_id.clone());
                let profile_id = |p: usize| profiles.get(p).and_then(|p| p.profile_id.clone());
                let roles_of: BTreeMap<String, Vec<String>> = users
                    .iter()
                    .zip(&members)
                    .map(|(u, m)| (u.id.clone(), m.iter().filter_map(|&r| role_id(r)).collect()))
                    .collect();
                for u in &mut users {
                    u.role_ids = lists_role_ids.then(|| roles_of[&u.id].clone());
                }
                let bindings = bindings
                    .into_iter()
                    .filter(|&(_, r)| roles.get(r).is_some_and(|r| r.is_private != Some(true)))
                    .filter_map(|(p, r)| Some((profile_id(p)?, role_id(r)?)))
                    .collect();
                let private = users
                    .iter()
                    .zip(private)
                    .filter_map(|(u, p)| Some((u.id.clone(), profile_id(p?)?)))
                    .collect();
                WireState {
                    tenant: TENANT.to_owned(),
                    foreign: Vec::new(),
                    users,
                    lists_role_ids,
                    roles_of,
                    roles,
                    profiles,
                    bindings,
                    private,
                }
            },
        )
}
