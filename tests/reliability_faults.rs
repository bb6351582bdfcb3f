#![cfg(all(
    feature = "sandbox",
    feature = "visier",
    feature = "segment",
    feature = "pyramid"
))]
//! Fault-injection migrations (issue 9, part 1; figures in `docs/reliability.md`).
//!
//! About 1,000 Visier users are migrated to Segment and to Pyramid while the *target*
//! emulators inject 10 % 5xx, 5 % 429 with `Retry-After`, 2 % connection resets, 1 %
//! truncated (but effective) responses and latency spikes, from fixed seeds. Then, with
//! the faults switched off:
//!
//! * every item the run reported `Failed` is really absent from the target, and every
//!   `Applied` / `AlreadyInState` item is present;
//! * re-running `failures_plan()` (faults still on) converges;
//! * a fresh snapshot equals the desired state (planning again gives nothing to do);
//! * the raw vendor state, read through the vendor clients, holds no duplicate
//!   permission, binding or membership.
//!
//! The generated seeds of the three emulators use different e-mail schemes
//! (`user.000042@`, `user-00042@`, `user0043@`), so the test writes an explicit
//! `[principals.users]` map into the mapping it generates.
//!
//! The tests run on tokio's paused clock: the emulators and the clients share the
//! test's runtime, so every wait (backoff, a 1 s `Retry-After`, a latency spike) is
//! skipped as idle time and the run takes seconds, not minutes. The clients therefore
//! have no request timeout (it would fire as soon as the runtime idles).
//!
//! Reproduce: `cargo test -p grantbridge --all-features --test reliability_faults --
//! --nocapture` (figures are printed); the long variant adds `--ignored`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use grantbridge::core::engine::{self, Change, ExecuteOptions, Mapping, Mode, RunReport, Snapshot};
use grantbridge::core::http::{ClientOptions, RetryPolicy, Stats};
use grantbridge::core::sandbox::{Fault, FaultPlan, RequestLog, SandboxControls, SandboxOptions};
use grantbridge::core::{AccessSystem, Outcome};
use grantbridge::{core, pyramid, segment, visier};

/// Seeds of the two target emulators' fault generators.
const SEGMENT_FAULT_SEED: u64 = 0x5e6_2026;
const PYRAMID_FAULT_SEED: u64 = 0x9a_2026;

/// The fault mix of issue 9.
fn faults() -> FaultPlan {
    FaultPlan::none()
        .with_server_error(0.10)
        .with_rate_limited(0.05)
        .with_reset(0.02)
        .with_truncated(0.01)
        .with_spike(0.03, Duration::from_millis(750))
        .with_retry_after(Duration::from_secs(1))
}

/// The default retry policy (its statuses included: 500, 502 and 504 are retried for
/// idempotent requests only) with millisecond delays and 8 attempts; no timeouts (see
/// the module docs: paused clock).
///
/// Why 8, not the default 5: about 18 % of requests fault here, so a read exhausts 5
/// attempts with probability 0.18^5 = 1.9e-4. A Pyramid snapshot of 10,000 users makes
/// about 10,000 reads, so 5 attempts leave ~2 failed reads per snapshot (the first long
/// run failed that way); 8 attempts leave ~0.01.
fn transport(options: ClientOptions) -> ClientOptions {
    let retry = RetryPolicy::default()
        .max_attempts(8)
        .delays(Duration::from_millis(5), Duration::from_millis(100));
    options
        .retry(retry)
        .connect_timeout(None)
        .request_timeout(None)
}

// ---- the request log, read without losing entries ---------------------------------

/// What the target emulator saw, counted per request (by sequence number, so that a
/// log entry read twice counts once and the log's capacity is never a blind spot as
/// long as it is swept more often than every `LOG_CAPACITY` requests).
#[derive(Clone, Debug, Default)]
struct Tally {
    requests: u64,
    handled: u64,
    server_error: u64,
    rate_limited: u64,
    reset: u64,
    truncated: u64,
    spikes: u64,
    over_limit: u64,
    writes: u64,
}

impl Tally {
    fn injected(&self) -> u64 {
        self.server_error + self.rate_limited + self.reset + self.truncated
    }

