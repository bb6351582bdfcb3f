//! Crash/resume of `grantbridge apply`: the process is killed (SIGKILL) at seeded random
//! points and started again with the same command until it finishes. The Segment
//! emulator runs in this test process, so its request log survives every kill; from it
//! the test counts, for every (principal, role, resource), how many handled
//! `PUT …/permissions` (Segment's read-modify-write replace) added it compared with
//! the principal's previous body. Each planned grant must be added exactly once, no
//! other pair added, none removed, and the final state must equal the goal.
//!
//! `cargo test -p grantbridge-cli --all-features --test crash_resume` runs the short
//! variant; `-- --ignored` adds the long one (results in docs/reliability-cli.md).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use grantbridge_core::engine::{Change, Plan, RunReport, Snapshot};
use grantbridge_core::sandbox::{LoggedRequest, RateWindow, SandboxOptions};
use grantbridge_core::{Assignment, Principal, ProfileId, ResourceId, ResourceKind, Scope};
use grantbridge_segment::sandbox::{Seed, SegmentSandbox};
use grantbridge_segment::{IAM_MUTATION, SegmentSystem};

const BIN: &str = env!("CARGO_BIN_EXE_grantbridge");

/// splitmix64: a seeded source of kill points, reproducible without a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo).max(1))
    }
}

/// (principal path `users/ID` or `groups/ID`, role id, resource type, resource id,
/// sorted labels `key=value`).
type Pair = (String, String, String, String, Vec<String>);

fn principal_key(p: &Principal) -> String {
    match p {
        Principal::User(id) => format!("users/{id}"),
        Principal::Group(id) => format!("groups/{id}"),
    }
}

fn pair_of(a: &Assignment) -> Pair {
    let Scope::Resource { kind, id, labels } = &a.scope else {
        panic!("a Segment assignment has a resource scope: {a:?}");
    };
    (
        principal_key(&a.principal),
        a.profile.to_string(),
        kind.to_string(),
        id.to_string(),
        labels
            .iter()
            .map(|l| format!("{}={}", l.key, l.value))
            .collect(),
    )
}

