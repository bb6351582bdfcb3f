//! The `grantbridge` binary end to end, against emulators served by
//! `grantbridge sandbox serve` in a child process (so state persists across commands).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use grantbridge_core::engine::{Change, Plan, RunReport, Snapshot};
use grantbridge_core::sandbox::{LoggedRequest, RateWindow, RequestLog, SandboxOptions};
use grantbridge_core::{Assignment, Principal, ProfileId, SystemId};
use grantbridge_segment::IAM_MUTATION;
use grantbridge_segment::sandbox::{Seed as SegmentSeed, SegmentSandbox};
use grantbridge_visier::sandbox::{Seed as VisierSeed, VisierSandbox};

const BIN: &str = env!("CARGO_BIN_EXE_grantbridge");

/// Every variable the CLI reads settings from: removed from its environment before a
/// test sets its own.
const CLI_VARS: &[&str] = &[
    "VISIER_BASE_URL",
    "VISIER_API_KEY",
    "VISIER_USERNAME",
    "VISIER_PASSWORD",
    "VISIER_TOKEN",
    "VISIER_ASID_TOKEN",
    "VISIER_CLIENT_ID",
    "VISIER_CLIENT_SECRET",
    "VISIER_TENANT",
    "SEGMENT_BASE_URL",
    "SEGMENT_TOKEN",
    "PYRAMID_BASE_URL",
    "PYRAMID_USERNAME",
    "PYRAMID_PASSWORD",
    "PYRAMID_TOKEN",
    "PYRAMID_TENANT",
    "VISIER_RATE_LIMIT",
    "SEGMENT_RATE_LIMIT",
    "PYRAMID_RATE_LIMIT",
];

/// Runs the CLI in `dir` with `env` as the only settings in its environment.
fn run_cli<K: AsRef<OsStr>, V: AsRef<OsStr>>(
    dir: &Path,
    env: impl IntoIterator<Item = (K, V)>,
    args: &[&str],
) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    for var in CLI_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(env);
    cmd.output().expect("run grantbridge")
}

/// `grantbridge sandbox serve`, killed on drop.
struct Served {
    child: Child,
    env: BTreeMap<String, String>,
}

impl Served {
    fn start(vendor: &str) -> Served {
        let mut child = Command::new(BIN)
            .args(["sandbox", "serve", "--vendor", vendor])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn grantbridge sandbox serve");
        let stdout = child.stdout.take().expect("stdout");
        let want = match vendor {
            "all" => 12,
            "visier" => 5,
            "segment" => 3,
            _ => 4,
        };
        let mut env = BTreeMap::new();
        for line in BufReader::new(stdout).lines().take(want) {
            let line = line.expect("read a line");
            let (k, v) = line.split_once('=').expect("NAME=value");
            env.insert(k.to_owned(), v.to_owned());
        }
        assert_eq!(env.len(), want, "lines printed: {env:?}");
        Served { child, env }
    }

    fn url(&self, var: &str) -> String {
        self.env.get(var).cloned().expect(var)
    }

