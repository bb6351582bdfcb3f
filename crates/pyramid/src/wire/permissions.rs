//! The 26 permission bits of a Pyramid profile, as a typed set.
//!
//! Pyramid carries a profile's switches in `ProfilePermissionHolder` in two forms: the
//! `numeric` sum of `1 << bit` (an int64) and the `permissionBitIndexList`. The
//! seed document's example builds the sum as `(2^3) + (2^9)`, which in JavaScript is
//! XOR and yields 12; the value meant for bits 3 and 9 is 520.
//!
//! Parsing either form only checks that every bit is one of the 26 known ones;
//! [`PermissionSet::validate`] checks the combinations. Pyramid publishes no list of
//! mutually exclusive switches, so the rules here are the empirical ones of a
//! third-party client (docs/specs/pyramid.md §5): Discover Lite (22) excludes Advanced Analytics (9)
//! and Shareable content (18), and several switches need their app switch on.
//!
//! To send bits that these rules refuse (or bits this crate does not know), build a
//! [`ProfilePermissionHolder`] yourself: the client sends it unchanged.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ProfilePermissionHolder;
use grantbridge_core::{Error, Result};

macro_rules! permissions {
    ($( $(#[$doc:meta])* $variant:ident = $bit:literal, $name:literal, $label:literal; )*) => {
        /// One permission bit (`PermissionBitIndex`), named as in Pyramid's definition.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Permission {
            $( $(#[$doc])* $variant = $bit, )*
        }

        impl Permission {
            /// Every bit, in index order.
            pub const ALL: [Permission; 26] = [$(Permission::$variant),*];

            /// The official name (`app_discovery`), used as the core capability name.
            pub const fn name(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            /// What the admin console calls the switch.
            pub const fn label(self) -> &'static str {
                match self { $(Permission::$variant => $label,)* }
            }
        }
    };
}

permissions! {
    /// Illustrate app.
    AppAssets = 0, "app_assets", "Illustrate app";
    /// Present app.
    AppPresentation = 1, "app_presentation", "Present app";
    /// Model app.
    AppModel = 2, "app_model", "Model app";
    /// Discover app.
    AppDiscovery = 3, "app_discovery", "Discover app";
    /// Formulate app.
    AppLogic = 4, "app_logic", "Formulate app";
    /// Publish app.
    AppPublish = 5, "app_publish", "Publish app";
    /// Model: add data server.
    ModAddDataServer = 6, "mod_add_data_server", "Model: Add Data Server";
    /// Model: use machine learning.
    ModUseMachineLearning = 7, "mod_use_machine_learning", "Model: Use Machine Learning";
    /// Model: create R/Python scripts.
    ModCreateScripts = 8, "mod_create_scripts", "Model: Create Scripts (R, Python)";
    /// Discover: advanced analytics (Discover Pro).
    DisAdvancedAnalytics = 9, "dis_advanced_analytics", "Discover: Advanced Analytics";
    /// Formulate: create formulas.
    LogCreateFormulas = 10, "log_create_formulas", "Formulate: create formulas";
    /// Formulate: R/Python scripts.
    LogCreateScripts = 11, "log_create_scripts", "Formulate: scripts (R/Python)";
    /// Formulate: custom columns.
    LogCustomColumns = 12, "log_custom_columns", "Formulate: custom columns";
    /// Publish: select multiple items.
    PubSelectMultipleItems = 13, "pub_select_multiple_items", "Publish: select multiple items";
    /// Discover: create data source.
    DisCreateDataSource = 14, "dis_create_data_source", "Discover: create data source";
    /// Formulate: custom visuals.
    LogCustomVisuals = 15, "log_custom_visuals", "Formulate: custom visuals";
    /// Model: custom SQL scripts on a SQL target.
    ModCreatePostScripts = 16, "mod_create_post_scripts", "Model: Create Custom SQL Scripts";
    /// General: advanced options.
    GenAdvancedOptions = 17, "gen_advanced_options", "General: advanced options";
    /// Discover: save shareable content.
    DisCreateShareable = 18, "dis_create_shareable", "Discover: save shareable content";
    /// Publish: smart publish.
    PubAllowSmartPublish = 19, "pub_allow_smart_publish", "Publish: Smart Publish";
    /// Publish: scheduling.
    PubAllowScheduling = 20, "pub_allow_scheduling", "Publish: scheduling";
    /// Present: smart present.
    PreAllowSmartPresent = 21, "pre_allow_smart_present", "Present: Smart Present";
    /// Discover Lite instead of Pro.
    DisLiteVersion = 22, "dis_lite_version", "Discover Lite";
    /// Present Lite.
    PrePresentLite = 23, "pre_present_lite", "Present Lite";
    /// Model: execute process (master-flow command node).
    ModExecuteProcess = 24, "mod_execute_process", "Model: Execute Process";
    /// Discover: auto discovery.
    DisAutoDisc = 25, "dis_auto_disc", "Discover: auto discovery";
}

use Permission as P;

impl Permission {
    /// The bit index, 0 to 25.
    pub const fn bit(self) -> u8 {
        self as u8
    }

    /// `1 << bit`.
    pub const fn mask(self) -> i64 {
        1i64 << (self as u8)
    }

    /// The permission with this index, if it is one of the 26.
    pub fn from_bit(bit: i64) -> Option<Permission> {
        usize::try_from(bit)
            .ok()
            .and_then(|i| Permission::ALL.get(i).copied())
    }

    /// The permission with this official name (exact, lowercase).
    pub fn from_name(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The switches this one needs (observed by a third-party client, docs/specs/pyramid.md §5).
    pub const fn needs(self) -> &'static [Permission] {
        match self {
            P::ModAddDataServer
            | P::ModUseMachineLearning
            | P::ModCreateScripts
            | P::ModCreatePostScripts
            | P::ModExecuteProcess => &[P::AppModel],
            P::DisAdvancedAnalytics | P::DisCreateShareable | P::DisLiteVersion => {
                &[P::AppDiscovery, P::DisCreateDataSource]
            }
            P::LogCreateFormulas | P::LogCreateScripts | P::LogCustomVisuals => {
                &[P::AppLogic, P::LogCustomColumns]
            }
            P::PubSelectMultipleItems | P::PubAllowSmartPublish | P::PubAllowScheduling => {
                &[P::AppPublish]
            }
            P::PreAllowSmartPresent | P::PrePresentLite => &[P::AppPresentation],
            _ => &[],
        }
    }

    /// The switches this one cannot be combined with (Discover Lite vs Pro features).
    pub const fn excludes(self) -> &'static [Permission] {
        match self {
            P::DisLiteVersion => &[P::DisAdvancedAnalytics, P::DisCreateShareable],
            P::DisAdvancedAnalytics | P::DisCreateShareable => &[P::DisLiteVersion],
            _ => &[],
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (bit {})", self.name(), self.bit())
    }
}

/// Which combination rules [`PermissionSet::validate`] applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionRules {
    /// No combination checks (only the 26 known bits).
    None,
    /// Refuse the known mutually exclusive pairs (Discover Lite with Pro features).
    #[default]
    Exclusive,
    /// Also refuse a switch whose prerequisite switches are off. These "needs" rules
    /// are a third-party observation, and Pyramid's own example (bits 3 and 9) breaks
    /// one of them, hence not the default.
    Strict,
}

/// One broken combination rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two switches that cannot be on together.
    Exclusive(Permission, Permission),
    /// A switch whose prerequisite is off.
    Needs(Permission, Permission),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Exclusive(a, b) => write!(f, "{a} cannot be combined with {b}"),
            Violation::Needs(a, b) => write!(f, "{a} needs {b}"),
        }
    }
}

