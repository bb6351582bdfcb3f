//! [`execute`]: applies a plan to a system in batches, with a journal and a report.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use jiff::Timestamp;

use super::journal::{Entry, Journal, parse_journal};
use super::plan::{Change, Plan};
use super::report::{ItemResult, Resumption, RunReport};
use crate::error::{Error, Result};
use crate::model::{Assignment, AssignmentKey, Membership};
use crate::traits::{AccessSystem, Outcome};

/// Progress of a run, passed to [`ExecuteOptions::progress`] after every batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Changes with an outcome so far (including those resumed from the journal).
    pub done: usize,
    /// Changes in the plan.
    pub total: usize,
    /// Changes that failed so far.
    pub failed: usize,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// How to execute a plan.
#[derive(Clone)]
pub struct ExecuteOptions {
    /// Report what would be done without writing to the system (nor to the journal).
    /// With a journal it reads the target once, to verify what an earlier run did.
    pub dry_run: bool,
    /// Batches in flight at once (at least 1).
    pub concurrency: usize,
    /// Items per batch; default: the system's `Capabilities::max_batch`.
    pub batch_size: Option<usize>,
    /// A JSON-lines journal: written before and after each batch, read on start so a
    /// re-run after a crash skips what is finished.
    pub journal: Option<PathBuf>,
    /// `fsync` the journal after each batch (survives power loss, not just a killed
    /// process; slower).
    pub fsync: bool,
    /// Called after each batch.
    pub progress: Option<ProgressFn>,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            concurrency: 4,
            batch_size: None,
            journal: None,
            fsync: false,
            progress: None,
        }
    }
}

impl fmt::Debug for ExecuteOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecuteOptions")
            .field("dry_run", &self.dry_run)
            .field("concurrency", &self.concurrency)
            .field("batch_size", &self.batch_size)
            .field("journal", &self.journal)
            .field("fsync", &self.fsync)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

// ---- execution ----------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Grant,
    Revoke,
    Add,
    Remove,
}

fn kind(c: &Change) -> Kind {
    match c {
        Change::Grant { .. } => Kind::Grant,
        Change::Revoke { .. } => Kind::Revoke,
        Change::AddMember { .. } => Kind::Add,
        Change::RemoveMember { .. } => Kind::Remove,
    }
}

/// Cuts `indices` (all of one kind, sorted by principal) into batches of at most
/// `size`, never splitting one principal's changes unless they alone exceed `size`:
/// adapters that read-modify-write per principal then write each principal once.
fn chunk(plan: &Plan, indices: &[usize], size: usize) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let principal = plan.changes[indices[i]].principal();
        let mut j = i;
        while j < indices.len() && plan.changes[indices[j]].principal() == principal {
            j += 1;
        }
        let group = &indices[i..j];
        if !current.is_empty() && current.len() + group.len() > size {
            batches.push(std::mem::take(&mut current));
        }
        for &idx in group {
            if current.len() == size {
                batches.push(std::mem::take(&mut current));
            }
            current.push(idx);
        }
        i = j;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

async fn run_batch(
    system: &dyn AccessSystem,
    plan: &Plan,
    k: Kind,
    batch: &[usize],
) -> Vec<Outcome> {
    let assignments = |batch: &[usize]| -> Vec<Assignment> {
        batch
            .iter()
            .filter_map(|&i| match &plan.changes[i] {
                Change::Grant { assignment, .. } | Change::Revoke { assignment } => {
                    Some(assignment.clone())
                }
                _ => None,
            })
            .collect()
    };
    let memberships = |batch: &[usize]| -> Vec<Membership> {
        batch
            .iter()
            .filter_map(|&i| match &plan.changes[i] {
                Change::AddMember { membership } | Change::RemoveMember { membership } => {
                    Some(membership.clone())
                }
                _ => None,
            })
            .collect()
    };
    let mut outcomes = match k {
        Kind::Grant => system.grant(&assignments(batch)).await,
        Kind::Revoke => system.revoke(&assignments(batch)).await,
        Kind::Add => system.add_memberships(&memberships(batch)).await,
        Kind::Remove => system.remove_memberships(&memberships(batch)).await,
    };
    if outcomes.len() != batch.len() {
        // A broken adapter must not make items vanish from the report.
        let error = Error::invalid(
            format!("{} batch result", system.id()),
            format!("{} outcomes for {} items", outcomes.len(), batch.len()),
        );
        outcomes.resize(batch.len(), Outcome::Failed(error.clone()));
        outcomes.truncate(batch.len());
        for o in &mut outcomes {
            if o.is_done() {
                // Which item these belong to is unknowable; report all as failed so a
                // retry re-applies them (grants and revokes are idempotent).
                *o = Outcome::Failed(error.clone());
            }
        }
    }
    outcomes
}

