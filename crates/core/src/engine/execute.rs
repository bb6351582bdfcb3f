//! [`execute`]: applies a plan to a system in batches, with a journal and a report.

use std::collections::HashSet;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::plan::{Change, Plan};
use crate::error::{Error, Result};
use crate::ids::SystemId;
use crate::model::{Assignment, Membership};
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
    /// Report what would be done without calling the system (nor writing a journal).
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

/// One change of a run and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    /// Index of the change in the plan.
    pub index: usize,
    /// The change.
    pub change: Change,
    /// The outcome; `None` when not run (dry run).
    pub outcome: Option<Outcome>,
    /// Whether the outcome was read from the journal of an earlier run.
    #[serde(default)]
    pub resumed: bool,
}

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    /// Changes made.
    pub applied: usize,
    /// Changes already in place.
    pub already_in_state: usize,
    /// Changes that failed.
    pub failed: usize,
    /// Changes not run (dry run).
    pub not_run: usize,
    /// Changes whose outcome came from the journal.
    pub resumed: usize,
}

/// The result of [`execute`]: every change of the plan with its outcome.
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
}

impl RunReport {
    /// Counts by outcome.
    pub fn counts(&self) -> RunCounts {
        let mut c = RunCounts::default();
        for item in &self.items {
            match &item.outcome {
                None => c.not_run += 1,
                Some(Outcome::Applied) => c.applied += 1,
                Some(Outcome::AlreadyInState) => c.already_in_state += 1,
                Some(Outcome::Failed(_)) => c.failed += 1,
            }
            if item.resumed {
                c.resumed += 1;
            }
        }
        c
    }

    /// Whether any change failed.
    pub fn has_failures(&self) -> bool {
        self.counts().failed > 0
    }

    /// A plan of only the changes that failed ("retry only the failures").
    pub fn failures_plan(&self) -> Plan {
        let changes = self
            .items
            .iter()
            .filter(|i| matches!(i.outcome, Some(Outcome::Failed(_))))
            .map(|i| i.change.clone())
            .collect();
        Plan::from_changes(self.target.clone(), changes, self.removals_first)
    }

    /// The plan that undoes this run: the inverse of every change it *applied*
    /// (not of those already in place, failed or not run), restoring original windows.
    pub fn rollback_plan(&self) -> Plan {
        let changes = self
            .items
            .iter()
            .rev()
            .filter(|i| matches!(i.outcome, Some(Outcome::Applied)))
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

// ---- journal ------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Entry {
    Header {
        plan: String,
        target: SystemId,
        changes: usize,
        started_at: Timestamp,
    },
    Begin {
        batch: usize,
        items: Vec<usize>,
    },
    End {
        batch: usize,
        results: Vec<(usize, Outcome)>,
    },
}

/// Outcomes recorded in a journal: (change index, outcome).
type Recorded = Vec<(usize, Outcome)>;

/// What a journal says about an earlier run.
struct Resumed {
    /// Finished items and their outcomes.
    recorded: Recorded,
    /// The next batch number.
    next_batch: usize,
    /// Items of batches that began but never ended: the killed run may have changed
    /// the system for them.
    in_doubt: HashSet<usize>,
}

struct Journal {
    file: File,
    path: PathBuf,
    fsync: bool,
}

impl Journal {
    /// Opens (or creates) the journal for `plan`; returns it with the outcomes already
    /// recorded and the next batch number.
    fn open(path: &Path, plan: &Plan, fsync: bool) -> Result<(Journal, Resumed)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let fingerprint = plan.fingerprint();
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| Error::io(path, e))?;
        // A crash can leave the last line torn; it recorded nothing finished. Cut it
        // off, so that the next entries start on a line of their own and the journal
        // stays readable on every later resume.
        let whole = text.rfind('\n').map_or(0, |i| i + 1);
        if whole < text.len() {
            file.set_len(whole as u64).map_err(|e| Error::io(path, e))?;
            text.truncate(whole);
        }
        let mut journal = Journal {
            file,
            path: path.to_owned(),
            fsync,
        };
        if text.trim().is_empty() {
            journal.write(&Entry::Header {
                plan: fingerprint,
                target: plan.target.clone(),
                changes: plan.changes.len(),
                started_at: Timestamp::now(),
            })?;
            let fresh = Resumed {
                recorded: Vec::new(),
                next_batch: 0,
                in_doubt: HashSet::new(),
            };
            return Ok((journal, fresh));
        }
        let resumed = parse_journal(&text, path, &fingerprint)?;
        // Appends go to the end regardless; make the position explicit for clarity.
        journal
            .file
            .seek(SeekFrom::End(0))
            .map_err(|e| Error::io(path, e))?;
        Ok((journal, resumed))
    }

    fn write(&mut self, entry: &Entry) -> Result<()> {
        let mut line = serde_json::to_vec(entry)
            .map_err(|e| Error::invalid("journal entry", e.to_string()))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|e| Error::io(&self.path, e))?;
        if self.fsync && matches!(entry, Entry::End { .. }) {
            self.file
                .sync_data()
                .map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }
}

