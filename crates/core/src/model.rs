//! The vendor-neutral access model (docs/architecture.md, "The model").

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{Email, GroupId, ProfileId, ResourceId, ResourceKind, TenantCode, UserId};

/// Vendor fields that do not fit the model, kept so that nothing read is lost.
pub type Extra = BTreeMap<String, serde_json::Value>;

/// Whether a user can sign in yet.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// An active account.
    #[default]
    Active,
    /// Invited but not yet accepted (Segment's pending invites).
    Invited,
    /// Disabled or suspended.
    Disabled,
}

/// A person who can hold access.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The user's id in its system.
    pub id: UserId,
    /// E-mail address, used to match the same person across systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Account status.
    #[serde(default)]
    pub status: UserStatus,
    /// Vendor fields outside the model.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: Extra,
}

impl User {
    /// An active user with just an id.
    pub fn new(id: UserId) -> Self {
        Self {
            id,
            email: None,
            display_name: None,
            status: UserStatus::Active,
            extra: Extra::new(),
        }
    }

    /// Sets the e-mail address.
    pub fn with_email(mut self, email: Email) -> Self {
        self.email = Some(email);
        self
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the status.
    pub fn with_status(mut self, status: UserStatus) -> Self {
        self.status = status;
        self
    }
}

/// A named set of users that can itself hold access (a Pyramid role).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The group's id in its system.
    pub id: GroupId,
    /// Its name.
    pub name: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Vendor fields outside the model.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: Extra,
}

impl Group {
    /// A group with an id and a name.
    pub fn new(id: GroupId, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            description: None,
            extra: Extra::new(),
        }
    }
}

/// Who holds an assignment: a user or a group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Principal {
    /// A user.
    User(UserId),
    /// A group.
    Group(GroupId),
}

impl Principal {
    /// The user id, if this is a user.
    pub fn as_user(&self) -> Option<&UserId> {
        match self {
            Principal::User(id) => Some(id),
            Principal::Group(_) => None,
        }
    }

    /// The group id, if this is a group.
    pub fn as_group(&self) -> Option<&GroupId> {
        match self {
            Principal::Group(id) => Some(id),
            Principal::User(_) => None,
        }
    }

    /// The id as a string, for messages and reports.
    pub fn id_str(&self) -> &str {
        match self {
            Principal::User(id) => id.as_str(),
            Principal::Group(id) => id.as_str(),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User(id) => write!(f, "user:{id}"),
            Principal::Group(id) => write!(f, "group:{id}"),
        }
    }
}

/// One permission inside a profile, with its vendor-native name and level.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Capability {
    /// Vendor-native name (Visier capability, Pyramid permission bit name).
    pub name: String,
    /// Access or view level, when the vendor has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

impl Capability {
    /// A capability without a level.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            level: None,
        }
    }

    /// A capability with a level.
    pub fn with_level(name: impl Into<String>, level: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            level: Some(level.into()),
        }
    }
}

/// A named, grantable bundle of capabilities (a Segment role).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The profile's id in its system.
    pub id: ProfileId,
    /// Its display name.
    pub name: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What it grants. Empty when the vendor's profiles are opaque.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<Capability>,
    /// The kinds of scope it can be assigned on; empty means any kind the system
    /// supports (e.g. Visier local profiles are system-wide, analytic ones per tenant).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub assignable_to: BTreeSet<ScopeKind>,
    /// Vendor fields outside the model.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: Extra,
}

impl Profile {
    /// A profile with an id and a name, assignable on any scope.
    pub fn new(id: ProfileId, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            description: None,
            capabilities: Vec::new(),
            assignable_to: BTreeSet::new(),
            extra: Extra::new(),
        }
    }

    /// Restricts the kinds of scope the profile can be assigned on.
    pub fn assignable_to(mut self, kinds: impl IntoIterator<Item = ScopeKind>) -> Self {
        self.assignable_to = kinds.into_iter().collect();
        self
    }

    /// Whether the profile may be assigned on this kind of scope.
    pub fn accepts(&self, kind: ScopeKind) -> bool {
        self.assignable_to.is_empty() || self.assignable_to.contains(&kind)
    }
}

/// What to create with [`ProfileCatalog::create_profile`](crate::ProfileCatalog::create_profile).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewProfile {
    /// Display name.
    pub name: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Capabilities in the target vendor's own names.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Where the profile applies (e.g. the Pyramid tenant); `None` for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

/// A key/value label on a resource scope (Segment's resource labels).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Label {
    /// Label key, e.g. `environment`.
    pub key: String,
    /// Label value, e.g. `prod`.
    pub value: String,
}

impl Label {
    /// A label.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// The kind of a [`Scope`], without its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// [`Scope::System`].
    System,
    /// [`Scope::Tenant`].
    Tenant,
    /// [`Scope::Resource`].
    Resource,
}

