//! Calls and wall time of grantbridge against each vendor's sandbox, next to the
//! minimum the vendor's API allows and the lower bound
//! `max(calls × latency / concurrency, calls / rate)`; and the same migration done
//! the naive way (one request per user, sequential, over the client's single-item
//! method).
//!
//! ```text
//! cargo run --release -p grantbridge --all-features --example bench_vendors            # 10,000 users
//! cargo run --release -p grantbridge --all-features --example bench_vendors -- --quick # 1,000 users
//! ```
//!
//! Every sandbox answers after 30 ms. Rate windows are the vendors' published ones
//! with time compressed by a per-vendor scale (a window of `60/min` at scale 200 is 60
//! requests per 300 ms), on the sandbox and on the client alike. The formulas of the
//! minimum per vendor are in `docs/performance.md`. Nothing here asserts a speed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use grantbridge::core::engine::{Change, ExecuteOptions, Plan, Snapshot, execute};
use grantbridge::core::http::{HttpClient, RateLimit, RateLimitPolicy, RetryPolicy, Stats};
use grantbridge::core::prelude::*;
use grantbridge::core::sandbox::{LOG_CAPACITY, RateWindow, RequestLog, SandboxOptions};
use grantbridge::core::{Assignment, Principal, ProfileId, Scope, UserStatus};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The latency every sandbox adds to each request.
const LATENCY: Duration = Duration::from_millis(30);
/// Requests in flight per client (`RateLimitPolicy::default().max_concurrency`).
const CONCURRENCY: usize = 8;

/// One measured step.
struct Row {
    vendor: &'static str,
    step: String,
    calls: usize,
    minimum: usize,
    wall: Duration,
    /// Seconds the scaled rate windows need for these calls at least (0: unlimited).
    rate_secs: f64,
    /// Requests in flight the lower bound assumes.
    concurrency: usize,
    refused: usize,
    failed: usize,
}

impl Row {
    fn lower_bound(&self) -> Duration {
        let calls = self.calls as f64;
        let by_latency = calls * LATENCY.as_secs_f64() / self.concurrency as f64;
        Duration::from_secs_f64(by_latency.max(self.rate_secs))
    }
}

/// The requests of one step: totals from the client's counters, the breakdown by
/// endpoint from the sandbox log (which keeps at most `LOG_CAPACITY` entries).
struct Counted {
    calls: usize,
    /// Requests of the write classes (Segment's IAM mutations).
    writes: usize,
    refused: usize,
    by_endpoint: BTreeMap<String, usize>,
    /// Whether the log was full, so the breakdown misses requests.
    partial: bool,
}

/// The client's counters per endpoint class at the start of a step.
struct Probe(BTreeMap<String, Stats>);

impl Probe {
    fn start(http: &HttpClient) -> Probe {
        Probe(http.class_stats())
    }
}

/// Counts the step since `probe`, restarts the probe and clears the log.
fn count(log: &RequestLog, http: &HttpClient, probe: &mut Probe) -> Counted {
    let now = http.class_stats();
    let mut calls = 0;
    let mut writes = 0;
    let mut refused = 0;
    for (class, stats) in &now {
        let before = probe.0.get(class).copied().unwrap_or_default();
        let n = (stats.requests - before.requests) as usize;
        calls += n;
        refused += (stats.rate_limited - before.rate_limited) as usize;
        if class.contains("write") || class.contains("mutation") {
            writes += n;
        }
    }
    probe.0 = now;
    let entries = log.entries();
    log.clear();
    let mut by_endpoint = BTreeMap::new();
    for e in &entries {
        // Ids become `{id}` so the breakdown shows operations, not users.
        let shape: Vec<&str> = e
            .path
            .split('/')
            .map(|s| {
                let pyramid_method = e.path.starts_with("/API2/");
                if s.contains('@')
                    || (s.len() > 4 && s.bytes().any(|b| b.is_ascii_digit()))
                    || (s.len() >= 16 && !pyramid_method)
                {
                    "{id}"
                } else {
                    s
                }
            })
            .collect();
        *by_endpoint
            .entry(format!("{} {}", e.method, shape.join("/")))
            .or_insert(0) += 1;
    }
    Counted {
        calls,
        writes,
        refused,
        partial: entries.len() >= LOG_CAPACITY,
        by_endpoint,
    }
}

