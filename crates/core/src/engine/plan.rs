//! [`plan`]: the changes that take a target from its current state to the desired one.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::snapshot::Snapshot;
use super::translate::{Desired, SkipReason, Skipped, SkippedItem, key_of, union};
use crate::error::{Error, Result};
use crate::ids::{GroupId, ProfileId, SystemId, UserId};
use crate::model::{Assignment, Membership, Principal, Validity};

/// The plan file format this build writes and reads.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// How far a plan goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Only add what is missing; never revoke. A held window that misses part of the
    /// wanted one grows to cover both; none is narrowed (a permanent grant stays
    /// permanent), and one disjoint from the wanted window is left and reported.
    #[default]
    Additive,
    /// Also revoke what the target has beyond the desired state.
    Mirror,
}

/// One change to a target system.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    /// Grant an assignment (or update its window).
    Grant {
        /// The assignment as it should be.
        assignment: Assignment,
        /// The window held before, when this updates an existing assignment; rollback
        /// restores it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<Validity>,
    },
    /// Revoke an assignment (its window is kept so that rollback can restore it).
    Revoke {
        /// The assignment as it was.
        assignment: Assignment,
    },
    /// Add a user to a group.
    AddMember {
        /// The membership.
        membership: Membership,
    },
    /// Remove a user from a group.
    RemoveMember {
        /// The membership.
        membership: Membership,
    },
}

impl Change {
    /// The inverse change: what undoes this one.
    pub fn inverse(&self) -> Change {
        match self {
            Change::Grant {
                assignment,
                previous: None,
            } => Change::Revoke {
                assignment: assignment.clone(),
            },
            Change::Grant {
                assignment,
                previous: Some(old),
            } => Change::Grant {
                assignment: assignment.clone().with_validity(*old),
                previous: Some(assignment.validity),
            },
            Change::Revoke { assignment } => Change::Grant {
                assignment: assignment.clone(),
                previous: None,
            },
            Change::AddMember { membership } => Change::RemoveMember {
                membership: membership.clone(),
            },
            Change::RemoveMember { membership } => Change::AddMember {
                membership: membership.clone(),
            },
        }
    }

    /// Whether this change removes access (revoke or membership removal).
    pub fn removes(&self) -> bool {
        matches!(self, Change::Revoke { .. } | Change::RemoveMember { .. })
    }

    /// The principal concerned (the user, for memberships).
    pub fn principal(&self) -> Principal {
        match self {
            Change::Grant { assignment, .. } | Change::Revoke { assignment } => {
                assignment.principal.clone()
            }
            Change::AddMember { membership } | Change::RemoveMember { membership } => {
                Principal::User(membership.user.clone())
            }
        }
    }

    /// The principal as (0 = user / 1 = group, id), borrowed, for ordering.
    fn principal_key(&self) -> (u8, &str) {
        match self {
            Change::Grant { assignment, .. } | Change::Revoke { assignment } => {
                match &assignment.principal {
                    Principal::User(u) => (0, u.as_str()),
                    Principal::Group(g) => (1, g.as_str()),
                }
            }
            Change::AddMember { membership } | Change::RemoveMember { membership } => {
                (0, membership.user.as_str())
            }
        }
    }

    /// A short verb for tables and CSV.
    pub fn verb(&self) -> &'static str {
        match self {
            Change::Grant { previous: None, .. } => "grant",
            Change::Grant { .. } => "update",
            Change::Revoke { .. } => "revoke",
            Change::AddMember { .. } => "add-member",
            Change::RemoveMember { .. } => "remove-member",
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Grant { assignment, .. } | Change::Revoke { assignment } => {
                write!(f, "{} {assignment}", self.verb())
            }
            Change::AddMember { membership } | Change::RemoveMember { membership } => write!(
                f,
                "{} user:{} group:{}",
                self.verb(),
                membership.user,
                membership.group
            ),
        }
    }
}

