//! What people and machines see: logging to stderr, tables or JSON on stdout, progress
//! bars on stderr (hidden when stderr is not a terminal).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use grantbridge_core::engine::{Plan, ProgressFn, RunReport, Snapshot, SummaryKey};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::diff::SnapshotDiff;

/// Logs go to stderr so stdout stays data; `RUST_LOG` overrides `-v`.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    t
}

/// A spinner for work of unknown length (snapshots).
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A progress bar fed by the engine's progress callback.
pub fn apply_bar(label: &str) -> (ProgressBar, ProgressFn) {
    let bar = ProgressBar::new(0).with_message(label.to_owned());
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {per_sec} {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    let feed = bar.clone();
    let progress: ProgressFn = Arc::new(move |p| {
        feed.set_length(p.total as u64);
        feed.set_position(p.done as u64);
    });
    (bar, progress)
}

/// The counts of a snapshot, for people.
pub fn snapshot_table(s: &Snapshot) -> String {
    let mut t = table(&[
        "system",
        "users",
        "groups",
        "profiles",
        "memberships",
        "assignments",
    ]);
    t.add_row(vec![
        s.system.to_string(),
        s.users.len().to_string(),
        s.groups.len().to_string(),
        s.profiles.len().to_string(),
        s.memberships.len().to_string(),
        s.assignments.len().to_string(),
    ]);
    t.to_string()
}

/// A plan's per-profile summary, ids shown with their names where a snapshot knows
/// them (skipped items name source profiles, changes target ones), and the skipped
/// items counted by reason.
pub fn plan_table(plan: &Plan, snapshots: &[&Snapshot]) -> String {
    let summary = plan.summary();
    let mut t = table(&["", "grants", "updates", "revokes", "skipped"]);
    let name_of = |key: &SummaryKey| -> String {
        let named = snapshots.iter().find_map(|snap| match key {
            SummaryKey::Profile(id) => snap
                .profiles
                .iter()
                .find(|p| &p.id == id)
                .map(|p| format!("profile {}", p.name)),
            SummaryKey::Group(id) => snap
                .groups
                .iter()
                .find(|g| &g.id == id)
                .map(|g| format!("group {}", g.name)),
        });
        named.unwrap_or_else(|| key.to_string())
    };
    for (key, r) in &summary.rows {
        t.add_row(vec![
            name_of(key),
            r.grants.to_string(),
            r.updates.to_string(),
            r.revokes.to_string(),
            r.skipped.to_string(),
        ]);
    }
    let totals = summary.totals();
    t.add_row(vec![
        "total".to_owned(),
        totals.grants.to_string(),
        totals.updates.to_string(),
        totals.revokes.to_string(),
        totals.skipped.to_string(),
    ]);
    let mut out = format!("plan for {} ({:?})\n{t}", plan.target, plan.mode);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for s in &plan.skipped {
        // The serde tag of the reason is its stable short name.
        let kind = serde_json::to_value(&s.reason)
            .ok()
            .and_then(|v| v.get("reason")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| "other".to_owned());
        *reasons.entry(kind).or_default() += 1;
    }
    if !reasons.is_empty() {
        let list: Vec<String> = reasons.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out.push_str(&format!("\nskipped by reason: {}", list.join(", ")));
    }
    if !plan.warnings.is_empty() {
        out.push_str(&format!(
            "\n{} warning(s), e.g.: {}",
            plan.warnings.len(),
            plan.warnings[0]
        ));
    }
    out
}

/// A run's outcome counts, and the first few failures.
pub fn run_table(report: &RunReport) -> String {
    let c = report.counts();
    let mut t = table(&[
        "applied",
        "already in state",
        "done earlier, verified",
        "made earlier in the chain",
        "failed",
        "not run",
    ]);
    t.add_row(vec![
        c.applied.to_string(),
        c.already_in_state.to_string(),
        c.resumed.to_string(),
        c.continued.to_string(),
        c.failed.to_string(),
        c.not_run.to_string(),
    ]);
    let mode = if report.dry_run {
        "dry run (nothing changed; add --yes to apply)"
    } else {
        "applied"
    };
    let mut out = format!("run on {}: {mode}\n{t}", report.target);
    if let Some(r) = &report.resumed_from {
        out.push_str(&format!(
            "\nresumed the run of {}: verified {} present, {} missing{}",
            r.started_at,
            r.verified,
            r.missing,
            if r.missing > 0 {
                " (applied again above)"
            } else {
                ""
            }
        ));
    }
    if let Some(c) = &report.continues {
        out.push_str(&format!(
            "\ncontinues the run of {}: {} of its changes were in doubt (answers lost); {} \
             found in place count as made by the chain, and rolling back this report undoes \
             them",
            c.started_at,
            c.in_doubt.len(),
            report.counts().continued
        ));
    }
    let failures: Vec<_> = report
        .items
        .iter()
        .filter_map(|i| i.outcome.as_ref()?.error().map(|e| (i, e)))
        .take(5)
        .collect();
    for (item, error) in &failures {
        out.push_str(&format!("\n  failed: {} — {error}", item.change));
    }
    out
}

/// A snapshot diff, for people.
pub fn diff_table(d: &SnapshotDiff) -> String {
    if d.is_empty() {
        return "no differences: both snapshots hold the same access".to_owned();
    }
    let mut t = table(&["", "added", "removed", "changed"]);
    t.add_row(vec![
        "users".to_owned(),
        d.users_added.len().to_string(),
        d.users_removed.len().to_string(),
        String::new(),
    ]);
    t.add_row(vec![
        "groups".to_owned(),
        d.groups_added.len().to_string(),
        d.groups_removed.len().to_string(),
        String::new(),
    ]);
    t.add_row(vec![
        "memberships".to_owned(),
        d.memberships_added.len().to_string(),
        d.memberships_removed.len().to_string(),
        String::new(),
    ]);
    t.add_row(vec![
        "assignments".to_owned(),
        d.assignments_added.len().to_string(),
        d.assignments_removed.len().to_string(),
        d.assignments_changed.len().to_string(),
    ]);
    let mut out = t.to_string();
    let lines = d
        .assignments_added
        .iter()
        .map(|a| format!("+ {a}"))
        .chain(d.assignments_removed.iter().map(|a| format!("- {a}")))
        .take(20);
    for line in lines {
        out.push('\n');
        out.push_str(&line);
    }
    out
}
