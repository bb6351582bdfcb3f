//! What a fresh sandbox holds.

use std::collections::BTreeSet;

use grantbridge_core::http::Secret;
use grantbridge_core::sandbox::{CORE_STAFF, DEMO_PEOPLE};

use super::SandboxCredentials;
use super::state::{GroupRec, ProfileDef, State, Tenant, UserRec, Window};
use crate::wire::{CapabilityDto, Millis};

/// The administrating tenant of the demo, empty and generated seeds.
pub const DEMO_ADMIN_TENANT: &str = "WFF_grb";

/// Which data a sandbox starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seed {
    /// A demo administrating tenant `WFF_grb` with analytic tenants `WFF_grb~na`,
    /// `WFF_grb~emea` and `WFF_grb~apac`: 300 users (the 12 core staff and extended
    /// staff 12..30 of `DEMO_PEOPLE`, then generated `staff.NNN@example.com` people),
    /// the profiles of the spec's examples (`PARTNER_ADMIN`
    /// `07ca543c-b64b-3fab-a8c1-02655ae47ecd`, analytic `PARTNER_CUSTOMER_SERVICE_MGR`
    /// `af1e7ba4-eef0-41db-9e44-5bac6151cd14`, …) plus `Analyst`, `Viewer`,
    /// `HR Partner` and an unassigned `Data Steward`, one user group per department,
    /// a few permissions, and assignments: most users hold `Viewer`, some `Analyst`
    /// with validity windows, core staff hold admin and analytic-tenant profiles.
    /// Every tenth user holds nothing (new hires). Login: [`demo_credentials`].
    Demo,
    /// An administrating tenant `WFF_grb` with no users, profiles or groups.
    Empty,
    /// The ids of the official SDK recording (`tests/fixtures/` of this crate): tenants `WFF_j1r`,
    /// `WFF_j1r~c7o`, `WFF_j1r~d8p`, the users and profiles it names, permission
    /// `perm-1`, its API key, login and OAuth client, and the tokens it replays
    /// (`synthetic-asid-token-0001`, `preset-asid-token`, `synthetic-access-token`),
    /// so every recorded request can be replayed as is.
    Fixtures,
    /// A plain (non-administrating) tenant `WFF_grb` with `users` generated users, three
    /// local profiles (each user holds one) and two groups: for volume tests.
    Generated {
        /// How many users.
        users: usize,
    },
}

/// The logins of the demo, empty and generated seeds.
pub fn demo_credentials() -> SandboxCredentials {
    SandboxCredentials {
        api_key: Secret::new("visier-sandbox-api-key"),
        username: "admin@example.com".to_owned(),
        password: Secret::new("visier-sandbox-password"),
        client_id: "grantbridge-sandbox".to_owned(),
        client_secret: Secret::new("visier-sandbox-client-secret"),
    }
}