    fn plus(&self, other: &Tally) -> Tally {
        Tally {
            requests: self.requests + other.requests,
            handled: self.handled + other.handled,
            server_error: self.server_error + other.server_error,
            rate_limited: self.rate_limited + other.rate_limited,
            reset: self.reset + other.reset,
            truncated: self.truncated + other.truncated,
            spikes: self.spikes + other.spikes,
            over_limit: self.over_limit + other.over_limit,
            writes: self.writes + other.writes,
        }
    }

    fn minus(&self, before: &Tally) -> Tally {
        Tally {
            requests: self.requests - before.requests,
            handled: self.handled - before.handled,
            server_error: self.server_error - before.server_error,
            rate_limited: self.rate_limited - before.rate_limited,
            reset: self.reset - before.reset,
            truncated: self.truncated - before.truncated,
            spikes: self.spikes - before.spikes,
            over_limit: self.over_limit - before.over_limit,
            writes: self.writes - before.writes,
        }
    }
}

#[derive(Clone)]
struct Tap {
    log: RequestLog,
    state: Arc<Mutex<(HashSet<u64>, Tally)>>,
    /// Requests that count as writes for this vendor (method, path prefix).
    is_write: fn(&str, &str) -> bool,
}

impl Tap {
    fn new(log: RequestLog, is_write: fn(&str, &str) -> bool) -> Tap {
        Tap {
            log,
            state: Arc::default(),
            is_write,
        }
    }

