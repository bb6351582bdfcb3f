//! Killed and failing runs resume from their journal: the final state is the plan's
//! goal and no finished item is sent again, nor applied twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures::FutureExt;
use futures::executor::block_on;
use grantbridge_core::engine::{
    self, Desired, ExecuteOptions, Mapping, Mode, Plan, RunReport, Snapshot,
};
use grantbridge_core::prelude::*;
use grantbridge_core::{
    Assignment, Capabilities, Email, ErrorKind, Group, GroupId, InMemorySystem, Membership,
    NewProfile, Outcome, Principal, Profile, ProfileId, Result, Scope, SystemId, TenantCode, User,
    UserId, Validity, async_trait,
};

/// How the decorator stops a run after its allowance of write batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hang {
    /// Never.
    Off,
    /// The next write call never returns and changes nothing (killed before sending).
    Before,
    /// The next write call changes the system, then never returns (killed before the
    /// answer arrived, so the journal cannot know the outcome).
    After,
}

#[derive(Default)]
struct Log {
    /// Every item sent in a write call, in order, as text.
    sent: Vec<String>,
    /// `Applied` outcomes per item, over the system's whole life.
    applied: BTreeMap<String, usize>,
    /// Write calls served (including hung ones).
    calls: usize,
    /// At each write call: journal `begin` lines minus `end` lines.
    open_batches_at_call: Vec<isize>,
}

/// An `InMemorySystem` that records what it is sent and can hang after `k` batches.
struct Recording {
    inner: InMemorySystem,
    log: Mutex<Log>,
    hang: Mutex<(Hang, usize)>,
    journal: Option<PathBuf>,
}

impl Recording {
    fn new(inner: InMemorySystem, journal: Option<PathBuf>) -> Self {
        Self {
            inner,
            log: Mutex::new(Log::default()),
            hang: Mutex::new((Hang::Off, 0)),
            journal,
        }
    }

    fn hang_after(&self, batches: usize, how: Hang) {
        *self.hang.lock().expect("lock") = (how, batches);
    }

    fn take_sent(&self) -> Vec<String> {
        std::mem::take(&mut self.log.lock().expect("lock").sent)
    }

    fn applied(&self) -> BTreeMap<String, usize> {
        self.log.lock().expect("lock").applied.clone()
    }

    /// Runs one write call through the recorder.
    async fn write<T>(
        &self,
        verb: &str,
        items: &[T],
        show: impl Fn(&T) -> String,
        call: impl std::future::Future<Output = Vec<Outcome>>,
    ) -> Vec<Outcome> {
        let names: Vec<String> = items
            .iter()
            .map(|i| format!("{verb} {}", show(i)))
            .collect();
        let how = {
            let mut log = self.log.lock().expect("lock");
            log.calls += 1;
            log.sent.extend(names.iter().cloned());
            if let Some(path) = &self.journal {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let count = |event: &str| {
                    let needle = format!("\"event\":\"{event}\"");
                    text.lines().filter(|l| l.contains(&needle)).count() as isize
                };
                log.open_batches_at_call.push(count("begin") - count("end"));
            }
            let mut hang = self.hang.lock().expect("lock");
            match hang.0 {
                Hang::Off => Hang::Off,
                _ if hang.1 > 0 => {
                    hang.1 -= 1;
                    Hang::Off
                }
                how => how,
            }
        };
        if how == Hang::Before {
            return futures::future::pending().await;
        }
        let outcomes = call.await;
        {
            let mut log = self.log.lock().expect("lock");
            for (name, o) in names.iter().zip(&outcomes) {
                if *o == Outcome::Applied {
                    *log.applied.entry(name.clone()).or_default() += 1;
                }
            }
        }
        if how == Hang::After {
            return futures::future::pending().await;
        }
        outcomes
    }
}

#[async_trait]
impl ProfileCatalog for Recording {
    async fn list_profiles(&self) -> Result<Vec<Profile>> {
        self.inner.list_profiles().await
    }
    async fn get_profile(&self, id: &ProfileId) -> Result<Profile> {
        self.inner.get_profile(id).await
    }
    async fn create_profile(&self, profile: &NewProfile) -> Result<Profile> {
        self.inner.create_profile(profile).await
    }
}

fn show_assignment(a: &Assignment) -> String {
    format!("{} {} {}", a.principal, a.profile, a.scope)
}

