//! What the subcommands share: how a command ended ([`Status`]), reading a system
//! ([`take_snapshot`]) and executing a plan ([`execute_plan`]).
//!
//! `commands`, `demo` and `serve` all build on this module and it on none of them, so
//! the dependency between the command modules goes one way.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use grantbridge_core::engine::{self, ExecuteOptions, Plan, RunReport, Snapshot};

use crate::output;
use crate::systems::Connected;

/// How a command ended; maps onto the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Everything done (exit 0).
    Done,
    /// Done, but some items failed (exit 2): the report lists them.
    ItemsFailed,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        match s {
            Status::Done => ExitCode::SUCCESS,
            Status::ItemsFailed => ExitCode::from(2),
        }
    }
}

/// Takes a snapshot with a spinner.
pub async fn take_snapshot(connected: &Connected) -> Result<Snapshot> {
    let bar = output::spinner(format!("reading {}", connected.label));
    let snap = Snapshot::take(connected.system.as_ref()).await;
    bar.finish_and_clear();
    snap.with_context(|| format!("cannot read {}", connected.label))
}

/// Executes `plan` on `target` with a progress bar and writes the run report (unless
/// it is a dry run).
pub async fn execute_plan(
    plan: &Plan,
    target: &Connected,
    journal: PathBuf,
    concurrency: usize,
    yes: bool,
    report_path: &Path,
) -> Result<RunReport> {
    execute_batches(plan, target, journal, concurrency, None, yes, report_path).await
}

/// [`execute_plan`] with a batch size (`None`: the target's largest).
pub async fn execute_batches(
    plan: &Plan,
    target: &Connected,
    journal: PathBuf,
    concurrency: usize,
    batch_size: Option<usize>,
    yes: bool,
    report_path: &Path,
) -> Result<RunReport> {
    let (bar, progress) = output::apply_bar(if yes { "applying" } else { "dry run" });
    let options = ExecuteOptions {
        dry_run: !yes,
        concurrency: concurrency.max(1),
        batch_size: batch_size.map(|n| n.max(1)),
        journal: yes.then_some(journal),
        progress: Some(progress),
        ..ExecuteOptions::default()
    };
    let report = engine::execute(plan, target.system.as_ref(), &options).await;
    bar.finish_and_clear();
    let report = report?;
    if yes {
        report
            .save(report_path)
            .with_context(|| format!("cannot write the run report {}", report_path.display()))?;
    }
    Ok(report)
}
