//! Reports: what a run did ([`RunReport`], the result of [`execute`]), and exports for
//! people: the access-review CSV of a snapshot and a run's outcomes.
//!
//! [`execute`]: super::execute

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::plan::{Change, Continuation, Plan};
use super::snapshot::Snapshot;
use super::target::TargetIdentity;
use crate::error::{Error, Result};
use crate::ids::SystemId;
use crate::model::{Assignment, Principal, Validity};
use crate::traits::Outcome;

/// One change of a run and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    /// Index of the change in the plan.
    pub index: usize,
    /// The change.
    pub change: Change,
    /// The outcome; `None` when not run (dry run).
    pub outcome: Option<Outcome>,
    /// Whether the outcome was done by an earlier run (read from its journal) and
    /// verified in place by this run's fresh read of the target.
    #[serde(default)]
    pub resumed: bool,
    /// Whether this retry run found the change already in place while the run it
    /// continues had left its outcome unknown
    /// ([`Continuation`](super::Continuation)): the chain made it, so
    /// [`RunReport::rollback_plan`] undoes it. The outcome stays `AlreadyInState`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continued: bool,
}

/// Counts of a run: every change is in exactly one of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    /// Changes this run made.
    pub applied: usize,
    /// Changes this run found already in place.
    pub already_in_state: usize,
    /// Changes that failed.
    pub failed: usize,
    /// Changes not run (dry run).
    pub not_run: usize,
    /// Changes an earlier run did (its journal says so) and this run verified in
    /// place on the target.
    pub resumed: usize,
    /// Changes found in place that the run this retry continues had left in doubt:
    /// attributed to the chain (see [`ItemResult::continued`]).
    pub continued: usize,
}

impl RunCounts {
    /// Changes in the report (the sum of every count).
    pub fn total(&self) -> usize {
        self.applied
            + self.already_in_state
            + self.failed
            + self.not_run
            + self.resumed
            + self.continued
    }
}

/// What a run found when it resumed from the journal of an earlier run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumption {
    /// When the earlier run started.
    pub started_at: Timestamp,
    /// Changes the journal records done that the target holds: reported `resumed`.
    pub verified: usize,
    /// Changes the journal records done that the target does not hold (a restored
    /// backup, a reset sandbox, someone's manual change): sent again by this run.
    pub missing: usize,
}

/// The result of [`execute`](super::execute()): every change of the plan with its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The plan's [`fingerprint`](Plan::fingerprint).
    pub plan_fingerprint: String,
    /// The system changed.
    pub target: SystemId,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The plan's `removals_first`, so derived plans keep the order rule.
    pub removals_first: bool,
    /// When the run started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
    /// One entry per change, in plan order.
    pub items: Vec<ItemResult>,
    /// The target the run was made on (absent in reports of older builds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<TargetIdentity>,
    /// Set when the run resumed from the journal of an earlier run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_from: Option<Resumption>,
    /// Set when the run's plan was a retry plan: the run it continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continues: Option<Continuation>,
}

impl RunReport {
    /// Counts by outcome; a change done by an earlier run counts as `resumed` only.
    pub fn counts(&self) -> RunCounts {
        let mut c = RunCounts::default();
        for item in &self.items {
            match &item.outcome {
                None => c.not_run += 1,
                Some(_) if item.resumed => c.resumed += 1,
                Some(_) if item.continued => c.continued += 1,
                Some(Outcome::Applied) => c.applied += 1,
                Some(Outcome::AlreadyInState) => c.already_in_state += 1,
                Some(Outcome::Failed(_)) => c.failed += 1,
            }
        }
        c
    }

    /// Refuses a target other than the one the run was made on (before a rollback):
    /// `Ok` when `identity` [matches](TargetIdentity::matches) the report's, or the
    /// report predates identities and the system ids are equal.
    pub fn check_target(&self, identity: &TargetIdentity) -> Result<()> {
        let ours = self
            .identity
            .clone()
            .unwrap_or_else(|| TargetIdentity::new(self.target.clone()));
        if ours.matches(identity) {
            return Ok(());
        }
        Err(Error::invalid(
            "run report",
            format!(
                "it records a run on {ours} (started {}), and this target is {identity}; \
                 its changes can only be rolled back where they were made",
                self.started_at
            ),
        ))
    }

    /// Whether any change failed.
    pub fn has_failures(&self) -> bool {
        self.counts().failed > 0
    }