/// What a retry plan continues: the earlier run of its chain, and the changes whose
/// outcome that chain left unknown.
///
/// A change the chain reported failed with an error that leaves the outcome unknown
/// ([`Error::outcome_unknown`](crate::Error::outcome_unknown): its answer was lost
/// and reading back did not settle it) may be in effect. When the retry run finds such
/// a change already in place, it attributes it to the chain
/// ([`ItemResult::continued`](super::ItemResult::continued)), so rolling back the
/// chain's runs undoes it. The trade-off: someone else's identical change made between
/// the runs would be undone too; the run report and `rollback` say how many items were
/// treated so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// The [`fingerprint`](Plan::fingerprint) of the plan of the run continued.
    pub plan_fingerprint: String,
    /// When that run started.
    pub started_at: Timestamp,
    /// The changes of this plan the chain left with an unknown outcome, in plan order.
    pub in_doubt: Vec<Change>,
}

/// A list of changes for one target, with everything that was not carried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`PLAN_FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// The source system, if the plan came from a translation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SystemId>,
    /// The system the changes apply to.
    pub target: SystemId,
    /// The mode it was planned in.
    pub mode: Mode,
    /// The time the plan describes: the later of the translation time and the time
    /// the target was read. Derived from the inputs, so the same inputs give the same
    /// plan, byte for byte.
    pub created_at: Timestamp,
    /// Whether removals run before additions (targets with per-user limits need room
    /// first; elsewhere additions go first so nobody loses access mid-run).
    pub removals_first: bool,
    /// The changes, in execution order.
    pub changes: Vec<Change>,
    /// Source items not carried, with reasons.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    /// Items carried with a loss.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Set on a retry plan ([`RunReport::failures_plan`](super::RunReport::failures_plan)):
    /// the run it continues, and the changes that run left in doubt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continues: Option<Continuation>,
}

/// Whether window `outer` contains all of `inner` (absent bounds are unbounded).
fn covers(outer: Validity, inner: Validity) -> bool {
    let starts_by = match (outer.from(), inner.from()) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(o), Some(i)) => o <= i,
    };
    let lasts_until = match (outer.until(), inner.until()) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(o), Some(i)) => i <= o,
    };
    starts_by && lasts_until
}

/// The list in key order, by reference (stable: repeated keys keep their order).
fn by_key(list: &[Assignment]) -> Vec<&Assignment> {
    let mut refs: Vec<&Assignment> = list.iter().collect();
    if !refs.windows(2).all(|w| key_of(w[0]) <= key_of(w[1])) {
        refs.sort_by(|x, y| key_of(x).cmp(&key_of(y)));
    }
    refs
}

fn sort_changes(changes: &mut [Change], removals_first: bool) {
    // Phase first (see `Plan::removals_first`), then by principal so that one
    // principal's changes sit together (adapters that read-modify-write per principal
    // get them in one batch), then deterministically by content.
    changes.sort_by(|a, b| {
        let phase = |c: &Change| c.removes() != removals_first;
        (phase(a), a.principal_key(), a).cmp(&(phase(b), b.principal_key(), b))
    });
}

