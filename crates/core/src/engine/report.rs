//! Exports for people: the access-review CSV of a snapshot and a run's outcomes.

use std::collections::HashMap;
use std::io::Write;

use serde::Serialize;

use super::execute::RunReport;
use super::snapshot::Snapshot;
use crate::error::{Error, Result};
use crate::model::{Assignment, Principal, Validity};
use crate::traits::Outcome;

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

fn write_csv<T: Serialize>(rows: Vec<T>, out: impl Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    for r in rows {
        w.serialize(r).map_err(|e| Error::io("<csv output>", e))?;
    }
    w.flush().map_err(|e| Error::io("<csv output>", e))
}
