//! The emulator's state: tenants with their users, profiles, assignments, groups and
//! permissions, the analytic assignments, and the tokens it issued.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Mutex;

use super::SandboxCredentials;
use crate::wire::{CapabilityDto, Millis};

pub(crate) struct Shared {
    pub(super) state: Mutex<State>,
}

impl Shared {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking handler leaves plain data behind; keep serving it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ProfileDef {
    pub(crate) name: String,
    pub(crate) capabilities: Vec<CapabilityDto>,
    pub(crate) additional: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct UserRec {
    pub(crate) username: String,
    pub(crate) display_name: String,
    pub(crate) employee_id: String,
    pub(crate) email: String,
    pub(crate) enabled: bool,
    pub(crate) last_login: Option<i64>,
}

#[derive(Clone, Debug)]
pub(crate) struct GroupRec {
    pub(crate) name: String,
    pub(crate) members: BTreeSet<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) start: Millis,
    pub(crate) end: Millis,
}

impl Window {
    pub(crate) const ALWAYS: Window = Window {
        start: Millis::NO_START,
        end: Millis::PERMANENT,
    };
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Tenant {
    pub(crate) users: BTreeMap<String, UserRec>,
    pub(crate) profiles: BTreeMap<String, ProfileDef>,
    /// (user, profile) → window.
    pub(crate) local: BTreeMap<(String, String), Window>,
    pub(crate) groups: BTreeMap<String, GroupRec>,
    /// permission id → (name, description).
    pub(crate) permissions: BTreeMap<String, (String, String)>,
    /// (permission, user).
    pub(crate) permission_users: BTreeSet<(String, String)>,
}

/// (user, profile, tenant code, for all children).
pub(crate) type AnalyticKey = (String, String, String, bool);

pub(crate) struct State {
    pub(crate) credentials: SandboxCredentials,
    pub(crate) admin: String,
    pub(crate) administrating: bool,
    pub(crate) tenants: BTreeMap<String, Tenant>,
    pub(crate) analytic_profiles: BTreeMap<String, ProfileDef>,
    pub(crate) analytic: BTreeMap<AnalyticKey, Window>,
    pub(crate) asid_tokens: HashSet<String>,
    pub(crate) bearer_tokens: HashSet<String>,
    pub(crate) refresh_tokens: HashSet<String>,
    pub(crate) issued: u64,
    pub(crate) rci: u64,
}

impl State {
    pub(crate) fn new(credentials: SandboxCredentials, admin: &str, administrating: bool) -> Self {
        let mut tenants = BTreeMap::new();
        tenants.insert(admin.to_owned(), Tenant::default());
        State {
            credentials,
            admin: admin.to_owned(),
            administrating,
            tenants,
            analytic_profiles: BTreeMap::new(),
            analytic: BTreeMap::new(),
            asid_tokens: HashSet::new(),
            bearer_tokens: HashSet::new(),
            refresh_tokens: HashSet::new(),
            issued: 0,
            rci: 0,
        }
    }

    pub(crate) fn admin_tenant(&mut self) -> &mut Tenant {
        let admin = self.admin.clone();
        self.tenants.entry(admin).or_default()
    }

    /// Whether `code` is the administrating tenant or one of its analytic tenants.
    pub(crate) fn knows_tenant(&self, code: &str) -> bool {
        self.tenants.contains_key(code)
    }
}