/// A set of the 26 permission bits.
///
/// ```
/// use grantbridge_pyramid::wire::{Permission, PermissionSet};
///
/// let set: PermissionSet = [Permission::AppDiscovery, Permission::DisAdvancedAnalytics].into_iter().collect();
/// assert_eq!(set.numeric(), 520); // not the 12 of the seed example's `(2^3)+(2^9)`
/// assert_eq!(set.index_list(), vec![3, 9]);
/// assert_eq!(PermissionSet::from_numeric(520)?, set);
/// # Ok::<(), grantbridge_core::Error>(())
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PermissionSet(u32);

/// All 26 bits.
const KNOWN: u32 = (1 << 26) - 1;

impl PermissionSet {
    /// No switches.
    pub const EMPTY: PermissionSet = PermissionSet(0);

    /// Every known switch.
    pub const ALL: PermissionSet = PermissionSet(KNOWN);

    /// Parses the `numeric` form; refuses negative values and bits above 25.
    pub fn from_numeric(numeric: i64) -> Result<Self> {
        if !(0..=i64::from(KNOWN)).contains(&numeric) {
            let unknown: Vec<String> = (0..64)
                .filter(|b| (26..64).contains(b) && (numeric >> b) & 1 == 1)
                .map(|b: i64| b.to_string())
                .collect();
            return Err(Error::invalid(
                format!("permission numeric {numeric}"),
                if numeric < 0 {
                    "must not be negative".to_owned()
                } else {
                    format!(
                        "sets unknown bit(s) {} (only 0 to 25 exist)",
                        unknown.join(", ")
                    )
                },
            ));
        }
        // The range check above makes this lossless.
        Ok(PermissionSet(numeric as u32))
    }