/// Plans the changes that take `current` to `desired`.
///
/// `Additive` grants what is missing and widens held windows that miss part of the
/// wanted one (it never narrows one); `Mirror` sets every window exactly and also
/// revokes assignments the desired state lacks (and memberships, when the mapping
/// governs them). The order is deterministic: the same inputs give the same plan.
pub fn plan(desired: &Desired, current: &Snapshot, mode: Mode) -> Plan {
    let mut changes = Vec::new();
    let mut additive_conflicts = Vec::new();
    // A merge of the two lists in key order: no hashing and no copies of the
    // million-item inputs. Both are normally sorted already (translate and snapshots
    // sort them); anything else is sorted here, by reference.
    let desired_list = by_key(&desired.assignments);
    let current_list = by_key(&current.assignments);
    let (mut d, mut c) = (0, 0);
    while d < desired_list.len() || c < current_list.len() {
        let order = match (desired_list.get(d), current_list.get(c)) {
            (Some(x), Some(y)) => key_of(x).cmp(&key_of(y)),
            (Some(_), None) => Ordering::Less,
            (None, _) => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                changes.push(Change::Grant {
                    assignment: desired_list[d].clone(),
                    previous: None,
                });
                d += 1;
            }
            Ordering::Greater => {
                if mode == Mode::Mirror {
                    changes.push(Change::Revoke {
                        assignment: current_list[c].clone(),
                    });
                }
                c += 1;
            }
            Ordering::Equal => {
                // A system holds one window per key; if a list repeats a key, the
                // last entry stands.
                let key = key_of(current_list[c]);
                while c + 1 < current_list.len() && key_of(current_list[c + 1]) == key {
                    c += 1;
                }
                let held = current_list[c].validity;
                while d < desired_list.len() && key_of(desired_list[d]) == key {
                    let wanted: &Assignment = desired_list[d];
                    d += 1;
                    if wanted.validity == held {
                        continue;
                    }
                    if mode == Mode::Mirror {
                        changes.push(Change::Grant {
                            assignment: wanted.clone(),
                            previous: Some(held),
                        });
                        continue;
                    }
                    // Additive never takes access away: a held window that covers the
                    // wanted one stays; one that misses part of it grows to the union;
                    // a disjoint one cannot grow into one window and is reported.
                    if covers(held, wanted.validity) {
                        continue;
                    }
                    match union(held, wanted.validity) {
                        Some(window) => changes.push(Change::Grant {
                            assignment: wanted.clone().with_validity(window),
                            previous: Some(held),
                        }),
                        None => additive_conflicts.push(Skipped {
                            item: SkippedItem::Assignment {
                                assignment: wanted.clone(),
                            },
                            reason: SkipReason::WindowConflict { kept: held },
                        }),
                    }
                }
                c += 1;
            }
        }
    }
    let members: HashSet<&Membership> = current.memberships.iter().collect();
    for m in &desired.memberships {
        if !members.contains(m) {
            changes.push(Change::AddMember {
                membership: m.clone(),
            });
        }
    }
    if mode == Mode::Mirror && desired.manages_memberships {
        let wanted: HashSet<&Membership> = desired.memberships.iter().collect();
        for m in &current.memberships {
            if !wanted.contains(m) {
                changes.push(Change::RemoveMember {
                    membership: m.clone(),
                });
            }
        }
    }
    let limit = desired.target_capabilities.max_assignments_per_user;
    let removals_first = limit.is_some();
    sort_changes(&mut changes, removals_first);
    let mut skipped = desired.skipped.clone();
    skipped.extend(additive_conflicts);
    if let (Some(max), Mode::Additive) = (limit, mode) {
        // Additive runs keep what the target holds, so a user may have no room left for
        // a new grant; say so now instead of letting the grant fail at run time.
        let mut held: HashMap<UserId, u32> = HashMap::new();
        for a in &current.assignments {
            if let Principal::User(u) = &a.principal {
                *held.entry(u.clone()).or_default() += 1;
            }
        }
        changes.retain(|c| match c {
            Change::Grant {
                assignment,
                previous: None,
            } => match &assignment.principal {
                Principal::User(u) => {
                    let n = held.entry(u.clone()).or_default();
                    if *n >= max {
                        skipped.push(Skipped {
                            item: SkippedItem::Assignment {
                                assignment: assignment.clone(),
                            },
                            reason: SkipReason::PerUserLimit { max },
                        });
                        false
                    } else {
                        *n += 1;
                        true
                    }
                }
                Principal::Group(_) => true,
            },
            _ => true,
        });
    }
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        source: Some(desired.source.clone()),
        target: current.system.clone(),
        mode,
        created_at: desired.as_of.max(current.taken_at),
        removals_first,
        changes,
        skipped,
        warnings: desired.warnings.clone(),
        continues: None,
    }
}

