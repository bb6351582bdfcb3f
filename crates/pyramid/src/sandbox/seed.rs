//! The data a sandbox starts with.

use grantbridge_core::sandbox::{CORE_STAFF, DEMO_PEOPLE};

use super::state::Store;
use crate::wire::{
    AdminType, ClientLicenseType, DEFAULT_TENANT_ID, Permission as P, PermissionSet,
};

/// The administrator every seed has (an enterprise admin of the default tenant).
pub const ADMIN_USER: &str = "admin";
/// Its password (synthetic).
pub const ADMIN_PASSWORD: &str = "pyramid-sandbox-admin";

/// The id of the second tenant of the demo seed.
pub const SUBSIDIARY_TENANT_ID: &str = "00000000-0000-4000-8000-00000000a001";

/// What a sandbox starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seed {
    /// The demo data, on the default tenant
    /// (`90000000-0000-0000-0000-000000000009`):
    ///
    /// * the administrator ([`ADMIN_USER`]);
    /// * the core staff of [`DEMO_PEOPLE`] (`0..12`) and Pyramid's share of the
    ///   extended staff (`24..40`), user names being their e-mails' local parts;
    /// * 172 synthetic report viewers (`viewer.001` …), for a few hundred users;
    /// * one role per department, plus "Executives", "Report Viewers", a hidden
    ///   "Auditors" role and a private role;
    /// * five profiles with realistic permission bits ("Professional Full",
    ///   "Analyst", "Publisher", "Viewer Lite", and "Consumers" = bits 3 and 9, the
    ///   seed document's example), bound to roles;
    /// * private profiles for three people;
    /// * a second tenant ("Subsidiary") with its own profile, role and user, which
    ///   a client of the default tenant must not see.
    Demo,
    /// Only the default tenant and the administrator.
    Empty,
    /// The default tenant, the administrator, `users` users (`user-0001` …), three
    /// roles ("Group A" …) and three profiles ("Profile A" …) without bindings,
    /// memberships or private profiles.
    Generated {
        /// How many users.
        users: usize,
    },
}

/// A fixed "now" so seeds are reproducible (2024-01-01T00:00:00Z).
const SEEDED_AT_MS: i64 = 1_704_067_200_000;

fn set(bits: &[P]) -> PermissionSet {
    bits.iter().copied().collect()
}

pub(crate) fn build(seed: &Seed) -> Store {
    let mut s = Store::new(DEFAULT_TENANT_ID, SEEDED_AT_MS);
    s.add_tenant(DEFAULT_TENANT_ID, "Default");
    s.add_user(
        ADMIN_USER,
        ADMIN_PASSWORD,
        "Sandbox",
        "Administrator",
        None,
        DEFAULT_TENANT_ID,
        ClientLicenseType::Professional,
        AdminType::EnterpriseAdmin,
    );
    match seed {
        Seed::Empty => {}
        Seed::Generated { users } => generated(&mut s, *users),
        Seed::Demo => demo(&mut s),
    }
    s
}

fn generated(s: &mut Store, users: usize) {
    let t = DEFAULT_TENANT_ID;
    for i in 1..=users {
        let name = format!("user-{i:04}");
        s.add_user(
            &name,
            "",
            "User",
            &format!("{i:04}"),
            Some(&format!("user{i:04}@example.com")),
            t,
            if i % 3 == 0 {
                ClientLicenseType::Viewer
            } else {
                ClientLicenseType::Professional
            },
            AdminType::None,
        );
    }
    for name in ["Group A", "Group B", "Group C"] {
        s.add_role(name, t, false);
    }
    s.add_profile(
        "Profile A",
        "Present and illustrate",
        t,
        set(&[P::AppAssets, P::AppPresentation]),
    );
    s.add_profile(
        "Profile B",
        "Discover",
        t,
        set(&[P::AppDiscovery, P::DisCreateDataSource]),
    );
    s.add_profile(
        "Profile C",
        "Publish",
        t,
        set(&[P::AppPublish, P::PubAllowScheduling]),
    );
}

