//! What the test suites of every crate share (feature `testing`, for dev-dependencies
//! only): case counts that respect `PROPTEST_CASES`, a runtime per property case,
//! outcomes compared without error wording, the fixture folders that fail loudly
//! when they are missing, and [`Intercepted`] systems for tests of broken behaviour.
//!
//! These helpers panic on a broken test setup (a missing fixture, a runtime that cannot
//! start): in a test that is the clearest report there is.
//!
//! ```
//! use grantbridge_core::testing::{cases, outcome_kind};
//! use grantbridge_core::Outcome;
//!
//! assert!(cases(16) > 0);
//! assert_eq!(outcome_kind(&Outcome::AlreadyInState), "already");
//! ```

use std::path::{Path, PathBuf};

use proptest::test_runner::Config as ProptestConfig;
use serde::de::DeserializeOwned;

use crate::engine::TargetIdentity;
use crate::{
    AccessSystem, Assignment, AssignmentStore, Capabilities, Directory, Error, Group, Membership,
    NewProfile, Outcome, Principal, Profile, ProfileCatalog, ProfileId, SystemId, User,
};

/// `default` unless the `PROPTEST_CASES` variable asks for another count: CI runs the
/// default, a long local run sets the variable.
pub fn cases(default: u32) -> u32 {
    cases_from(std::env::var("PROPTEST_CASES").ok().as_deref(), default)
}

/// [`cases`] on a given value of the variable (unset, or text that is not a count,
/// means `default`).
pub fn cases_from(var: Option<&str>, default: u32) -> u32 {
    var.and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// A proptest configuration running [`cases`]`(default_cases)` cases, other settings
/// at proptest's defaults (change them with struct update).
pub fn proptest_config(default_cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default_cases),
        ..ProptestConfig::default()
    }
}

/// A current-thread runtime with time and I/O, one per property case so that no state
/// leaks from one case into the next.
///
/// # Panics
///
/// If the runtime cannot be built (the process is out of file descriptors).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime")
}

/// An outcome as `applied`, `already` or `failed:<ErrorKind>`, so the outcomes of two
/// systems whose error messages differ can be compared.
pub fn outcome_kind(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Applied => "applied".to_owned(),
        Outcome::AlreadyInState => "already".to_owned(),
        Outcome::Failed(e) => format!("failed:{:?}", e.kind()),
    }
}

/// [`outcome_kind`], except that an unsupported item reads `unsupported:<Feature>`:
/// for comparisons where *which* capability refused matters.
pub fn outcome_feature_kind(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Failed(Error::Unsupported { feature, .. }) => format!("unsupported:{feature:?}"),
        other => outcome_kind(other),
    }
}