    /// Sweeps the log every 100 ms of real time on a thread of its own until dropped,
    /// so that no entry leaves the bounded log unseen (the test's clock is paused, so
    /// a tokio timer would not do).
    fn background(&self) -> Sweeper {
        let stop = Arc::new(AtomicBool::new(false));
        let (tap, flag) = (self.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                tap.sweep();
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Sweeper {
            stop,
            thread: Some(thread),
        }
    }

    fn sweep(&self) -> Tally {
        let entries = self.log.entries();
        let mut state = self.state.lock().expect("tap lock");
        let (seen, tally) = &mut *state;
        for e in entries {
            if !seen.insert(e.seq) {
                continue;
            }
            tally.requests += 1;
            tally.handled += u64::from(e.handled);
            tally.spikes += u64::from(e.spiked);
            tally.over_limit += u64::from(e.over_limit);
            tally.writes += u64::from((self.is_write)(&e.method, &e.path));
            match e.fault {
                Some(Fault::ServerError { .. }) => tally.server_error += 1,
                Some(Fault::RateLimited) => tally.rate_limited += 1,
                Some(Fault::Reset) => tally.reset += 1,
                Some(Fault::Truncated) => tally.truncated += 1,
                None => {}
            }
        }
        tally.clone()
    }
}

struct Sweeper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn segment_write(method: &str, _path: &str) -> bool {
    method != "GET"
}

fn pyramid_write(_method: &str, path: &str) -> bool {
    // Pyramid's API 2.0 is POST-only; reads are the get* operations.
    let op = path.rsplit('/').next().unwrap_or_default();
    !(op.starts_with("get") || op.starts_with("authenticate"))
}

// ---- mapping generation -------------------------------------------------------------

/// The number in a generated user's e-mail (`user.000042@…` → 42).
fn number_in_email(user: &core::User) -> Option<usize> {
    let email = user.email.as_ref()?;
    let local = email.as_str().split('@').next()?;
    // Segment's generated pending invites (`invitee-00003@`) are not these people.
    if !local.starts_with("user") {
        return None;
    }
    let digits: String = local.chars().filter(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `[principals.users]` from Visier user `n` to the target user numbered `n + offset`.
fn principal_map(source: &Snapshot, target: &Snapshot, offset: usize) -> String {
    let by_number: BTreeMap<usize, &core::User> = target
        .users
        .iter()
        .filter_map(|u| Some((number_in_email(u)?, u)))
        .collect();
    let mut out = String::from("[principals.users]\n");
    for user in &source.users {
        let Some(n) = number_in_email(user) else {
            continue;
        };
        if let Some(t) = by_number.get(&(n + offset)) {
            writeln!(out, "{:?} = {:?}", user.id.as_str(), t.id.as_str()).expect("write");
        }
    }
    out
}

fn segment_mapping(source: &Snapshot, target: &Snapshot, workspace: &str) -> Mapping {
    let text = format!(
        r#"version = 1
[principals]
match = "email"
{users}
[groups]
match = "name"            # "Generated group 0/1" exist on both sides
[validity]
on_unsupported = "drop-with-warning"

[[scopes]]
from = {{ type = "system" }}
to = {{ type = "resource", kind = "WORKSPACE", id = "{workspace}" }}
[[scopes]]
from = {{ type = "tenant" }}
to = {{ type = "resource", kind = "WORKSPACE", id = "{workspace}" }}

[[rules]]
from = "PARTNER_ADMIN"
to = [{{ profile = "Workspace Owner" }}]
[[rules]]
from = "Analyst"
to = [{{ profile = "Workspace Member" }}, {{ profile = "Tracking Plan Read-only" }}]
[[rules]]
from = "Viewer"
to = [{{ profile = "Unify and Engage Read-only" }}]
"#,
        users = principal_map(source, target, 0),
    );
    Mapping::parse(&text, "generated-visier-to-segment.toml").expect("generated mapping parses")
}

fn pyramid_mapping(source: &Snapshot, target: &Snapshot, tenant: &str) -> Mapping {
    let text = format!(
        r#"version = 1
[principals]
match = "email"
{users}
[groups]
match = "name"
[validity]
on_unsupported = "drop-with-warning"

[[scopes]]
from = {{ type = "system" }}
to = {{ type = "tenant", code = "{tenant}" }}
[[scopes]]
from = {{ type = "tenant" }}
to = {{ type = "tenant", code = "{tenant}" }}

[[rules]]
from = "PARTNER_ADMIN"
to = [{{ group = "Group A" }}]
[[rules]]
from = "Analyst"
to = [{{ profile = "Profile B" }}]
[[rules]]
from = "Viewer"
to = [{{ group = "Group C" }}]
"#,
        users = principal_map(source, target, 1),
    );
    Mapping::parse(&text, "generated-visier-to-pyramid.toml").expect("generated mapping parses")
}

// ---- the run -------------------------------------------------------------------------

/// Figures of one faulted migration, printed and written into docs/reliability.md.
#[derive(Debug)]
struct Figures {
    target: &'static str,
    users: usize,
    planned: usize,
    applied: usize,
    already: usize,
    failed_first_run: usize,
    retry_rounds: usize,
    failed_per_round: Vec<usize>,
    log: Tally,
    client: Stats,
    wall: Duration,
    virtual_time: Duration,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.log;
        write!(
            f,
            "{} users={} planned={} applied={} already={} failed(first run)={} \
             retry-rounds={} failed-per-round={:?} | log: requests={} handled={} writes={} \
             5xx={} 429={} resets={} truncated={} spikes={} over-limit={} | client: \
             requests={} retries={} 429-seen={} transport-errors={} backoff={:?} | \
             wall={:?} virtual={:?}",
            self.target,
            self.users,
            self.planned,
            self.applied,
            self.already,
            self.failed_first_run,
            self.retry_rounds,
            self.failed_per_round,
            l.requests,
            l.handled,
            l.writes,
            l.server_error,
            l.rate_limited,
            l.reset,
            l.truncated,
            l.spikes,
            l.over_limit,
            self.client.requests,
            self.client.retries,
            self.client.rate_limited,
            self.client.transport_errors,
            self.client.backoff,
            self.wall,
            self.virtual_time,
        )
    }
}

/// Whether `change` holds in `snap` (a grant's assignment, a membership) — or, for
/// removals, no longer holds.
fn holds(change: &Change, snap: &Snapshot) -> bool {
    match change {
        Change::Grant { assignment, .. } => snap.assignments.contains(assignment),
        Change::Revoke { assignment } => !snap.assignments.iter().any(|a| {
            a.principal == assignment.principal
                && a.profile == assignment.profile
                && a.scope == assignment.scope
        }),
        Change::AddMember { membership } => snap.memberships.contains(membership),
        Change::RemoveMember { membership } => !snap.memberships.contains(membership),
    }
}

/// Every Failed item is not in effect; every Applied/AlreadyInState item is.
fn check_outcomes_against(report: &RunReport, after: &Snapshot, what: &str) {
    let mut wrong = Vec::new();
    for item in &report.items {
        let in_effect = holds(&item.change, after);
        match &item.outcome {
            Some(Outcome::Failed(e)) if in_effect => {
                wrong.push(format!(
                    "reported failed ({e}) but in effect: {:?}",
                    item.change
                ));
            }
            Some(Outcome::Applied | Outcome::AlreadyInState) if !in_effect => {
                wrong.push(format!(
                    "reported done but not in effect: {:?}",
                    item.change
                ));
            }
            None => wrong.push(format!("no outcome: {:?}", item.change)),
            _ => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{what}: {} item(s) misreported, e.g. {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

/// Checks `after` against the Additive result computed by set arithmetic over `before`
/// and `desired` (never through `engine::plan`): every held assignment and membership
/// stays, every desired one is added. Both targets here hold no windows, so a key and
/// its assignment are the same thing.
fn assert_additive_result(
    label: &str,
    before: &Snapshot,
    desired: &engine::Desired,
    after: &Snapshot,
) {
    assert!(
        desired
            .assignments
            .iter()
            .all(|a| a.validity.is_unbounded()),
        "{label}: this oracle assumes a target without windows"
    );
    let expected: BTreeSet<&core::Assignment> = before
        .assignments
        .iter()
        .chain(&desired.assignments)
        .collect();
    let got: BTreeSet<&core::Assignment> = after.assignments.iter().collect();
    assert_eq!(
        got.len(),
        after.assignments.len(),
        "{label}: an assignment listed twice"
    );
    let missing: Vec<_> = expected.difference(&got).take(3).collect();
    let extra: Vec<_> = got.difference(&expected).take(3).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{label}: {} missing (e.g. {missing:?}), {} unexpected (e.g. {extra:?})",
        expected.difference(&got).count(),
        got.difference(&expected).count()
    );
    let expected: BTreeSet<&core::Membership> = before
        .memberships
        .iter()
        .chain(&desired.memberships)
        .collect();
    let got: BTreeSet<&core::Membership> = after.memberships.iter().collect();
    assert_eq!(got, expected, "{label}: memberships");
}

/// A faulted migration from `source` onto `target`, verified; returns its figures.
#[allow(clippy::too_many_arguments)]
async fn migrate_under_faults(
    label: &'static str,
    users: usize,
    source: &Snapshot,
    target: &dyn AccessSystem,
    mapping: &Mapping,
    controls: &SandboxControls,
    tap: &Tap,
    stats: &dyn Fn() -> Stats,
) -> Figures {
    let wall = Instant::now();
    let virtual_start = tokio::time::Instant::now();
    let _sweeper = tap.background();
    let stats_before = stats();
    // What the target saw while faults were on (the verification reads in between
    // run fault-free and are not counted).
    let mut log = Tally::default();

    let mark = tap.sweep();
    controls.set_faults(faults());
    // Reading the target is part of the run: its snapshot is taken under faults too.
    let current = Snapshot::take(target)
        .await
        .expect("snapshot under faults (reads are retried)");
    let desired = engine::translate(source, mapping, &current).expect("translate");
    let plan = engine::plan(&desired, &current, Mode::Additive);
    assert!(
        plan.changes.len() >= users,
        "{label}: the run must move at least one change per user, planned {}",
        plan.changes.len()
    );

    let sweeper = tap.clone();
    let options = ExecuteOptions {
        concurrency: 4,
        progress: Some(Arc::new(move |_| {
            sweeper.sweep();
        })),
        ..ExecuteOptions::default()
    };
    let report = engine::execute(&plan, target, &options)
        .await
        .expect("execute reports per-item outcomes, not a run error");
    let counts = report.counts();
    assert_eq!(counts.not_run, 0, "{label}: every item ends in an outcome");
    assert_eq!(
        counts.applied + counts.already_in_state + counts.failed,
        plan.changes.len()
    );

    // Faults off: what the run reported must match what the target holds.
    controls.set_faults(FaultPlan::none());
    log = log.plus(&tap.sweep().minus(&mark));
    let after_first = Snapshot::take(target).await.expect("snapshot");
    check_outcomes_against(&report, &after_first, label);

    // Retry only the failures, faults on again, until nothing fails.
    let mut failed_per_round = Vec::new();
    let mut pending = report.failures_plan();
    let mut rounds = 0;
    let mut last_errors: Vec<String> = Vec::new();
    while !pending.is_empty() {
        rounds += 1;
        assert!(
            rounds <= 5,
            "{label}: failures did not converge: {failed_per_round:?}, e.g. {last_errors:#?}"
        );
        let mark = tap.sweep();
        controls.set_faults(faults());
        let again = engine::execute(&pending, target, &options)
            .await
            .expect("execute the failures");
        controls.set_faults(FaultPlan::none());
        log = log.plus(&tap.sweep().minus(&mark));
        let snap = Snapshot::take(target).await.expect("snapshot");
        check_outcomes_against(&again, &snap, label);
        failed_per_round.push(again.counts().failed);
        last_errors = again
            .items
            .iter()
            .filter_map(|i| match &i.outcome {
                Some(Outcome::Failed(e)) => Some(format!("{e} <- {:?}", i.change)),
                _ => None,
            })
            .take(3)
            .collect();
        pending = again.failures_plan();
    }
    let client = stats();
    let client = Stats {
        requests: client.requests - stats_before.requests,
        retries: client.retries - stats_before.retries,
        rate_limited: client.rate_limited - stats_before.rate_limited,
        transport_errors: client.transport_errors - stats_before.transport_errors,
        backoff: client.backoff.saturating_sub(stats_before.backoff),
        ..client
    };
    let wall = wall.elapsed();
    let virtual_time = virtual_start.elapsed();

    // A fresh snapshot equals the desired state: nothing is left to do.
    let after = Snapshot::take(target).await.expect("final snapshot");
    let left = engine::plan(
        &engine::translate(source, mapping, &after).expect("translate"),
        &after,
        Mode::Additive,
    );
    assert!(
        left.is_empty(),
        "{label}: {} change(s) left after convergence, e.g. {:?}",
        left.changes.len(),
        left.changes.first()
    );
    for change in &plan.changes {
        assert!(holds(change, &after), "{label}: not in effect: {change:?}");
    }
    // The planner is not its own judge: the final state is also compared with one
    // computed from the state before the run and the desired state alone.
    assert_additive_result(label, &current, &desired, &after);
    // The faults really struck the run, of every kind asked for.
    assert!(
        log.server_error > 0 && log.rate_limited > 0 && log.reset > 0 && log.truncated > 0,
        "{label}: every fault kind struck: {log:?}"
    );
    assert!(log.spikes > 0, "{label}: latency spikes struck: {log:?}");

    Figures {
        target: label,
        users,
        planned: plan.changes.len(),
        applied: counts.applied,
        already: counts.already_in_state,
        failed_first_run: counts.failed,
        retry_rounds: rounds,
        failed_per_round,
        log,
        client,
        wall,
        virtual_time,
    }
}

// ---- raw vendor state: no duplicates --------------------------------------------------

async fn assert_no_duplicates_segment(client: &segment::SegmentClient) {
    let users: Vec<segment::wire::User> = client
        .stream_users(200)
        .try_collect()
        .await
        .expect("list users");
    let mut pairs_total = 0;
    for user in &users {
        let mut pairs = BTreeSet::new();
        for p in user.permissions.iter().flatten() {
            for r in &p.resources {
                pairs_total += 1;
                assert!(
                    pairs.insert((p.role_id.clone(), r.id.clone(), format!("{:?}", r.kind))),
                    "segment user {} holds role {} on {} twice: {:?}",
                    user.id,
                    p.role_id,
                    r.id,
                    user.permissions
                );
            }
        }
    }
    assert!(pairs_total > users.len(), "the check saw the permissions");
    let groups: Vec<segment::wire::UserGroup> = client
        .stream_user_groups(200)
        .try_collect()
        .await
        .expect("list groups");
    for group in &groups {
        let members: Vec<segment::wire::MinimalUser> = client
            .stream_users_from_user_group(&group.id, 200)
            .try_collect()
            .await
            .expect("list members");
        let ids: BTreeSet<&str> = members.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids.len(),
            members.len(),
            "segment group {} lists a member twice",
            group.id
        );
    }
}

async fn assert_no_duplicates_pyramid(system: &pyramid::PyramidSystem) {
    let client = system.client();
    let tenant = system.tenant().as_str().to_owned();
    let roles = client
        .get_all_non_private_roles_by_tenant(&tenant)
        .await
        .expect("roles");
    let mut members_total = 0;
    for role in &roles {
        let Some(id) = role.role_id.as_deref() else {
            continue;
        };
        let users = client.get_users_by_role(id).await.expect("users of role");
        members_total += users.len();
        let ids: BTreeSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(
            ids.len(),
            users.len(),
            "pyramid role {} lists a user twice",
            role.role_name
        );
    }
    assert!(members_total > 0, "the check saw the role members");
    let profiles = client
        .get_all_profiles_by_tenant_id(&tenant)
        .await
        .expect("profiles");
    let mut bindings_total = 0;
    for profile in &profiles {
        let Some(id) = profile.profile_id.as_deref() else {
            continue;
        };
        let bound = client
            .get_all_roles_by_profile_id(id)
            .await
            .expect("bindings");
        bindings_total += bound.len();
        let ids: BTreeSet<Option<&str>> = bound.iter().map(|r| r.role_id.as_deref()).collect();
        assert_eq!(
            ids.len(),
            bound.len(),
            "pyramid profile {} bound twice to a role",
            profile.name
        );
    }
    // The mapping binds no profile to a role: the run must not have made any.
    assert_eq!(bindings_total, 0, "pyramid profile bindings appeared");
    // A private profile is one id per user on the wire, so it cannot be doubled; the
    // memberships are checked once more from the users' side.
    let users = client
        .get_all_users_by_tenant(&tenant)
        .await
        .expect("users");
    let mut held = 0;
    for user in &users {
        let Some(id) = user.id.as_deref() else {
            continue;
        };
        let roles = client
            .get_all_roles_by_user(id)
            .await
            .expect("roles of user");
        held += roles.len();
        let ids: BTreeSet<Option<&str>> = roles.iter().map(|r| r.id.as_deref()).collect();
        assert_eq!(
            ids.len(),
            roles.len(),
            "pyramid user {id} is in a role twice"
        );
    }
    assert!(
        held >= members_total,
        "the users' side shows the memberships"
    );
}

// ---- the scenario ---------------------------------------------------------------------

async fn scenario(users: usize, seed_offset: u64) -> (Figures, Figures) {
    // The source is quiet: faults strike the targets only.
    let visier_sb = visier::sandbox::VisierSandbox::start(
        visier::sandbox::Seed::Generated { users },
        SandboxOptions::default(),
    )
    .await
    .expect("visier sandbox");
    let mut config = visier_sb.config();
    config.options = transport(config.options);
    let visier = visier::VisierSystem::connect(config)
        .await
        .expect("connect visier");
    let source = Snapshot::take(&visier).await.expect("source snapshot");
    assert_eq!(source.users.len(), users);

    // --- Segment ---
    let segment_sb = segment::sandbox::SegmentSandbox::start(
        segment::sandbox::Seed::Generated { users },
        SandboxOptions::default().with_seed(SEGMENT_FAULT_SEED + seed_offset),
    )
    .await
    .expect("segment sandbox");
    let mut config = segment_sb.config();
    config.options = transport(config.options);
    let segment = segment::SegmentSystem::connect(config)
        .await
        .expect("connect segment");
    let before = Snapshot::take(&segment).await.expect("segment snapshot");
    let mapping = segment_mapping(&source, &before, &segment.workspace().id);
    let tap = Tap::new(segment_sb.log(), segment_write);
    let seg_stats = || segment.client().http().stats();
    let seg = migrate_under_faults(
        "segment",
        users,
        &source,
        &segment,
        &mapping,
        &segment_sb.controls(),
        &tap,
        &seg_stats,
    )
    .await;
    assert_no_duplicates_segment(segment.client()).await;
    println!("{seg}");

    // --- Pyramid ---
    let pyramid_sb = pyramid::sandbox::PyramidSandbox::start(
        pyramid::sandbox::Seed::Generated { users },
        SandboxOptions::default().with_seed(PYRAMID_FAULT_SEED + seed_offset),
    )
    .await
    .expect("pyramid sandbox");
    let mut config = pyramid_sb.config();
    config.options = transport(config.options);
    let pyramid = pyramid::PyramidSystem::connect(config)
        .await
        .expect("connect pyramid");
    let before = Snapshot::take(&pyramid).await.expect("pyramid snapshot");
    let mapping = pyramid_mapping(&source, &before, pyramid.tenant().as_str());
    let tap = Tap::new(pyramid_sb.log(), pyramid_write);
    let pyr_stats = || pyramid.client().http().stats();
    let pyr = migrate_under_faults(
        "pyramid",
        users,
        &source,
        &pyramid,
        &mapping,
        &pyramid_sb.controls(),
        &tap,
        &pyr_stats,
    )
    .await;
    assert_no_duplicates_pyramid(&pyramid).await;
    println!("{pyr}");

    visier_sb.shutdown().await;
    segment_sb.shutdown().await;
    pyramid_sb.shutdown().await;
    (seg, pyr)
}

#[tokio::test(start_paused = true)]
async fn thousand_user_migrations_survive_faults_and_converge() {
    let (seg, pyr) = scenario(1_000, 0).await;
    for f in [&seg, &pyr] {
        // Faults were injected at roughly the asked-for rates (loose bounds: a few
        // thousand draws from a fixed seed).
        let n = f.log.requests as f64;
        assert!(n > 1_000.0, "{}: {n} requests", f.target);
        let share = f.log.injected() as f64 / n;
        assert!(
            (0.10..0.27).contains(&share),
            "{}: {share} of requests faulted",
            f.target
        );
    }
}

/// The long variant: 10x the users under one more fault seed, then five more seeds at
/// 1,000 users. Figures in docs/reliability.md.
#[tokio::test(start_paused = true)]
#[ignore = "long: 10,000 users, then 1,000 users under five more fault seeds; run with --ignored"]
async fn long_migrations_ten_thousand_users_and_more_fault_seeds() {
    scenario(10_000, 1).await;
    for offset in 2..=6 {
        scenario(1_000, offset).await;
    }
}

#[test]
fn changes_of_a_plan_are_checked_against_snapshots() {
    // `holds` must be able to say no: an empty snapshot holds no grant.
    let empty = Snapshot::from_parts(
        core::SystemId::new("t").expect("id"),
        core::Timestamp::now(),
        core::Capabilities::full(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let grant = Change::AddMember {
        membership: core::Membership::new(
            core::UserId::new("u").expect("id"),
            core::GroupId::new("g").expect("id"),
        ),
    };
    assert!(!holds(&grant, &empty));
    assert!(holds(&grant.inverse(), &empty));

    // The independent oracle must be able to say no as well: a desired membership or
    // grant the target lacks, or one it holds without being asked to.
    let Change::AddMember { membership } = grant else {
        unreachable!()
    };
    let assignment = core::Assignment::new(
        core::Principal::Group(core::GroupId::new("g").expect("id")),
        core::ProfileId::new("p").expect("id"),
        core::Scope::System,
    );
    let desired = |assignments: Vec<core::Assignment>, memberships| engine::Desired {
        source: core::SystemId::new("s").expect("id"),
        target: core::SystemId::new("t").expect("id"),
        target_capabilities: core::Capabilities::full(),
        as_of: core::Timestamp::now(),
        assignments,
        memberships,
        manages_memberships: false,
        skipped: Vec::new(),
        warnings: Vec::new(),
        carried_assignments: Vec::new(),
        carried_memberships: Vec::new(),
    };
    let holding = |assignments, memberships| {
        Snapshot::from_parts(
            core::SystemId::new("t").expect("id"),
            core::Timestamp::now(),
            core::Capabilities::full(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            memberships,
            assignments,
        )
    };
    let wanted = desired(vec![assignment.clone()], vec![membership.clone()]);
    let done = holding(vec![assignment.clone()], vec![membership.clone()]);
    assert_additive_result("ok", &empty, &wanted, &done);
    let fails = |after: Snapshot, wanted: engine::Desired| {
        std::panic::catch_unwind(|| assert_additive_result("x", &empty, &wanted, &after)).is_err()
    };
    assert!(fails(
        holding(vec![], vec![membership.clone()]),
        wanted.clone()
    ));
    assert!(fails(
        holding(vec![assignment.clone()], vec![]),
        wanted.clone()
    ));
    assert!(fails(
        done.clone(),
        desired(vec![], vec![membership.clone()])
    ));
    assert!(fails(done, desired(vec![assignment], vec![])));
}
