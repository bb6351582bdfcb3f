//! Secret hygiene: with TRACE logging (`-vvv` and `RUST_LOG=trace`), neither what the
//! CLI prints (stdout and stderr) nor any file it writes (snapshots, plans, journals,
//! run reports, access reviews) contains a configured secret or a token the vendors
//! issued during the run.
//!
//! The emulators run in this test process, so their request logs show every
//! credential the CLI really sent (headers, query values, login bodies), including the
//! ASID, bearer and session tokens the emulators issued at random. `grantbridge sandbox
//! serve` prints the demo credentials on purpose; its own output is not scanned.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use grantbridge_core::sandbox::{LoggedRequest, RateWindow, SandboxOptions, is_sensitive_name};
use grantbridge_pyramid::sandbox::{PyramidSandbox, Seed as PyramidSeed};
use grantbridge_segment::IAM_MUTATION;
use grantbridge_segment::sandbox::{Seed as SegmentSeed, SegmentSandbox};
use grantbridge_visier::sandbox::{Seed as VisierSeed, VisierSandbox};

const BIN: &str = env!("CARGO_BIN_EXE_grantbridge");

/// Every credential variable the CLI reads, removed from the child's environment
/// before the test sets its own.
const CREDENTIAL_VARS: &[&str] = &[
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
];

fn standard_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The secrets to look for, and the forms they could leak in.
#[derive(Default)]
struct Secrets(BTreeSet<String>);

impl Secrets {
    fn add(&mut self, s: &str) {
        let s = s.trim();
        // Short values (`1`, `none`) would match anywhere and are no credentials.
        if s.len() >= 8 {
            self.0.insert(s.to_owned());
        }
    }

    /// A login pair as HTTP Basic would carry it.
    fn add_basic(&mut self, user: &str, secret: &str) {
        self.add(&standard_base64(format!("{user}:{secret}").as_bytes()));
    }

    /// Credentials the emulators saw: sensitive headers (a bearer's token, a cookie's
    /// values), sensitive query values, and sensitive fields of login bodies (JSON or
    /// form).
    fn add_from_log(&mut self, log: &[LoggedRequest]) {
        for e in log {
            for (name, value) in &e.headers {
                if !is_sensitive_name(name) {
                    continue;
                }
                let value = value.trim();
                match value.split_once(' ') {
                    Some((scheme, rest))
                        if scheme.eq_ignore_ascii_case("bearer")
                            || scheme.eq_ignore_ascii_case("basic") =>
                    {
                        self.add(rest)
                    }
                    _ => self.add(value),
                }
                for cookie in value.split(';') {
                    if let Some((_, v)) = cookie.split_once('=') {
                        self.add(v);
                    }
                }
            }
            for pair in e.query().unwrap_or_default().split('&') {
                if let Some((k, v)) = pair.split_once('=')
                    && is_sensitive_name(k)
                {
                    self.add(v);
                }
            }
            match e.body_json() {
                Some(json) => self.add_json(&json),
                None => {
                    for pair in e.body_text().split('&') {
                        if let Some((k, v)) = pair.split_once('=')
                            && is_sensitive_name(k)
                        {
                            self.add(v);
                        }
                    }
                }
            }
        }
    }

    fn add_json(&mut self, v: &serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        serde_json::Value::String(s) if is_sensitive_name(k) => self.add(s),
                        other => self.add_json(other),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| self.add_json(i)),
            _ => {}
        }
    }

    /// The secrets `text` contains.
    fn found_in(&self, text: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|s| text.contains(s.as_str()))
            .map(String::as_str)
            .collect()
    }
}

/// The three emulators in this process, with the demo credentials.
struct Emulators {
    /// Serves the emulators for as long as the test runs.
    _rt: tokio::runtime::Runtime,
    visier: VisierSandbox,
    segment: SegmentSandbox,
    pyramid: PyramidSandbox,
}

impl Emulators {
    fn start() -> Emulators {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (visier, segment, pyramid) = rt.block_on(async {
            let visier = VisierSandbox::start(VisierSeed::Demo, SandboxOptions::default())
                .await
                .expect("visier");
            let segment = SegmentSandbox::start(
                SegmentSeed::Demo,
                SandboxOptions::default()
                    .with_class_rate_limit(IAM_MUTATION, RateWindow::per_minute(6000)),
            )
            .await
            .expect("segment");
            let pyramid = PyramidSandbox::start(PyramidSeed::Demo, SandboxOptions::default())
                .await
                .expect("pyramid");
            (visier, segment, pyramid)
        });
        Emulators {
            _rt: rt,
            visier,
            segment,
            pyramid,
        }
    }

