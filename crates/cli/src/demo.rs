//! `grantbridge demo`: a whole migration on the three in-process emulators.
//!
//! Visier is the source. Its grants are planned onto Segment and Pyramid through the
//! bundled mapping files, applied, and verified by planning again (nothing may be left
//! to do). Then one person is offboarded everywhere and the offboarding is rolled back,
//! verified by comparing snapshots.

use anyhow::{Context, Result, bail};
use grantbridge_core::engine::{self, Change, Mapping, Mode, Plan, Snapshot};
use grantbridge_core::sandbox::{DEMO_PEOPLE, SandboxOptions};
use grantbridge_core::{Email, Principal};
use serde_json::json;

use crate::SeedArg;
use crate::config::Vendor;
use crate::output;
use crate::run::{Status, execute_plan, take_snapshot};
use crate::systems::{self, Connected, RunningSandbox};

/// The mapping the demo uses from Visier to Segment.
pub const VISIER_TO_SEGMENT: &str = include_str!("../mappings/visier-to-segment.toml");
/// The mapping the demo uses from Visier to Pyramid.
pub const VISIER_TO_PYRAMID: &str = include_str!("../mappings/visier-to-pyramid.toml");

/// Runs the demo; `json` prints a machine-readable summary at the end instead of tables.
pub async fn run(json: bool) -> Result<Status> {
    let dir = std::env::temp_dir().join(format!("grantbridge-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the demo directory {}", dir.display()))?;
    let say = |line: &str| {
        if !json {
            println!("{line}");
        }
    };

    say("== 1. Starting the Visier, Segment and Pyramid emulators on loopback");
    let mut sandboxes = Vec::new();
    for vendor in Vendor::ALL {
        let sb = systems::start_sandbox(vendor, SeedArg::Demo, SandboxOptions::default())
            .await
            .with_context(|| format!("cannot start the {vendor} emulator"))?;
        say(&format!("   {:<8} {}", vendor.name(), sb.base_url()));
        sandboxes.push(sb);
    }
    let [visier, segment, pyramid] = connect_all(&sandboxes).await?;

    say("\n== 2. Snapshot of the source (Visier)");
    let source = take_snapshot(&visier).await?;
    say(&output::snapshot_table(&source));

    let mut summary = Vec::new();
    let mut before_offboarding = Vec::new();
    for (target, text, file) in [
        (&segment, VISIER_TO_SEGMENT, "visier-to-segment.toml"),
        (&pyramid, VISIER_TO_PYRAMID, "visier-to-pyramid.toml"),
    ] {
        say(&format!(
            "\n== 3. Visier → {}: plan through {file}",
            target.label
        ));
        let mapping = Mapping::parse(text, file)?;
        let current = take_snapshot(target).await?;
        let desired = engine::translate(&source, &mapping, &current)?;
        let plan = engine::plan(&desired, &current, Mode::Additive);
        say(&output::plan_table(&plan, &[&current, &source]));
        // One example per reason; the plan lists every skipped item.
        let mut seen = std::collections::HashSet::new();
        for s in &plan.skipped {
            if seen.insert(std::mem::discriminant(&s.reason)) {
                say(&format!("   e.g. skipped {s}"));
            }
        }

        say(&format!("\n== 4. Apply to {}", target.label));
        let report_path = dir.join(format!("{}-run.json", target.label));
        let journal = dir.join(format!("{}-run.journal.jsonl", target.label));
        let report = execute_plan(&plan, target, journal, 4, true, &report_path).await?;
        say(&output::run_table(&report));
        if report.has_failures() {
            bail!(
                "the run on {} had failures; see {}",
                target.label,
                report_path.display()
            );
        }

        say(&format!(
            "\n== 5. Verify {}: snapshot again and plan again",
            target.label
        ));
        let after = take_snapshot(target).await?;
        let again = engine::plan(
            &engine::translate(&source, &mapping, &after)?,
            &after,
            Mode::Additive,
        );
        if !again.is_empty() {
            bail!(
                "verification failed on {}: {} change(s) still planned after the run",
                target.label,
                again.changes.len()
            );
        }
        say(&format!(
            "   verified: nothing left to do on {}",
            target.label
        ));
        summary.push(json!({
            "target": target.label,
            "planned": plan.changes.len(),
            "skipped": plan.skipped.len(),
            "applied": report.counts().applied,
            "failed": report.counts().failed,
            "verified": true,
        }));
    }

    // Offboarding: one of the people every vendor knows, revoked everywhere.
    let person = DEMO_PEOPLE
        .get(2)
        .context("the demo people list is empty")?;
    let email = Email::new(person.email)?;
    say(&format!("\n== 6. Offboarding {} everywhere", person.email));
    let mut offboarded = Vec::new();
    for system in [&visier, &segment, &pyramid] {
        let snap = take_snapshot(system).await?;
        before_offboarding.push(snap.clone());
        let plan = offboarding_plan(&snap, &email);
        let report_path = dir.join(format!("{}-offboard.json", system.label));
        let journal = dir.join(format!("{}-offboard.journal.jsonl", system.label));
        let report = execute_plan(&plan, system, journal, 4, true, &report_path).await?;
        say(&format!(
            "   {:<8} {} revoked, {} failed",
            system.label,
            report.counts().applied,
            report.counts().failed
        ));
        offboarded.push(report);
    }

    say("\n== 7. Roll the offboarding back and compare with the snapshots taken before it");
    for ((system, report), before) in [&visier, &segment, &pyramid]
        .into_iter()
        .zip(&offboarded)
        .zip(&before_offboarding)
    {
        let rollback = report.rollback_plan();
        let out = dir.join(format!("{}-rollback.json", system.label));
        let journal = dir.join(format!("{}-rollback.journal.jsonl", system.label));
        execute_plan(&rollback, system, journal, 4, true, &out).await?;
        let after = take_snapshot(system).await?;
        let restored =
            after.assignments == before.assignments && after.memberships == before.memberships;
        if !restored {
            bail!(
                "rollback on {} did not restore the prior state",
                system.label
            );
        }
        say(&format!(
            "   {:<8} restored: assignments and memberships equal the prior snapshot",
            system.label
        ));
    }

    say("\n== 8. API calls the emulators served");
    for sb in &sandboxes {
        say(&format!(
            "   {:<8} {} requests",
            sb.vendor().name(),
            sb.requests()
        ));
    }
    say(&format!(
        "\nJournals and run reports are in {}",
        dir.display()
    ));
    if json {
        output::print_json(&json!({
            "migrations": summary,
            "offboarded": person.email,
            "rolled_back": true,
            "files": dir,
        }))?;
    }
    for sb in sandboxes {
        sb.shutdown().await;
    }
    Ok(Status::Done)
}

async fn connect_all(sandboxes: &[RunningSandbox]) -> Result<[Connected; 3]> {
    let mut out = Vec::new();
    for sb in sandboxes {
        out.push(sb.connect().await?);
    }
    out.try_into()
        .map_err(|_| anyhow::anyhow!("expected three emulators"))
}

/// Revokes every assignment of the user with `email` and removes their memberships.
pub fn offboarding_plan(snap: &Snapshot, email: &Email) -> Plan {
    let mut changes = Vec::new();
    if let Some(user) = snap.user_by_email(email) {
        let principal = Principal::User(user.id.clone());
        changes.extend(
            snap.assignments
                .iter()
                .filter(|a| a.principal == principal)
                .map(|a| Change::Revoke {
                    assignment: a.clone(),
                }),
        );
        changes.extend(
            snap.memberships
                .iter()
                .filter(|m| m.user == user.id)
                .map(|m| Change::RemoveMember {
                    membership: m.clone(),
                }),
        );
    }
    Plan::from_changes(snap.system.clone(), changes, true)
}