fn demo(s: &mut Store) {
    let t = DEFAULT_TENANT_ID;
    let people: Vec<_> = DEMO_PEOPLE[..CORE_STAFF]
        .iter()
        .chain(DEMO_PEOPLE.get(24..).unwrap_or_default())
        .collect();

    // Roles: one per department, then the cross-cutting ones.
    let mut departments: Vec<&str> = people.iter().map(|p| p.department).collect();
    departments.sort_unstable();
    departments.dedup();
    let dept_roles: Vec<(String, String)> = departments
        .iter()
        .map(|d| ((*d).to_owned(), s.add_role(d, t, false)))
        .collect();
    let executives = s.add_role("Executives", t, false);
    let viewers = s.add_role("Report Viewers", t, false);
    let auditors = s.add_role("Auditors", t, false);
    if let Some(r) = s.roles.get_mut(&auditors) {
        r.hidden = true;
    }
    s.add_role("Private: admin", t, true);

    // Profiles with realistic switches.
    let full = s.add_profile(
        "Professional Full",
        "Every Pro app and feature (Discover Pro)",
        t,
        set(&[
            P::AppAssets,
            P::AppPresentation,
            P::AppModel,
            P::AppDiscovery,
            P::AppLogic,
            P::AppPublish,
            P::ModAddDataServer,
            P::ModUseMachineLearning,
            P::ModCreateScripts,
            P::DisAdvancedAnalytics,
            P::LogCreateFormulas,
            P::LogCreateScripts,
            P::LogCustomColumns,
            P::PubSelectMultipleItems,
            P::DisCreateDataSource,
            P::LogCustomVisuals,
            P::ModCreatePostScripts,
            P::GenAdvancedOptions,
            P::DisCreateShareable,
            P::PubAllowSmartPublish,
            P::PubAllowScheduling,
            P::PreAllowSmartPresent,
            P::ModExecuteProcess,
            P::DisAutoDisc,
        ]),
    );
    let analyst = s.add_profile(
        "Analyst",
        "Discover Pro and Formulate, shareable content",
        t,
        set(&[
            P::AppPresentation,
            P::AppDiscovery,
            P::AppLogic,
            P::DisAdvancedAnalytics,
            P::LogCreateFormulas,
            P::LogCustomColumns,
            P::DisCreateDataSource,
            P::DisCreateShareable,
        ]),
    );
    let publisher = s.add_profile(
        "Publisher",
        "Publish with scheduling and smart publish",
        t,
        set(&[
            P::AppPresentation,
            P::AppPublish,
            P::PubSelectMultipleItems,
            P::PubAllowSmartPublish,
            P::PubAllowScheduling,
        ]),
    );
    let lite = s.add_profile(
        "Viewer Lite",
        "Present Lite and Discover Lite",
        t,
        set(&[
            P::AppPresentation,
            P::AppDiscovery,
            P::DisCreateDataSource,
            P::DisLiteVersion,
            P::PrePresentLite,
        ]),
    );
    s.add_profile(
        "Consumers",
        "Basic tools for consumer user types",
        t,
        set(&[P::AppDiscovery, P::DisAdvancedAnalytics]),
    );

    // Bindings.
    let role_of = |d: &str| {
        dept_roles
            .iter()
            .find(|(name, _)| name == d)
            .map(|(_, id)| id.clone())
    };
    for (dept, profile) in [
        ("Engineering", &full),
        ("Finance", &analyst),
        ("Operations", &analyst),
        ("Sales", &publisher),
        ("Marketing", &publisher),
    ] {
        if let Some(role) = role_of(dept) {
            s.bindings.insert((profile.clone(), role));
        }
    }
    s.bindings.insert((full.clone(), executives.clone()));
    s.bindings.insert((lite.clone(), viewers.clone()));
    s.bindings.insert((analyst.clone(), auditors.clone()));

    // People, their department roles, and a few private profiles.
    for (i, p) in people.iter().enumerate() {
        let user_name = p.email.split('@').next().unwrap_or(p.email);
        let license = if i % 4 == 3 {
            ClientLicenseType::Viewer
        } else {
            ClientLicenseType::Professional
        };
        let id = s.add_user(
            user_name,
            "",
            p.given,
            p.family,
            Some(p.email),
            t,
            license,
            AdminType::None,
        );
        let mut roles = Vec::new();
        roles.extend(role_of(p.department));
        if i < 3 {
            roles.push(executives.clone());
        }
        if license == ClientLicenseType::Viewer {
            roles.push(viewers.clone());
        }
        let private = match i {
            0 => Some(publisher.clone()),
            2 => Some(full.clone()),
            14 => Some(lite.clone()),
            _ => None,
        };
        if let Some(u) = s.users.get_mut(&id) {
            u.roles.extend(roles);
            u.private_profile = private;
        }
    }
    for i in 1..=172 {
        let id = s.add_user(
            &format!("viewer.{i:03}"),
            "",
            "Viewer",
            &format!("{i:03}"),
            Some(&format!("viewer.{i:03}@pyramid.example.com")),
            t,
            ClientLicenseType::Viewer,
            AdminType::None,
        );
        if let Some(u) = s.users.get_mut(&id) {
            u.roles.insert(viewers.clone());
        }
    }

    // A second tenant the default tenant's clients must not see.
    s.add_tenant(SUBSIDIARY_TENANT_ID, "Subsidiary");
    let sub_role = s.add_role("Subsidiary Analysts", SUBSIDIARY_TENANT_ID, false);
    let sub_profile = s.add_profile(
        "Subsidiary Viewer",
        "Present only",
        SUBSIDIARY_TENANT_ID,
        set(&[P::AppPresentation]),
    );
    s.bindings.insert((sub_profile, sub_role.clone()));
    let sub_user = s.add_user(
        "sub.admin",
        "",
        "Sub",
        "Admin",
        Some("sub.admin@subsidiary.example.com"),
        SUBSIDIARY_TENANT_ID,
        ClientLicenseType::Professional,
        AdminType::DomainAdmin,
    );
    if let Some(u) = s.users.get_mut(&sub_user) {
        u.roles.insert(sub_role);
    }
}