/// Executes `plan` on `system`.
///
/// Changes run in the plan's two phases (additions then removals, or the reverse when
/// `plan.removals_first`), each phase in batches of one change kind with up to
/// `options.concurrency` batches in flight. With a journal, each batch is recorded
/// before and after it runs, and changes the journal shows finished are not sent
/// again. Item failures do not stop the run: they are in the report. The `Err` case
/// is for problems before any change is sent (a journal of another plan, a wrong
/// target, an unreadable file) and for a journal that cannot be written mid-run: then
/// no further batch is sent, and every change that was sent is in the journal (a
/// `begin` entry at least), so a resume after fixing the disk repeats no finished item.
///
/// A dry run with a journal reads it (without writing) and verifies what an earlier run
/// finished with the same one read of the target, so it shows exactly what a resume
/// would still do.
///
/// A journal vouches only for the target it was made on: its header records the
/// target's [`TargetIdentity`](super::TargetIdentity), and a resume on a target that does not match is refused
/// before anything is sent. Nor does a resume trust it blindly: the changes it records
/// done are checked against one fresh read of the target (the bulk lists a snapshot
/// reads, never one call per item); those in place are reported `resumed`, the others
/// are sent again and counted by what this run finds ([`RunReport::resumed_from`]
/// says how many of each).
///
/// A change whose batch an earlier run began but never finished (the process was
/// killed while the batch was on the wire) and that a resume finds already in place is
/// reported `Applied`, not `AlreadyInState`: the killed run applied it, and
/// [`RunReport::rollback_plan`] must undo it.
pub async fn execute(
    plan: &Plan,
    system: &dyn AccessSystem,
    options: &ExecuteOptions,
) -> Result<RunReport> {
    if system.id() != &plan.target {
        return Err(Error::invalid(
            "plan target",
            format!("the plan is for {}, not {}", plan.target, system.id()),
        ));
    }
    let started_at = Timestamp::now();
    let identity = system.identity();
    let total = plan.changes.len();
    let mut results: Vec<Option<(Outcome, bool)>> = vec![None; total];

    let mut journal = None;
    let mut next_batch = 0;
    let mut recorded = Vec::new();
    let mut in_doubt = HashSet::new();
    let mut earlier_run = None;
    match (&options.journal, options.dry_run) {
        (Some(path), false) => {
            let (j, r) = Journal::open(path, plan, &identity, started_at, options.fsync)?;
            recorded = r.recorded;
            in_doubt = r.in_doubt;
            journal = Some(Mutex::new(j));
            next_batch = r.next_batch;
            earlier_run = r.started_at;
        }
        // A dry run shows what a resume would still do, without touching the journal.
        (Some(path), true) if path.exists() => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let whole = text.rfind('\n').map_or(0, |i| i + 1);
            if !text[..whole].trim().is_empty() {
                let r = parse_journal(&text[..whole], path, &plan.fingerprint(), &identity)?;
                recorded = r.recorded;
                earlier_run = r.started_at;
            }
        }
        _ => {}
    }
    recorded.retain(|(index, outcome)| *index < total && outcome.is_done());
    let mut resumed_from = None;
    // A dry run verifies too (reads only): it shows what a resume would still do.
    if earlier_run.is_some() {
        let present = if recorded.is_empty() {
            InPlace::default()
        } else {
            InPlace::read(system, plan, &recorded).await?
        };
        let mut resumption = Resumption {
            started_at: earlier_run.unwrap_or(started_at),
            verified: 0,
            missing: 0,
        };
        for (index, outcome) in recorded {
            if present.holds(&plan.changes[index]) {
                resumption.verified += 1;
                results[index] = Some((outcome, true));
            } else {
                // Recorded done, not in place: this run sends it again.
                resumption.missing += 1;
            }
        }
        resumed_from = Some(resumption);
    }

    if !options.dry_run {
        let size = options
            .batch_size
            .unwrap_or(system.capabilities().max_batch)
            .max(1);
        let done = results.iter().filter(|r| r.is_some()).count();
        let state = Mutex::new((results, done, 0usize, next_batch));
        let stop = AtomicBool::new(false);
        for phase in [false, true] {
            let in_phase = |c: &Change| (c.removes() != plan.removals_first) == phase;
            let mut batches = Vec::new();
            for k in [Kind::Grant, Kind::Add, Kind::Revoke, Kind::Remove] {
                let pending: Vec<usize> = {
                    let s = state.lock().unwrap_or_else(|p| p.into_inner());
                    (0..total)
                        .filter(|&i| {
                            let c = &plan.changes[i];
                            kind(c) == k && in_phase(c) && s.0[i].is_none()
                        })
                        .collect()
                };
                batches.extend(chunk(plan, &pending, size).into_iter().map(|b| (k, b)));
            }
            let state = &state;
            let journal = &journal;
            let stop = &stop;
            let in_doubt = &in_doubt;
            let outcome: Result<()> = futures::stream::iter(batches)
                .map(|(k, batch)| async move {
                    // Once the journal cannot be written, nothing more is sent: a
                    // change the journal does not know about could not be resumed.
                    if stop.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                    let record = |entry: &Entry| -> Result<()> {
                        let Some(j) = journal else { return Ok(()) };
                        let written = j.lock().unwrap_or_else(|p| p.into_inner()).write(entry);
                        if written.is_err() {
                            stop.store(true, Ordering::SeqCst);
                        }
                        written
                    };
                    let number = {
                        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                        s.3 += 1;
                        s.3 - 1
                    };
                    record(&Entry::Begin {
                        batch: number,
                        items: batch.clone(),
                    })?;
                    let outcomes = run_batch(system, plan, k, &batch).await;
                    // Planned because it was missing, sent by a run killed before it
                    // could record the answer, and now in place: that run applied it
                    // (a rollback must undo it), this one did not.
                    let earlier = |i: usize, o: &Outcome| {
                        *o == Outcome::AlreadyInState && in_doubt.contains(&i)
                    };
                    let results: Vec<(usize, Outcome, bool)> = batch
                        .iter()
                        .copied()
                        .zip(outcomes)
                        .map(|(i, o)| {
                            if earlier(i, &o) {
                                (i, Outcome::Applied, true)
                            } else {
                                (i, o, false)
                            }
                        })
                        .collect();
                    record(&Entry::End {
                        batch: number,
                        results: results.iter().map(|(i, o, _)| (*i, o.clone())).collect(),
                    })?;
                    let progress = {
                        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                        for (i, o, by_earlier_run) in results {
                            if !o.is_done() {
                                s.2 += 1;
                            }
                            s.0[i] = Some((o, by_earlier_run));
                            s.1 += 1;
                        }
                        Progress {
                            done: s.1,
                            total,
                            failed: s.2,
                        }
                    };
                    if let Some(p) = &options.progress {
                        p(progress);
                    }
                    Ok(())
                })
                .buffer_unordered(options.concurrency.max(1))
                .collect::<Vec<Result<()>>>()
                .await
                .into_iter()
                .collect();
            outcome?;
        }
        results = state.into_inner().unwrap_or_else(|p| p.into_inner()).0;
        if let Some(r) = &mut resumed_from {
            // In-doubt items found in place count with the verified ones.
            let found = in_doubt
                .iter()
                .filter(|&&i| results.get(i).and_then(|r| r.as_ref()).is_some_and(|r| r.1))
                .count();
            r.verified += found;
        }
    }

    // A retry run attributes to its chain what the chain left in doubt and this run
    // finds in place.
    let in_doubt: HashSet<&Change> = plan.continues.iter().flat_map(|c| &c.in_doubt).collect();
    let items = plan
        .changes
        .iter()
        .cloned()
        .zip(results)
        .enumerate()
        .map(|(index, (change, result))| {
            let resumed = result.as_ref().is_some_and(|r| r.1);
            let continued = !resumed
                && matches!(&result, Some((Outcome::AlreadyInState, _)))
                && in_doubt.contains(&change);
            ItemResult {
                index,
                change,
                resumed,
                continued,
                outcome: result.map(|r| r.0),
            }
        })
        .collect();
    Ok(RunReport {
        plan_fingerprint: plan.fingerprint(),
        target: plan.target.clone(),
        dry_run: options.dry_run,
        removals_first: plan.removals_first,
        started_at,
        finished_at: Timestamp::now(),
        items,
        identity: Some(identity),
        resumed_from,
        continues: plan.continues.clone(),
    })
}