impl Plan {
    /// A plan of explicit changes (e.g. an offboarding), ordered like planned ones.
    pub fn from_changes(target: SystemId, mut changes: Vec<Change>, removals_first: bool) -> Plan {
        sort_changes(&mut changes, removals_first);
        changes.dedup();
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            source: None,
            target,
            mode: Mode::Mirror,
            created_at: Timestamp::now(),
            removals_first,
            changes,
            skipped: Vec::new(),
            warnings: Vec::new(),
            continues: None,
        }
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The plan that undoes this one: every change inverted, in reverse order.
    pub fn inverse(&self) -> Plan {
        let changes: Vec<Change> = self.changes.iter().rev().map(Change::inverse).collect();
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            source: self.source.clone(),
            target: self.target.clone(),
            mode: self.mode,
            created_at: Timestamp::now(),
            // The order rule is the target's, not the run's: a target with per-user
            // limits needs room first in both directions (undoing "revoke A, grant B"
            // is "revoke B, grant A"); elsewhere additions stay first so nobody loses
            // access mid-rollback.
            removals_first: self.removals_first,
            changes,
            skipped: Vec::new(),
            warnings: Vec::new(),
            continues: None,
        }
    }

    /// A stable fingerprint of the target and changes (not of times or skipped
    /// items): a journal is only replayed against the plan it was written for.
    pub fn fingerprint(&self) -> String {
        // FNV-1a over the canonical JSON of what matters; not a security hash, just a
        // guard against resuming with the wrong plan.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for b in bytes {
                hash ^= u64::from(*b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        feed(self.target.as_str().as_bytes());
        for c in &self.changes {
            feed(b"\n");
            feed(serde_json::to_string(c).unwrap_or_default().as_bytes());
        }
        format!("{hash:016x}-{}", self.changes.len())
    }

    /// Per-profile counts for people.
    pub fn summary(&self) -> PlanSummary {
        let mut rows: BTreeMap<SummaryKey, SummaryRow> = BTreeMap::new();
        for c in &self.changes {
            let key = match c {
                Change::Grant { assignment, .. } | Change::Revoke { assignment } => {
                    SummaryKey::Profile(assignment.profile.clone())
                }
                Change::AddMember { membership } | Change::RemoveMember { membership } => {
                    SummaryKey::Group(membership.group.clone())
                }
            };
            let row = rows.entry(key).or_default();
            match c {
                Change::Grant { previous: None, .. } | Change::AddMember { .. } => row.grants += 1,
                Change::Grant { .. } => row.updates += 1,
                Change::Revoke { .. } | Change::RemoveMember { .. } => row.revokes += 1,
            }
        }
        for s in &self.skipped {
            let key = match &s.item {
                SkippedItem::Assignment { assignment } => {
                    SummaryKey::Profile(assignment.profile.clone())
                }
                SkippedItem::Membership { membership } => {
                    SummaryKey::Group(membership.group.clone())
                }
            };
            rows.entry(key).or_default().skipped += 1;
        }
        PlanSummary {
            target: self.target.clone(),
            mode: self.mode,
            rows,
            warnings: self.warnings.len(),
        }
    }

    /// Serializes to pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::invalid("plan", e.to_string()))
    }

    /// Parses plan JSON, refusing unknown format versions.
    pub fn from_json(json: &str) -> Result<Plan> {
        let plan: Plan =
            serde_json::from_str(json).map_err(|e| Error::invalid("plan JSON", e.to_string()))?;
        if plan.format_version != PLAN_FORMAT_VERSION {
            return Err(Error::invalid(
                "plan format_version",
                format!(
                    "{} is not supported by this build (it reads version {PLAN_FORMAT_VERSION})",
                    plan.format_version
                ),
            ));
        }
        Ok(plan)
    }

    /// Writes the plan to a file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?).map_err(|e| Error::io(path, e))
    }

    /// Reads a plan file.
    pub fn load(path: impl AsRef<Path>) -> Result<Plan> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Plan::from_json(&json)
    }
}

