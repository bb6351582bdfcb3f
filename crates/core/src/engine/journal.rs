//! The run journal: JSON lines written before and after each batch of [`execute`], read
//! back on resume so that a killed run repeats no finished item.
//!
//! Line 1 is a header naming the plan (its fingerprint) and the target (its
//! [`TargetIdentity`]); then, per batch, a `begin` line listing the change indices sent
//! and an `end` line with their outcomes. A journal resumes only on a target whose
//! identity matches its header's.
//! Items of a batch that began and never ended are "in doubt": the killed run may have
//! changed the system for them.
//!
//! [`execute`]: super::execute

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::plan::Plan;
use super::target::TargetIdentity;
use crate::error::{Error, Result};
use crate::ids::SystemId;
use crate::traits::Outcome;

#[derive(Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(super) enum Entry {
    Header {
        plan: String,
        target: SystemId,
        changes: usize,
        started_at: Timestamp,
        /// Absent in journals written before identities were recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<TargetIdentity>,
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
pub(super) type Recorded = Vec<(usize, Outcome)>;

/// What a journal says about an earlier run.
pub(super) struct Resumed {
    /// Finished items and their outcomes.
    pub(super) recorded: Recorded,
    /// The next batch number.
    pub(super) next_batch: usize,
    /// Items of batches that began but never ended: the killed run may have changed
    /// the system for them.
    pub(super) in_doubt: HashSet<usize>,
    /// When the run that wrote the journal started (`None` for a fresh journal).
    pub(super) started_at: Option<Timestamp>,
}

pub(super) struct Journal {
    file: File,
    path: PathBuf,
    fsync: bool,
}

impl Journal {
    /// Opens (or creates) the journal for `plan`; returns it with the outcomes already
    /// recorded and the next batch number.
    pub(super) fn open(
        path: &Path,
        plan: &Plan,
        identity: &TargetIdentity,
        started_at: Timestamp,
        fsync: bool,
    ) -> Result<(Journal, Resumed)> {
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
                started_at,
                identity: Some(identity.clone()),
            })?;
            let fresh = Resumed {
                recorded: Vec::new(),
                next_batch: 0,
                in_doubt: HashSet::new(),
                started_at: None,
            };
            return Ok((journal, fresh));
        }
        let resumed = parse_journal(&text, path, &fingerprint, identity)?;
        // Appends go to the end regardless; make the position explicit for clarity.
        journal
            .file
            .seek(SeekFrom::End(0))
            .map_err(|e| Error::io(path, e))?;
        Ok((journal, resumed))
    }

    pub(super) fn write(&mut self, entry: &Entry) -> Result<()> {
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
/// to the plan with `fingerprint` and to a target matching `identity`. `text` holds whole lines only: the callers cut a
/// torn last line (a crash mid-write recorded nothing finished) before parsing, so
/// every line here must be a valid entry.
pub(super) fn parse_journal(
    text: &str,
    path: &Path,
    fingerprint: &str,
    identity: &TargetIdentity,
) -> Result<Resumed> {
    let mut recorded = Vec::new();
    let mut started = None;
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
            Entry::Header {
                plan: p,
                target,
                started_at,
                identity: recorded_identity,
                ..
            } if n == 0 => {
                if p != fingerprint {
                    return Err(Error::invalid(
                        format!("journal {}", path.display()),
                        format!(
                            "it was written for plan {p}, not this plan ({fingerprint}); use the plan it belongs to or another journal file"
                        ),
                    ));
                }
                let theirs = recorded_identity.unwrap_or_else(|| TargetIdentity::new(target));
                if !theirs.matches(identity) {
                    return Err(Error::invalid(
                        format!("journal {}", path.display()),
                        format!(
                            "it records a run on {theirs}, started {started_at}, and this target is {identity}; \
                             a journal vouches only for the target it was made on: start a new run \
                             (another journal file, or --new-run in the CLI)"
                        ),
                    ));
                }
                started = Some(started_at);
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
        started_at: started,
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
