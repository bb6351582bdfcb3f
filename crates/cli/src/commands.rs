//! The subcommands, on top of the engine.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use grantbridge_core::engine::{
    self, Mapping, Mode, Plan, RunReport, Snapshot, access_rows, write_access_csv,
};

use crate::config::{DEFAULT_CONFIG, Settings, SystemRef};
use crate::run::{Status, execute_batches, take_snapshot};
use crate::systems::{self, Connected};
use crate::{Cli, Command, FormatArg, ModeArg, SandboxAction, demo, diff, output, serve};

/// Runs one command line.
pub async fn run(cli: Cli) -> Result<Status> {
    let settings = match &cli.config {
        Some(path) => Settings::load_named(path)?,
        None => Settings::load(Path::new(DEFAULT_CONFIG))?,
    };
    let json = cli.json;
    match cli.command {
        Command::Snapshot { system, out } => snapshot(&settings, &system, out, json).await,
        Command::Diff { a, b } => {
            let (a, b) = (load_snapshot(&a)?, load_snapshot(&b)?);
            let d = diff::diff(&a, &b);
            if json {
                output::print_json(&d)?;
            } else {
                println!("{}", output::diff_table(&d));
            }
            Ok(Status::Done)
        }
        Command::Plan {
            from,
            to,
            mapping,
            mode,
            out,
        } => plan(&settings, &from, &to, &mapping, mode, &out, json).await,
        Command::Apply {
            plan,
            to,
            journal,
            new_run,
            concurrency,
            batch_size,
            yes,
            report,
        } => {
            let p = Plan::load(&plan).with_context(|| {
                format!(
                    "cannot load the plan {} (make one with `grantbridge plan`)",
                    plan.display()
                )
            })?;
            let target = connect(&settings, &to).await?;
            let journal = journal.unwrap_or_else(|| with_suffix(&plan, "journal.jsonl"));
            if new_run && yes {
                set_aside(&journal)?;
            }
            let report_path = report.unwrap_or_else(|| with_suffix(&plan, "report.json"));
            let run = RunSettings {
                concurrency,
                batch_size,
                yes,
            };
            apply(&p, &target, journal, run, &report_path, json).await
        }
        Command::Retry { report, out } => {
            let run = RunReport::load(&report)
                .with_context(|| format!("cannot load the run report {}", report.display()))?;
            if run.dry_run {
                bail!(
                    "{} is the report of a dry run: nothing failed, nothing was tried",
                    report.display()
                );
            }
            let retry = run.failures_plan();
            let out = out.unwrap_or_else(|| with_suffix(&report, "retry.json"));
            retry
                .save(&out)
                .with_context(|| format!("cannot write {}", out.display()))?;
            let doubt = retry.continues.as_ref().map_or(0, |c| c.in_doubt.len());
            if json {
                output::print_json(&serde_json::json!({
                    "plan": out,
                    "changes": retry.changes.len(),
                    "in_doubt": doubt,
                }))?;
            } else {
                println!(
                    "{} failed changes of the run of {} written to {}",
                    retry.changes.len(),
                    run.started_at,
                    out.display()
                );
                if doubt > 0 {
                    println!(
                        "{doubt} of them may be in effect (their answers were lost): a run of \
                         this plan that finds them in place counts them as made by this \
                         chain, and rolling back its report undoes them"
                    );
                }
                println!(
                    "next: grantbridge apply {} --to <the same target> (dry run) and then \
                     with --yes",
                    out.display()
                );
            }
            Ok(Status::Done)
        }
        Command::Rollback {
            report,
            to,
            journal,
            yes,
        } => {
            let run = RunReport::load(&report)
                .with_context(|| format!("cannot load the run report {}", report.display()))?;
            if run.dry_run {
                bail!(
                    "{} is the report of a dry run: nothing was changed, so there is nothing \
                     to roll back",
                    report.display()
                );
            }
            let inverse = run.rollback_plan();
            let continued = run.counts().continued;
            if continued > 0 && !json {
                eprintln!(
                    "the rollback includes {continued} changes this retry found in place that \
                     the run it continues had left in doubt (answers lost): they are undone as \
                     this chain's"
                );
            }
            let target = connect(&settings, &to).await?;
            // Its changes can only be undone where they were made.
            run.check_target(&target.system.identity())
                .with_context(|| format!("cannot roll back {}", report.display()))?;
            let journal = journal.unwrap_or_else(|| with_suffix(&report, "rollback.jsonl"));
            let out = with_suffix(&report, "rollback-report.json");
            let run = RunSettings {
                concurrency: 4,
                batch_size: None,
                yes,
            };
            apply(&inverse, &target, journal, run, &out, json).await
        }
        Command::Report {
            system,
            format,
            out,
        } => report(&settings, &system, format, out).await,
        Command::Sandbox {
            action: SandboxAction::Serve { vendor, port, seed },
        } => serve::serve(vendor, port, seed).await,
        Command::Demo => demo::run(json).await,
    }
}