/// What one row of a [`PlanSummary`] counts: the changes of a profile or of a group.
///
/// Displayed and serialized as `profile {id}` or `group {id}`, the keys of the
/// summary's JSON.
///
/// ```
/// use grantbridge_core::ProfileId;
/// use grantbridge_core::engine::SummaryKey;
///
/// let key = SummaryKey::Profile(ProfileId::new("admin")?);
/// assert_eq!(key.to_string(), "profile admin");
/// assert_eq!(serde_json::to_string(&key).expect("json"), "\"profile admin\"");
/// # Ok::<(), grantbridge_core::Error>(())
/// ```
// Groups come first so that rows sort as their printed keys do ("group …" before
// "profile …"), as they did when the keys were strings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SummaryKey {
    /// Membership changes of a group (in the target).
    Group(GroupId),
    /// Assignment changes of a profile.
    Profile(ProfileId),
}

impl fmt::Display for SummaryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SummaryKey::Group(id) => write!(f, "group {id}"),
            SummaryKey::Profile(id) => write!(f, "profile {id}"),
        }
    }
}

impl Serialize for SummaryKey {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        // A string, so that it can be a JSON object key.
        serializer.collect_str(self)
    }
}

/// Counts for one profile (or group) of a plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SummaryRow {
    /// New grants (and membership additions).
    pub grants: usize,
    /// Window updates.
    pub updates: usize,
    /// Revokes (and membership removals).
    pub revokes: usize,
    /// Source items not carried.
    pub skipped: usize,
}

/// A plan's counts per profile; `Display` renders a table for people.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanSummary {
    /// The target.
    pub target: SystemId,
    /// The mode.
    pub mode: Mode,
    /// Counts per profile or group (serialized as `profile …` / `group …`). Changes
    /// count under the target's profile; skipped items under the profile they name,
    /// which is the source's for items not carried (and the target's for what an
    /// additive plan leaves out: grants beyond a per-user limit, windows disjoint from
    /// a held one).
    pub rows: BTreeMap<SummaryKey, SummaryRow>,
    /// Number of warnings.
    pub warnings: usize,
}

impl PlanSummary {
    /// Totals over all rows.
    pub fn totals(&self) -> SummaryRow {
        self.rows
            .values()
            .fold(SummaryRow::default(), |t, r| SummaryRow {
                grants: t.grants + r.grants,
                updates: t.updates + r.updates,
                revokes: t.revokes + r.revokes,
                skipped: t.skipped + r.skipped,
            })
    }
}

impl fmt::Display for PlanSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<(String, &SummaryRow)> =
            self.rows.iter().map(|(k, r)| (k.to_string(), r)).collect();
        let width = names
            .iter()
            .map(|(k, _)| k.chars().count())
            .chain([5])
            .max()
            .unwrap_or(5);
        writeln!(f, "plan for {} ({:?})", self.target, self.mode)?;
        writeln!(
            f,
            "{:<width$}  {:>8}  {:>8}  {:>8}  {:>8}",
            "", "grants", "updates", "revokes", "skipped"
        )?;
        let totals = self.totals();
        let total = ("total".to_owned(), &totals);
        for (name, r) in names.iter().chain([&total]) {
            writeln!(
                f,
                "{name:<width$}  {:>8}  {:>8}  {:>8}  {:>8}",
                r.grants, r.updates, r.revokes, r.skipped
            )?;
        }
        if self.warnings > 0 {
            writeln!(f, "{} warning(s): see the plan's `warnings`", self.warnings)?;
        }
        Ok(())
    }
}