fn breakdown(c: &Counted) -> String {
    let list = c
        .by_endpoint
        .iter()
        .map(|(k, v)| format!("{k} ×{v}"))
        .collect::<Vec<_>>()
        .join(", ");
    if c.partial {
        format!("{list} (the sandbox log keeps {LOG_CAPACITY}: partial)")
    } else {
        list
    }
}

fn print_rows(rows: &[Row]) {
    println!();
    println!(
        "| vendor | step | calls | minimum | calls/min | wall | lower bound | wall/bound | 429s | failed |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let lb = r.lower_bound();
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} s | {:.2} s | {:.2} | {} | {} |",
            r.vendor,
            r.step,
            r.calls,
            r.minimum,
            r.calls as f64 / r.minimum.max(1) as f64,
            r.wall.as_secs_f64(),
            lb.as_secs_f64(),
            r.wall.as_secs_f64() / lb.as_secs_f64().max(1e-9),
            r.refused,
            r.failed,
        );
    }
}

fn latency_only() -> SandboxOptions {
    SandboxOptions::default().with_latency(LATENCY, Duration::ZERO)
}

/// Runs a plan and returns its wall time and failed items.
async fn run_plan(
    system: &dyn AccessSystem,
    grants: Vec<Assignment>,
) -> BoxResult<(Duration, usize)> {
    let changes = grants
        .into_iter()
        .map(|assignment| Change::Grant {
            assignment,
            previous: None,
        })
        .collect();
    let plan = Plan::from_changes(system.id().clone(), changes, false);
    let start = Instant::now();
    let report = execute(&plan, system, &ExecuteOptions::default()).await?;
    Ok((start.elapsed(), report.counts().failed))
}

fn ceil_div(a: usize, b: usize) -> usize {
    a.div_ceil(b)
}

/// Offset or cursor paging that stops on a short page: `n / page + 1` calls.
fn pages(n: usize, page: usize) -> usize {
    n / page + 1
}

/// Cursor paging whose last page carries no `next`: `⌈n / page⌉` calls, at least one.
fn cursor_pages(n: usize, page: usize) -> usize {
    n.div_ceil(page).max(1)
}

mod visier {
    use super::*;
    use grantbridge::visier::VisierSystem;
    use grantbridge::visier::adapter::MAX_USERS_PER_CALL;
    use grantbridge::visier::sandbox::{Seed, VisierSandbox};
    use grantbridge::visier::wire::LocalTenantProfileAssignmentRequestDto;

    /// Visier publishes 100 calls/min and 6000/h per API key; time runs 100× faster.
    pub const SCALE: u32 = 100;
    const PAGE: usize = 1000;

    fn options() -> SandboxOptions {
        latency_only()
            .with_rate_limit(RateWindow::new(100, Duration::from_secs(60) / SCALE))
            .with_global_rate_limit(RateWindow::new(6000, Duration::from_secs(3600) / SCALE))
    }

    /// Both windows allow 100 × SCALE calls per minute on average.
    fn rate_secs(c: &Counted) -> f64 {
        c.calls as f64 / (100.0 * f64::from(SCALE) / 60.0)
    }

    async fn connect(sandbox: &VisierSandbox) -> BoxResult<VisierSystem> {
        let config = sandbox.config();
        let options = config
            .options
            .clone()
            .rate_limits(
                RateLimitPolicy::default()
                    .default_limit(RateLimit::new(100, Duration::from_secs(60) / SCALE))
                    .default_limit(RateLimit::new(6000, Duration::from_secs(3600) / SCALE)),
            )
            .retry(RetryPolicy::default());
        let config = config.with_options(options);
        Ok(VisierSystem::connect(config).await?)
    }