/// A deterministic UUID-shaped id (splitmix64 over a namespace and an index).
fn uuid(ns: u64, i: u64) -> String {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let a = mix(ns.wrapping_mul(1_000_003) ^ i);
    let b = mix(a ^ 0x5555);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

fn caps(levels: &[(&str, &str, &str)]) -> Vec<CapabilityDto> {
    levels
        .iter()
        .map(|(c, a, v)| CapabilityDto {
            capability: Some((*c).to_owned()),
            access_level: Some((*a).to_owned()),
            view_level: Some((*v).to_owned()),
        })
        .collect()
}

fn profile(name: &str, levels: &[(&str, &str, &str)], additional: &[&str]) -> ProfileDef {
    ProfileDef {
        name: name.to_owned(),
        capabilities: caps(levels),
        additional: additional.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn partner_admin() -> ProfileDef {
    profile(
        "PARTNER_ADMIN",
        &[
            ("Security", "Write", "Detailed"),
            ("TenantManagement", "Write", "Detailed"),
            ("UserManagement", "Write", "Detailed"),
            ("Data", "Write", "Simple"),
            ("Model", "Write", "Simple"),
        ],
        &[
            "Approve",
            "DataUpload",
            "DirectPublish",
            "FileSharing",
            "PreviewUser",
            "Settings",
            "TwoStepPublish",
        ],
    )
}

fn no_access(name: &str) -> ProfileDef {
    profile(
        name,
        &[
            ("Security", "NoAccess", "Simple"),
            ("TenantManagement", "NoAccess", "Simple"),
            ("UserManagement", "NoAccess", "Simple"),
            ("Data", "NoAccess", "Simple"),
            ("Model", "NoAccess", "Simple"),
        ],
        &["AccessToAllData"],
    )
}

fn user(username: &str, display: &str, employee: usize, enabled: bool) -> UserRec {
    UserRec {
        username: username.to_owned(),
        display_name: display.to_owned(),
        employee_id: format!("E{employee:05}"),
        email: username.to_owned(),
        enabled,
        last_login: Some(1_700_000_000_000 + employee as i64 * 86_400_000),
    }
}

const PARTNER_ADMIN_ID: &str = "07ca543c-b64b-3fab-a8c1-02655ae47ecd";
const SERVICE_MGR_ID: &str = "af1e7ba4-eef0-41db-9e44-5bac6151cd14";

/// 2024-01-01T00:00:00Z, 2025-01-01, 2026-07-01, 2027-01-01 (ms).
const JAN_2024: i64 = 1_704_067_200_000;
const JAN_2025: i64 = 1_735_689_600_000;
const JUL_2026: i64 = 1_782_864_000_000;
const JAN_2027: i64 = 1_798_761_600_000;

fn window(start: Option<i64>, end: Option<i64>) -> Window {
    Window {
        start: Millis::from_start(start),
        end: Millis::from_end(end),
    }
}

impl Seed {
    pub(crate) fn build(&self) -> State {
        match self {
            Seed::Demo => demo(),
            Seed::Empty => State::new(demo_credentials(), DEMO_ADMIN_TENANT, true),
            Seed::Fixtures => fixtures(),
            Seed::Generated { users } => generated(*users),
        }
    }
}

fn demo() -> State {
    let mut state = State::new(demo_credentials(), DEMO_ADMIN_TENANT, true);
    let ids = |ns| move |i| uuid(ns, i);
    let analyst = uuid(1, 1);
    let viewer = uuid(1, 2);
    let hr = uuid(1, 3);
    let steward = uuid(1, 4);
    let mgmt = uuid(2, 1);
    let read_only = uuid(2, 2);
    let reader = [
        ("Security", "NoAccess", "Simple"),
        ("Data", "ReadOnly", "Detailed"),
        ("Model", "NoAccess", "Simple"),
    ];
    let local_profiles = [
        (PARTNER_ADMIN_ID.to_owned(), partner_admin()),
        (
            analyst.clone(),
            profile("Analyst", &reader, &["FileSharing", "PreviewUser"]),
        ),
        (
            viewer.clone(),
            profile("Viewer", &[("Data", "ReadOnly", "Simple")], &[]),
        ),
        (
            hr.clone(),
            profile(
                "HR Partner",
                &[
                    ("UserManagement", "Write", "Detailed"),
                    ("Data", "ReadOnly", "Detailed"),
                ],
                &["Approve"],
            ),
        ),
        (
            steward.clone(),
            profile(
                "Data Steward",
                &[("Data", "Write", "Detailed")],
                &["DataUpload"],
            ),
        ),
    ];
    state.analytic_profiles.insert(
        SERVICE_MGR_ID.to_owned(),
        no_access("PARTNER_CUSTOMER_SERVICE_MGR"),
    );
    let mut m = no_access("PARTNER_CUSTOMER_MGMT");
    m.capabilities = caps(&[
        ("UserManagement", "Write", "Detailed"),
        ("Data", "ReadOnly", "Simple"),
    ]);
    state.analytic_profiles.insert(mgmt.clone(), m);
    state
        .analytic_profiles
        .insert(read_only, no_access("PARTNER_READ_ONLY"));

    let admin = state.admin_tenant();
    admin.profiles.extend(local_profiles.iter().cloned());
    let user_id = ids(10);
    let mut people: Vec<(String, UserRec, &str)> = Vec::new();
    for (i, p) in DEMO_PEOPLE[..30.min(DEMO_PEOPLE.len())].iter().enumerate() {
        people.push((
            user_id(i as u64),
            user(p.email, &p.display_name(), i, true),
            p.department,
        ));
    }
    let departments = [
        "Engineering",
        "Finance",
        "Operations",
        "Sales",
        "Human Resources",
    ];
    for i in people.len()..300 {
        let dept = departments[i % departments.len()];
        let email = format!("staff.{i:03}@example.com");
        // A few accounts are disabled, as in any real tenant.
        people.push((
            user_id(i as u64),
            user(&email, &format!("Staff Member {i:03}"), i, i % 37 != 5),
            dept,
        ));
    }
    let mut groups: Vec<(String, GroupRec)> = Vec::new();
    for (d, dept) in departments.iter().enumerate() {
        let members: BTreeSet<String> = people
            .iter()
            .filter(|(_, _, pd)| pd == dept)
            .map(|(id, ..)| id.clone())
            .collect();
        groups.push((
            uuid(3, d as u64),
            GroupRec {
                name: (*dept).to_owned(),
                members,
            },
        ));
    }
    for (i, (id, rec, dept)) in people.iter().enumerate() {
        admin.users.insert(id.clone(), rec.clone());
        if i % 10 == 9 {
            continue; // new hires: nothing yet
        }
        let local = &mut admin.local;
        local.insert((id.clone(), viewer.clone()), Window::ALWAYS);
        if i < 2 {
            let w = if i == 0 {
                Window::ALWAYS
            } else {
                window(Some(JAN_2024), Some(JAN_2027))
            };
            local.insert((id.clone(), PARTNER_ADMIN_ID.to_owned()), w);
        }
        if i % 7 == 0 {
            let w = if i % 14 == 0 {
                Window::ALWAYS
            } else {
                window(Some(JAN_2025), Some(JUL_2026))
            };
            local.insert((id.clone(), analyst.clone()), w);
        }
        if *dept == "Human Resources" && i < CORE_STAFF * 3 {
            local.insert((id.clone(), hr.clone()), window(None, Some(JAN_2027)));
        }
    }
    admin.groups.extend(groups);
    admin.permissions.insert(
        "perm-read-only".to_owned(),
        ("Read Only".to_owned(), "View published content".to_owned()),
    );
    admin.permissions.insert(
        "perm-analyst".to_owned(),
        ("Analyst".to_owned(), "Explore all data".to_owned()),
    );
    let core: Vec<String> = people[..CORE_STAFF]
        .iter()
        .map(|(id, ..)| id.clone())
        .collect();
    for id in &core {
        admin
            .permission_users
            .insert(("perm-read-only".to_owned(), id.clone()));
    }

    for (t, code) in ["WFF_grb~na", "WFF_grb~emea", "WFF_grb~apac"]
        .iter()
        .enumerate()
    {
        let mut tenant = Tenant::default();
        tenant
            .profiles
            .insert(viewer.clone(), local_profiles[2].1.clone());
        tenant
            .profiles
            .insert(analyst.clone(), local_profiles[1].1.clone());
        for i in 0..10u64 {
            let id = uuid(20 + t as u64, i);
            let email = format!(
                "{}.analyst.{i}@example.com",
                code.trim_start_matches("WFF_grb~")
            );
            tenant.users.insert(
                id.clone(),
                user(&email, &format!("Analyst {i}"), 1000 + i as usize, true),
            );
            tenant.local.insert((id, viewer.clone()), Window::ALWAYS);
        }
        state.tenants.insert((*code).to_owned(), tenant);
    }
    for (i, id) in core.iter().enumerate() {
        if i < 4 {
            state.analytic.insert(
                (id.clone(), mgmt.clone(), DEMO_ADMIN_TENANT.to_owned(), true),
                Window::ALWAYS,
            );
        } else if i < 8 {
            state.analytic.insert(
                (
                    id.clone(),
                    SERVICE_MGR_ID.to_owned(),
                    "WFF_grb~emea".to_owned(),
                    false,
                ),
                window(Some(JAN_2025), Some(JAN_2027)),
            );
        }
    }
    state
}

fn fixtures() -> State {
    let credentials = SandboxCredentials {
        api_key: Secret::new("probe-api-key"),
        username: "probe.user@example.com".to_owned(),
        password: Secret::new("p@ss w&rd=1"),
        client_id: "probe-client".to_owned(),
        client_secret: Secret::new("s3cr/et+x"),
    };
    let mut state = State::new(credentials, "WFF_j1r", true);
    state
        .asid_tokens
        .extend(["synthetic-asid-token-0001", "preset-asid-token"].map(str::to_owned));
    state
        .bearer_tokens
        .insert("synthetic-access-token".to_owned());
    state.analytic_profiles.insert(
        SERVICE_MGR_ID.to_owned(),
        no_access("PARTNER_CUSTOMER_SERVICE_MGR"),
    );
    let users = [
        (
            "82424d8b-f99c-cd4d-9ac7-568919d9a0e4",
            "john@jupiter.com",
            "John Smith",
        ),
        (
            "1f4a7176-7f45-0147-b21f-472ae2167285",
            "jane@jupiter.com",
            "Jane Doe",
        ),
        (
            "33ba5517-e4dc-a548-8d5f-b43f7a412506",
            "raj@jupiter.com",
            "Raj Patel",
        ),
        (
            "9a59c20b-9cb7-9f48-b812-0bb98eb19af8",
            "mei@jupiter.com",
            "Mei Chen",
        ),
    ];
    for code in ["WFF_j1r", "WFF_j1r~c7o", "WFF_j1r~d8p"] {
        let mut t = Tenant::default();
        t.profiles
            .insert(PARTNER_ADMIN_ID.to_owned(), partner_admin());
        for (i, (id, name, display)) in users.iter().enumerate() {
            t.users
                .insert((*id).to_owned(), user(name, display, i, true));
        }
        t.permissions.insert(
            "perm-1".to_owned(),
            ("Permission 1".to_owned(), "Synthetic permission".to_owned()),
        );
        state.tenants.insert(code.to_owned(), t);
    }
    let john = users[0].0.to_owned();
    state.admin_tenant().local.insert(
        (john.clone(), PARTNER_ADMIN_ID.to_owned()),
        window(Some(1_546_550_635_000), Some(1_579_496_820_000)),
    );
    state.analytic.insert(
        (john, SERVICE_MGR_ID.to_owned(), "WFF_j1r".to_owned(), true),
        Window::ALWAYS,
    );
    state
}

fn generated(n: usize) -> State {
    let mut state = State::new(demo_credentials(), DEMO_ADMIN_TENANT, false);
    let t = state.admin_tenant();
    let profiles = [
        (PARTNER_ADMIN_ID.to_owned(), partner_admin()),
        (
            uuid(1, 1),
            profile("Analyst", &[("Data", "ReadOnly", "Detailed")], &[]),
        ),
        (
            uuid(1, 2),
            profile("Viewer", &[("Data", "ReadOnly", "Simple")], &[]),
        ),
    ];
    t.profiles.extend(profiles.iter().cloned());
    let groups = [uuid(3, 0), uuid(3, 1)];
    for (g, gid) in groups.iter().enumerate() {
        t.groups.insert(
            gid.clone(),
            GroupRec {
                name: format!("Generated group {g}"),
                members: BTreeSet::new(),
            },
        );
    }
    for i in 0..n {
        let id = uuid(40, i as u64);
        let email = format!("user.{i:06}@example.com");
        t.users
            .insert(id.clone(), user(&email, &format!("User {i:06}"), i, true));
        let (pid, _) = &profiles[i % 3];
        let w = if i % 5 == 0 {
            window(Some(JAN_2025), Some(JAN_2027))
        } else {
            Window::ALWAYS
        };
        t.local.insert((id.clone(), pid.clone()), w);
        if let Some(g) = t.groups.get_mut(&groups[i % 2]) {
            g.members.insert(id);
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_shaped_and_distinct() {
        let a = uuid(10, 0);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        let all: BTreeSet<String> = (0..10_000).map(|i| uuid(40, i)).collect();
        assert_eq!(all.len(), 10_000);
    }

    #[test]
    fn demo_has_what_the_docs_promise() {
        let s = demo();
        let admin = &s.tenants[DEMO_ADMIN_TENANT];
        assert_eq!(admin.users.len(), 300);
        assert!(admin.profiles.contains_key(PARTNER_ADMIN_ID));
        assert!(s.analytic_profiles.contains_key(SERVICE_MGR_ID));
        assert_eq!(s.tenants.len(), 4);
        for p in &DEMO_PEOPLE[..CORE_STAFF] {
            assert!(
                admin.users.values().any(|u| u.email == p.email),
                "{}",
                p.email
            );
        }
        assert!(admin.local.values().any(|w| *w != Window::ALWAYS));
        let steward = admin
            .profiles
            .iter()
            .find(|(_, p)| p.name == "Data Steward")
            .map(|(id, _)| id.clone())
            .expect("steward");
        assert!(!admin.local.keys().any(|(_, p)| *p == steward));
    }
}