    /// Runs the CLI with the emulators' settings in its environment, in `dir`.
    fn run(&self, dir: &Path, args: &[&str]) -> Output {
        run_cli(dir, &self.env, args)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Visier and Segment emulators in this test process, so that their request logs can be
/// read; the CLI reaches them through the variables `grantbridge sandbox serve` prints.
struct InProcess {
    /// Serves the emulators for as long as the test runs.
    _rt: tokio::runtime::Runtime,
    visier: VisierSandbox,
    segment: SegmentSandbox,
}

impl InProcess {
    fn start() -> InProcess {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (visier, segment) = rt.block_on(async {
            let visier = VisierSandbox::start(VisierSeed::Demo, SandboxOptions::default())
                .await
                .expect("visier");
            // As the CLI's own emulators: Segment's 60 mutations/min scaled to 6000.
            let segment = SegmentSandbox::start(
                SegmentSeed::Demo,
                SandboxOptions::default()
                    .with_class_rate_limit(IAM_MUTATION, RateWindow::per_minute(6000)),
            )
            .await
            .expect("segment");
            (visier, segment)
        });
        InProcess {
            _rt: rt,
            visier,
            segment,
        }
    }

    fn run(&self, dir: &Path, args: &[&str]) -> Output {
        let v = self.visier.credentials();
        let env = [
            ("VISIER_BASE_URL", self.visier.base_url()),
            ("VISIER_API_KEY", v.api_key.expose().to_owned()),
            ("VISIER_USERNAME", v.username.clone()),
            ("VISIER_PASSWORD", v.password.expose().to_owned()),
            ("VISIER_RATE_LIMIT", "none".to_owned()),
            ("SEGMENT_BASE_URL", self.segment.base_url()),
            (
                "SEGMENT_TOKEN",
                self.segment.credentials().token.expose().to_owned(),
            ),
            ("SEGMENT_RATE_LIMIT", "6000".to_owned()),
        ];
        run_cli(dir, env, args)
    }
}

/// A write request as sent: method, target (path and query) and body.
type Write = (String, String, String);

/// The write requests (anything but `GET`/`HEAD`) in `log` after sequence number
/// `after` (all of them when `None`).
fn writes_after(log: &RequestLog, after: Option<u64>) -> Vec<Write> {
    log.entries()
        .into_iter()
        .filter(|e: &LoggedRequest| after.is_none_or(|seq| e.seq > seq))
        .filter(|e| e.method != "GET" && e.method != "HEAD")
        .map(|e| (e.method.clone(), e.raw_target.clone(), e.body_text()))
        .collect()
}

fn last_seq(log: &RequestLog) -> Option<u64> {
    log.last().map(|e| e.seq)
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

fn mapping(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("mappings")
        .join(name)
}

fn snapshot(served: &Served, dir: &Path, system: &str, file: &str) -> Snapshot {
    ok(&served.run(dir, &["snapshot", "--system", system, "--out", file]));
    Snapshot::load(dir.join(file)).expect("snapshot file")
}

#[test]
fn serve_prints_urls_and_credentials_other_programs_can_use() {
    let served = Served::start("all");
    for var in ["VISIER_BASE_URL", "SEGMENT_BASE_URL", "PYRAMID_BASE_URL"] {
        assert!(served.url(var).starts_with("http://127.0.0.1:"), "{var}");
    }
    // Talk to each emulator over plain HTTP with the printed credentials.
    let seg = http_get(
        &served.url("SEGMENT_BASE_URL"),
        "/users?pagination.count=2",
        &[(
            "authorization",
            &format!("Bearer {}", served.url("SEGMENT_TOKEN")),
        )],
    );
    assert!(seg.starts_with("HTTP/1.1 200"), "{seg}");
    assert!(seg.contains("\"users\""), "{seg}");
    let vis = http_post_form(
        &served.url("VISIER_BASE_URL"),
        "/v1/admin/visierSecureToken",
        &[("apikey", &served.url("VISIER_API_KEY"))],
        &format!(
            "username={}&password={}",
            served.url("VISIER_USERNAME"),
            served.url("VISIER_PASSWORD")
        ),
    );
    assert!(vis.starts_with("HTTP/1.1 200"), "{vis}");
    let pyr = http_post_json(
        &served.url("PYRAMID_BASE_URL"),
        "/API2/auth/authenticateUser",
        &format!(
            r#"{{"data":{{"userName":"{}","password":"{}"}}}}"#,
            served.url("PYRAMID_USERNAME"),
            served.url("PYRAMID_PASSWORD")
        ),
    );
    assert!(pyr.starts_with("HTTP/1.1 200"), "{pyr}");
}

#[test]
fn snapshot_report_and_diff_read_the_systems() {
    let served = Served::start("all");
    let dir = tempdir();
    let v = snapshot(&served, dir.path(), "visier", "v.json");
    assert!(v.users.len() >= 100 && !v.assignments.is_empty());

    let csv = ok(&served.run(
        dir.path(),
        &["report", "--system", "segment", "--format", "csv"],
    ));
    let mut lines = csv.lines();
    let header = lines.next().expect("header");
    for column in ["principal", "email", "profile", "scope", "via_group"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(lines.count() > 10);
    let json = ok(&served.run(
        dir.path(),
        &["report", "--system", "pyramid", "--format", "json"],
    ));
    let rows: serde_json::Value = serde_json::from_str(&json).expect("json rows");
    assert!(rows.as_array().is_some_and(|r| !r.is_empty()));

    // The same system twice: no differences; against another: some.
    snapshot(&served, dir.path(), "visier", "v2.json");
    let same = ok(&served.run(dir.path(), &["diff", "v.json", "v2.json"]));
    assert!(same.contains("no differences"), "{same}");
    snapshot(&served, dir.path(), "segment", "s.json");
    let d = ok(&served.run(dir.path(), &["--json", "diff", "v.json", "s.json"]));
    let d: serde_json::Value = serde_json::from_str(&d).expect("diff json");
    assert!(d["users_added"].as_array().is_some_and(|a| !a.is_empty()));
}

#[test]
fn plan_dry_run_apply_resume_and_rollback() {
    // In-process emulators: the Segment request log shows what each command sent.
    let emulators = InProcess::start();
    let log = emulators.segment.log();
    let dir = tempdir();
    let d = dir.path();
    let snapshot = |file: &str| -> Snapshot {
        ok(&emulators.run(d, &["snapshot", "--system", "segment", "--out", file]));
        Snapshot::load(d.join(file)).expect("snapshot file")
    };
    let before = snapshot("before.json");
    let map = mapping("visier-to-segment.toml");
    let map = map.to_str().expect("utf-8 path");
    ok(&emulators.run(
        d,
        &[
            "plan",
            "--from",
            "visier",
            "--to",
            "segment",
            "--mapping",
            map,
            "--out",
            "plan.json",
        ],
    ));
    let plan = Plan::load(d.join("plan.json")).expect("plan file");
    assert!(!plan.changes.is_empty());
    assert!(
        !plan.skipped.is_empty(),
        "the demo mapping skips some items"
    );

    // Dry run: nothing is written, no report or journal either.
    let mark = last_seq(&log);
    let out = ok(&emulators.run(d, &["apply", "plan.json", "--to", "segment"]));
    assert_eq!(
        writes_after(&log, mark),
        Vec::<Write>::new(),
        "the dry run wrote"
    );
    assert!(out.contains("dry run"), "{out}");
    let after_dry = snapshot("dry.json");
    assert_eq!(after_dry.assignments, before.assignments);
    assert!(!d.join("plan.journal.jsonl").exists());

    // Apply for real.
    let mark = last_seq(&log);
    ok(&emulators.run(d, &["apply", "plan.json", "--to", "segment", "--yes"]));
    let first_run = writes_after(&log, mark);
    assert!(!first_run.is_empty(), "the first run wrote nothing");
    let report = RunReport::load(d.join("plan.report.json")).expect("report");
    assert_eq!(report.counts().applied, plan.changes.len());
    let applied = snapshot("applied.json");
    assert_ne!(applied.assignments, before.assignments);

    // Same command, same journal: everything is resumed, nothing is sent again. The
    // emulator's log shows it: none of the first run's write requests (method, target
    // and body) is repeated, and no other write is sent either.
    let mark = last_seq(&log);
    ok(&emulators.run(d, &["apply", "plan.json", "--to", "segment", "--yes"]));
    let second_run = writes_after(&log, mark);
    let first: BTreeSet<&Write> = first_run.iter().collect();
    let repeated: Vec<&Write> = second_run.iter().filter(|w| first.contains(w)).collect();
    assert!(
        repeated.is_empty(),
        "the resumed run repeated {} write(s) of the first, e.g. {:?}",
        repeated.len(),
        repeated.first()
    );
    assert_eq!(second_run, Vec::<Write>::new(), "the resumed run wrote");
    let again = RunReport::load(d.join("plan.report.json")).expect("report");
    assert_eq!(
        again.counts().resumed,
        plan.changes.len(),
        "{:?}",
        again.counts()
    );
    // This run applied nothing and found nothing: all of it was the first run's,
    // each verified in place by one read of the target.
    assert_eq!(again.counts().applied + again.counts().already_in_state, 0);
    let resumed = again.resumed_from.expect("resumed");
    assert_eq!((resumed.verified, resumed.missing), (plan.changes.len(), 0));
    assert_eq!(snapshot("again.json").assignments, applied.assignments);

    // Planning again finds nothing left to do.
    ok(&emulators.run(
        d,
        &[
            "plan",
            "--from",
            "visier",
            "--to",
            "segment",
            "--mapping",
            map,
            "--out",
            "plan2.json",
        ],
    ));
    assert!(Plan::load(d.join("plan2.json")).expect("plan").is_empty());

    // Rollback restores the snapshot taken before the run.
    ok(&emulators.run(
        d,
        &["rollback", "plan.report.json", "--to", "segment", "--yes"],
    ));
    let rolled = snapshot("rolled.json");
    assert_eq!(rolled.assignments, before.assignments);
    assert_eq!(rolled.memberships, before.memberships);
}

#[test]
fn environment_variables_win_over_the_config_file_and_over_config_flag() {
    // README: settings come from the environment or from a config file
    // (`grantbridge.toml`, or `--config FILE`) whose tables use the variable names
    // without the vendor prefix; environment variables win.
    let served = Served::start("all");
    let dir = tempdir();
    let d = dir.path();
    std::fs::create_dir(d.join("elsewhere")).expect("mkdir");
    let segment_file = |token: &str| {
        format!(
            "[segment]\nbase_url = \"{}\"\ntoken = \"{token}\"\nrate_limit = \"6000\"\n",
            served.url("SEGMENT_BASE_URL")
        )
    };
    let visier_file = |password: &str| {
        format!(
            "[visier]\nbase_url = \"{}\"\napi_key = \"{}\"\nusername = \"{}\"\n\
             password = \"{password}\"\nrate_limit = \"none\"\n",
            served.url("VISIER_BASE_URL"),
            served.url("VISIER_API_KEY"),
            served.url("VISIER_USERNAME"),
        )
    };
    let good_token = served.url("SEGMENT_TOKEN");
    let good_password = served.url("VISIER_PASSWORD");
    let wrong_token = "sgp_wrong_token_from_somewhere";
    let wrong_password = "wrong-visier-password";
    // (file contents, environment, whether the snapshot must succeed)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, bool);
    let cases: Vec<Case> = vec![
        // The file alone configures the CLI...
        ("segment", segment_file(&good_token), vec![], true),
        ("visier", visier_file(&good_password), vec![], true),
        // ...a value from the environment replaces the file's wrong one...
        (
            "segment",
            segment_file(wrong_token),
            vec![("SEGMENT_TOKEN", good_token.as_str())],
            true,
        ),
        (
            "visier",
            visier_file(wrong_password),
            vec![("VISIER_PASSWORD", good_password.as_str())],
            true,
        ),
        // ...and replaces the file's right one too: the environment wins, it is not a
        // fallback.
        (
            "segment",
            segment_file(&good_token),
            vec![("SEGMENT_TOKEN", wrong_token)],
            false,
        ),
        (
            "visier",
            visier_file(&good_password),
            vec![("VISIER_PASSWORD", wrong_password)],
            false,
        ),
    ];
    for (system, contents, env, succeeds) in &cases {
        // The default file in the working directory, then a file named by --config
        // (with no default file beside it).
        for named in [false, true] {
            let _ = std::fs::remove_file(d.join("grantbridge.toml"));
            let _ = std::fs::remove_file(d.join("elsewhere/custom.toml"));
            let mut args = vec!["snapshot", "--system", system, "--out", "s.json"];
            if named {
                std::fs::write(d.join("elsewhere/custom.toml"), contents).expect("write");
                args.extend(["--config", "elsewhere/custom.toml"]);
            } else {
                std::fs::write(d.join("grantbridge.toml"), contents).expect("write");
            }
            let out = run_cli(d, env.iter().copied(), &args);
            let code = if *succeeds { Some(0) } else { Some(1) };
            let what = format!(
                "{system}, --config: {named}, env {:?}:\n{}",
                env.iter().map(|(k, _)| k).collect::<Vec<_>>(),
                stderr(&out)
            );
            assert_eq!(out.status.code(), code, "{what}");
            if !succeeds {
                // Refused for the wrong credential, not for anything else.
                assert!(stderr(&out).contains("authentication failed"), "{what}");
            }
        }
    }
}

#[test]
fn a_config_file_named_by_the_flag_must_exist() {
    let served = Served::start("segment");
    let dir = tempdir();
    // No grantbridge.toml here: without --config that is fine...
    ok(&served.run(dir.path(), &["snapshot", "--system", "segment"]));
    // ...but a file named by --config that is not there is an error naming it, not a
    // silent run without it.
    let out = served.run(
        dir.path(),
        &[
            "--config",
            "nowhere.toml",
            "snapshot",
            "--system",
            "segment",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nowhere.toml") && stderr(&out).contains("does not exist"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_invalid_rate_limit_is_a_clear_error_and_valid_ones_work() {
    let served = Served::start("segment");
    let dir = tempdir();
    let d = dir.path();
    let with = |value: &str| -> Output {
        let mut env = served.env.clone();
        env.insert("SEGMENT_RATE_LIMIT".to_owned(), value.to_owned());
        run_cli(
            d,
            &env,
            &["snapshot", "--system", "segment", "--out", "s.json"],
        )
    };
    for value in ["6000", "none", "NONE"] {
        ok(&with(value));
    }
    for value in ["fast", "0", "-1", "60/min"] {
        let out = with(value);
        assert_eq!(out.status.code(), Some(1), "{value}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("SEGMENT_RATE_LIMIT") && err.contains("none"),
            "{value}: {err}"
        );
    }
    // The same value from the config file is refused the same way.
    let mut env = served.env.clone();
    env.remove("SEGMENT_RATE_LIMIT");
    std::fs::write(
        d.join("grantbridge.toml"),
        "[segment]\nrate_limit = \"fast\"\n",
    )
    .expect("write");
    let out = run_cli(d, &env, &["snapshot", "--system", "segment"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("SEGMENT_RATE_LIMIT"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn partial_failure_exits_2_and_reports_each_item() {
    let served = Served::start("pyramid");
    let dir = tempdir();
    let snap = snapshot(&served, dir.path(), "pyramid", "p.json");
    let group = snap.groups.first().expect("a role");
    let profile = snap.profiles.first().expect("a profile");
    let tenant = snap
        .assignments
        .first()
        .map(|a| a.scope.clone())
        .expect("an assignment gives the tenant scope");
    let good = Assignment::new(
        Principal::Group(group.id.clone()),
        profile.id.clone(),
        tenant.clone(),
    );
    let bad = Assignment::new(
        Principal::Group(group.id.clone()),
        ProfileId::new("no-such-profile").expect("id"),
        tenant,
    );
    let plan = Plan::from_changes(
        SystemId::new(snap.system.as_str()).expect("id"),
        vec![
            Change::Grant {
                assignment: good,
                previous: None,
            },
            Change::Grant {
                assignment: bad,
                previous: None,
            },
        ],
        false,
    );
    plan.save(dir.path().join("p.plan.json")).expect("save");
    let out = served.run(
        dir.path(),
        &["apply", "p.plan.json", "--to", "pyramid", "--yes"],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let report = RunReport::load(dir.path().join("p.plan.report.json")).expect("report");
    assert_eq!(report.items.len(), 2);
    assert_eq!(report.counts().failed, 1);
    assert!(stdout(&out).contains("failed"), "{}", stdout(&out));
}

/// `retry` makes a plan of a run's failures that continues the run: a change whose
/// answer was lost (here: a report saying a grant the run made failed with a transport
/// error) and that the retry finds in place counts as the chain's, and rolling back
/// the retry's report undoes it.
#[test]
fn a_retry_continues_its_run_and_its_rollback_undoes_lost_answers() {
    let served = Served::start("pyramid");
    let dir = tempdir();
    let snap = snapshot(&served, dir.path(), "pyramid", "p.json");
    let group = snap.groups.first().expect("a role");
    let tenant = snap
        .assignments
        .first()
        .map(|a| a.scope.clone())
        .expect("an assignment gives the tenant scope");
    let held: Vec<_> = snap
        .assignments
        .iter()
        .filter(|a| a.principal == Principal::Group(group.id.clone()))
        .map(|a| a.profile.clone())
        .collect();
    let profile = snap
        .profiles
        .iter()
        .find(|p| !held.contains(&p.id))
        .expect("a profile the role lacks");
    let good = Assignment::new(
        Principal::Group(group.id.clone()),
        profile.id.clone(),
        tenant.clone(),
    );
    let bad = Assignment::new(
        Principal::Group(group.id.clone()),
        ProfileId::new("no-such-profile").expect("id"),
        tenant,
    );
    let plan = Plan::from_changes(
        SystemId::new(snap.system.as_str()).expect("id"),
        [good.clone(), bad]
            .into_iter()
            .map(|assignment| Change::Grant {
                assignment,
                previous: None,
            })
            .collect(),
        false,
    );
    plan.save(dir.path().join("p.plan.json")).expect("save");
    let out = served.run(
        dir.path(),
        &["apply", "p.plan.json", "--to", "pyramid", "--yes"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // The good grant was made; pretend its answer was lost.
    let path = dir.path().join("p.plan.report.json");
    let mut report = RunReport::load(&path).expect("report");
    let item = report
        .items
        .iter_mut()
        .find(|i| i.outcome == Some(grantbridge_core::Outcome::Applied))
        .expect("the applied item");
    assert_eq!(item.change.principal(), good.principal);
    item.outcome = Some(grantbridge_core::Outcome::Failed(
        grantbridge_core::Error::transport("connection reset after sending"),
    ));
    report.save(&path).expect("save");

    let out = served.run(dir.path(), &["retry", "p.plan.report.json"]);
    let text = ok(&out);
    assert!(text.contains("2 failed changes"), "{text}");
    assert!(text.contains("1 of them may be in effect"), "{text}");
    let retry = Plan::load(dir.path().join("p.plan.report.retry.json")).expect("retry plan");
    let continues = retry.continues.as_ref().expect("continues");
    assert_eq!(continues.in_doubt.len(), 1);
    assert_eq!(continues.plan_fingerprint, report.plan_fingerprint);

    let out = served.run(
        dir.path(),
        &[
            "apply",
            "p.plan.report.retry.json",
            "--to",
            "pyramid",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "the bad one fails again");
    assert!(
        stdout(&out).contains("made earlier in the chain"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("continues the run of"),
        "{}",
        stdout(&out)
    );
    let second =
        RunReport::load(dir.path().join("p.plan.report.retry.report.json")).expect("retry report");
    assert_eq!(second.counts().continued, 1);

    let out = served.run(
        dir.path(),
        &[
            "rollback",
            "p.plan.report.retry.report.json",
            "--to",
            "pyramid",
            "--yes",
        ],
    );
    ok(&out);
    assert!(
        stderr(&out).contains("includes 1 changes"),
        "{}",
        stderr(&out)
    );
    let after = snapshot(&served, dir.path(), "pyramid", "after.json");
    assert!(
        !after.assignments.iter().any(|a| a.key() == good.key()),
        "the grant whose answer was lost is undone by the chain's rollback"
    );
}

#[test]
fn malformed_mapping_and_bad_names_give_clear_errors() {
    let served = Served::start("segment");
    let dir = tempdir();
    std::fs::write(
        dir.path().join("bad.toml"),
        "version = 1\n[[rules]]\nfrom = \"A\"\nto = [{ profil = \"B\" }]\n",
    )
    .expect("write");
    let out = served.run(
        dir.path(),
        &[
            "plan",
            "--from",
            "sandbox:visier",
            "--to",
            "segment",
            "--mapping",
            "bad.toml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    // File, line and column, and the rule.
    assert!(
        err.contains("bad.toml:4:") && err.contains("rule #1"),
        "{err}"
    );

    let out = served.run(dir.path(), &["snapshot", "--system", "okta"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("sandbox:visier"), "{}", stderr(&out));

    // A vendor with no settings says which variable to set.
    let out = served.run(dir.path(), &["snapshot", "--system", "visier"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("VISIER_BASE_URL"), "{}", stderr(&out));
    // Segment too (its base URL has a default, its token has none), and where to set it.
    let out = run_cli(
        dir.path(),
        [("SEGMENT_BASE_URL", served.url("SEGMENT_BASE_URL"))],
        &["snapshot", "--system", "segment"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("SEGMENT_TOKEN")
            && err.contains("[segment]")
            && err.contains("sandbox:segment"),
        "{err}"
    );
}

#[test]
fn in_process_sandboxes_and_the_demo_need_no_setup() {
    let served = Served::start("segment"); // only for its `run` helper's clean env
    let dir = tempdir();
    let out = ok(&served.run(
        dir.path(),
        &["snapshot", "--system", "sandbox:pyramid", "--out", "p.json"],
    ));
    assert!(out.contains("pyramid"), "{out}");
    let out = ok(&served.run(dir.path(), &["--json", "demo"]));
    let summary: serde_json::Value = serde_json::from_str(&out).expect("demo json");
    assert_eq!(summary["rolled_back"], serde_json::Value::Bool(true));
    let migrations = summary["migrations"].as_array().expect("migrations");
    assert_eq!(migrations.len(), 2);
    for m in migrations {
        assert_eq!(m["verified"], serde_json::Value::Bool(true), "{m}");
        assert_eq!(m["failed"], 0, "{m}");
        assert!(m["applied"].as_u64().is_some_and(|n| n > 0), "{m}");
    }
}

fn raw_http(base: &str, request: String) -> String {
    use std::io::Write;
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.write_all(request.as_bytes()).expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).expect("read");
    out
}

fn http_get(base: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let host = base.trim_start_matches("http://");
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    raw_http(
        base,
        format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n{extra}connection: close\r\n\r\n"),
    )
}

fn http_post_form(base: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let host = base.trim_start_matches("http://");
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    raw_http(
        base,
        format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\n{extra}content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn http_post_json(base: &str, path: &str, body: &str) -> String {
    let host = base.trim_start_matches("http://");
    raw_http(
        base,
        format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// The host and port of an emulator's base URL, as a journal records it.
fn host_of(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

#[test]
fn a_finished_journal_never_vouches_for_another_target() {
    // Plan and apply on one pair of emulators.
    let first = InProcess::start();
    let dir = tempdir();
    let d = dir.path();
    let map = mapping("visier-to-segment.toml");
    let map = map.to_str().expect("utf-8 path");
    let plan_args = [
        "plan",
        "--from",
        "visier",
        "--to",
        "segment",
        "--mapping",
        map,
        "--out",
        "plan.json",
    ];
    ok(&first.run(d, &plan_args));
    let plan = Plan::load(d.join("plan.json")).expect("plan file");
    let apply = ["apply", "plan.json", "--to", "segment", "--yes"];
    ok(&first.run(d, &apply));
    let report = RunReport::load(d.join("plan.report.json")).expect("report");
    assert_eq!(report.counts().applied, plan.changes.len());

    // The same settings name now reaches a fresh emulator that holds none of it (a
    // restored backup, another tenant). The journal is refused, nothing is sent.
    let second = InProcess::start();
    let log = second.segment.log();
    let mark = last_seq(&log);
    let out = second.run(d, &apply);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    for needle in [
        "plan.journal.jsonl".to_owned(),
        host_of(&first.segment.base_url()),
        host_of(&second.segment.base_url()),
        "--new-run".to_owned(),
    ] {
        assert!(err.contains(&needle), "{needle:?} not in {err}");
    }
    assert_eq!(
        writes_after(&log, mark),
        Vec::<Write>::new(),
        "a refused run wrote"
    );

    // A new run applies the whole plan there, and keeps the old journal beside.
    ok(&second.run(
        d,
        &[
            "apply",
            "plan.json",
            "--to",
            "segment",
            "--yes",
            "--new-run",
        ],
    ));
    assert!(
        !writes_after(&log, mark).is_empty(),
        "the new run wrote nothing"
    );
    let again = RunReport::load(d.join("plan.report.json")).expect("report");
    let c = again.counts();
    assert_eq!((c.applied, c.resumed, c.failed), (plan.changes.len(), 0, 0));
    let kept = std::fs::read_dir(d)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".old"))
        .count();
    assert_eq!(kept, 1, "the earlier journal is kept");

    // That report rolls back only where it was made.
    let mark = last_seq(&first.segment.log());
    let out = first.run(
        d,
        &["rollback", "plan.report.json", "--to", "segment", "--yes"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("rolled back where they were made"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        writes_after(&first.segment.log(), mark),
        Vec::<Write>::new()
    );
}