    pub async fn run(users: usize, naive_sample: usize, rows: &mut Vec<Row>) -> BoxResult<()> {
        let sandbox = VisierSandbox::start(Seed::Generated { users }, options()).await?;
        let system = connect(&sandbox).await?;
        sandbox.log().clear();
        let mut probe = Probe::start(system.client().http());

        let start = Instant::now();
        let snapshot = Snapshot::take(&system).await?;
        let wall = start.elapsed();
        let c = count(&sandbox.log(), system.client().http(), &mut probe);
        println!("visier snapshot: {}", breakdown(&c));
        // Users (with their local profiles and groups) pages, the group pages, the
        // profile list; no analytic reads on a non-administrating tenant.
        let minimum = pages(snapshot.users.len(), PAGE) + pages(snapshot.groups.len(), PAGE) + 1;
        rows.push(Row {
            vendor: "Visier",
            step: format!("snapshot {} users", snapshot.users.len()),
            calls: c.calls,
            minimum,
            wall,
            rate_secs: rate_secs(&c),
            concurrency: CONCURRENCY,
            refused: c.refused,
            failed: 0,
        });

        // Each user also gets the next of the three profiles.
        let profiles: Vec<ProfileId> = snapshot.profiles.iter().map(|p| p.id.clone()).collect();
        let held: BTreeSet<(Principal, ProfileId)> = snapshot
            .assignments
            .iter()
            .map(|a| (a.principal.clone(), a.profile.clone()))
            .collect();
        let grants: Vec<Assignment> = snapshot
            .users
            .iter()
            .filter_map(|u| {
                let who = Principal::User(u.id.clone());
                let profile = profiles
                    .iter()
                    .find(|p| !held.contains(&(who.clone(), (*p).clone())))?;
                Some(Assignment::new(who, profile.clone(), Scope::System))
            })
            .take(users)
            .collect();
        let mut per_profile: BTreeMap<&ProfileId, usize> = BTreeMap::new();
        for g in &grants {
            *per_profile.entry(&g.profile).or_insert(0) += 1;
        }
        // One assign call per profile and window, up to 1000 users each.
        let minimum: usize = per_profile
            .values()
            .map(|n| ceil_div(*n, MAX_USERS_PER_CALL))
            .sum();
        let n = grants.len();
        let sample: Vec<(String, String)> = grants
            .iter()
            .take(naive_sample)
            .filter_map(|a| match &a.principal {
                Principal::User(u) => Some((a.profile.as_str().to_owned(), u.as_str().to_owned())),
                _ => None,
            })
            .collect();
        let (wall, failed) = run_plan(&system, grants).await?;
        let c = count(&sandbox.log(), system.client().http(), &mut probe);
        println!("visier migration: {}", breakdown(&c));
        rows.push(Row {
            vendor: "Visier",
            step: format!("migrate {n} assignments"),
            calls: c.calls,
            minimum,
            wall,
            rate_secs: rate_secs(&c),
            concurrency: CONCURRENCY,
            refused: c.refused,
            failed,
        });
        sandbox.shutdown().await;

        // Naive: a fresh tenant, one assign call per user, one after the other.
        let sandbox = VisierSandbox::start(Seed::Generated { users }, options()).await?;
        let system = connect(&sandbox).await?;
        sandbox.log().clear();
        let mut probe = Probe::start(system.client().http());
        let client = system.client();
        let start = Instant::now();
        let mut failed = 0;
        for (profile, user) in &sample {
            let body = LocalTenantProfileAssignmentRequestDto {
                target_user_ids: vec![user.clone()],
                ..Default::default()
            };
            if client.assign_profile(profile, &body).await.is_err() {
                failed += 1;
            }
        }
        let sample_wall = start.elapsed();
        let c = count(&sandbox.log(), system.client().http(), &mut probe);
        rows.push(naive_row(
            "Visier",
            n,
            minimum,
            sample.len(),
            sample_wall,
            &c,
            rate_secs(&c),
            failed,
        ));
        sandbox.shutdown().await;
        Ok(())
    }
}