/// The target's state as far as a journal's finished changes need it, from one bulk
/// read of each list concerned.
#[derive(Default)]
struct InPlace {
    assignments: HashSet<Assignment>,
    keys: HashSet<AssignmentKey>,
    memberships: HashSet<Membership>,
}

impl InPlace {
    async fn read(
        system: &dyn AccessSystem,
        plan: &Plan,
        recorded: &[(usize, Outcome)],
    ) -> Result<InPlace> {
        let is_membership = |i: &usize| {
            matches!(
                plan.changes[*i],
                Change::AddMember { .. } | Change::RemoveMember { .. }
            )
        };
        let unverifiable = |e: Error| {
            Error::invalid(
                format!("resuming the journal on {}", system.id()),
                format!(
                    "the target could not be read to verify what the earlier run did ({e}); nothing was sent"
                ),
            )
        };
        let mut state = InPlace::default();
        if recorded.iter().any(|(i, _)| !is_membership(i)) {
            let held = system.list_assignments().await.map_err(unverifiable)?;
            state.keys = held.iter().map(Assignment::key).collect();
            state.assignments = held.into_iter().collect();
        }
        if recorded.iter().any(|(i, _)| is_membership(i)) {
            let members = system.list_memberships().await.map_err(unverifiable)?;
            state.memberships = members.into_iter().collect();
        }
        Ok(state)
    }