/// The pairs a replace body sets for `principal`.
fn pairs_of_body(principal: &str, body: &serde_json::Value) -> BTreeSet<Pair> {
    let mut out = BTreeSet::new();
    for perm in body["permissions"].as_array().expect("permissions array") {
        let role = perm["roleId"].as_str().expect("roleId").to_owned();
        for r in perm["resources"].as_array().expect("resources") {
            let mut labels: Vec<String> = r["labels"]
                .as_array()
                .map(|ls| {
                    ls.iter()
                        .map(|l| {
                            format!(
                                "{}={}",
                                l["key"].as_str().unwrap_or_default(),
                                l["value"].as_str().unwrap_or_default()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            labels.sort();
            out.insert((
                principal.to_owned(),
                role.clone(),
                r["type"].as_str().expect("type").to_owned(),
                r["id"].as_str().expect("id").to_owned(),
                labels,
            ));
        }
    }
    out
}

/// What the request log shows the runs did.
#[derive(Debug, Default)]
struct Writes {
    /// How many handled writes added each pair.
    added: BTreeMap<Pair, usize>,
    /// Pairs a handled write dropped.
    removed: BTreeSet<Pair>,
    /// Handled permission writes in all.
    puts: usize,
    /// Handled `POST …/permissions` (append) requests: the adapter should send none.
    appends: usize,
}

fn count_writes(initial: &Snapshot, log: &[LoggedRequest]) -> Writes {
    let mut held: BTreeMap<String, BTreeSet<Pair>> = BTreeMap::new();
    for a in &initial.assignments {
        let p = pair_of(a);
        held.entry(p.0.clone()).or_default().insert(p);
    }
    let mut w = Writes::default();
    for e in log {
        let Some(principal) = e
            .path
            .strip_prefix('/')
            .and_then(|p| p.strip_suffix("/permissions"))
        else {
            continue;
        };
        if !e.handled || !(200..300).contains(&e.status) {
            continue;
        }
        match e.method.as_str() {
            "PUT" => {
                w.puts += 1;
                let body = e.body_json().expect("a JSON replace body");
                let now = pairs_of_body(principal, &body);
                let before = held.entry(principal.to_owned()).or_default();
                for p in now.difference(before) {
                    *w.added.entry(p.clone()).or_default() += 1;
                }
                w.removed.extend(before.difference(&now).cloned());
                *before = now;
            }
            "POST" => w.appends += 1,
            _ => {}
        }
    }
    w
}

/// The plan: a few hundred grants on the generated workspace, several per principal
/// for some users and for the groups, so batches group principals.
fn grant_plan(snap: &Snapshot, workspace: &str, users: usize) -> Plan {
    let role = |name: &str| -> ProfileId {
        snap.profiles
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("role {name}"))
            .id
            .clone()
    };
    let member = role("Workspace Member");
    let tracking = role("Tracking Plan Read-only");
    let scope = Scope::Resource {
        kind: ResourceKind::new("WORKSPACE").expect("kind"),
        id: ResourceId::new(workspace).expect("id"),
        labels: BTreeSet::new(),
    };
    let mut changes = Vec::new();
    let mut grant = |principal: Principal, profile: &ProfileId| {
        changes.push(Change::Grant {
            assignment: Assignment::new(principal, profile.clone(), scope.clone()),
            previous: None,
        });
    };
    // Pending invites are listed as users, but their permissions are out of reach.
    let mut people: Vec<_> = snap
        .users
        .iter()
        .filter(|u| !u.id.as_str().contains('@'))
        .collect();
    people.sort_by(|a, b| a.id.cmp(&b.id));
    for (n, u) in people.iter().take(users).enumerate() {
        grant(Principal::User(u.id.clone()), &member);
        if n % 3 == 0 {
            grant(Principal::User(u.id.clone()), &tracking);
        }
    }
    for g in &snap.groups {
        grant(Principal::Group(g.id.clone()), &member);
        grant(Principal::Group(g.id.clone()), &tracking);
    }
    // Deterministic order and batching, as `grantbridge plan` would write it.
    Plan::from_changes(snap.system.clone(), changes, false)
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// One kill or the final run.
#[derive(Debug)]
struct Attempt {
    killed: bool,
    /// Journal lines when the process ended.
    journal_lines: usize,
}

struct Scenario {
    seed: u64,
    users: usize,
    kills: usize,
    latency: Duration,
    batch_size: Option<usize>,
    /// Kill this long (a random part of) after the run's first journal write.
    kill_window_ms: (u64, u64),
}

struct Outcome {
    planned: usize,
    attempts: Vec<Attempt>,
    writes: Writes,
    requests: usize,
    wall: Duration,
}

fn run_scenario(s: &Scenario) -> Outcome {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let options = SandboxOptions::default()
        .with_latency(s.latency, Duration::ZERO)
        .with_seed(s.seed)
        // The CLI's emulators scale Segment's 60 mutations/min up the same way.
        .with_class_rate_limit(IAM_MUTATION, RateWindow::per_minute(6000));
    let sandbox = rt
        .block_on(SegmentSandbox::start(
            Seed::Generated { users: s.users },
            options,
        ))
        .expect("start the Segment emulator");
    let system = rt
        .block_on(SegmentSystem::connect(sandbox.config()))
        .expect("connect");
    let before = rt.block_on(Snapshot::take(&system)).expect("snapshot");
    let plan = grant_plan(&before, &system.workspace().id, s.users);
    let dir = tempfile::tempdir().expect("temp dir");
    plan.save(dir.path().join("plan.json")).expect("save plan");
    let journal = dir.path().join("plan.journal.jsonl");

    let log = sandbox.log();
    log.clear();
    let mut entries: Vec<LoggedRequest> = Vec::new();
    let mut rng = Rng(s.seed);
    let mut attempts = Vec::new();
    let started = Instant::now();
    loop {
        let kill_this = attempts.iter().filter(|a: &&Attempt| a.killed).count() < s.kills;
        let mut cmd = Command::new(BIN);
        cmd.args(["apply", "plan.json", "--to", "segment", "--yes"])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("SEGMENT_BASE_URL", sandbox.base_url())
            .env("SEGMENT_TOKEN", sandbox.token())
            .env("SEGMENT_RATE_LIMIT", "6000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(n) = s.batch_size {
            cmd.args(["--batch-size", &n.to_string()]);
        }
        let mut child = cmd.spawn().expect("spawn grantbridge apply");
        let at_start = lines(&journal);
        let mut killed = false;
        let status = if kill_this {
            // Wait for the run to start writing (a batch begun), then a random while.
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut exited = None;
            while exited.is_none()
                && lines(&journal) <= at_start.max(1)
                && Instant::now() < deadline
            {
                exited = child.try_wait().expect("poll");
                std::thread::sleep(Duration::from_millis(2));
            }
            if exited.is_none() {
                let until = Instant::now() + rng.millis(s.kill_window_ms.0, s.kill_window_ms.1);
                while exited.is_none() && Instant::now() < until {
                    exited = child.try_wait().expect("poll");
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            match exited {
                Some(status) => Some(status),
                None => {
                    child.kill().expect("SIGKILL");
                    killed = true;
                    Some(child.wait().expect("reap"))
                }
            }
        } else {
            Some(child.wait().expect("wait"))
        };
        let mut err = String::new();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read>),
        ]
        .into_iter()
        .flatten()
        {
            let mut pipe = pipe;
            let _ = pipe.read_to_string(&mut err);
        }
        // Requests of a killed run may still be in flight: the emulator finishes them
        // (as a real server would); they are collected with the next run's.
        entries.extend(log.entries());
        log.clear();
        let done = !killed;
        if done {
            assert_eq!(
                status.and_then(|s| s.code()),
                Some(0),
                "the final run failed:\n{err}"
            );
        }
        attempts.push(Attempt {
            killed,
            journal_lines: lines(&journal),
        });
        if done {
            break;
        }
        assert!(attempts.len() < s.kills + 50, "no convergence");
    }
    let wall = started.elapsed();
    // Let anything still in flight land before the final reads.
    std::thread::sleep(s.latency * 4);
    entries.extend(log.entries());
    entries.sort_by_key(|e| e.seq);

    // The final run's report: every item done, none failed.
    let report = RunReport::load(dir.path().join("plan.report.json")).expect("run report");
    let counts = report.counts();
    assert_eq!(counts.failed, 0, "{counts:?}");
    assert_eq!(
        counts.applied + counts.already_in_state,
        plan.changes.len(),
        "{counts:?}"
    );

    // Convergence: the state is the initial one plus every planned grant.
    let after = rt.block_on(Snapshot::take(&system)).expect("snapshot");
    let mut want: BTreeSet<Pair> = before.assignments.iter().map(pair_of).collect();
    let planned: BTreeSet<Pair> = plan
        .changes
        .iter()
        .map(|c| match c {
            Change::Grant { assignment, .. } => pair_of(assignment),
            other => panic!("only grants planned: {other:?}"),
        })
        .collect();
    want.extend(planned.iter().cloned());
    let got: BTreeSet<Pair> = after.assignments.iter().map(pair_of).collect();
    assert_eq!(got, want, "the final state is not the goal");

    // The run report of a resumed run rolls the whole run back, including what the
    // killed runs wrote before their batch was recorded as finished.
    let out = Command::new(BIN)
        .args(["rollback", "plan.report.json", "--to", "segment", "--yes"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("SEGMENT_BASE_URL", sandbox.base_url())
        .env("SEGMENT_TOKEN", sandbox.token())
        .env("SEGMENT_RATE_LIMIT", "6000")
        .output()
        .expect("run grantbridge rollback");
    assert_eq!(
        out.status.code(),
        Some(0),
        "rollback failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rolled = rt.block_on(Snapshot::take(&system)).expect("snapshot");
    let rolled: BTreeSet<Pair> = rolled.assignments.iter().map(pair_of).collect();
    let original: BTreeSet<Pair> = before.assignments.iter().map(pair_of).collect();
    let left: Vec<_> = rolled.difference(&original).collect();
    assert!(
        left.is_empty(),
        "after the rollback {} granted pair(s) remain, e.g. {:?}",
        left.len(),
        left.first()
    );
    assert_eq!(rolled, original, "the rollback did not restore the state");

    let writes = count_writes(&before, &entries);
    let requests = entries.len();
    rt.block_on(sandbox.shutdown());
    Outcome {
        planned: planned.len(),
        attempts,
        writes,
        requests,
        wall,
    }
}

/// The assertions every variant shares: exactly one addition per planned grant.
fn check(s: &Scenario, o: &Outcome, planned: &BTreeSet<Pair>) {
    let killed = o.attempts.iter().filter(|a| a.killed).count();
    assert!(
        killed >= s.kills.min(1),
        "no run was killed part-way: {:?}",
        o.attempts
    );
    assert_eq!(o.writes.appends, 0, "the adapter appended permissions");
    assert!(
        o.writes.removed.is_empty(),
        "pairs dropped: {:?}",
        o.writes.removed
    );
    let twice: Vec<_> = o.writes.added.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "added more than once: {twice:?}");
    let added: BTreeSet<&Pair> = o.writes.added.keys().collect();
    let planned_refs: BTreeSet<&Pair> = planned.iter().collect();
    assert_eq!(added, planned_refs, "additions differ from the plan");
}

fn planned_pairs(o: &Outcome, added: &BTreeMap<Pair, usize>) -> BTreeSet<Pair> {
    // `run_scenario` asserted that the final state is initial ∪ planned; planned pairs
    // are exactly the ones not held before (the plan only asks for missing ones).
    assert_eq!(added.len(), o.planned, "additions vs planned grants");
    added.keys().cloned().collect()
}

fn summary(s: &Scenario, o: &Outcome) -> String {
    let killed = o.attempts.iter().filter(|a| a.killed).count();
    let principals: BTreeSet<&String> = o.writes.added.keys().map(|p| &p.0).collect();
    format!(
        "seed {} batch {:?}: {} planned grants on {} principals, {} runs ({} killed), \
         {} requests, {} handled permission PUTs, max additions per pair {}, \
         journal lines after each run {:?}, wall {:.1}s",
        s.seed,
        s.batch_size,
        o.planned,
        principals.len(),
        o.attempts.len(),
        killed,
        o.requests,
        o.writes.puts,
        o.writes.added.values().max().copied().unwrap_or(0),
        o.attempts
            .iter()
            .map(|a| a.journal_lines)
            .collect::<Vec<_>>(),
        o.wall.as_secs_f64(),
    )
}

/// Runs `s`, checks it, prints its figures; returns how many runs were killed.
fn run_and_check(s: &Scenario) -> usize {
    let o = run_scenario(s);
    // Every planned pair is missing before the run, so the additions must be exactly
    // those pairs, once each.
    let planned = planned_pairs(&o, &o.writes.added);
    check(s, &o, &planned);
    println!("{}", summary(s, &o));
    o.attempts.iter().filter(|a| a.killed).count()
}

#[test]
fn killed_apply_resumes_small_batches_without_repeating_a_grant_and_rolls_back_what_killed_runs_sent()
 {
    run_and_check(&Scenario {
        seed: 7,
        users: 150,
        kills: 3,
        latency: Duration::from_millis(15),
        batch_size: Some(8),
        kill_window_ms: (20, 600),
    });
}

#[test]
fn killed_apply_resumes_one_big_batch_without_repeating_a_grant_and_rolls_back_what_killed_runs_sent()
 {
    // The default batch is the adapter's largest (Segment: 1000): a kill leaves no
    // finished batch in the journal, so the resume re-reads every principal and must
    // find what the killed run wrote.
    run_and_check(&Scenario {
        seed: 11,
        users: 150,
        kills: 3,
        latency: Duration::from_millis(15),
        batch_size: None,
        kill_window_ms: (20, 500),
    });
}

#[test]
#[ignore = "long: ~25 kills on two plans; results in docs/reliability-cli.md"]
fn long_killed_apply_many_times() {
    for s in [
        Scenario {
            seed: 20261123,
            users: 400,
            kills: 24,
            latency: Duration::from_millis(20),
            batch_size: Some(10),
            kill_window_ms: (5, 400),
        },
        Scenario {
            seed: 42,
            users: 300,
            kills: 20,
            latency: Duration::from_millis(20),
            batch_size: None,
            kill_window_ms: (5, 400),
        },
    ] {
        let killed = run_and_check(&s);
        assert!(killed >= 20, "only {killed} runs were killed part-way");
    }
}
