//! Secret hygiene: with TRACE logging (`-vvv` and `RUST_LOG=trace`), neither what the
//! CLI prints (stdout and stderr) nor any file it writes (snapshots, plans, journals,
//! run reports, access reviews) contains a configured secret or a token the vendors
//! issued during the run.
//!
//! The emulators run in this test process, so their request logs show every
//! credential the CLI really sent (headers, query values, login bodies), including the
//! ASID, bearer and session tokens the emulators issued at random. `grantbridge sandbox
//! serve` prints the demo credentials on purpose; its own output is not scanned.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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

const STANDARD_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64_with(alphabet: &[u8], bytes: &[u8]) -> String {
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
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn standard_base64(bytes: &[u8]) -> String {
    base64_with(STANDARD_ALPHABET, bytes)
}

/// Percent-encoding of every byte outside `A-Z a-z 0-9 - . _ ~`; `plus_for_space` gives
/// the form (`application/x-www-form-urlencoded`) variant.
fn percent_encode(s: &str, upper: bool, plus_for_space: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            b' ' if plus_for_space => "+".to_owned(),
            _ if upper => format!("%{b:02X}"),
            _ => format!("%{b:02x}"),
        })
        .collect()
}

/// The shortest piece of a secret the scan looks for: any substring of a secret (or of
/// one of its encodings) this long or longer contains one of these windows.
const FRAGMENT: usize = 8;

/// The forms a secret could leak in: as is, URL-encoded (percent and form encoding,
/// upper- and lower-case hex) and base64 (standard and URL-safe alphabets). Base64 of a
/// text that contains the secret (an HTTP Basic `user:secret`, say) contains the
/// encoding of the secret's bytes from one of three alignments: all three are listed,
/// cut to whole 3-byte groups, so that they do not depend on what surrounds the secret.
fn leak_forms(secret: &str) -> BTreeSet<String> {
    let mut forms: BTreeSet<String> = [
        secret.to_owned(),
        percent_encode(secret, true, false),
        percent_encode(secret, false, false),
        percent_encode(secret, true, true),
        percent_encode(secret, false, true),
    ]
    .into();
    let bytes = secret.as_bytes();
    for alphabet in [STANDARD_ALPHABET, URL_SAFE_ALPHABET] {
        for skip in 0..3.min(bytes.len()) {
            let rest = &bytes[skip..];
            let whole = rest.len() / 3 * 3;
            forms.insert(base64_with(alphabet, &rest[..whole]));
        }
    }
    forms
}

/// The words of exactly [`FRAGMENT`] letters a secret is made of, between separators
/// (`password` in `visier-sandbox-password`). Such a window on its own is no evidence of
/// a leak: ordinary messages say "Invalid username or password". A longer piece that
/// contains it (`-password`) still counts.
fn plain_words(secret: &str) -> BTreeSet<[u8; FRAGMENT]> {
    secret
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == FRAGMENT && w.bytes().all(|b| b.is_ascii_alphabetic()))
        .filter_map(|w| w.as_bytes().try_into().ok())
        .collect()
}

/// The secrets to look for, each with where it came from, and the windows of
/// [`FRAGMENT`] bytes of every form of each.
#[derive(Default)]
struct Secrets {
    /// Secret -> what it is.
    all: BTreeMap<String, String>,
    /// Every window of every form of every secret -> the secrets' descriptions.
    windows: HashMap<[u8; FRAGMENT], String>,
    /// Windows that are a plain word of a secret ([`plain_words`]): they extend a
    /// piece found, but do not make one.
    word_windows: HashSet<[u8; FRAGMENT]>,
}

impl Secrets {
    fn len(&self) -> usize {
        self.all.len()
    }

