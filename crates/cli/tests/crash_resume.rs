//! Crash/resume of `grantbridge apply`: the process is killed (SIGKILL) part-way, a
//! seeded number of times, and started again with the same command until it finishes.
//! The Segment emulator runs in this test process, so its request log survives every
//! kill.
//!
//! The verdicts come from sources that do not go through the code under test:
//!
//! * the planned grants are read from the plan file the CLI is given, as raw JSON;
//! * the emulator's state before, after and after the rollback is read with plain
//!   HTTP/1.1 requests written here, not with the adapter;
//! * what the runs did is read from the emulator's request log: for every (principal,
//!   role, resource), how many handled `PUT …/permissions` (Segment's read-modify-write
//!   replace) added it compared with the principal's previous body.
//!
//! Every variant checks the same things (`check`): exactly the seeded number of runs
//! were killed; each planned grant was added exactly once and nothing else was added or
//! removed; each principal was written by exactly one handled PUT over all runs; the
//! final state is the initial state plus the plan; the rollback restores the initial
//! state.
//!
//! `cargo test -p grantbridge-cli --all-features --test crash_resume` runs the short
//! variants; `-- --include-ignored` adds the long one (results in
//! docs/reliability-cli.md).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use grantbridge_core::engine::{Change, Plan, RunReport, Snapshot};
use grantbridge_core::sandbox::{LOG_CAPACITY, LoggedRequest, RateWindow, SandboxOptions};
use grantbridge_core::{Assignment, Principal, ProfileId, ResourceId, ResourceKind, Scope};
use grantbridge_segment::sandbox::{Seed, SegmentSandbox};
use grantbridge_segment::{IAM_MUTATION, SegmentSystem};

const BIN: &str = env!("CARGO_BIN_EXE_grantbridge");

/// Marks the test's own requests to the emulator (state reads and probes), so that the
/// analysis of the CLI's requests leaves them out.
const PROBE_HEADER: &str = "x-crash-test-probe";

/// Principals a killed run may still write after its kill point: the requests it has
/// in flight (its HTTP client sends at most 8 at once) plus a margin for the time the
/// test takes to see the kill point.
const KILL_OVERSHOOT: usize = 12;

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
}

/// (principal path `users/ID` or `groups/ID`, role id, resource type, resource id,
/// sorted labels `key=value`).
type Pair = (String, String, String, String, Vec<String>);