/// The naive run's figures, extrapolated from `sample` users to `n`.
#[allow(clippy::too_many_arguments)]
fn naive_row(
    vendor: &'static str,
    n: usize,
    minimum: usize,
    sample: usize,
    sample_wall: Duration,
    c: &Counted,
    rate_secs: f64,
    failed: usize,
) -> Row {
    let factor = n as f64 / sample.max(1) as f64;
    Row {
        vendor,
        step: format!("naive migrate {n} (extrapolated ×{factor:.0} from {sample} users)"),
        calls: (c.calls as f64 * factor).round() as usize,
        minimum,
        wall: sample_wall.mul_f64(factor),
        rate_secs: rate_secs * factor,
        concurrency: 1,
        refused: c.refused,
        failed,
    }
}

mod segment {
    use super::*;
    use grantbridge::segment::sandbox::{READ_CLASS, Seed, SegmentSandbox};
    use grantbridge::segment::wire::{PermissionInput, PermissionResource, ResourceType};
    use grantbridge::segment::{IAM_MUTATION, SegmentSystem};

    /// Segment publishes 60 IAM mutations per minute; reads have an undocumented limit
    /// (the sandbox assumes 6000/min). Time runs 200× faster.
    pub const SCALE: u32 = 200;
    const PAGE: u32 = 1000;

    fn options() -> SandboxOptions {
        latency_only()
            .with_class_rate_limit(
                IAM_MUTATION,
                RateWindow::new(60, Duration::from_secs(60) / SCALE),
            )
            .with_class_rate_limit(
                READ_CLASS,
                RateWindow::new(6000, Duration::from_secs(60) / SCALE),
            )
    }

    /// Mutations and reads have separate windows, used in parallel.
    fn rate_secs(c: &Counted) -> f64 {
        let writes = c.writes as f64 / (60.0 * f64::from(SCALE) / 60.0);
        let reads = (c.calls - c.writes) as f64 / (6000.0 * f64::from(SCALE) / 60.0);
        writes.max(reads)
    }

    /// Each active user also gets a role it does not hold, on the workspace.
    fn grants_for(
        system: &SegmentSystem,
        snapshot: &Snapshot,
        users: usize,
    ) -> BoxResult<(ProfileId, Vec<Assignment>)> {
        let held: BTreeSet<&ProfileId> = snapshot.assignments.iter().map(|a| &a.profile).collect();
        let role = snapshot
            .profiles
            .iter()
            .find(|p| !held.contains(&p.id))
            .ok_or("no unused role")?
            .id
            .clone();
        let scope = system.workspace_scope([])?;
        let grants = snapshot
            .users
            .iter()
            .filter(|u| u.status != UserStatus::Invited)
            .take(users)
            .map(|u| Assignment::new(Principal::User(u.id.clone()), role.clone(), scope.clone()))
            .collect();
        Ok((role, grants))
    }