/// Moves an earlier run's journal out of the way (`--new-run`), keeping it beside
/// the new one as `<journal>.<unix seconds>.old`.
fn set_aside(journal: &Path) -> Result<()> {
    if !journal.exists() {
        return Ok(());
    }
    let stamp = grantbridge_core::Timestamp::now().as_second();
    let mut old = journal.as_os_str().to_owned();
    old.push(format!(".{stamp}.old"));
    let old = PathBuf::from(old);
    std::fs::rename(journal, &old).with_context(|| {
        format!(
            "cannot set the journal {} aside as {}",
            journal.display(),
            old.display()
        )
    })?;
    eprintln!("new run: the earlier journal is kept as {}", old.display());
    Ok(())
}

/// `plan.json` → `plan.journal.jsonl`.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let name = format!(
        "{}.{suffix}",
        stem.unwrap_or_else(|| "grantbridge".to_owned())
    );
    path.with_file_name(name)
}

async fn connect(settings: &Settings, name: &str) -> Result<Connected> {
    let system = SystemRef::parse(name)?;
    systems::connect(system, settings)
        .await
        .with_context(|| format!("cannot connect to {name}"))
}

fn load_snapshot(path: &Path) -> Result<Snapshot> {
    Snapshot::load(path).with_context(|| {
        format!(
            "cannot load the snapshot {} (make one with `grantbridge snapshot`)",
            path.display()
        )
    })
}

async fn snapshot(
    settings: &Settings,
    system: &str,
    out: Option<PathBuf>,
    json: bool,
) -> Result<Status> {
    let connected = connect(settings, system).await?;
    let snap = take_snapshot(&connected).await?;
    match out {
        Some(path) => {
            snap.save(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            if json {
                output::print_json(&serde_json::json!({
                    "system": snap.system, "file": path,
                    "users": snap.users.len(), "assignments": snap.assignments.len(),
                }))?;
            } else {
                println!("{}", output::snapshot_table(&snap));
                println!("written to {}", path.display());
            }
        }
        None => println!("{}", snap.to_json()?),
    }
    Ok(Status::Done)
}

async fn plan(
    settings: &Settings,
    from: &str,
    to: &str,
    mapping: &Path,
    mode: ModeArg,
    out: &Path,
    json: bool,
) -> Result<Status> {
    let mapping = Mapping::load(mapping)?;
    let source = connect(settings, from).await?;
    let target = connect(settings, to).await?;
    let (source, target) = (take_snapshot(&source).await?, take_snapshot(&target).await?);
    let mode = match mode {
        ModeArg::Additive => Mode::Additive,
        ModeArg::Mirror => Mode::Mirror,
    };
    let desired = engine::translate(&source, &mapping, &target)?;
    let plan = engine::plan(&desired, &target, mode);
    plan.save(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    if json {
        output::print_json(&plan.summary())?;
    } else {
        println!("{}", output::plan_table(&plan, &[&target, &source]));
        println!(
            "plan written to {}; next: grantbridge apply {} --to {to} (dry run) and then with --yes",
            out.display(),
            out.display()
        );
    }
    Ok(Status::Done)
}

/// How `apply` runs a plan.
#[derive(Clone, Copy)]
struct RunSettings {
    concurrency: usize,
    batch_size: Option<usize>,
    yes: bool,
}

async fn apply(
    plan: &Plan,
    target: &Connected,
    journal: PathBuf,
    run: RunSettings,
    report_path: &Path,
    json: bool,
) -> Result<Status> {
    let yes = run.yes;
    let report = execute_batches(
        plan,
        target,
        journal,
        run.concurrency,
        run.batch_size,
        yes,
        report_path,
    )
    .await?;
    if json {
        output::print_json(&report)?;
    } else {
        println!("{}", output::run_table(&report));
        if yes {
            println!("run report: {}", report_path.display());
        }
    }
    Ok(if report.has_failures() {
        Status::ItemsFailed
    } else {
        Status::Done
    })
}

async fn report(
    settings: &Settings,
    system: &str,
    format: FormatArg,
    out: Option<PathBuf>,
) -> Result<Status> {
    let connected = connect(settings, system).await?;
    let snap = take_snapshot(&connected).await?;
    let mut buf = Vec::new();
    match format {
        FormatArg::Csv => write_access_csv(&snap, &mut buf)?,
        FormatArg::Json => serde_json::to_writer_pretty(&mut buf, &access_rows(&snap))?,
    }
    match out {
        Some(path) => std::fs::write(&path, &buf)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&buf)?;
        }
    }
    Ok(Status::Done)
}