    /// A plan of only the changes that failed ("retry only the failures"), which
    /// [continues](Plan::continues) this run: the failed changes whose outcome is
    /// unknown (their error's [`Error::outcome_unknown`], or left in doubt by an
    /// earlier run of the chain and failed again) are listed in doubt, so that the
    /// retry run attributes them to the chain if it finds them in place.
    pub fn failures_plan(&self) -> Plan {
        let earlier: HashSet<&Change> = self.continues.iter().flat_map(|c| &c.in_doubt).collect();
        let mut in_doubt: HashSet<Change> = HashSet::new();
        let changes = self
            .items
            .iter()
            .filter_map(|i| match &i.outcome {
                Some(Outcome::Failed(e)) => {
                    if e.outcome_unknown() || earlier.contains(&i.change) {
                        in_doubt.insert(i.change.clone());
                    }
                    Some(i.change.clone())
                }
                _ => None,
            })
            .collect();
        let mut plan = Plan::from_changes(self.target.clone(), changes, self.removals_first);
        plan.continues = Some(Continuation {
            plan_fingerprint: self.plan_fingerprint.clone(),
            started_at: self.started_at,
            in_doubt: plan
                .changes
                .iter()
                .filter(|c| in_doubt.contains(*c))
                .cloned()
                .collect(),
        });
        plan
    }

    /// The plan that undoes this run: the inverse of every change it *applied*, and
    /// of every change it found in place that its chain had left in doubt
    /// ([`ItemResult::continued`]); not of those already in place otherwise, failed
    /// or not run. Original windows are restored.
    pub fn rollback_plan(&self) -> Plan {
        let changes = self
            .items
            .iter()
            .rev()
            .filter(|i| i.continued || matches!(i.outcome, Some(Outcome::Applied)))
            .map(|i| i.change.inverse())
            .collect();
        // Same order rule as the run (see `Plan::inverse`).
        Plan::from_changes(self.target.clone(), changes, self.removals_first)
    }

    /// Serializes to pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::invalid("run report", e.to_string()))
    }

    /// Parses report JSON.
    pub fn from_json(json: &str) -> Result<RunReport> {
        serde_json::from_str(json).map_err(|e| Error::invalid("run report JSON", e.to_string()))
    }

    /// Writes the report as JSON.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?).map_err(|e| Error::io(path, e))
    }

    /// Reads a report file.
    pub fn load(path: impl AsRef<Path>) -> Result<RunReport> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        RunReport::from_json(&json)
    }
}

/// One row of the access review: who holds what, where, when, and through which group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessRow {
    /// The system.
    pub system: String,
    /// `user` or `group`.
    pub principal_type: &'static str,
    /// The principal's id.
    pub principal: String,
    /// The user's e-mail (empty for groups).
    pub email: String,
    /// The user's or group's name.
    pub name: String,
    /// The profile's id.
    pub profile: String,
    /// The profile's display name.
    pub profile_name: String,
    /// The scope, e.g. `system`, `tenant:T+children`, `SOURCE:id[env=prod]`.
    pub scope: String,
    /// Window start (RFC 3339), empty if unbounded.
    pub valid_from: String,
    /// Window end (RFC 3339, exclusive), empty if unbounded.
    pub valid_until: String,
    /// The group the user holds it through, empty for direct assignments.
    pub via_group: String,
}

fn bound(v: Option<crate::Timestamp>) -> String {
    v.map(|t| t.to_string()).unwrap_or_default()
}

/// The access-review rows of a snapshot: each assignment once for its principal and,
/// for group assignments, once more for every member user (with `via_group`).
pub fn access_rows(snapshot: &Snapshot) -> Vec<AccessRow> {
    let users: HashMap<_, _> = snapshot.users.iter().map(|u| (&u.id, u)).collect();
    let groups: HashMap<_, _> = snapshot.groups.iter().map(|g| (&g.id, g)).collect();
    let profiles: HashMap<_, _> = snapshot.profiles.iter().map(|p| (&p.id, p)).collect();
    let mut members: HashMap<_, Vec<_>> = HashMap::new();
    for m in &snapshot.memberships {
        members.entry(&m.group).or_default().push(&m.user);
    }
    let mut rows = Vec::new();
    let row = |a: &Assignment, user: Option<&crate::UserId>, via: Option<&crate::GroupId>| {
        let (principal_type, principal, email, name) = match (user, &a.principal) {
            (Some(u), _) | (None, Principal::User(u)) => {
                let found = users.get(u);
                (
                    "user",
                    u.to_string(),
                    found
                        .and_then(|u| u.email.as_ref())
                        .map(|e| e.to_string())
                        .unwrap_or_default(),
                    found
                        .and_then(|u| u.display_name.clone())
                        .unwrap_or_default(),
                )
            }
            (None, Principal::Group(g)) => (
                "group",
                g.to_string(),
                String::new(),
                groups.get(g).map(|g| g.name.clone()).unwrap_or_default(),
            ),
        };
        AccessRow {
            system: snapshot.system.to_string(),
            principal_type,
            principal,
            email,
            name,
            profile: a.profile.to_string(),
            profile_name: profiles
                .get(&a.profile)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            scope: a.scope.to_string(),
            valid_from: bound(a.validity.from()),
            valid_until: bound(a.validity.until()),
            via_group: via
                .map(|g| {
                    groups
                        .get(g)
                        .map_or_else(|| g.to_string(), |g| g.name.clone())
                })
                .unwrap_or_default(),
        }
    };
    for a in &snapshot.assignments {
        rows.push(row(a, None, None));
        if let Principal::Group(g) = &a.principal {
            for u in members.get(g).into_iter().flatten() {
                rows.push(row(a, Some(u), Some(g)));
            }
        }
    }
    rows
}