    pub async fn run(users: usize, naive_sample: usize, rows: &mut Vec<Row>) -> BoxResult<()> {
        let sandbox = SegmentSandbox::start(Seed::Generated { users }, options()).await?;
        let system = SegmentSystem::connect(sandbox.config())
            .await?
            .page_size(PAGE);
        sandbox.log().clear();
        let mut probe = Probe::start(system.client().http());

        let start = Instant::now();
        let snapshot = Snapshot::take(&system).await?;
        let wall = start.elapsed();
        let c = count(&sandbox.log(), system.client().http(), &mut probe);
        println!("segment snapshot: {}", breakdown(&c));
        let active = snapshot
            .users
            .iter()
            .filter(|u| u.status != UserStatus::Invited)
            .count();
        let invites = snapshot.users.len() - active;
        // Users (with permissions), invites, groups, roles pages; members and invites
        // of each group.
        let page = PAGE as usize;
        let groups = snapshot.groups.len();
        let invited: BTreeSet<_> = snapshot
            .users
            .iter()
            .filter(|u| u.status == UserStatus::Invited)
            .map(|u| &u.id)
            .collect();
        // (users, invites) per group.
        let mut members: BTreeMap<_, (usize, usize)> = BTreeMap::new();
        for m in &snapshot.memberships {
            let e = members.entry(&m.group).or_insert((0, 0));
            if invited.contains(&m.user) {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
        }
        let minimum = cursor_pages(active, page)
            + cursor_pages(invites, page)
            + cursor_pages(groups, page)
            + cursor_pages(snapshot.profiles.len(), page)
            + snapshot
                .groups
                .iter()
                .map(|g| {
                    let (u, i) = members.get(&g.id).copied().unwrap_or((0, 0));
                    cursor_pages(u, page) + cursor_pages(i, page)
                })
                .sum::<usize>();
        rows.push(Row {
            vendor: "Segment",
            step: format!("snapshot {active} users + {invites} invites"),
            calls: c.calls,
            minimum,
            wall,
            rate_secs: rate_secs(&c),
            concurrency: CONCURRENCY,
            refused: c.refused,
            failed: 0,
        });

        let (role, grants) = grants_for(&system, &snapshot, users)?;
        let workspace = system.workspace().id.clone();
        let n = grants.len();
        // One `addPermissionsToUser` per user (it appends: no read needed).
        let minimum = n;
        let sample: Vec<String> = grants
            .iter()
            .take(naive_sample)
            .filter_map(|a| match &a.principal {
                Principal::User(u) => Some(u.as_str().to_owned()),
                _ => None,
            })
            .collect();
        let (wall, failed) = run_plan(&system, grants).await?;
        let c = count(&sandbox.log(), system.client().http(), &mut probe);
        println!("segment migration: {}", breakdown(&c));
        rows.push(Row {
            vendor: "Segment",
            step: format!("migrate {n} assignments"),
            calls: c.calls,
            minimum,
            wall,
            rate_secs: rate_secs(&c),
            concurrency: CONCURRENCY,
            refused: c.refused,
            failed,
        });
        sandbox.shutdown().await;

        // The same, with the adapter's option to trust the state the snapshot just
        // listed instead of re-reading each principal before its write.
        let sandbox = SegmentSandbox::start(Seed::Generated { users }, options()).await?;
        let system = SegmentSystem::connect(sandbox.config())
            .await?
            .page_size(PAGE)
            .reuse_listed_state(Duration::from_secs(600));
        let snapshot = Snapshot::take(&system).await?;
        let (_, grants) = grants_for(&system, &snapshot, users)?;
        sandbox.log().clear();
        let mut probe = Probe::start(system.client().http());
        let (wall, failed) = run_plan(&system, grants).await?;
        let c = count(&sandbox.log(), system.client().http(), &mut probe);
        println!("segment migration (reuse_listed_state): {}", breakdown(&c));
        rows.push(Row {
            vendor: "Segment",
            step: format!("migrate {n} assignments, reuse_listed_state"),
            calls: c.calls,
            minimum,
            wall,
            rate_secs: rate_secs(&c),
            concurrency: CONCURRENCY,
            refused: c.refused,
            failed,
        });
        sandbox.shutdown().await;

        let sandbox = SegmentSandbox::start(Seed::Generated { users }, options()).await?;
        let system = SegmentSystem::connect(sandbox.config()).await?;
        sandbox.log().clear();
        let mut probe = Probe::start(system.client().http());
        let client = system.client();
        let permission = PermissionInput {
            role_id: role.as_str().to_owned(),
            resources: vec![PermissionResource::new(ResourceType::Workspace, workspace)],
        };
        let start = Instant::now();
        let mut failed = 0;
        for user in &sample {
            if client
                .add_permissions_to_user(user, std::slice::from_ref(&permission))
                .await
                .is_err()
            {
                failed += 1;
            }
        }
        let sample_wall = start.elapsed();
        let c = count(&sandbox.log(), system.client().http(), &mut probe);
        rows.push(naive_row(
            "Segment",
            n,
            minimum,
            sample.len(),
            sample_wall,
            &c,
            rate_secs(&c),
            failed,
        ));
        sandbox.shutdown().await;
        Ok(())
    }
}

mod pyramid {
    use super::*;
    use grantbridge::pyramid::PyramidSystem;
    use grantbridge::pyramid::sandbox::{PyramidSandbox, Seed};
    use grantbridge::pyramid::wire::UpdateUserDb;

