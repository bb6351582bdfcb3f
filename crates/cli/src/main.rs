//! `grantbridge`: read, compare and move access grants across SaaS systems.
//!
//! Every command takes systems by name: `visier`, `segment`, `pyramid` (configured from
//! environment variables or `grantbridge.toml`), or `sandbox:visier`, `sandbox:segment`,
//! `sandbox:pyramid` (an emulator started in-process with demo data, so every command
//! can be tried without a vendor account). Secrets come only from the environment or the
//! config file, never from flags.

mod commands;
mod config;
mod demo;
mod diff;
mod output;
mod run;
mod serve;
mod systems;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Read, compare and move access grants across Visier, Segment and Pyramid Analytics.
///
/// A typical migration: `snapshot` both systems, `plan` through a mapping file, look at
/// the plan, `apply` it (a dry run until you add `--yes`), and keep the run report: it
/// is what `rollback` undoes.
///
/// Systems: `visier`, `segment`, `pyramid` read their settings from environment
/// variables (VISIER_BASE_URL, VISIER_API_KEY, VISIER_USERNAME, VISIER_PASSWORD,
/// SEGMENT_BASE_URL, SEGMENT_TOKEN, PYRAMID_BASE_URL, PYRAMID_USERNAME, PYRAMID_PASSWORD,
/// …) or from the config file's [visier], [segment], [pyramid] tables. Prefix a vendor
/// with `sandbox:` to run against an in-process emulator seeded with demo data.
///
/// Exit codes: 0 done, 1 error, 2 done but some items failed.
#[derive(Debug, Parser)]
#[command(name = "grantbridge", version, about, long_about)]
pub struct Cli {
    /// Config file with per-vendor settings (environment variables win over it).
    /// Without this option, `grantbridge.toml` in the working directory is read if it
    /// exists; a file named here must exist.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log more to stderr (-v info, -vv debug, -vvv trace). Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read every user, group, profile, membership and assignment of a system.
    Snapshot {
        /// The system (`visier`, `segment`, `pyramid`, `sandbox:visier`, …).
        #[arg(long)]
        system: String,
        /// Write the snapshot JSON here (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare two snapshot files: what was added, removed or changed from A to B.
    Diff {
        /// The earlier snapshot.
        a: PathBuf,
        /// The later snapshot.
        b: PathBuf,
    },
    /// Plan the changes that carry the source's grants to the target.
    Plan {
        /// The source system.
        #[arg(long)]
        from: String,
        /// The target system.
        #[arg(long)]
        to: String,
        /// The mapping file (TOML); see the README's mapping reference.
        #[arg(long)]
        mapping: PathBuf,
        /// `additive` grants what is missing; `mirror` also revokes what is extra.
        #[arg(long, value_enum, default_value_t = ModeArg::Additive)]
        mode: ModeArg,
        /// Write the plan here (default: plan.json).
        #[arg(long, default_value = "plan.json")]
        out: PathBuf,
    },
    /// Apply a plan: a dry run that changes nothing unless `--yes` is given.
    Apply {
        /// The plan file written by `plan`.
        plan: PathBuf,
        /// The target system the plan was made for.
        #[arg(long)]
        to: String,
        /// Journal file; a re-run with the same journal resumes without repeating
        /// finished items, after checking the target holds them (default: the plan's
        /// path with `.journal.jsonl`).
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Start a new run instead of resuming the journal's: the old journal is kept
        /// beside it as `<journal>.<time>.old` (needed when the journal was made on
        /// another target).
        #[arg(long)]
        new_run: bool,
        /// Batches in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Changes per batch (default: the target's largest batch). The journal records
        /// finished batches, so smaller batches make a resumed run re-check less.
        #[arg(long)]
        batch_size: Option<usize>,
        /// Really change the target system.
        #[arg(long)]
        yes: bool,
        /// Where to write the run report (default: the plan's path with `.report.json`).
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Make a retry plan of a run's failures: it continues that run, so a change whose
    /// answer was lost and that the retry finds in place counts as the chain's (and
    /// rolling back the retry's report undoes it).
    Retry {
        /// The run report written by `apply`.
        report: PathBuf,
        /// Write the retry plan here (default: the report's path with `.retry.json`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Undo a finished run: revoke what it granted, re-grant what it revoked.
    Rollback {
        /// The run report written by `apply`.
        report: PathBuf,
        /// The system the run changed.
        #[arg(long)]
        to: String,
        /// Journal for the rollback run (default: the report's path with
        /// `.rollback.jsonl`).
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Really change the target system (otherwise a dry run).
        #[arg(long)]
        yes: bool,
    },
    /// Access review: who has what, where, in one system (CSV or JSON).
    Report {
        /// The system.
        #[arg(long)]
        system: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
        format: FormatArg,
        /// Write here (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Local vendor emulators for trying things out and for other programs' tests.
    Sandbox {
        /// What to do with the emulators.
        #[command(subcommand)]
        action: SandboxAction,
    },
    /// Start the three emulators in-process and run a whole migration, verification,
    /// offboarding and rollback on them.
    Demo,
}

/// `grantbridge sandbox …`.
#[derive(Debug, Subcommand)]
pub enum SandboxAction {
    /// Serve emulators until interrupted; prints `NAME=value` lines (base URLs and the
    /// demo credentials, under the environment variable names the CLI reads) first.
    Serve {
        /// Which vendor's emulator.
        #[arg(long, value_enum, default_value_t = VendorArg::All)]
        vendor: VendorArg,
        /// Port for the first emulator (the next ones take the following ports);
        /// 0 picks free ports.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Start with demo data or empty.
        #[arg(long, value_enum, default_value_t = SeedArg::Demo)]
        seed: SeedArg,
    },
}

/// Plan mode.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModeArg {
    /// Grant what is missing; never revoke.
    Additive,
    /// Grant what is missing and revoke what the source does not have.
    Mirror,
}

/// Report format.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of rows.
    Json,
}

/// Which sandbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VendorArg {
    /// Visier.
    Visier,
    /// Segment.
    Segment,
    /// Pyramid Analytics.
    Pyramid,
    /// All three.
    All,
}

/// Sandbox seed data.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SeedArg {
    /// Demo data (the same people in every vendor).
    Demo,
    /// Nothing but what the vendor always has.
    Empty,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(status) => status.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