fn show_membership(m: &Membership) -> String {
    format!("{} in {}", m.user, m.group)
}

#[async_trait]
impl Directory for Recording {
    async fn list_users(&self) -> Result<Vec<User>> {
        self.inner.list_users().await
    }
    async fn list_groups(&self) -> Result<Vec<Group>> {
        self.inner.list_groups().await
    }
    async fn list_memberships(&self) -> Result<Vec<Membership>> {
        self.inner.list_memberships().await
    }
    async fn add_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        self.write(
            "add",
            items,
            show_membership,
            self.inner.add_memberships(items),
        )
        .await
    }
    async fn remove_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        self.write(
            "remove",
            items,
            show_membership,
            self.inner.remove_memberships(items),
        )
        .await
    }
}

#[async_trait]
impl AssignmentStore for Recording {
    async fn list_assignments(&self) -> Result<Vec<Assignment>> {
        self.inner.list_assignments().await
    }
    async fn list_assignments_for(&self, principal: &Principal) -> Result<Vec<Assignment>> {
        self.inner.list_assignments_for(principal).await
    }
    async fn grant(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.write("grant", items, show_assignment, self.inner.grant(items))
            .await
    }
    async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.write("revoke", items, show_assignment, self.inner.revoke(items))
            .await
    }
}