    /// The settings the CLI reads, as `grantbridge sandbox serve` prints them.
    fn env(&self) -> Vec<(&'static str, String)> {
        let v = self.visier.credentials();
        let (pyramid_user, pyramid_password) = self.pyramid.credentials();
        vec![
            ("VISIER_BASE_URL", self.visier.base_url()),
            ("VISIER_API_KEY", v.api_key.expose().to_owned()),
            ("VISIER_USERNAME", v.username.clone()),
            ("VISIER_PASSWORD", v.password.expose().to_owned()),
            ("VISIER_RATE_LIMIT", "none".to_owned()),
            ("SEGMENT_BASE_URL", self.segment.base_url()),
            ("SEGMENT_TOKEN", self.segment.token().to_owned()),
            ("SEGMENT_RATE_LIMIT", "6000".to_owned()),
            ("PYRAMID_BASE_URL", self.pyramid.base_url()),
            ("PYRAMID_USERNAME", pyramid_user),
            ("PYRAMID_PASSWORD", pyramid_password.expose().to_owned()),
            ("PYRAMID_RATE_LIMIT", "none".to_owned()),
        ]
    }

    /// The configured secrets of every vendor (the sandbox demo logins).
    fn configured_secrets(&self) -> Secrets {
        let mut s = Secrets::default();
        let v = self.visier.credentials();
        s.add(v.api_key.expose());
        s.add(v.password.expose());
        s.add(v.client_secret.expose());
        s.add_basic(&v.username, v.password.expose());
        s.add_basic(&v.client_id, v.client_secret.expose());
        s.add(self.segment.token());
        let (user, password) = self.pyramid.credentials();
        s.add(password.expose());
        s.add_basic(&user, password.expose());
        s
    }

    fn logs(&self) -> Vec<LoggedRequest> {
        let mut all = self.visier.log().entries();
        all.extend(self.segment.log().entries());
        all.extend(self.pyramid.log().entries());
        all
    }
}

/// Runs the CLI at TRACE level in `dir` with `env`; returns its output.
fn run_traced(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("-vvv")
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        // The demo writes its files under the temp dir: keep them in `dir`.
        .env("TMPDIR", dir);
    for var in CREDENTIAL_VARS {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run grantbridge");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}\nstdout:\n{}\nstderr (tail):\n{}",
        String::from_utf8_lossy(&out.stdout),
        tail(&String::from_utf8_lossy(&out.stderr))
    );
    out
}