    fn add(&mut self, s: &str, what: &str) {
        let s = s.trim();
        // Short values (`1`, `none`) would match anywhere and are no credentials.
        if s.len() < FRAGMENT || self.all.contains_key(s) {
            return;
        }
        self.all.insert(s.to_owned(), what.to_owned());
        let words = plain_words(s);
        for form in leak_forms(s) {
            for w in form.as_bytes().windows(FRAGMENT) {
                let key: [u8; FRAGMENT] = w.try_into().expect("a window");
                if words.contains(&key) {
                    // Not evidence alone, but part of a longer piece.
                    self.word_windows.insert(key);
                    continue;
                }
                let known = self.windows.entry(key).or_default();
                if !known.split(" or ").any(|k| k == what) {
                    if !known.is_empty() {
                        known.push_str(" or ");
                    }
                    known.push_str(what);
                }
            }
        }
    }

    /// Credentials the emulators saw: sensitive headers (a bearer's or Basic's token, a
    /// cookie's values), sensitive query values, and sensitive fields of login bodies
    /// (JSON or form).
    fn add_from_log(&mut self, log: &[LoggedRequest]) {
        for e in log {
            for (name, value) in &e.headers {
                if !is_sensitive_name(name) {
                    continue;
                }
                let what = format!("{name} sent to {}", e.path);
                let value = value.trim();
                if name.eq_ignore_ascii_case("cookie") || name.eq_ignore_ascii_case("set-cookie") {
                    // The values only: cookie names are no secrets.
                    for cookie in value.split(';') {
                        match cookie.split_once('=') {
                            Some((_, v)) => self.add(v, &what),
                            None => self.add(cookie, &what),
                        }
                    }
                    continue;
                }
                match value.split_once(' ') {
                    Some((scheme, rest))
                        if scheme.eq_ignore_ascii_case("bearer")
                            || scheme.eq_ignore_ascii_case("basic") =>
                    {
                        self.add(rest, &what)
                    }
                    _ => self.add(value, &what),
                }
            }
            for pair in e.query().unwrap_or_default().split('&') {
                if let Some((k, v)) = pair.split_once('=')
                    && is_sensitive_name(k)
                {
                    self.add(v, &format!("query {k} sent to {}", e.path));
                }
            }
            match e.body_json() {
                Some(json) => self.add_json(&json, &e.path),
                None => {
                    for pair in e.body_text().split('&') {
                        if let Some((k, v)) = pair.split_once('=')
                            && is_sensitive_name(k)
                        {
                            self.add(v, &format!("form field {k} sent to {}", e.path));
                        }
                    }
                }
            }
        }
    }

    fn add_json(&mut self, v: &serde_json::Value, path: &str) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        serde_json::Value::String(s) if is_sensitive_name(k) => {
                            self.add(s, &format!("JSON field {k} sent to {path}"))
                        }
                        other => self.add_json(other, path),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| self.add_json(i, path)),
            _ => {}
        }
    }

    /// The pieces of secrets `text` contains: each as the longest run of consecutive
    /// matching windows, with the description of its secret.
    fn found_in(&self, text: &str) -> Vec<String> {
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        let mut i = 0;
        while i + FRAGMENT <= bytes.len() {
            let key: [u8; FRAGMENT] = bytes[i..i + FRAGMENT].try_into().expect("a window");
            let Some(what) = self.windows.get(&key) else {
                i += 1;
                continue;
            };
            let mut end = i + FRAGMENT;
            while end < bytes.len() {
                let next: [u8; FRAGMENT] = bytes[end + 1 - FRAGMENT..=end]
                    .try_into()
                    .expect("a window");
                if !self.windows.contains_key(&next) && !self.word_windows.contains(&next) {
                    break;
                }
                end += 1;
            }
            found.push(format!(
                "{:?} (a piece of: {what})",
                String::from_utf8_lossy(&bytes[i..end])
            ));
            i = end;
        }
        found
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
        let p = self.pyramid.credentials();
        vec![
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
            ("PYRAMID_BASE_URL", self.pyramid.base_url()),
            ("PYRAMID_USERNAME", p.username.clone()),
            ("PYRAMID_PASSWORD", p.password.expose().to_owned()),
            ("PYRAMID_RATE_LIMIT", "none".to_owned()),
        ]
    }

    /// The configured secrets of every vendor (the sandbox demo logins). Their HTTP
    /// Basic forms are covered by the base64 forms of each secret.
    fn configured_secrets(&self) -> Secrets {
        let mut s = Secrets::default();
        let v = self.visier.credentials();
        s.add(v.api_key.expose(), "VISIER_API_KEY");
        s.add(v.password.expose(), "VISIER_PASSWORD");
        s.add(v.client_secret.expose(), "VISIER_CLIENT_SECRET");
        s.add(self.segment.credentials().token.expose(), "SEGMENT_TOKEN");
        s.add(
            self.pyramid.credentials().password.expose(),
            "PYRAMID_PASSWORD",
        );
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
    let configured = secrets.len();
    secrets.add_from_log(&emulators.logs());
    let learned = secrets.len() - configured;
    // The scan must look for real material: the issued Visier ASID and Pyramid session
    // tokens were learned from the request log on top of the configured secrets.
    assert_eq!(configured, 5, "the five configured secrets");
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
        secrets.len(),
        learned
    );
}