/// A header map from `(name, value)` pairs, for tests of header readers.
///
/// # Panics
///
/// If a value is not a valid header value.
#[cfg(feature = "http")]
pub fn header_map(pairs: &[(&'static str, &str)]) -> crate::http::header::HeaderMap {
    use crate::http::header::{HeaderMap, HeaderValue};
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        let value = HeaderValue::from_str(value)
            .unwrap_or_else(|e| panic!("header {name}: {value:?}: {e}"));
        headers.insert(*name, value);
    }
    headers
}

/// A folder of test fixtures that must exist and hold at least a known number of
/// files, so a checkout that lost them fails naming the folder instead of passing
/// vacuously.
#[derive(Clone, Debug)]
pub struct Fixtures {
    dir: PathBuf,
}

impl Fixtures {
    /// The folder `dir` (usually `concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/…")`).
    ///
    /// # Panics
    ///
    /// If the folder cannot be read or holds fewer than `at_least` entries.
    pub fn open(dir: impl AsRef<Path>, at_least: usize) -> Fixtures {
        let dir = dir.as_ref().to_path_buf();
        let count = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("fixture folder {}: {e}", dir.display()))
            .count();
        assert!(
            count >= at_least,
            "fixture folder {}: {count} files, expected at least {at_least}",
            dir.display()
        );
        Fixtures { dir }
    }

    /// The folder itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the fixture `name` in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The names of the files in the folder, sorted.
    ///
    /// # Panics
    ///
    /// If the folder cannot be read.
    pub fn names(&self) -> Vec<String> {
        let entries = std::fs::read_dir(&self.dir)
            .unwrap_or_else(|e| panic!("fixture folder {}: {e}", self.dir.display()));
        let mut names: Vec<String> = entries
            .map(|entry| {
                let entry =
                    entry.unwrap_or_else(|e| panic!("fixture folder {}: {e}", self.dir.display()));
                entry.file_name().to_string_lossy().into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// The text of the fixture `name`.
    ///
    /// # Panics
    ///
    /// If the file cannot be read, naming its path.
    pub fn text(&self, name: &str) -> String {
        let path = self.path(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
    }

    /// The fixture `name` parsed as JSON into `T`.
    ///
    /// # Panics
    ///
    /// If the file cannot be read or does not parse as a `T`, naming the file.
    pub fn json<T: DeserializeOwned>(&self, name: &str) -> T {
        serde_json::from_str(&self.text(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
    }

    /// The fixture `name` read as JSON lines (a recording: one request per line, blank
    /// lines skipped), which must hold at least `at_least` of them.
    ///
    /// # Panics
    ///
    /// If the file cannot be read, a line is not JSON, or the recording is shorter
    /// than `at_least` (cut or replaced).
    pub fn json_lines(&self, name: &str, at_least: usize) -> Vec<serde_json::Value> {
        let lines: Vec<serde_json::Value> = self
            .text(name)
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("recording {name}, line {}: {e}", i + 1))
            })
            .collect();
        assert!(
            lines.len() >= at_least,
            "recording {}: {} lines, expected at least {at_least}",
            self.path(name).display(),
            lines.len()
        );
        lines
    }
}

/// What an [`Intercepted`] system changes about the system it wraps: each method gets
/// the inner system and, by default, passes the call through.
///
/// Tests use it to make a *broken* system (one that drops windows, hides a write behind
/// a lost answer, enforces an undeclared limit) and check that a suite or the engine
/// notices, without repeating the delegation of every trait method.
#[async_trait::async_trait]
pub trait Intercept: Send + Sync {
    /// The capabilities the wrapper declares (default: the inner system's).
    fn capabilities(&self, inner: Capabilities) -> Capabilities {
        inner
    }

    /// A grant batch (default: the inner system's).
    async fn grant(&self, inner: &dyn AccessSystem, items: &[Assignment]) -> Vec<Outcome> {
        inner.grant(items).await
    }

    /// A revoke batch (default: the inner system's).
    async fn revoke(&self, inner: &dyn AccessSystem, items: &[Assignment]) -> Vec<Outcome> {
        inner.revoke(items).await
    }

    /// A membership add batch (default: the inner system's).
    async fn add_memberships(
        &self,
        inner: &dyn AccessSystem,
        items: &[Membership],
    ) -> Vec<Outcome> {
        inner.add_memberships(items).await
    }

    /// A membership remove batch (default: the inner system's).
    async fn remove_memberships(
        &self,
        inner: &dyn AccessSystem,
        items: &[Membership],
    ) -> Vec<Outcome> {
        inner.remove_memberships(items).await
    }
}

/// A system that forwards every call to `inner` except what its [`Intercept`] changes.
///
/// ```
/// use std::sync::Arc;
/// use grantbridge_core::testing::{Intercept, Intercepted};
/// use grantbridge_core::{AccessSystem, Capabilities, InMemorySystem, SystemId};
///
/// /// Declares no groups, whatever the inner system holds.
/// struct NoGroups;
/// impl Intercept for NoGroups {
///     fn capabilities(&self, inner: Capabilities) -> Capabilities {
///         inner.with_groups(false)
///     }
/// }
///
/// let inner = Arc::new(InMemorySystem::builder(SystemId::new("mem").unwrap()).build());
/// let system = Intercepted::new(inner, NoGroups);
/// assert!(!system.capabilities().groups);
/// ```
pub struct Intercepted<S, I> {
    /// The system wrapped.
    pub inner: S,
    /// What the wrapper changes.
    pub intercept: I,
}

impl<S, I> Intercepted<S, I> {
    /// Wraps `inner`.
    pub fn new(inner: S, intercept: I) -> Self {
        Self { inner, intercept }
    }
}

#[async_trait::async_trait]
impl<S: AccessSystem, I: Intercept> ProfileCatalog for Intercepted<S, I> {
    async fn list_profiles(&self) -> crate::Result<Vec<Profile>> {
        self.inner.list_profiles().await
    }
    async fn get_profile(&self, id: &ProfileId) -> crate::Result<Profile> {
        self.inner.get_profile(id).await
    }
    async fn create_profile(&self, profile: &NewProfile) -> crate::Result<Profile> {
        self.inner.create_profile(profile).await
    }
    async fn delete_profile(&self, id: &ProfileId) -> crate::Result<()> {
        self.inner.delete_profile(id).await
    }
}

#[async_trait::async_trait]
impl<S: AccessSystem, I: Intercept> Directory for Intercepted<S, I> {
    async fn list_users(&self) -> crate::Result<Vec<User>> {
        self.inner.list_users().await
    }
    async fn list_groups(&self) -> crate::Result<Vec<Group>> {
        self.inner.list_groups().await
    }
    async fn list_memberships(&self) -> crate::Result<Vec<Membership>> {
        self.inner.list_memberships().await
    }
    async fn add_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        self.intercept.add_memberships(&self.inner, items).await
    }
    async fn remove_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        self.intercept.remove_memberships(&self.inner, items).await
    }
}

#[async_trait::async_trait]
impl<S: AccessSystem, I: Intercept> AssignmentStore for Intercepted<S, I> {
    async fn list_assignments(&self) -> crate::Result<Vec<Assignment>> {
        self.inner.list_assignments().await
    }
    async fn list_assignments_for(&self, principal: &Principal) -> crate::Result<Vec<Assignment>> {
        self.inner.list_assignments_for(principal).await
    }
    async fn grant(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.intercept.grant(&self.inner, items).await
    }
    async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.intercept.revoke(&self.inner, items).await
    }
}