    /// Parses the `permissionBitIndexList` form; refuses unknown indices.
    /// Duplicates are harmless.
    pub fn from_index_list(list: &[i64]) -> Result<Self> {
        let mut set = PermissionSet::EMPTY;
        for &i in list {
            let p = Permission::from_bit(i).ok_or_else(|| {
                Error::invalid(
                    format!("permission bit index {i}"),
                    "is not one of the 26 bits (0 to 25)",
                )
            })?;
            set.insert(p);
        }
        Ok(set)
    }

    /// Parses official names (`app_discovery`), e.g. core capability names.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let mut set = PermissionSet::EMPTY;
        for name in names {
            let p = Permission::from_name(name).ok_or_else(|| {
                Error::invalid(
                    format!("Pyramid permission {name:?}"),
                    format!(
                        "is not a permission bit name; known names: {}",
                        Permission::ALL.map(Permission::name).join(", ")
                    ),
                )
            })?;
            set.insert(p);
        }
        Ok(set)
    }

    /// Reads a wire holder. When both forms are present the list wins (Pyramid's
    /// `ViewerPermissions` says so); an absent holder field is the empty set.
    pub fn from_holder(holder: &ProfilePermissionHolder) -> Result<Self> {
        match (&holder.permission_bit_index_list, holder.numeric) {
            (Some(list), _) => Self::from_index_list(list),
            (None, Some(n)) => Self::from_numeric(n),
            (None, None) => Ok(Self::EMPTY),
        }
    }

    /// The `numeric` form: the sum of `1 << bit`.
    pub const fn numeric(self) -> i64 {
        self.0 as i64
    }

    /// The `permissionBitIndexList` form, ascending.
    pub fn index_list(self) -> Vec<i64> {
        self.iter().map(|p| i64::from(p.bit())).collect()
    }

    /// A holder with only the numeric form.
    pub fn to_numeric_holder(self) -> ProfilePermissionHolder {
        ProfilePermissionHolder {
            permission_bit_index_list: None,
            numeric: Some(self.numeric()),
        }
    }

    /// A holder with only the list form.
    pub fn to_list_holder(self) -> ProfilePermissionHolder {
        ProfilePermissionHolder {
            permission_bit_index_list: Some(self.index_list()),
            numeric: None,
        }
    }

    /// Adds a switch; returns whether it was new.
    pub fn insert(&mut self, p: Permission) -> bool {
        let new = !self.contains(p);
        self.0 |= 1 << p.bit();
        new
    }

    /// Removes a switch; returns whether it was there.
    pub fn remove(&mut self, p: Permission) -> bool {
        let had = self.contains(p);
        self.0 &= !(1 << p.bit());
        had
    }

    /// Whether the switch is on.
    pub const fn contains(self, p: Permission) -> bool {
        self.0 & (1 << p as u8) != 0
    }

    /// Number of switches on.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether no switch is on.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The switches on, by index.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    /// Every broken rule under `rules`, in bit order (each exclusive pair once).
    pub fn violations(self, rules: PermissionRules) -> Vec<Violation> {
        let mut out = Vec::new();
        if rules == PermissionRules::None {
            return out;
        }
        for p in self.iter() {
            for &q in p.excludes() {
                if self.contains(q) && p < q {
                    out.push(Violation::Exclusive(p, q));
                }
            }
            if rules == PermissionRules::Strict {
                for &q in p.needs() {
                    if !self.contains(q) {
                        out.push(Violation::Needs(p, q));
                    }
                }
            }
        }
        out
    }

    /// Checks the combination rules; the error lists every broken rule.
    pub fn validate(self, rules: PermissionRules) -> Result<()> {
        let v = self.violations(rules);
        if v.is_empty() {
            return Ok(());
        }
        let why: Vec<String> = v.iter().map(ToString::to_string).collect();
        Err(Error::invalid(
            format!("permission set {self}"),
            format!(
                "{} (build the ProfilePermissionHolder yourself to send it anyway)",
                why.join("; ")
            ),
        ))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::EMPTY;
        for p in iter {
            set.insert(p);
        }
        set
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Permission::name))
            .finish()
    }
}

impl fmt::Display for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{")?;
        for (i, p) in self.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{}", p.bit())?;
        }
        write!(f, "}} = {}", self.numeric())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bits_match_the_table() {
        for (i, p) in Permission::ALL.iter().enumerate() {
            assert_eq!(usize::from(p.bit()), i);
            assert_eq!(Permission::from_name(p.name()), Some(*p));
        }
        assert_eq!(Permission::DisAutoDisc.mask(), 33_554_432);
        assert_eq!(Permission::DisLiteVersion.mask(), 4_194_304);
    }
}