fn labels_of(value: &serde_json::Value) -> Vec<String> {
    let mut labels: Vec<String> = value
        .as_array()
        .map(|ls| {
            ls.iter()
                .map(|l| {
                    format!(
                        "{}={}",
                        l["key"].as_str().expect("label key"),
                        l["value"].as_str().expect("label value")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    labels
}

/// The pairs a Segment permissions array (a replace body, or a user or group as the
/// emulator lists it) gives `principal`.
fn pairs_of_body(principal: &str, body: &serde_json::Value) -> BTreeSet<Pair> {
    let mut out = BTreeSet::new();
    for perm in body["permissions"].as_array().expect("permissions array") {
        let role = perm["roleId"].as_str().expect("roleId").to_owned();
        for r in perm["resources"].as_array().expect("resources") {
            out.insert((
                principal.to_owned(),
                role.clone(),
                r["type"].as_str().expect("type").to_owned(),
                r["id"].as_str().expect("id").to_owned(),
                labels_of(&r["labels"]),
            ));
        }
    }
    out
}

/// The grants of the plan file, read as raw JSON (not through `Plan`), and how many
/// changes the file lists.
fn plan_file_pairs(path: &Path) -> (BTreeSet<Pair>, usize) {
    let text = std::fs::read_to_string(path).expect("read the plan file");
    let plan: serde_json::Value = serde_json::from_str(&text).expect("plan JSON");
    let changes = plan["changes"].as_array().expect("changes");
    let mut out = BTreeSet::new();
    for c in changes {
        assert_eq!(c["action"], "grant", "only grants are planned: {c}");
        let a = &c["assignment"];
        let principal = match a["principal"]["type"].as_str() {
            Some("user") => "users",
            Some("group") => "groups",
            other => panic!("principal type {other:?}"),
        };
        let scope = &a["scope"];
        assert_eq!(scope["type"], "resource", "{c}");
        out.insert((
            format!(
                "{principal}/{}",
                a["principal"]["id"].as_str().expect("principal id")
            ),
            a["profile"].as_str().expect("profile").to_owned(),
            scope["kind"].as_str().expect("kind").to_owned(),
            scope["id"].as_str().expect("resource id").to_owned(),
            labels_of(&scope["labels"]),
        ));
    }
    (out, changes.len())
}

// ---- the emulator, read with plain HTTP --------------------------------------------

fn decode_chunked(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size = std::str::from_utf8(&body[..line_end]).expect("chunk size");
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .expect("hex chunk size");
        body = &body[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// `GET target` on the emulator over a fresh connection, marked with the probe header
/// (value `probe`); the JSON body of a 200.
fn raw_get(sandbox: &SegmentSandbox, target: &str, probe: &str) -> serde_json::Value {
    let base = sandbox.base_url();
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect to the emulator");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
         accept: application/json\r\n{PROBE_HEADER}: {probe}\r\nconnection: close\r\n\r\n",
        sandbox.credentials().token.expose()
    )
    .expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of the head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "GET {target}: {head}");
    let body = &raw[split + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        decode_chunked(body)
    } else {
        body.to_vec()
    };
    serde_json::from_slice(&body).expect("a JSON answer")
}

/// What the emulator holds: every direct permission pair, and the ids of the users and
/// groups.
#[derive(Debug, PartialEq)]
struct RawState {
    held: BTreeSet<Pair>,
    users: BTreeSet<String>,
    groups: BTreeSet<String>,
}

fn raw_state(sandbox: &SegmentSandbox, probes: &mut u64) -> RawState {
    let mut state = RawState {
        held: BTreeSet::new(),
        users: BTreeSet::new(),
        groups: BTreeSet::new(),
    };
    for (list, field, prefix) in [
        ("/users", "users", "users"),
        ("/groups", "userGroups", "groups"),
    ] {
        let mut cursor: Option<String> = None;
        loop {
            let mut target = format!("{list}?pagination.count=1000");
            if let Some(c) = &cursor {
                let encoded: String = c
                    .bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                            char::from(b).to_string()
                        }
                        _ => format!("%{b:02X}"),
                    })
                    .collect();
                target.push_str(&format!("&pagination.cursor={encoded}"));
            }
            *probes += 1;
            let page = raw_get(sandbox, &target, &probes.to_string());
            for item in page["data"][field].as_array().expect("a page of items") {
                let id = item["id"].as_str().expect("id").to_owned();
                state
                    .held
                    .extend(pairs_of_body(&format!("{prefix}/{id}"), item));
                if prefix == "users" {
                    state.users.insert(id);
                } else {
                    state.groups.insert(id);
                }
            }
            match page["data"]["pagination"]["next"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
    }
    state
}

/// Waits until every request that reached the emulator before this call has been
/// answered and logged, so that nothing a killed run still had in flight lands during
/// the next run. A probe request arrives after all of them (sequence numbers are given
/// on arrival); the log must then hold every number from `first` up to the probe's.
/// Returns the probe's number.
fn quiesce(sandbox: &SegmentSandbox, first: u64, probes: &mut u64) -> u64 {
    *probes += 1;
    let id = probes.to_string();
    raw_get(sandbox, "/", &id);
    let log = sandbox.log();
    // A guard against a hang, not a measurement.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let entries = log.entries();
        let probe = entries
            .iter()
            .find(|e| e.header(PROBE_HEADER) == Some(id.as_str()))
            .expect("the probe is logged once answered")
            .seq;
        let logged = entries
            .iter()
            .filter(|e| e.seq >= first && e.seq < probe)
            .count() as u64;
        if logged == probe - first {
            return probe;
        }
        assert!(
            Instant::now() < deadline,
            "{} request(s) before the probe were never answered",
            probe - first - logged
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn is_permission_write(e: &LoggedRequest) -> bool {
    e.handled
        && (200..300).contains(&e.status)
        && e.method == "PUT"
        && e.path.ends_with("/permissions")
        && e.header(PROBE_HEADER).is_none()
}

/// Principals with a handled permission write among `entries` from sequence `first` on.
fn written_principals(entries: &[LoggedRequest], first: u64) -> BTreeSet<String> {
    entries
        .iter()
        .filter(|e| e.seq >= first && is_permission_write(e))
        .map(|e| e.path.clone())
        .collect()
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

fn count_writes(initial: &BTreeSet<Pair>, log: &[LoggedRequest]) -> Writes {
    let mut held: BTreeMap<String, BTreeSet<Pair>> = BTreeMap::new();
    for p in initial {
        held.entry(p.0.clone()).or_default().insert(p.clone());
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

/// One killed run or the final one.
#[derive(Debug)]
struct Attempt {
    killed: bool,
    /// The run was to be killed after this many handled permission writes of its own.
    kill_after_writes: Option<usize>,
    /// Principals this run wrote (requests in flight at the kill included).
    wrote: usize,
    /// Journal lines when the process ended.
    journal_lines: usize,
}

struct Scenario {
    seed: u64,
    users: usize,
    /// Runs to kill part-way (exactly this many are killed).
    kills: usize,
    latency: Duration,
    batch_size: Option<usize>,
}

struct Outcome {
    /// Grants of the plan file.
    planned: BTreeSet<Pair>,
    /// Changes the plan file lists.
    plan_changes: usize,
    before: RawState,
    after: RawState,
    rolled_back: RawState,
    attempts: Vec<Attempt>,
    /// Exit code and output of the run that was not killed.
    final_code: Option<i32>,
    final_output: String,
    /// The final run report's counts: (failed, applied + already in state).
    report_failed: usize,
    report_done: usize,
    rollback_code: Option<i32>,
    rollback_output: String,
    writes: Writes,
    /// Requests the CLI sent over all runs (the test's own left out).
    requests: usize,
    wall: Duration,
}

fn apply_command(s: &Scenario, sandbox: &SegmentSandbox, dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["apply", "plan.json", "--to", "segment", "--yes"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("SEGMENT_BASE_URL", sandbox.base_url())
        .env("SEGMENT_TOKEN", sandbox.credentials().token.expose())
        .env("SEGMENT_RATE_LIMIT", "6000")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(n) = s.batch_size {
        cmd.args(["--batch-size", &n.to_string()]);
    }
    cmd
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
    let snap = rt.block_on(Snapshot::take(&system)).expect("snapshot");
    let plan = grant_plan(&snap, &system.workspace().id, s.users);
    let dir = tempfile::tempdir().expect("temp dir");
    plan.save(dir.path().join("plan.json")).expect("save plan");
    let journal = dir.path().join("plan.journal.jsonl");
    let (planned, plan_changes) = plan_file_pairs(&dir.path().join("plan.json"));
    let principals: BTreeSet<&String> = planned.iter().map(|p| &p.0).collect();
    let principals = principals.len();
    assert!(
        principals > KILL_OVERSHOOT * s.kills,
        "{principals} principals leave too little work for {} kills",
        s.kills
    );

    let mut probes = 0;
    let before = raw_state(&sandbox, &mut probes);
    let log = sandbox.log();
    // Everything before this sequence number is setup.
    let first = quiesce(&sandbox, 0, &mut probes) + 1;
    let mut next = first;
    let mut rng = Rng(s.seed);
    let mut attempts: Vec<Attempt> = Vec::new();
    let started = Instant::now();
    let (final_code, final_output) = loop {
        let kills_left = s.kills - attempts.iter().filter(|a| a.killed).count();
        let run_first = next;
        let mut child = apply_command(s, &sandbox, dir.path())
            .spawn()
            .expect("spawn grantbridge apply");
        let mut kill_after_writes = None;
        let mut killed = false;
        let status = if kills_left > 0 {
            // Kill as soon as this run has made a seeded number of permission writes
            // (at least one, so every killed run stops part-way through its writes,
            // with others in flight). The number is drawn small enough to leave work
            // for the kills still to come: each kill also lets the requests in flight
            // finish (the client sends at most 8 at once), which `KILL_OVERSHOOT`
            // reserves.
            let remaining = principals - written_principals(&log.entries(), first).len();
            let spare = remaining.saturating_sub(KILL_OVERSHOOT * kills_left);
            let span = (spare / (2 * (kills_left + 1))).max(1);
            let target = 1 + (rng.next() % span as u64) as usize;
            kill_after_writes = Some(target);
            // A guard against a hang, not a measurement.
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut exited = None;
            let mut seen = 0;
            while exited.is_none() {
                let len = log.len();
                if len != seen {
                    seen = len;
                    if written_principals(&log.entries(), run_first).len() >= target {
                        break;
                    }
                }
                assert!(Instant::now() < deadline, "the run wrote nothing in 120 s");
                exited = child.try_wait().expect("poll");
                std::thread::sleep(Duration::from_millis(1));
            }
            match exited {
                Some(status) => status,
                None => {
                    child.kill().expect("SIGKILL");
                    killed = true;
                    child.wait().expect("reap")
                }
            }
        } else {
            child.wait().expect("wait")
        };
        let mut output = String::new();
        if let Some(mut p) = child.stdout.take() {
            let _ = p.read_to_string(&mut output);
        }
        if let Some(mut p) = child.stderr.take() {
            let _ = p.read_to_string(&mut output);
        }
        // What the killed run still had in flight is finished by the emulator (as a
        // real server would), before the next run starts.
        next = quiesce(&sandbox, run_first, &mut probes) + 1;
        attempts.push(Attempt {
            killed,
            kill_after_writes,
            wrote: written_principals(&log.entries(), run_first).len(),
            journal_lines: lines(&journal),
        });
        if !killed {
            break (status.code(), output);
        }
    };
    let wall = started.elapsed();
    let entries: Vec<LoggedRequest> = log
        .entries()
        .into_iter()
        .filter(|e| e.seq >= first && e.seq < next && e.header(PROBE_HEADER).is_none())
        .collect();
    assert!(
        log.len() < LOG_CAPACITY,
        "the request log overflowed: entries were lost"
    );

    let counts = RunReport::load(dir.path().join("plan.report.json"))
        .map(|r| r.counts())
        .unwrap_or_default();
    let after = raw_state(&sandbox, &mut probes);

    // The run report of a resumed run rolls the whole run back, including what the
    // killed runs wrote before their batch was recorded as finished.
    let out = Command::new(BIN)
        .args(["rollback", "plan.report.json", "--to", "segment", "--yes"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("SEGMENT_BASE_URL", sandbox.base_url())
        .env("SEGMENT_TOKEN", sandbox.credentials().token.expose())
        .env("SEGMENT_RATE_LIMIT", "6000")
        .output()
        .expect("run grantbridge rollback");
    let rolled_back = raw_state(&sandbox, &mut probes);

    let writes = count_writes(&before.held, &entries);
    rt.block_on(sandbox.shutdown());
    Outcome {
        planned,
        plan_changes,
        before,
        after,
        rolled_back,
        attempts,
        final_code,
        final_output,
        report_failed: counts.failed,
        report_done: counts.applied + counts.already_in_state + counts.resumed,
        rollback_code: out.status.code(),
        rollback_output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        writes,
        requests: entries.len(),
        wall,
    }
}

/// The assertions every variant shares, short and long alike.
fn check(s: &Scenario, o: &Outcome) {
    // The runs: exactly the seeded number killed part-way, then one that finished.
    let killed = o.attempts.iter().filter(|a| a.killed).count();
    assert_eq!(
        killed, s.kills,
        "runs killed part-way (a run finished before its kill point?): {:?}",
        o.attempts
    );
    assert_eq!(
        o.final_code,
        Some(0),
        "the final run failed:\n{}",
        o.final_output
    );

    // The plan file: grants missing before the runs, as many as the scenario asks
    // (every user once, every third user twice, every group twice), on every user
    // and group the emulator has.
    assert_eq!(
        o.planned.len(),
        o.plan_changes,
        "duplicate grants in the plan"
    );
    let users = o.before.users.len();
    assert_eq!(
        o.planned.len(),
        users + users.div_ceil(3) + 2 * o.before.groups.len(),
        "grants in the plan file"
    );
    let principals: BTreeSet<&String> = o.planned.iter().map(|p| &p.0).collect();
    assert_eq!(principals.len(), users + o.before.groups.len());
    let held_already: Vec<_> = o.planned.intersection(&o.before.held).collect();
    assert!(
        held_already.is_empty(),
        "planned but held: {held_already:?}"
    );

    // The final run report: every item done, none failed.
    assert_eq!(o.report_failed, 0, "failed items in the run report");
    assert_eq!(
        o.report_done, o.plan_changes,
        "items done in the run report"
    );

    // The emulator's own state: the initial one plus every planned grant.
    let mut want = o.before.held.clone();
    want.extend(o.planned.iter().cloned());
    assert_eq!(o.after.users, o.before.users);
    assert_eq!(o.after.groups, o.before.groups);
    assert_eq!(
        o.after.held.difference(&want).collect::<Vec<_>>(),
        Vec::<&Pair>::new(),
        "held after the runs but not wanted"
    );
    assert_eq!(
        want.difference(&o.after.held).collect::<Vec<_>>(),
        Vec::<&Pair>::new(),
        "wanted but not held after the runs"
    );

    // The request log: each planned grant added exactly once, nothing else added,
    // nothing dropped, no append; and one handled write per principal over all runs.
    assert_eq!(o.writes.appends, 0, "the adapter appended permissions");
    assert!(
        o.writes.removed.is_empty(),
        "pairs dropped: {:?}",
        o.writes.removed
    );
    let not_once: Vec<(&Pair, usize)> = o
        .planned
        .iter()
        .map(|p| (p, o.writes.added.get(p).copied().unwrap_or(0)))
        .filter(|(_, n)| *n != 1)
        .collect();
    assert!(
        not_once.is_empty(),
        "{} planned grant(s) not added exactly once, e.g. {:?}",
        not_once.len(),
        not_once.first()
    );
    let unplanned: Vec<&Pair> = o
        .writes
        .added
        .keys()
        .filter(|p| !o.planned.contains(*p))
        .collect();
    assert!(unplanned.is_empty(), "added but not planned: {unplanned:?}");
    assert_eq!(
        o.writes.puts,
        principals.len(),
        "handled permission PUTs vs principals in the plan"
    );

    // The rollback restores the emulator's initial state.
    assert_eq!(
        o.rollback_code,
        Some(0),
        "rollback failed:\n{}",
        o.rollback_output
    );
    let left: Vec<&Pair> = o.rolled_back.held.difference(&o.before.held).collect();
    let lost: Vec<&Pair> = o.before.held.difference(&o.rolled_back.held).collect();
    assert!(
        left.is_empty() && lost.is_empty(),
        "the rollback did not restore the state: {} pair(s) left, e.g. {:?}; {} lost, \
         e.g. {:?}",
        left.len(),
        left.first(),
        lost.len(),
        lost.first()
    );
    assert_eq!(o.rolled_back, o.before);
}

fn summary(s: &Scenario, o: &Outcome) -> String {
    let killed = o.attempts.iter().filter(|a| a.killed).count();
    let principals: BTreeSet<&String> = o.planned.iter().map(|p| &p.0).collect();
    format!(
        "seed {} batch {:?}: {} planned grants on {} principals, {} runs ({} killed, \
         after {:?} writes), principals written per run {:?}, {} requests, {} handled permission PUTs, max additions per \
         pair {}, journal lines after each run {:?}, wall {:.1}s",
        s.seed,
        s.batch_size,
        o.planned.len(),
        principals.len(),
        o.attempts.len(),
        killed,
        o.attempts
            .iter()
            .filter_map(|a| a.kill_after_writes.filter(|_| a.killed))
            .collect::<Vec<_>>(),
        o.attempts.iter().map(|a| a.wrote).collect::<Vec<_>>(),
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

/// Runs `s`, checks it (the same checks for every variant), prints its figures.
fn run_and_check(s: &Scenario) {
    let o = run_scenario(s);
    println!("{}", summary(s, &o));
    check(s, &o);
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
    });
}

#[test]
#[ignore = "long: 24 and 20 kills on two plans; results in docs/reliability-cli.md"]
fn long_killed_apply_many_times() {
    for s in [
        Scenario {
            seed: 20261123,
            users: 400,
            kills: 24,
            latency: Duration::from_millis(20),
            batch_size: Some(10),
        },
        Scenario {
            seed: 42,
            users: 300,
            kills: 20,
            latency: Duration::from_millis(20),
            batch_size: None,
        },
    ] {
        run_and_check(&s);
    }
}
