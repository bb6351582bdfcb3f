//! The `grantbridge` binary end to end, against emulators served by
//! `grantbridge sandbox serve` in a child process (so state persists across commands).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use grantbridge_core::engine::{Change, Plan, RunReport, Snapshot};
use grantbridge_core::{Assignment, Principal, ProfileId, SystemId};

const BIN: &str = env!("CARGO_BIN_EXE_grantbridge");

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
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(dir)
            .env_remove("RUST_LOG")
            // A config file nobody wrote: the environment alone configures the CLI.
            .env("NO_COLOR", "1");
        for var in [
            "VISIER_BASE_URL",
            "VISIER_API_KEY",
            "VISIER_USERNAME",
            "VISIER_PASSWORD",
            "VISIER_TOKEN",
            "VISIER_CLIENT_ID",
            "VISIER_CLIENT_SECRET",
            "SEGMENT_BASE_URL",
            "SEGMENT_TOKEN",
            "PYRAMID_BASE_URL",
            "PYRAMID_USERNAME",
            "PYRAMID_PASSWORD",
            "PYRAMID_TOKEN",
            "VISIER_RATE_LIMIT",
            "SEGMENT_RATE_LIMIT",
            "PYRAMID_RATE_LIMIT",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(&self.env);
        cmd.output().expect("run grantbridge")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let served = Served::start("all");
    let dir = tempdir();
    let before = snapshot(&served, dir.path(), "segment", "before.json");
    let map = mapping("visier-to-segment.toml");
    let map = map.to_str().expect("utf-8 path");
    ok(&served.run(
        dir.path(),
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
    let plan = Plan::load(dir.path().join("plan.json")).expect("plan file");
    assert!(!plan.changes.is_empty());
    assert!(
        !plan.skipped.is_empty(),
        "the demo mapping skips some items"
    );

    // Dry run: nothing changes, no report or journal is written.
    let out = ok(&served.run(dir.path(), &["apply", "plan.json", "--to", "segment"]));
    assert!(out.contains("dry run"), "{out}");
    let after_dry = snapshot(&served, dir.path(), "segment", "dry.json");
    assert_eq!(after_dry.assignments, before.assignments);
    assert!(!dir.path().join("plan.journal.jsonl").exists());

    // Apply for real.
    ok(&served.run(
        dir.path(),
        &["apply", "plan.json", "--to", "segment", "--yes"],
    ));
    let report = RunReport::load(dir.path().join("plan.report.json")).expect("report");
    assert_eq!(report.counts().applied, plan.changes.len());
    let applied = snapshot(&served, dir.path(), "segment", "applied.json");
    assert_ne!(applied.assignments, before.assignments);

    // Same command, same journal: everything is resumed, nothing is sent again.
    ok(&served.run(
        dir.path(),
        &["apply", "plan.json", "--to", "segment", "--yes"],
    ));
    let again = RunReport::load(dir.path().join("plan.report.json")).expect("report");
    assert_eq!(
        again.counts().resumed,
        plan.changes.len(),
        "{:?}",
        again.counts()
    );
    assert_eq!(
        again.counts().applied + again.counts().already_in_state,
        plan.changes.len()
    );
    assert_eq!(
        snapshot(&served, dir.path(), "segment", "again.json").assignments,
        applied.assignments
    );

    // Planning again finds nothing left to do.
    ok(&served.run(
        dir.path(),
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
    assert!(
        Plan::load(dir.path().join("plan2.json"))
            .expect("plan")
            .is_empty()
    );

    // Rollback restores the snapshot taken before the run.
    ok(&served.run(
        dir.path(),
        &["rollback", "plan.report.json", "--to", "segment", "--yes"],
    ));
    let rolled = snapshot(&served, dir.path(), "segment", "rolled.json");
    assert_eq!(rolled.assignments, before.assignments);
    assert_eq!(rolled.memberships, before.memberships);
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