/// Where an assignment applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Scope {
    /// The whole system (a Visier local profile on the whole tenant).
    System,
    /// One tenant, optionally with all its children (Visier analytic tenants).
    Tenant {
        /// The tenant's code.
        code: TenantCode,
        /// Whether the assignment also covers the tenant's children.
        #[serde(default)]
        include_children: bool,
    },
    /// One resource, with labels that narrow it (Segment permissions).
    Resource {
        /// Resource kind, e.g. `WORKSPACE`, `SOURCE`.
        kind: ResourceKind,
        /// Resource id.
        id: ResourceId,
        /// Labels; part of the scope's identity.
        #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
        labels: BTreeSet<Label>,
    },
}

impl Scope {
    /// The kind of this scope.
    pub fn kind(&self) -> ScopeKind {
        match self {
            Scope::System => ScopeKind::System,
            Scope::Tenant { .. } => ScopeKind::Tenant,
            Scope::Resource { .. } => ScopeKind::Resource,
        }
    }

    /// A tenant scope.
    pub fn tenant(code: TenantCode, include_children: bool) -> Self {
        Scope::Tenant {
            code,
            include_children,
        }
    }

    /// A resource scope without labels.
    pub fn resource(kind: ResourceKind, id: ResourceId) -> Self {
        Scope::Resource {
            kind,
            id,
            labels: BTreeSet::new(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::System => f.write_str("system"),
            Scope::Tenant {
                code,
                include_children,
            } => {
                write!(f, "tenant:{code}")?;
                if *include_children {
                    f.write_str("+children")?;
                }
                Ok(())
            }
            Scope::Resource { kind, id, labels } => {
                write!(f, "{kind}:{id}")?;
                if !labels.is_empty() {
                    let labels: Vec<String> = labels
                        .iter()
                        .map(|l| format!("{}={}", l.key, l.value))
                        .collect();
                    write!(f, "[{}]", labels.join(","))?;
                }
                Ok(())
            }
        }
    }
}

/// A half-open validity window `[from, until)` of millisecond UTC instants.
///
/// Either bound may be absent (unbounded). Bounds are whole milliseconds, because
/// that is what vendors store; a window is never empty (`from < until`). Both rules are
/// checked on construction and on deserialization.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(try_from = "ValidityRepr", into = "ValidityRepr")]
pub struct Validity {
    from: Option<Timestamp>,
    until: Option<Timestamp>,
}

#[derive(Serialize, Deserialize)]
struct ValidityRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until: Option<Timestamp>,
}

impl TryFrom<ValidityRepr> for Validity {
    type Error = Error;
    fn try_from(r: ValidityRepr) -> Result<Self> {
        Validity::new(r.from, r.until)
    }
}

impl From<Validity> for ValidityRepr {
    fn from(v: Validity) -> Self {
        ValidityRepr {
            from: v.from,
            until: v.until,
        }
    }
}

fn whole_millis(what: &str, t: Timestamp) -> Result<()> {
    if t.subsec_nanosecond() % 1_000_000 != 0 {
        return Err(Error::invalid(
            format!("validity {what} {t}"),
            "must be a whole number of milliseconds",
        ));
    }
    Ok(())
}

impl Validity {
    /// No bounds: always active.
    pub const ALWAYS: Validity = Validity {
        from: None,
        until: None,
    };

    /// A window `[from, until)`; refuses sub-millisecond bounds and empty windows.
    pub fn new(from: Option<Timestamp>, until: Option<Timestamp>) -> Result<Self> {
        if let Some(f) = from {
            whole_millis("start", f)?;
        }
        if let Some(u) = until {
            whole_millis("end", u)?;
        }
        if let (Some(f), Some(u)) = (from, until)
            && f >= u
        {
            return Err(Error::invalid(
                "validity window",
                format!("start {f} is not before end {u}"),
            ));
        }
        Ok(Self { from, until })
    }

    /// A window from epoch milliseconds.
    pub fn from_millis(from: Option<i64>, until: Option<i64>) -> Result<Self> {
        let ts = |what: &str, ms: i64| {
            Timestamp::from_millisecond(ms)
                .map_err(|e| Error::invalid(format!("validity {what} {ms} ms"), e.to_string()))
        };
        Self::new(
            from.map(|ms| ts("start", ms)).transpose()?,
            until.map(|ms| ts("end", ms)).transpose()?,
        )
    }

    /// Inclusive start, if bounded.
    pub fn from(&self) -> Option<Timestamp> {
        self.from
    }

    /// Exclusive end, if bounded.
    pub fn until(&self) -> Option<Timestamp> {
        self.until
    }

    /// Start in epoch milliseconds, if bounded.
    pub fn from_ms(&self) -> Option<i64> {
        self.from.map(|t| t.as_millisecond())
    }

    /// End in epoch milliseconds, if bounded.
    pub fn until_ms(&self) -> Option<i64> {
        self.until.map(|t| t.as_millisecond())
    }