    /// Whether the target is as `change` leaves it.
    fn holds(&self, change: &Change) -> bool {
        match change {
            Change::Grant { assignment, .. } => self.assignments.contains(assignment),
            Change::Revoke { assignment } => !self.keys.contains(&assignment.key()),
            Change::AddMember { membership } => self.memberships.contains(membership),
            Change::RemoveMember { membership } => !self.memberships.contains(membership),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ProfileId, SystemId, UserId};
    use crate::memory::InMemorySystem;
    use crate::model::{Principal, Profile, Scope, User};
    use crate::traits::AssignmentStore;

    /// Regression: a grant that a killed run sent (its batch begun in the journal, never
    /// ended) came back `AlreadyInState` on resume, so `rollback_plan` left it granted.
    #[test]
    fn grant_sent_by_a_killed_run_is_reported_applied_and_rolled_back() {
        let id = SystemId::new("dst").expect("id");
        let user = UserId::new("u1").expect("id");
        let profile = ProfileId::new("reader").expect("id");
        let system = InMemorySystem::builder(id.clone())
            .user(User::new(user.clone()))
            .profile(Profile::new(profile.clone(), "Reader"))
            .build();
        let held = Assignment::new(Principal::User(user), profile, Scope::System);
        let plan = Plan::from_changes(
            id,
            vec![Change::Grant {
                assignment: held.clone(),
                previous: None,
            }],
            false,
        );
        let journal =
            std::env::temp_dir().join(format!("grantbridge-in-doubt-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&journal);
        // The killed run: header and `begin` written, the grant reached the system,
        // the process died before the `end` line.
        let mut text = String::new();
        for entry in [
            Entry::Header {
                plan: plan.fingerprint(),
                target: plan.target.clone(),
                changes: 1,
                started_at: Timestamp::now(),
                identity: None,
            },
            Entry::Begin {
                batch: 0,
                items: vec![0],
            },
        ] {
            text.push_str(&serde_json::to_string(&entry).expect("json"));
            text.push('\n');
        }
        std::fs::write(&journal, text).expect("write journal");
        let sent = futures::executor::block_on(system.grant(std::slice::from_ref(&held)));
        assert_eq!(sent, vec![Outcome::Applied]);

        let options = ExecuteOptions {
            journal: Some(journal.clone()),
            ..ExecuteOptions::default()
        };
        let report = futures::executor::block_on(execute(&plan, &system, &options)).expect("run");
        assert_eq!(report.items[0].outcome, Some(Outcome::Applied));
        let rollback = report.rollback_plan();
        assert_eq!(rollback.changes.len(), 1, "{rollback:?}");
        let undone =
            futures::executor::block_on(execute(&rollback, &system, &ExecuteOptions::default()))
                .expect("rollback");
        assert_eq!(undone.counts().applied, 1);
        let left = futures::executor::block_on(system.list_assignments()).expect("list");
        assert!(left.is_empty(), "{left:?}");

        // Without the `begin` line (nothing was in flight) it stays AlreadyInState.
        futures::executor::block_on(system.grant(std::slice::from_ref(&held)));
        let _ = std::fs::remove_file(&journal);
        let report = futures::executor::block_on(execute(&plan, &system, &options)).expect("run");
        assert_eq!(report.items[0].outcome, Some(Outcome::AlreadyInState));
        let _ = std::fs::remove_file(&journal);
    }
}