impl<S: AccessSystem, I: Intercept> AccessSystem for Intercepted<S, I> {
    fn id(&self) -> &SystemId {
        self.inner.id()
    }
    fn capabilities(&self) -> Capabilities {
        self.intercept.capabilities(self.inner.capabilities())
    }
    fn identity(&self) -> TargetIdentity {
        self.inner.identity()
    }
}

/// Checks what an injected 429 costs a client on the paused clock: with `faults`
/// (a `rate_limited` plan whose `retry_after` is `wait`) set on `controls`, `call`
/// fails `RateLimited` announcing `wait`; with faults off, the next `call` succeeds
/// after waiting `wait` (to the second), not a budget window the client guessed.
///
/// `call` must go through a client whose retries are off (so the first call returns
/// the 429) and that has already logged in (so the 429 lands on the call's class).
/// Run it in a `#[tokio::test(start_paused = true)]` with the emulator on the same
/// runtime.
#[cfg(feature = "sandbox")]
pub async fn assert_injected_429_costs_its_wait<F, Fut, T>(
    controls: &crate::sandbox::SandboxControls,
    wait: std::time::Duration,
    call: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = crate::Result<T>>,
{
    use crate::sandbox::FaultPlan;
    controls.set_faults(
        FaultPlan::none()
            .with_rate_limited(1.0)
            .with_retry_after(wait),
    );
    let err = match call().await {
        Ok(_) => panic!("expected a 429"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), crate::ErrorKind::RateLimited, "{err}");
    assert_eq!(err.retry_after(), Some(wait), "the wait the 429 announced");
    controls.set_faults(FaultPlan::none());
    let start = tokio::time::Instant::now();
    if let Err(e) = call().await {
        panic!("the call after the wait failed: {e}");
    }
    let waited = start.elapsed();
    assert!(
        waited >= wait && waited < wait + std::time::Duration::from_secs(1),
        "waited {waited:?} after a 429 announcing {wait:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Feature;

    #[test]
    fn cases_reads_a_count_or_falls_back() {
        assert_eq!(cases_from(None, 7), 7);
        assert_eq!(cases_from(Some("250"), 7), 250);
        assert_eq!(cases_from(Some(" 3 "), 7), 3);
        assert_eq!(cases_from(Some("many"), 7), 7);
        assert_eq!(cases_from(Some("-1"), 7), 7);
    }

    #[test]
    fn outcome_kinds_keep_the_feature_and_drop_the_wording() {
        assert_eq!(outcome_kind(&Outcome::Applied), "applied");
        assert_eq!(outcome_kind(&Outcome::AlreadyInState), "already");
        let unsupported = Outcome::Failed(Error::unsupported("s", Feature::ValidityWindows));
        assert_eq!(outcome_kind(&unsupported), "failed:Unsupported");
        assert_eq!(
            outcome_feature_kind(&unsupported),
            "unsupported:ValidityWindows"
        );
        assert_eq!(outcome_feature_kind(&Outcome::Applied), "applied");
        let a = outcome_kind(&Outcome::Failed(Error::invalid("x", "one wording")));
        let b = outcome_kind(&Outcome::Failed(Error::invalid("y", "another")));
        assert_eq!(a, "failed:InvalidInput");
        assert_eq!(a, b);
    }

    #[test]
    fn fixtures_fail_loudly_when_short_or_missing() {
        let dir = std::env::temp_dir().join(format!("gb-fixtures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("b.json"), r#"{"n": 2}"#).expect("write");
        std::fs::write(dir.join("a.txt"), "alpha").expect("write");
        std::fs::write(dir.join("c.jsonl"), "{\"i\":1}\n\n{\"i\":2}\n").expect("write");
        let f = Fixtures::open(&dir, 3);
        assert_eq!(f.names(), ["a.txt", "b.json", "c.jsonl"]);
        let lines = f.json_lines("c.jsonl", 2);
        assert_eq!((lines.len(), &lines[1]["i"]), (2, &serde_json::json!(2)));
        let cut = std::panic::catch_unwind(|| f.json_lines("c.jsonl", 3));
        let not_json = std::panic::catch_unwind(|| f.json_lines("a.txt", 0));
        assert_eq!(f.text("a.txt"), "alpha");
        let v: serde_json::Value = f.json("b.json");
        assert_eq!(v["n"], 2);
        let short = std::panic::catch_unwind(|| Fixtures::open(&dir, 4));
        let missing = std::panic::catch_unwind(|| Fixtures::open(dir.join("nope"), 0));
        std::fs::remove_dir_all(&dir).expect("clean up");
        assert!(short.is_err() && missing.is_err() && cut.is_err() && not_json.is_err());
    }
}