    /// Whether both bounds are absent.
    pub fn is_unbounded(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }

    /// Whether the window contains `at`: `from <= at < until`.
    pub fn is_active_at(&self, at: Timestamp) -> bool {
        self.from.is_none_or(|f| f <= at) && self.until.is_none_or(|u| at < u)
    }

    /// Whether the window has ended by `at` (`until <= at`), so it can never be active
    /// again.
    pub fn has_ended_by(&self, at: Timestamp) -> bool {
        self.until.is_some_and(|u| u <= at)
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.from, self.until) {
            (None, None) => f.write_str("always"),
            (from, until) => {
                let show = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
                write!(f, "[{}, {})", show(from), show(until))
            }
        }
    }
}

/// What identifies an assignment: who, what and where. Validity is not part of it: a
/// system holds at most one window per key, and granting a different window updates it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AssignmentKey {
    /// Who holds it.
    pub principal: Principal,
    /// Which profile.
    pub profile: ProfileId,
    /// Where it applies.
    pub scope: Scope,
}

/// A principal holding a profile on a scope during a validity window.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Assignment {
    /// Who holds it.
    pub principal: Principal,
    /// Which profile.
    pub profile: ProfileId,
    /// Where it applies.
    pub scope: Scope,
    /// When it applies.
    #[serde(default, skip_serializing_if = "Validity::is_unbounded")]
    pub validity: Validity,
}

impl Assignment {
    /// An always-valid assignment.
    pub fn new(principal: Principal, profile: ProfileId, scope: Scope) -> Self {
        Self {
            principal,
            profile,
            scope,
            validity: Validity::ALWAYS,
        }
    }

    /// Sets the validity window.
    pub fn with_validity(mut self, validity: Validity) -> Self {
        self.validity = validity;
        self
    }

    /// The identity of this assignment (everything but the window).
    pub fn key(&self) -> AssignmentKey {
        AssignmentKey {
            principal: self.principal.clone(),
            profile: self.profile.clone(),
            scope: self.scope.clone(),
        }
    }
}

impl fmt::Display for Assignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} holds {} on {}",
            self.principal, self.profile, self.scope
        )?;
        if !self.validity.is_unbounded() {
            write!(f, " during {}", self.validity)?;
        }
        Ok(())
    }
}

/// A user in a group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Membership {
    /// The member.
    pub user: UserId,
    /// The group.
    pub group: GroupId,
}

impl Membership {
    /// A membership.
    pub fn new(user: UserId, group: GroupId) -> Self {
        Self { user, group }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).expect("in range")
    }

    #[test]
    fn validity_is_half_open() {
        let v = Validity::from_millis(Some(1_000), Some(2_000)).expect("valid");
        assert!(!v.is_active_at(ts(999)));
        assert!(v.is_active_at(ts(1_000)));
        assert!(v.is_active_at(ts(1_999)));
        assert!(!v.is_active_at(ts(2_000)));
        assert!(v.has_ended_by(ts(2_000)));
        assert!(!v.has_ended_by(ts(1_999)));
        assert!(Validity::ALWAYS.is_active_at(ts(i64::from(i32::MAX))));
    }

    #[test]
    fn validity_refuses_empty_windows_and_submillisecond_bounds() {
        assert!(Validity::from_millis(Some(5), Some(5)).is_err());
        assert!(Validity::from_millis(Some(6), Some(5)).is_err());
        let sub = Timestamp::new(1, 500).expect("in range");
        assert!(Validity::new(Some(sub), None).is_err());
        let json = r#"{"from":"2024-01-02T00:00:00Z","until":"2024-01-01T00:00:00Z"}"#;
        assert!(serde_json::from_str::<Validity>(json).is_err());
    }

    #[test]
    fn validity_json_round_trips_exactly() {
        let v = Validity::from_millis(Some(1_571_122_800_123), None).expect("valid");
        let json = serde_json::to_string(&v).expect("ser");
        assert_eq!(json, r#"{"from":"2019-10-15T07:00:00.123Z"}"#);
        assert_eq!(serde_json::from_str::<Validity>(&json).expect("de"), v);
    }

    #[test]
    fn scopes_serialize_readably_and_labels_are_identity() {
        let s = Scope::Resource {
            kind: ResourceKind::new("SOURCE").expect("id"),
            id: ResourceId::new("src-1").expect("id"),
            labels: [Label::new("env", "prod")].into(),
        };
        assert_eq!(
            serde_json::to_string(&s).expect("ser"),
            r#"{"type":"resource","kind":"SOURCE","id":"src-1","labels":[{"key":"env","value":"prod"}]}"#
        );
        assert_ne!(
            s,
            Scope::resource(
                ResourceKind::new("SOURCE").expect("id"),
                ResourceId::new("src-1").expect("id")
            )
        );
        assert_eq!(s.to_string(), "SOURCE:src-1[env=prod]");
    }
}