impl AccessSystem for Recording {
    fn id(&self) -> &SystemId {
        self.inner.id()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

// ---- the migration under test -------------------------------------------------------

const USERS: usize = 24;

fn uid(side: &str, i: usize) -> UserId {
    UserId::new(format!("{side}-{i}")).expect("id")
}

fn mail(i: usize) -> Email {
    Email::new(format!("user{i}@example.com")).expect("email")
}

fn ms(s: i64) -> Option<i64> {
    Some(s * 1000)
}

/// A source where every user holds one or two profiles (some with windows, one
/// expired), and a target that already holds part of it, some extras and a stale window.
fn systems() -> (InMemorySystem, InMemorySystem) {
    let tenant = Scope::tenant(TenantCode::new("emea").expect("id"), true);
    let mut src = InMemorySystem::builder(SystemId::new("src").expect("id"))
        .profile(Profile::new(ProfileId::new("ADMIN").expect("id"), "Admin"))
        .profile(Profile::new(ProfileId::new("VIEW").expect("id"), "Viewer"))
        .group(Group::new(GroupId::new("sg").expect("id"), "Analysts"));
    let mut dst = InMemorySystem::builder(SystemId::new("dst").expect("id"))
        .capabilities(Capabilities::full().with_max_batch(4))
        .profile(Profile::new(ProfileId::new("owner").expect("id"), "Owner"))
        .profile(Profile::new(
            ProfileId::new("reader").expect("id"),
            "Reader",
        ))
        .group(Group::new(GroupId::new("tg").expect("id"), "Analysts"))
        .scope(&tenant);
    for i in 0..USERS {
        src = src.user(User::new(uid("s", i)).with_email(mail(i)));
        dst = dst.user(User::new(uid("t", i)).with_email(mail(i)));
        let window = match i % 4 {
            0 => Validity::ALWAYS,
            1 => Validity::from_millis(ms(1_000), ms(4_000_000_000)).expect("valid"),
            2 => Validity::from_millis(None, ms(2_000)).expect("valid"), // expired
            _ => Validity::from_millis(ms(3_000_000_000), None).expect("valid"),
        };
        src = src.assignment(
            Assignment::new(
                Principal::User(uid("s", i)),
                ProfileId::new("VIEW").expect("id"),
                tenant.clone(),
            )
            .with_validity(window),
        );
        if i % 3 == 0 {
            src = src.assignment(Assignment::new(
                Principal::User(uid("s", i)),
                ProfileId::new("ADMIN").expect("id"),
                Scope::System,
            ));
        }
        if i % 5 == 0 {
            src = src.membership(Membership::new(
                uid("s", i),
                GroupId::new("sg").expect("id"),
            ));
        }
        // The target already holds some of it, with a stale window on a few.
        if i % 6 == 0 {
            dst = dst.assignment(Assignment::new(
                Principal::User(uid("t", i)),
                ProfileId::new("reader").expect("id"),
                tenant.clone(),
            ));
        }
        // Extras that Mirror revokes.
        if i % 4 == 3 {
            dst = dst.assignment(Assignment::new(
                Principal::User(uid("t", i)),
                ProfileId::new("owner").expect("id"),
                tenant.clone(),
            ));
        }
        if i % 7 == 0 {
            dst = dst.membership(Membership::new(
                uid("t", i),
                GroupId::new("tg").expect("id"),
            ));
        }
    }
    (src.build(), dst.build())
}

const MAPPING: &str = r#"
[[rules]]
name = "admins own"
from = "Admin"
to = [{ profile = "Owner" }]

[[rules]]
name = "viewers read"
from = "VIEW"
to = [{ profile = "reader" }]
"#;

fn planned(target: &InMemorySystem) -> (Desired, Plan) {
    block_on(async {
        let (src, _) = systems();
        let source = Snapshot::take(&src).await.expect("snapshot");
        let current = Snapshot::take(target).await.expect("snapshot");
        let mapping = Mapping::parse(MAPPING, "m.toml").expect("mapping");
        let desired = engine::translate(&source, &mapping, &current).expect("translate");
        let plan = engine::plan(&desired, &current, Mode::Mirror);
        (desired, plan)
    })
}

fn journal_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "grantbridge-resume-{}-{name}.jsonl",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

fn options(journal: &Path) -> ExecuteOptions {
    ExecuteOptions {
        concurrency: 2,
        batch_size: Some(4),
        journal: Some(journal.to_path_buf()),
        ..ExecuteOptions::default()
    }
}

/// Runs `plan` until the recorder hangs it after `batches` write batches (`how`): the
/// run never finishes, as a killed process's would not.
fn kill_after(
    system: &Recording,
    plan: &Plan,
    options: &ExecuteOptions,
    batches: usize,
    how: Hang,
) {
    system.hang_after(batches, how);
    assert!(
        engine::execute(plan, system, options)
            .now_or_never()
            .is_none(),
        "the run finished before it was killed"
    );
}

/// Item names (as the recorder shows them) of the plan's changes, by index.
fn names(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| match c {
            engine::Change::Grant { assignment, .. } => {
                format!("grant {}", show_assignment(assignment))
            }
            engine::Change::Revoke { assignment } => {
                format!("revoke {}", show_assignment(assignment))
            }
            engine::Change::AddMember { membership } => {
                format!("add {}", show_membership(membership))
            }
            engine::Change::RemoveMember { membership } => {
                format!("remove {}", show_membership(membership))
            }
        })
        .collect()
}

/// Indices the journal records as finished (an `end` entry with a done outcome).
fn finished(journal: &Path) -> BTreeSet<usize> {
    if !journal.exists() {
        return BTreeSet::new();
    }
    engine::read_journal(journal)
        .expect("journal")
        .into_iter()
        .filter(|(_, o)| o.is_done())
        .map(|(i, _)| i)
        .collect()
}

fn assert_goal_reached(system: &Recording, desired: &Desired, plan: &Plan, report: &RunReport) {
    assert!(!report.has_failures(), "{:?}", report.counts());
    let after = block_on(Snapshot::take(system)).expect("snapshot");
    assert!(
        engine::plan(desired, &after, Mode::Mirror).is_empty(),
        "left to do after resume"
    );
    assert_eq!(after.assignments, desired.assignments);
    // Every change of the plan was applied exactly once over all runs.
    let applied = system.applied();
    for name in names(plan) {
        assert_eq!(applied.get(&name), Some(&1), "{name}");
    }
    assert_eq!(applied.len(), plan.changes.len());
    assert_eq!(system.inner.stats().items_applied, plan.changes.len());
}

#[test]
fn a_dropped_run_resumes_without_repeating_finished_items() {
    for how in [Hang::Before, Hang::After] {
        for k in [0, 1, 3, 6] {
            let journal = journal_path(&format!("drop-{how:?}-{k}"));
            let (_, dst) = systems();
            let system = Recording::new(dst, Some(journal.clone()));
            let (desired, plan) = planned(&system.inner);
            assert!(plan.changes.len() > 20, "{}", plan.changes.len());
            let batches = plan.changes.len().div_ceil(4);
            assert!(k + 2 < batches);

            // Run until batch k+1 hangs, then drop the run (a killed process).
            system.hang_after(k, how);
            let first = engine::execute(&plan, &system, &options(&journal)).now_or_never();
            assert!(
                first.is_none(),
                "the run should be stuck in batch {}",
                k + 1
            );
            let sent_first = system.take_sent();
            let done = finished(&journal);
            assert!(
                done.len() <= 4 * k,
                "{how:?} k={k}: {} finished",
                done.len()
            );
            assert!(k == 0 || !done.is_empty(), "{how:?} k={k}");
            assert!(sent_first.len() > done.len(), "a batch was in flight");

            // Resume with the same plan and journal.
            system.hang_after(0, Hang::Off);
            let report =
                block_on(engine::execute(&plan, &system, &options(&journal))).expect("resume");
            let sent_again: BTreeSet<String> = system.take_sent().into_iter().collect();
            let all = names(&plan);
            for &i in &done {
                assert!(
                    !sent_again.contains(&all[i]),
                    "{how:?} k={k}: finished item {} was sent again",
                    all[i]
                );
            }
            // Only items of the batches that were in flight are sent twice.
            let in_flight: BTreeSet<&String> = sent_first
                .iter()
                .filter(|n| {
                    all.iter()
                        .position(|a| a == *n)
                        .is_some_and(|i| !done.contains(&i))
                })
                .collect();
            // Done by the earlier run: what its journal records finished, and, when it
            // hung after the vendor answered, what it had in flight (found in place).
            let by_killed_run = match how {
                Hang::After => in_flight.len(),
                _ => 0,
            };
            assert_eq!(report.counts().resumed, done.len() + by_killed_run);
            assert_eq!(
                report.counts().applied,
                plan.changes.len() - done.len() - by_killed_run
            );
            assert_eq!(
                sent_again.iter().filter(|n| in_flight.contains(n)).count(),
                in_flight.len()
            );
            assert_goal_reached(&system, &desired, &plan, &report);
            let _ = std::fs::remove_file(&journal);
        }
    }
}

#[test]
fn a_run_with_failures_after_k_batches_resumes_only_the_failures() {
    for k in [0, 2, 5] {
        let journal = journal_path(&format!("fail-{k}"));
        let (_, dst) = systems();
        let system = Recording::new(dst, Some(journal.clone()));
        let (desired, plan) = planned(&system.inner);
        system.inner.fail_writes_after(Some(k));
        let first = block_on(engine::execute(&plan, &system, &options(&journal))).expect("run");
        let failed: BTreeSet<usize> = first
            .items
            .iter()
            .filter(|i| matches!(i.outcome, Some(Outcome::Failed(_))))
            .map(|i| i.index)
            .collect();
        assert!(!failed.is_empty());
        assert_eq!(first.counts().applied + failed.len(), plan.changes.len());
        for item in &first.items {
            if let Some(Outcome::Failed(e)) = &item.outcome {
                assert_eq!(e.kind(), ErrorKind::Transport);
            }
        }
        system.take_sent();

        system.inner.fail_writes_after(None);
        let report = block_on(engine::execute(&plan, &system, &options(&journal))).expect("resume");
        let all = names(&plan);
        let sent_again: BTreeSet<String> = system.take_sent().into_iter().collect();
        let expected: BTreeSet<String> = failed.iter().map(|&i| all[i].clone()).collect();
        assert_eq!(
            sent_again, expected,
            "k={k}: only the failures are sent again"
        );
        assert_eq!(report.counts().resumed, plan.changes.len() - failed.len());
        assert_goal_reached(&system, &desired, &plan, &report);
        let _ = std::fs::remove_file(&journal);
    }
}

#[test]
fn failures_can_be_retried_on_their_own_without_a_journal() {
    let (_, dst) = systems();
    let system = Recording::new(dst, None);
    let (desired, plan) = planned(&system.inner);
    system.inner.fail_writes_after(Some(3));
    let options = ExecuteOptions {
        batch_size: Some(4),
        concurrency: 1,
        ..ExecuteOptions::default()
    };
    let first = block_on(engine::execute(&plan, &system, &options)).expect("run");
    assert!(first.has_failures());
    let retry = first.failures_plan();
    assert_eq!(retry.changes.len(), first.counts().failed);
    system.take_sent();
    system.inner.fail_writes_after(None);
    let second = block_on(engine::execute(&retry, &system, &options)).expect("retry");
    assert!(!second.has_failures());
    assert_eq!(system.take_sent().len(), retry.changes.len());
    let mut merged = first.clone();
    for item in &mut merged.items {
        if let Some(r) = second.items.iter().find(|r| r.change == item.change) {
            item.outcome = r.outcome.clone();
        }
    }
    assert_goal_reached(&system, &desired, &plan, &merged);
}

#[test]
fn the_journal_is_written_before_and_after_every_batch() {
    let journal = journal_path("order");
    let (_, dst) = systems();
    let system = Recording::new(dst, Some(journal.clone()));
    let (_, plan) = planned(&system.inner);
    let options = ExecuteOptions {
        concurrency: 1,
        ..options(&journal)
    };
    let report = block_on(engine::execute(&plan, &system, &options)).expect("run");
    let log = system.log.lock().expect("lock");
    // At every call exactly one batch was begun and not yet ended: its `begin` line
    // was on disk before the system saw the batch.
    assert!(log.calls > 3);
    assert!(
        log.open_batches_at_call.iter().all(|&n| n == 1),
        "{:?}",
        log.open_batches_at_call
    );
    let text = std::fs::read_to_string(&journal).expect("journal");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines[0]["event"], "header");
    assert_eq!(lines.len(), 1 + 2 * log.calls);
    for pair in lines[1..].chunks(2) {
        assert_eq!(pair[0]["event"], "begin");
        assert_eq!(pair[1]["event"], "end");
        assert_eq!(pair[0]["batch"], pair[1]["batch"]);
    }
    assert_eq!(report.counts().applied, plan.changes.len());
    let _ = std::fs::remove_file(&journal);
}