/// The outcomes a journal records and the next batch number, checking that it belongs
/// to the plan with `fingerprint`. `text` holds whole lines only: the callers cut a
/// torn last line (a crash mid-write recorded nothing finished) before parsing, so
/// every line here must be a valid entry.
fn parse_journal(text: &str, path: &Path, fingerprint: &str) -> Result<Resumed> {
    let mut recorded = Vec::new();
    let mut next_batch = 0;
    let mut begun = HashSet::new();
    let damaged = |n: usize, what: String| {
        Error::invalid(
            format!("journal {} line {}", path.display(), n + 1),
            format!("{what}; the journal is damaged, remove it only if you know the run's state"),
        )
    };
    for (n, line) in text.lines().enumerate() {
        let entry: Entry = serde_json::from_str(line).map_err(|e| damaged(n, e.to_string()))?;
        match entry {
            Entry::Header { plan: p, .. } if n == 0 => {
                if p != fingerprint {
                    return Err(Error::invalid(
                        format!("journal {}", path.display()),
                        format!(
                            "it was written for plan {p}, not this plan ({fingerprint}); use the plan it belongs to or another journal file"
                        ),
                    ));
                }
            }
            _ if n == 0 => {
                return Err(Error::invalid(
                    format!("journal {}", path.display()),
                    "does not start with a header: not a grantbridge journal",
                ));
            }
            // Only a fresh journal gets a header: a second one means two files were
            // joined, and which run an entry belongs to is then unknown.
            Entry::Header { .. } => return Err(damaged(n, "a second header".into())),
            Entry::Begin { batch, items } => {
                next_batch = next_batch.max(batch + 1);
                begun.extend(items);
            }
            Entry::End { batch, results } => {
                next_batch = next_batch.max(batch + 1);
                recorded.extend(results);
            }
        }
    }
    for (index, _) in &recorded {
        begun.remove(index);
    }
    Ok(Resumed {
        recorded,
        next_batch,
        in_doubt: begun,
    })
}

/// Reads the outcomes recorded in a journal (for tools that inspect a run).
pub fn read_journal(path: impl AsRef<Path>) -> Result<Vec<(usize, Outcome)>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if let Ok(Entry::End { results, .. }) = serde_json::from_str(&line) {
            out.extend(results);
        }
    }
    Ok(out)
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
/// A dry run with a journal reads it (without writing) and marks what an earlier run
/// finished, so it shows exactly what a resume would still do.
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
    let total = plan.changes.len();
    let mut results: Vec<Option<(Outcome, bool)>> = vec![None; total];

    let mut journal = None;
    let mut next_batch = 0;
    let mut recorded = Vec::new();
    let mut in_doubt = HashSet::new();
    match (&options.journal, options.dry_run) {
        (Some(path), false) => {
            let (j, r) = Journal::open(path, plan, options.fsync)?;
            recorded = r.recorded;
            in_doubt = r.in_doubt;
            journal = Some(Mutex::new(j));
            next_batch = r.next_batch;
        }
        // A dry run shows what a resume would still do, without touching the journal.
        (Some(path), true) if path.exists() => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let whole = text.rfind('\n').map_or(0, |i| i + 1);
            if !text[..whole].trim().is_empty() {
                recorded = parse_journal(&text[..whole], path, &plan.fingerprint())?.recorded;
            }
        }
        _ => {}
    }
    for (index, outcome) in recorded {
        if index < total && outcome.is_done() {
            results[index] = Some((outcome, true));
        }
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
                    let results: Vec<(usize, Outcome)> = batch
                        .iter()
                        .copied()
                        .zip(outcomes)
                        .map(|(i, o)| match o {
                            // Planned because it was missing, sent by a run killed
                            // before it could record the answer, and now in place:
                            // that run applied it, and a rollback must undo it.
                            Outcome::AlreadyInState if in_doubt.contains(&i) => {
                                (i, Outcome::Applied)
                            }
                            o => (i, o),
                        })
                        .collect();
                    record(&Entry::End {
                        batch: number,
                        results: results.clone(),
                    })?;
                    let progress = {
                        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                        for (i, o) in results {
                            if !o.is_done() {
                                s.2 += 1;
                            }
                            s.0[i] = Some((o, false));
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
    }

    let items = plan
        .changes
        .iter()
        .cloned()
        .zip(results)
        .enumerate()
        .map(|(index, (change, result))| ItemResult {
            index,
            change,
            resumed: result.as_ref().is_some_and(|r| r.1),
            outcome: result.map(|r| r.0),
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ProfileId, UserId};
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