fn tail(s: &str) -> &str {
    let cut = s.len().saturating_sub(4000);
    let cut = (cut..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(0);
    &s[cut..]
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// What was scanned, so the test can show it saw real material.
#[derive(Default)]
struct Scan {
    bytes_of_logs: usize,
    trace_lines: usize,
    files: Vec<PathBuf>,
    leaks: Vec<String>,
}

impl Scan {
    fn output(&mut self, what: &str, out: &Output, secrets: &Secrets) {
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            self.bytes_of_logs += text.len();
            self.trace_lines += text.lines().filter(|l| l.contains("TRACE")).count();
            for s in secrets.found_in(&text) {
                self.leaks.push(format!("{what} {stream}: {s}"));
            }
        }
    }

    fn files(&mut self, dir: &Path, secrets: &Secrets) {
        for path in files(dir) {
            let text = String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned();
            for s in secrets.found_in(&text) {
                self.leaks.push(format!("{}: {s}", path.display()));
            }
            self.files.push(path);
        }
    }
}

fn mapping(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("mappings")
        .join(name)
        .to_str()
        .expect("utf-8 path")
        .to_owned()
}

#[test]
fn traced_commands_leak_no_configured_secret_nor_issued_token() {
    let emulators = Emulators::start();
    let env = emulators.env();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let to_segment = mapping("visier-to-segment.toml");
    let to_pyramid = mapping("visier-to-pyramid.toml");
    let commands: Vec<Vec<&str>> = vec![
        vec!["snapshot", "--system", "visier", "--out", "visier.json"],
        vec!["snapshot", "--system", "segment", "--out", "segment.json"],
        vec!["snapshot", "--system", "pyramid", "--out", "pyramid.json"],
        vec!["snapshot", "--system", "pyramid"],
        vec!["diff", "visier.json", "segment.json"],
        vec![
            "plan",
            "--from",
            "visier",
            "--to",
            "segment",
            "--mapping",
            &to_segment,
            "--out",
            "seg.plan.json",
        ],
        vec![
            "plan",
            "--from",
            "visier",
            "--to",
            "pyramid",
            "--mapping",
            &to_pyramid,
            "--out",
            "pyr.plan.json",
        ],
        vec!["apply", "seg.plan.json", "--to", "segment"],
        vec!["apply", "seg.plan.json", "--to", "segment", "--yes"],
        vec!["apply", "pyr.plan.json", "--to", "pyramid", "--yes"],
        vec![
            "--json",
            "apply",
            "pyr.plan.json",
            "--to",
            "pyramid",
            "--yes",
        ],
        vec![
            "rollback",
            "seg.plan.report.json",
            "--to",
            "segment",
            "--yes",
        ],
        vec![
            "report", "--system", "visier", "--format", "csv", "--out", "v.csv",
        ],
        vec![
            "report", "--system", "segment", "--format", "json", "--out", "s.json",
        ],
        vec!["report", "--system", "pyramid", "--format", "csv"],
    ];
    let mut outputs = Vec::new();
    for args in &commands {
        outputs.push((args.join(" "), run_traced(d, &env, args)));
    }
    // Let the emulators log the last responses.
    std::thread::sleep(Duration::from_millis(50));

    let mut secrets = emulators.configured_secrets();
    let configured = secrets.0.len();
    secrets.add_from_log(&emulators.logs());
    let learned = secrets.0.len() - configured;
    // The scan must look for real material: the issued Visier ASID and Pyramid session
    // tokens were learned from the request log on top of the configured secrets.
    assert!(configured >= 6, "{configured}");
    assert!(
        learned >= 2,
        "tokens learned from the request log: {learned}"
    );

    let mut scan = Scan::default();
    for (what, out) in &outputs {
        scan.output(what, out, &secrets);
    }
    scan.files(d, &secrets);
    assert!(
        scan.trace_lines > 0,
        "TRACE logging produced nothing: the scan would prove nothing"
    );
    for name in [
        "visier.json",
        "seg.plan.json",
        "seg.plan.journal.jsonl",
        "seg.plan.report.json",
        "seg.plan.report.rollback.jsonl",
        "pyr.plan.journal.jsonl",
        "v.csv",
        "s.json",
    ] {
        assert!(
            scan.files.iter().any(|f| f.ends_with(name)),
            "{name} was not written"
        );
    }
    assert!(
        scan.leaks.is_empty(),
        "secrets leaked:\n{}",
        scan.leaks.join("\n")
    );
    println!(
        "scanned {} bytes of output ({} TRACE lines) and {} files for {} secrets ({} learned from the request logs)",
        scan.bytes_of_logs,
        scan.trace_lines,
        scan.files.len(),
        secrets.0.len(),
        learned
    );
}

#[test]
fn rejected_logins_do_not_echo_the_secret_sent() {
    // Wrong credentials make the vendors answer 401/403: the error the CLI prints (and
    // its TRACE log) must not repeat what it sent.
    let emulators = Emulators::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let wrong = [
        ("VISIER_PASSWORD", "wrong-visier-password-7f3a"),
        ("VISIER_API_KEY", "wrong-visier-api-key-9c1d"),
        ("SEGMENT_TOKEN", "wrong-segment-token-4b8e"),
        ("PYRAMID_PASSWORD", "wrong-pyramid-password-2d6f"),
    ];
    for (var, value) in wrong {
        let mut env = emulators.env();
        for (k, v) in &mut env {
            if *k == var {
                *v = value.to_owned();
            }
        }
        let system = var.split('_').next().expect("prefix").to_ascii_lowercase();
        let mut cmd = Command::new(BIN);
        cmd.args(["-vvv", "snapshot", "--system", &system])
            .current_dir(dir.path())
            .env("RUST_LOG", "trace")
            .env("NO_COLOR", "1");
        for v in CREDENTIAL_VARS {
            cmd.env_remove(v);
        }
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        let out = cmd.output().expect("run grantbridge");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{var}: {}", tail(&text));
        assert!(text.contains("error"), "{var}: {}", tail(&text));
        assert!(!text.contains(value), "{var} echoed:\n{}", tail(&text));
        let mut secrets = emulators.configured_secrets();
        secrets.add_from_log(&emulators.logs());
        let leaks = secrets.found_in(&text);
        assert!(leaks.is_empty(), "{var}: leaked {leaks:?}");
    }
}

#[test]
fn traced_demo_leaks_no_demo_credential() {
    // The demo starts its own emulators with the same demo logins as these.
    let emulators = Emulators::start();
    let secrets = emulators.configured_secrets();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut scan = Scan::default();
    for args in [vec!["demo"], vec!["--json", "demo"]] {
        let out = run_traced(dir.path(), &[], &args);
        scan.output(&args.join(" "), &out, &secrets);
    }
    scan.files(dir.path(), &secrets);
    assert!(scan.trace_lines > 0, "TRACE logging produced nothing");
    for suffix in ["-run.json", "-run.journal.jsonl", "-rollback.json"] {
        assert!(
            scan.files
                .iter()
                .any(|f| f.to_string_lossy().ends_with(suffix)),
            "no demo file ends with {suffix}: {:?}",
            scan.files
        );
    }
    assert!(
        scan.leaks.is_empty(),
        "secrets leaked:\n{}",
        scan.leaks.join("\n")
    );
}

#[test]
fn the_scan_finds_a_secret_where_one_is() {
    // `sandbox serve` prints the demo logins on purpose: the scan must see them there,
    // or a clean result above would prove nothing.
    let emulators = Emulators::start();
    let secrets = emulators.configured_secrets();
    let mut child = Command::new(BIN)
        .args(["sandbox", "serve", "--vendor", "all"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn sandbox serve");
    let stdout = child.stdout.take().expect("stdout");
    let printed: Vec<String> = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .take(12)
        .map(|l| l.expect("line"))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let text = printed.join("\n");
    let found = secrets.found_in(&text);
    for s in [
        emulators.visier.credentials().api_key.expose(),
        emulators.visier.credentials().password.expose(),
        emulators.segment.token(),
    ] {
        assert!(found.contains(&s), "{s} not found in: {text}");
    }
    assert_eq!(
        standard_base64(b"admin:pw"),
        "YWRtaW46cHc=",
        "the Basic form is encoded right"
    );
}