#[test]
fn a_torn_last_line_is_cut_and_later_resumes_still_read_the_journal() {
    let journal = journal_path("torn");
    let (_, dst) = systems();
    let system = Recording::new(dst, Some(journal.clone()));
    let (desired, plan) = planned(&system.inner);
    kill_after(&system, &plan, &options(&journal), 2, Hang::Before);
    // The process died while writing an entry.
    let mut text = std::fs::read_to_string(&journal).expect("journal");
    text.push_str(r#"{"event":"end","batch":99,"results":[[0,{"outc"#);
    std::fs::write(&journal, text).expect("write");

    // Resume, and die again.
    kill_after(&system, &plan, &options(&journal), 1, Hang::Before);
    let done = finished(&journal);
    system.take_sent();
    // The third run reads the whole journal (no damaged line in the middle).
    system.hang_after(0, Hang::Off);
    let report = block_on(engine::execute(&plan, &system, &options(&journal))).expect("resume");
    assert_eq!(report.counts().resumed, done.len());
    assert_goal_reached(&system, &desired, &plan, &report);
    let _ = std::fs::remove_file(&journal);
}

#[test]
fn a_journal_of_another_plan_is_refused_before_anything_is_sent() {
    let journal = journal_path("other");
    let (_, dst) = systems();
    let system = Recording::new(dst, Some(journal.clone()));
    let (_, plan) = planned(&system.inner);
    let mut other = plan.clone();
    other.changes.truncate(3);
    block_on(engine::execute(&other, &system, &options(&journal))).expect("run");
    system.take_sent();
    let err = block_on(engine::execute(&plan, &system, &options(&journal))).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not this plan"), "{err}");
    assert!(system.take_sent().is_empty());
    let _ = std::fs::remove_file(&journal);
}

#[test]
fn a_dry_run_reads_the_journal_and_shows_what_a_resume_would_do() {
    let journal = journal_path("dry");
    let (_, dst) = systems();
    let system = Recording::new(dst, Some(journal.clone()));
    let (_, plan) = planned(&system.inner);
    kill_after(&system, &plan, &options(&journal), 2, Hang::Before);
    let before = std::fs::read_to_string(&journal).expect("journal");
    let done = finished(&journal);
    system.take_sent();
    let dry = ExecuteOptions {
        dry_run: true,
        ..options(&journal)
    };
    let report = block_on(engine::execute(&plan, &system, &dry)).expect("dry run");
    assert!(system.take_sent().is_empty());
    assert_eq!(std::fs::read_to_string(&journal).expect("journal"), before);
    assert_eq!(report.counts().resumed, done.len());
    assert_eq!(report.counts().not_run, plan.changes.len() - done.len());
    let _ = std::fs::remove_file(&journal);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(32),
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Killed any number of times at any batch, with any batch size and concurrency,
    /// a run resumed from its journal ends at the plan's goal with every change
    /// applied exactly once and no finished item sent again.
    #[test]
    fn killed_anywhere_any_number_of_times_resumes_to_the_goal(
        kills in proptest::collection::vec((0usize..8, proptest::bool::ANY), 1..4),
        batch in 1usize..7,
        concurrency in 1usize..4,
    ) {
        let journal = journal_path(&format!("prop-{batch}-{concurrency}-{}", kills.len()));
        let (_, dst) = systems();
        let system = Recording::new(dst, Some(journal.clone()));
        let (desired, plan) = planned(&system.inner);
        let options = ExecuteOptions {
            concurrency,
            batch_size: Some(batch),
            journal: Some(journal.clone()),
            ..ExecuteOptions::default()
        };
        let all = names(&plan);
        for (k, after) in kills {
            system.hang_after(k, if after { Hang::After } else { Hang::Before });
            let done_before = finished(&journal);
            system.take_sent();
            // The run either hangs (killed) or finishes, if k batches were enough.
            let _ = engine::execute(&plan, &system, &options).now_or_never();
            let sent: BTreeSet<String> = system.take_sent().into_iter().collect();
            for &i in &done_before {
                proptest::prop_assert!(!sent.contains(&all[i]), "{} sent again", all[i]);
            }
        }
        system.hang_after(0, Hang::Off);
        let done_before = finished(&journal);
        let report = block_on(engine::execute(&plan, &system, &options)).expect("resume");
        let sent: BTreeSet<String> = system.take_sent().into_iter().collect();
        for &i in &done_before {
            proptest::prop_assert!(!sent.contains(&all[i]), "{} sent again", all[i]);
        }
        assert_goal_reached(&system, &desired, &plan, &report);
        let _ = std::fs::remove_file(&journal);
    }
}

/// The `begin` entries of a journal: (batch number, change indices), in file order.
fn begun_batches(journal: &Path) -> Vec<(u64, Vec<usize>)> {
    let text = std::fs::read_to_string(journal).expect("journal");
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .filter(|v| v["event"] == "begin")
        .map(|v| {
            let items = v["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| usize::try_from(i.as_u64().expect("index")).expect("small"))
                .collect();
            (v["batch"].as_u64().expect("batch"), items)
        })
        .collect()
}

#[test]
fn batches_keep_one_principals_changes_together_unless_they_alone_overflow() {
    // Grants only (one kind, one phase), so the batches are cut from one list; users
    // u0..u5 hold 1, 2, 3, 1, 3 and 4 changes; batches of 3.
    let per_user = [1usize, 2, 3, 1, 3, 4];
    let system = InMemorySystem::builder(SystemId::new("dst").expect("id"))
        .capabilities(Capabilities::full())
        .users((0..per_user.len()).map(|i| User::new(uid("u", i))))
        .profiles((0..4).map(|p| Profile::new(ProfileId::new(format!("p{p}")).expect("id"), "P")))
        .build();
    let changes: Vec<engine::Change> = per_user
        .iter()
        .enumerate()
        .flat_map(|(u, &n)| {
            (0..n).map(move |p| engine::Change::Grant {
                assignment: Assignment::new(
                    Principal::User(uid("u", u)),
                    ProfileId::new(format!("p{p}")).expect("id"),
                    Scope::System,
                ),
                previous: None,
            })
        })
        .collect();
    let plan = Plan::from_changes(SystemId::new("dst").expect("id"), changes, false);
    let journal = journal_path("chunks");
    let options = ExecuteOptions {
        concurrency: 1,
        batch_size: Some(3),
        journal: Some(journal.clone()),
        ..ExecuteOptions::default()
    };
    let report = block_on(engine::execute(&plan, &system, &options)).expect("run");
    assert_eq!(report.counts().applied, 14);
    let owner = |i: usize| plan.changes[i].principal();
    let batches: Vec<Vec<Principal>> = begun_batches(&journal)
        .into_iter()
        .map(|(_, items)| items.into_iter().map(owner).collect())
        .collect();
    let u = |i| Principal::User(uid("u", i));
    // u0 and u1 fill a batch exactly; u2 fills one; u3 and u4 (1 + 3) do not fit
    // together; u5's 4 are cut 3 + 1.
    assert_eq!(
        batches,
        vec![
            vec![u(0), u(1), u(1)],
            vec![u(2), u(2), u(2)],
            vec![u(3)],
            vec![u(4), u(4), u(4)],
            vec![u(5), u(5), u(5)],
            vec![u(5)],
        ]
    );
    let _ = std::fs::remove_file(&journal);
}

#[test]
fn batch_numbers_are_never_reused_across_resumes() {
    let journal = journal_path("numbers");
    let (_, dst) = systems();
    let system = Recording::new(dst, Some(journal.clone()));
    let (desired, plan) = planned(&system.inner);
    let options = ExecuteOptions {
        concurrency: 1,
        ..options(&journal)
    };
    for kills in [3, 2] {
        kill_after(&system, &plan, &options, kills, Hang::Before);
    }
    system.hang_after(0, Hang::Off);
    let report = block_on(engine::execute(&plan, &system, &options)).expect("resume");
    assert_goal_reached(&system, &desired, &plan, &report);
    let numbers: Vec<u64> = begun_batches(&journal)
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    assert!(numbers.len() > 6, "{numbers:?}");
    // One run after another, one batch after another: 0, 1, 2, ... with no repeat.
    let expected: Vec<u64> = (0..numbers.len() as u64).collect();
    assert_eq!(numbers, expected);
    let _ = std::fs::remove_file(&journal);
}

#[test]
fn a_dry_run_needs_no_journal_file_and_creates_none() {
    let journal = journal_path("dry-none");
    let (_, dst) = systems();
    let system = Recording::new(dst, Some(journal.clone()));
    let (_, plan) = planned(&system.inner);
    let dry = ExecuteOptions {
        dry_run: true,
        ..options(&journal)
    };
    let report = block_on(engine::execute(&plan, &system, &dry)).expect("dry run");
    assert_eq!(report.counts().not_run, plan.changes.len());
    assert!(!journal.exists());
    assert!(system.take_sent().is_empty());
}

#[test]
fn a_dry_run_reads_a_journal_whose_last_line_is_torn() {
    let journal = journal_path("dry-torn");
    let (_, dst) = systems();
    let system = Recording::new(dst, Some(journal.clone()));
    let (_, plan) = planned(&system.inner);
    kill_after(&system, &plan, &options(&journal), 2, Hang::Before);
    let done = finished(&journal);
    assert!(!done.is_empty());
    let mut text = std::fs::read_to_string(&journal).expect("journal");
    text.push_str(r#"{"event":"end","batch":7,"res"#);
    std::fs::write(&journal, &text).expect("write");
    let dry = ExecuteOptions {
        dry_run: true,
        ..options(&journal)
    };
    let report = block_on(engine::execute(&plan, &system, &dry)).expect("dry run");
    assert_eq!(report.counts().resumed, done.len());
    // A dry run reads; it does not mend the file.
    assert_eq!(std::fs::read_to_string(&journal).expect("journal"), text);
    let _ = std::fs::remove_file(&journal);
}

#[test]
fn a_journal_that_is_not_one_runs_whole_lines_is_refused_before_anything_is_sent() {
    let (_, dst) = systems();
    let system = Recording::new(dst, None);
    let (_, plan) = planned(&system.inner);
    let header = format!(
        r#"{{"event":"header","plan":"{}","target":"dst","changes":{},"started_at":"2026-01-01T00:00:00Z"}}"#,
        plan.fingerprint(),
        plan.changes.len()
    );
    let begin = r#"{"event":"begin","batch":0,"items":[0]}"#;
    let cases = [
        (
            "no header",
            format!("{begin}\n"),
            "does not start with a header",
        ),
        (
            "two headers",
            format!("{header}\n{begin}\n{header}\n"),
            "line 3",
        ),
        (
            "damaged middle",
            format!("{header}\n{{\"event\":\n{begin}\n"),
            "line 2",
        ),
    ];
    for (name, text, says) in cases {
        let journal = journal_path(&format!("bad-{}", name.replace(' ', "-")));
        std::fs::write(&journal, &text).expect("write");
        let err = block_on(engine::execute(&plan, &system, &options(&journal))).expect_err(name);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name}");
        assert!(err.to_string().contains(says), "{name}: {err}");
        assert!(system.take_sent().is_empty(), "{name}");
        assert_eq!(
            std::fs::read_to_string(&journal).expect("journal"),
            text,
            "{name}"
        );
        let _ = std::fs::remove_file(&journal);
    }
    // The same header with whole lines only is accepted.
    let journal = journal_path("good-header");
    std::fs::write(&journal, format!("{header}\n{begin}\n")).expect("write");
    block_on(engine::execute(&plan, &system, &options(&journal))).expect("resumes");
    let _ = std::fs::remove_file(&journal);
}

#[test]
fn options_show_their_settings_and_reports_survive_a_file_round_trip() {
    let options = ExecuteOptions {
        concurrency: 3,
        batch_size: Some(7),
        progress: Some(std::sync::Arc::new(|_| {})),
        ..ExecuteOptions::default()
    };
    let shown = format!("{options:?}");
    for part in [
        "concurrency: 3",
        "batch_size: Some(7)",
        "dry_run: false",
        "callback",
    ] {
        assert!(shown.contains(part), "{shown}");
    }

    let (_, dst) = systems();
    let (_, plan) = planned(&dst);
    let report = block_on(engine::execute(&plan, &dst, &ExecuteOptions::default())).expect("run");
    let path = journal_path("report.json");
    report.save(&path).expect("save");
    assert_eq!(RunReport::load(&path).expect("load"), report);
    let _ = std::fs::remove_file(&path);
    let nowhere = std::env::temp_dir()
        .join("grantbridge-no-such-dir")
        .join("r.json");
    assert_eq!(
        report.save(&nowhere).expect_err("no folder").kind(),
        ErrorKind::Io
    );
}

#[test]
fn a_recorded_outcome_beyond_the_plan_is_ignored() {
    let (_, dst) = systems();
    let system = Recording::new(dst, None);
    let (desired, plan) = planned(&system.inner);
    let total = plan.changes.len();
    let journal = journal_path("beyond");
    let text = format!(
        "{{\"event\":\"header\",\"plan\":\"{}\",\"target\":\"dst\",\"changes\":{total},\"started_at\":\"2026-01-01T00:00:00Z\"}}\n\
         {{\"event\":\"begin\",\"batch\":0,\"items\":[{total}]}}\n\
         {{\"event\":\"end\",\"batch\":0,\"results\":[[{total},{{\"outcome\":\"applied\"}}]]}}\n",
        plan.fingerprint()
    );
    std::fs::write(&journal, text).expect("write");
    let report = block_on(engine::execute(&plan, &system, &options(&journal))).expect("run");
    assert_eq!(report.counts().resumed, 0);
    assert_eq!(report.items.len(), total);
    assert_goal_reached(&system, &desired, &plan, &report);
    let _ = std::fs::remove_file(&journal);
}

#[test]
fn progress_counts_the_failures_so_far() {
    let system = InMemorySystem::builder(SystemId::new("dst").expect("id"))
        .capabilities(Capabilities::full())
        .user(User::new(uid("u", 0)))
        .profile(Profile::new(ProfileId::new("p").expect("id"), "P"))
        .build();
    // u0 exists; u1 and u2 do not, so their grants fail.
    let changes = (0..3)
        .map(|u| engine::Change::Grant {
            assignment: Assignment::new(
                Principal::User(uid("u", u)),
                ProfileId::new("p").expect("id"),
                Scope::System,
            ),
            previous: None,
        })
        .collect();
    let plan = Plan::from_changes(SystemId::new("dst").expect("id"), changes, false);
    let seen: std::sync::Arc<Mutex<Vec<(usize, usize)>>> = std::sync::Arc::default();
    let log = seen.clone();
    let options = ExecuteOptions {
        batch_size: Some(1),
        concurrency: 1,
        progress: Some(std::sync::Arc::new(move |p| {
            log.lock().expect("lock").push((p.done, p.failed));
        })),
        ..ExecuteOptions::default()
    };
    let report = block_on(engine::execute(&plan, &system, &options)).expect("run");
    assert_eq!(report.counts().failed, 2);
    assert_eq!(*seen.lock().expect("lock"), vec![(1, 0), (2, 1), (3, 2)]);
}

#[test]
fn a_plan_lists_one_principals_changes_together() {
    let grant = |u: usize| engine::Change::Grant {
        assignment: Assignment::new(
            Principal::User(uid("u", u)),
            ProfileId::new("p").expect("id"),
            Scope::System,
        ),
        previous: None,
    };
    let join = |u: usize| engine::Change::AddMember {
        membership: Membership::new(uid("u", u), GroupId::new("g").expect("id")),
    };
    let plan = Plan::from_changes(
        SystemId::new("dst").expect("id"),
        vec![join(1), grant(2), grant(1), join(2)],
        false,
    );
    assert_eq!(plan.changes, vec![grant(1), join(1), grant(2), join(2)]);
}