/// Writes the access review of a snapshot as CSV (with a header row).
pub fn write_access_csv(snapshot: &Snapshot, out: impl Write) -> Result<()> {
    write_csv(access_rows(snapshot), out)
}

/// One row of a run's outcome export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutcomeRow {
    /// Index of the change in the plan.
    pub index: usize,
    /// `grant`, `update`, `revoke`, `add-member`, `remove-member`.
    pub action: &'static str,
    /// `user:…` or `group:…`.
    pub principal: String,
    /// The profile (or the group, for membership changes).
    pub object: String,
    /// The scope (empty for memberships).
    pub scope: String,
    /// Window start, empty if unbounded.
    pub valid_from: String,
    /// Window end, empty if unbounded.
    pub valid_until: String,
    /// `applied`, `already_in_state`, `failed` or `not_run`.
    pub outcome: &'static str,
    /// Whether the outcome came from the journal of an earlier run.
    pub resumed: bool,
    /// The error, for failures.
    pub error: String,
}

/// The outcome rows of a run.
pub fn outcome_rows(report: &RunReport) -> Vec<OutcomeRow> {
    use super::plan::Change;
    report
        .items
        .iter()
        .map(|item| {
            let (object, scope, validity) = match &item.change {
                Change::Grant { assignment, .. } | Change::Revoke { assignment } => (
                    assignment.profile.to_string(),
                    assignment.scope.to_string(),
                    assignment.validity,
                ),
                Change::AddMember { membership } | Change::RemoveMember { membership } => (
                    format!("group:{}", membership.group),
                    String::new(),
                    Validity::ALWAYS,
                ),
            };
            let (outcome, error) = match &item.outcome {
                None => ("not_run", String::new()),
                Some(Outcome::Applied) => ("applied", String::new()),
                Some(Outcome::AlreadyInState) => ("already_in_state", String::new()),
                Some(Outcome::Failed(e)) => ("failed", e.to_string()),
            };
            OutcomeRow {
                index: item.index,
                action: item.change.verb(),
                principal: item.change.principal().to_string(),
                object,
                scope,
                valid_from: bound(validity.from()),
                valid_until: bound(validity.until()),
                outcome,
                resumed: item.resumed,
                error,
            }
        })
        .collect()
}

/// Writes a run's outcomes as CSV (with a header row).
pub fn write_outcomes_csv(report: &RunReport, out: impl Write) -> Result<()> {
    write_csv(outcome_rows(report), out)
}

/// A CSV cell a spreadsheet will not run: a value beginning with `=`, `+`, `-`, `@`,
/// a tab or a carriage return gets a leading `'`, as OWASP recommends against CSV
/// (formula) injection. Vendor data names people, groups and profiles, and anyone
/// who can name a group could otherwise plant `=HYPERLINK(…)` in an auditor's sheet.
/// Only the CSV exports use it; JSON keeps the exact values.
///
/// ```
/// use grantbridge_core::engine::csv_safe_cell;
/// assert_eq!(csv_safe_cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
/// assert_eq!(csv_safe_cell("Ana Ruiz"), "Ana Ruiz");
/// ```
pub fn csv_safe_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

fn write_csv<T: Serialize>(rows: Vec<T>, out: impl Write) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| Error::io("<csv output>", e);
    // Serialize first (field order and quoting by serde), then neutralise every cell.
    let mut staged = csv::Writer::from_writer(Vec::new());
    for r in rows {
        staged.serialize(r).map_err(|e| fail(&e))?;
    }
    let bytes = staged.into_inner().map_err(|e| fail(e.error()))?;
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes.as_slice());
    let mut w = csv::Writer::from_writer(out);
    for record in records.records() {
        let record = record.map_err(|e| fail(&e))?;
        w.write_record(record.iter().map(|cell| csv_safe_cell(cell).into_owned()))
            .map_err(|e| fail(&e))?;
    }
    w.flush().map_err(|e| fail(&e))
}