    pub async fn run(users: usize, naive_sample: usize, rows: &mut Vec<Row>) -> BoxResult<()> {
        // Pyramid documents no rate limit: none is configured on either side.
        let sandbox = PyramidSandbox::start(Seed::Generated { users }, latency_only()).await?;
        let system = PyramidSystem::connect(sandbox.config()).await?;
        sandbox.log().clear();
        let mut probe = Probe::start(system.client().http());

        let start = Instant::now();
        let snapshot = Snapshot::take(&system).await?;
        let wall = start.elapsed();
        let c = count(&sandbox.log(), system.client().http(), &mut probe);
        println!("pyramid snapshot: {}", breakdown(&c));
        // No paging and no bulk read of private profiles: the user ids, the users of
        // each of the 3 license types (their roles included), the roles, the
        // profiles, then one read per profile (its roles) and per user (its private
        // profile).
        let minimum = 1 + 3 + 1 + 1 + snapshot.profiles.len() + snapshot.users.len();
        rows.push(Row {
            vendor: "Pyramid",
            step: format!("snapshot {} users", snapshot.users.len()),
            calls: c.calls,
            minimum,
            wall,
            rate_secs: 0.0,
            concurrency: CONCURRENCY,
            refused: c.refused,
            failed: 0,
        });

        // Each user (not the administrator) gets a private profile, round robin.
        let profiles: Vec<ProfileId> = snapshot.profiles.iter().map(|p| p.id.clone()).collect();
        let held: BTreeSet<&Principal> =
            snapshot.assignments.iter().map(|a| &a.principal).collect();
        let grants: Vec<Assignment> = snapshot
            .users
            .iter()
            .map(|u| Principal::User(u.id.clone()))
            .filter(|p| !held.contains(p))
            .take(users)
            .enumerate()
            .map(|(i, who)| {
                Assignment::new(who, profiles[i % profiles.len()].clone(), system.scope())
            })
            .collect();
        let n = grants.len();
        // One `updateUserDb` per user.
        let minimum = n;
        let sample: Vec<(String, String)> = grants
            .iter()
            .take(naive_sample)
            .filter_map(|a| match &a.principal {
                Principal::User(u) => Some((u.as_str().to_owned(), a.profile.as_str().to_owned())),
                _ => None,
            })
            .collect();
        let (wall, failed) = run_plan(&system, grants).await?;
        let c = count(&sandbox.log(), system.client().http(), &mut probe);
        println!("pyramid migration: {}", breakdown(&c));
        rows.push(Row {
            vendor: "Pyramid",
            step: format!("migrate {n} assignments"),
            calls: c.calls,
            minimum,
            wall,
            rate_secs: 0.0,
            concurrency: CONCURRENCY,
            refused: c.refused,
            failed,
        });
        sandbox.shutdown().await;

        let sandbox = PyramidSandbox::start(Seed::Generated { users }, latency_only()).await?;
        let system = PyramidSystem::connect(sandbox.config()).await?;
        sandbox.log().clear();
        let mut probe = Probe::start(system.client().http());
        let client = system.client();
        let start = Instant::now();
        let mut failed = 0;
        for (user, profile) in &sample {
            let body = UpdateUserDb {
                id: user.clone(),
                profile_id: Some(Some(profile.clone())),
                ..Default::default()
            };
            if client.update_user_db(&body).await.is_err() {
                failed += 1;
            }
        }
        let sample_wall = start.elapsed();
        let c = count(&sandbox.log(), system.client().http(), &mut probe);
        rows.push(naive_row(
            "Pyramid",
            n,
            minimum,
            sample.len(),
            sample_wall,
            &c,
            0.0,
            failed,
        ));
        sandbox.shutdown().await;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> BoxResult<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (users, naive_sample) = if quick { (1_000, 50) } else { (10_000, 200) };
    println!(
        "{users} users per vendor, {} ms latency, {CONCURRENCY} requests in flight; \
         windows scaled: Visier ×{}, Segment ×{}, Pyramid none (unpublished)",
        LATENCY.as_millis(),
        visier::SCALE,
        segment::SCALE
    );
    let mut rows = Vec::new();
    visier::run(users, naive_sample, &mut rows).await?;
    segment::run(users, naive_sample, &mut rows).await?;
    pyramid::run(users, naive_sample, &mut rows).await?;
    print_rows(&rows);
    Ok(())
}