#[test]
fn rejected_logins_do_not_echo_the_secret_sent() {
    // Wrong credentials make the vendors answer 401/403: the error the CLI prints (and
    // its TRACE log) must not repeat what it sent.
    let emulators = Emulators::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let oauth = |e: &Emulators| {
        let v = e.visier.credentials();
        vec![
            ("VISIER_CLIENT_ID", v.client_id.clone()),
            ("VISIER_CLIENT_SECRET", v.client_secret.expose().to_owned()),
        ]
    };
    // (variable, wrong value, extra settings)
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, String)>);
    let wrong: Vec<Case> = vec![
        ("VISIER_PASSWORD", "wrong-visier-password-7f3a", vec![]),
        ("VISIER_API_KEY", "wrong-visier-api-key-9c1d", vec![]),
        (
            "VISIER_CLIENT_SECRET",
            "wrong-visier-client-secret-5e0a",
            oauth(&emulators),
        ),
        (
            "VISIER_PASSWORD",
            "wrong-visier-oauth-password-3b7c",
            oauth(&emulators),
        ),
        ("SEGMENT_TOKEN", "wrong-segment-token-4b8e", vec![]),
        ("PYRAMID_PASSWORD", "wrong-pyramid-password-2d6f", vec![]),
    ];
    for (var, value, extra) in wrong {
        let mut env = emulators.env();
        env.extend(extra);
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
        let mut secrets = emulators.configured_secrets();
        secrets.add(value, &format!("the wrong {var}"));
        secrets.add_from_log(&emulators.logs());
        let leaks = secrets.found_in(&text);
        assert!(leaks.is_empty(), "{var}: leaked {leaks:?}\n{}", tail(&text));
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
fn traced_oauth_client_login_leaks_no_secret() {
    // VISIER_CLIENT_ID + VISIER_CLIENT_SECRET with the username and password: the
    // OAuth 2.0 password grant instead of the ASID login.
    let emulators = Emulators::start();
    let v = emulators.visier.credentials();
    let mut env = emulators.env();
    env.push(("VISIER_CLIENT_ID", v.client_id.clone()));
    env.push(("VISIER_CLIENT_SECRET", v.client_secret.expose().to_owned()));
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let to_segment = mapping("visier-to-segment.toml");
    let commands: Vec<Vec<&str>> = vec![
        vec!["snapshot", "--system", "visier", "--out", "visier.json"],
        vec!["snapshot", "--system", "visier"],
        vec![
            "report", "--system", "visier", "--format", "csv", "--out", "v.csv",
        ],
        vec!["report", "--system", "visier", "--format", "json"],
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
    ];
    let mut outputs = Vec::new();
    for args in &commands {
        outputs.push((args.join(" "), run_traced(d, &env, args)));
    }

    // The OAuth path ran: every login went to the token endpoint with the client in
    // HTTP Basic and a password grant, no ASID login was made, and the other calls
    // carried the bearer token it issued.
    let log = emulators.visier.log().entries();
    let basic = format!(
        "Basic {}",
        standard_base64(format!("{}:{}", v.client_id, v.client_secret.expose()).as_bytes())
    );
    let logins: Vec<&LoggedRequest> = log
        .iter()
        .filter(|e| e.path == "/v1/auth/oauth2/token")
        .collect();
    assert!(
        logins.len() >= commands.len(),
        "OAuth logins: {}",
        logins.len()
    );
    for e in &logins {
        assert_eq!(e.status, 200, "{e:?}");
        assert_eq!(e.header("authorization"), Some(basic.as_str()), "{e:?}");
        assert!(e.body_text().contains("grant_type=password"), "{e:?}");
    }
    assert!(
        log.iter().all(|e| e.path != "/v1/admin/visierSecureToken"),
        "an ASID login was made"
    );
    let bearer = log
        .iter()
        .filter(|e| {
            e.header("authorization")
                .is_some_and(|a| a.starts_with("Bearer "))
        })
        .count();
    assert!(bearer > 0, "no call carried a bearer token");

    let mut secrets = emulators.configured_secrets();
    let configured = secrets.len();
    secrets.add_from_log(&emulators.logs());
    // At least the Basic credential and one issued access token.
    let learned = secrets.len() - configured;
    assert!(
        learned >= 2,
        "tokens learned from the request log: {learned}"
    );
    let mut scan = Scan::default();
    for (what, out) in &outputs {
        scan.output(what, out, &secrets);
    }
    scan.files(d, &secrets);
    assert!(scan.trace_lines > 0, "TRACE logging produced nothing");
    for name in ["visier.json", "v.csv", "seg.plan.json"] {
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
        "OAuth: {} logins; scanned {} bytes of output ({} TRACE lines) and {} files for \
         {} secrets ({} learned from the request logs)",
        logins.len(),
        scan.bytes_of_logs,
        scan.trace_lines,
        scan.files.len(),
        secrets.len(),
        learned
    );
}

#[test]
fn the_scan_finds_a_secret_where_one_is() {
    // The encoders, pinned against known values.
    assert_eq!(standard_base64(b"admin:pw"), "YWRtaW46cHc=");
    assert_eq!(standard_base64(&[0xfb, 0xff, 0xbf]), "+/+/");
    assert_eq!(base64_with(URL_SAFE_ALPHABET, &[0xfb, 0xff, 0xbf]), "-_-_");

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
    let pyramid_password = &emulators.pyramid.credentials().password;
    let v = emulators.visier.credentials();
    for s in [
        v.api_key.expose(),
        v.password.expose(),
        emulators.segment.credentials().token.expose(),
        pyramid_password.expose(),
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(&format!("{s:?} "))),
            "{s} not found whole in: {text}\nfound: {found:?}"
        );
    }

    // Ordinary output holds none.
    let help = Command::new(BIN).arg("--help").output().expect("--help");
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.contains("grantbridge"), "{help}");
    assert_eq!(secrets.found_in(&help), Vec::<String>::new());

    // Every piece of 8 characters of every configured secret is found, planted in
    // other text, but for a plain word of the secret (`password`); a piece of 7 is not.
    for secret in [
        v.api_key.expose(),
        v.password.expose(),
        v.client_secret.expose(),
        emulators.segment.credentials().token.expose(),
        pyramid_password.expose(),
    ] {
        let chars: Vec<char> = secret.chars().collect();
        for at in 0..=chars.len() - FRAGMENT {
            let piece: String = chars[at..at + FRAGMENT].iter().collect();
            let text = format!("DEBUG request sent value={piece}; done");
            let word = piece.bytes().all(|b| b.is_ascii_alphabetic())
                && secret
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|w| w == piece);
            let want = if word { 0 } else { 1 };
            assert_eq!(
                secrets.found_in(&text).len(),
                want,
                "{piece:?} of {secret:?}"
            );
            let short: String = chars[at..at + FRAGMENT - 1].iter().collect();
            let text = format!("DEBUG request sent value={short}; done");
            assert_eq!(secrets.found_in(&text), Vec::<String>::new(), "{short:?}");
        }
    }

    let message = "error: login refused: Invalid username or password";
    assert_eq!(secrets.found_in(message), Vec::<String>::new());
    assert!(!secrets.found_in("sent x-password here").is_empty());

    // Encoded: HTTP Basic of a login (the secret after `user:`), base64 of a piece at
    // each of the three alignments, in both alphabets, and URL-encoded pieces.
    let password = v.password.expose();
    let basic = standard_base64(format!("{}:{password}", v.username).as_bytes());
    assert!(
        !secrets
            .found_in(&format!("Authorization: Basic {basic}"))
            .is_empty()
    );
    let piece = &password[5..15];
    for prefix in ["", "a", "ab"] {
        let bytes = format!("{prefix}{piece}z");
        for alphabet in [STANDARD_ALPHABET, URL_SAFE_ALPHABET] {
            let encoded = base64_with(alphabet, bytes.as_bytes());
            assert!(
                !secrets.found_in(&format!("x {encoded} y")).is_empty(),
                "base64 {encoded} of {bytes:?}"
            );
        }
    }
    // The forms looked for, against encodings written out by hand (Python's
    // `urllib.parse.quote` / `quote_plus` and `base64`), then planted.
    let secret = "p@ss w&rd=1/x+y~?";
    let forms = leak_forms(secret);
    let want = [
        "p@ss w&rd=1/x+y~?",
        "p%40ss%20w%26rd%3D1%2Fx%2By~%3F",
        "p%40ss%20w%26rd%3d1%2fx%2by~%3f",
        "p%40ss+w%26rd%3D1%2Fx%2By~%3F",
        "p%40ss+w%26rd%3d1%2fx%2by~%3f",
        // base64 of bytes 0..15, 1..16 and 2..17, standard and URL-safe.
        "cEBzcyB3JnJkPTEveCt5",
        "QHNzIHcmcmQ9MS94K3l+",
        "c3MgdyZyZD0xL3greX4/",
        "QHNzIHcmcmQ9MS94K3l-",
        "c3MgdyZyZD0xL3greX4_",
    ];
    assert_eq!(forms, want.iter().map(|f| f.to_string()).collect());
    let mut special = Secrets::default();
    special.add(secret, "a secret with reserved characters");
    for planted in want.iter().copied().chain([
        "&password=w%26rd%3D1&",
        // base64 of a text in which the secret follows `user:` (HTTP Basic).
        "dXNlcjpwQHNzIHcmcmQ9MS94K3l+Pw==",
    ]) {
        assert!(
            !special
                .found_in(&format!("sent {planted} there"))
                .is_empty(),
            "{planted}"
        );
    }

    // And in a written file, through the same scan as the runs'.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("clean.json"), "{\"users\": []}").expect("write");
    std::fs::write(
        dir.path().join("leaky.jsonl"),
        format!(
            "{{\"note\": \"token {}\"}}\n",
            &emulators.segment.credentials().token.expose()[3..14]
        ),
    )
    .expect("write");
    let mut scan = Scan::default();
    scan.files(dir.path(), &secrets);
    assert_eq!(scan.files.len(), 2);
    assert_eq!(scan.leaks.len(), 1, "{:?}", scan.leaks);
    assert!(scan.leaks[0].contains("leaky.jsonl"), "{:?}", scan.leaks);
}
