//! Honest runs: a journal never vouches for a target it was not made on, a resume
//! verifies what the journal says is done, and a report's counts mean one thing.
//!
//! Oracles: the target's own write counter (`CallStats::items_applied`, which
//! `InMemorySystem` bumps for every item a write changed) for "applied in this run",
//! and the target's lists, read after each command, for "every item reported done is
//! held".

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures::executor::block_on;
use grantbridge_core::engine::{self, Change, ExecuteOptions, Plan, RunReport, TargetIdentity};
use grantbridge_core::prelude::*;
use grantbridge_core::testing::cases;
use grantbridge_core::{
    Assignment, Capabilities, Group, GroupId, InMemorySystem, Membership, NewProfile, Outcome,
    Principal, Profile, ProfileId, Result, Scope, SystemId, User, UserId,
};
use proptest::prelude::*;

const USERS: usize = 6;

fn uid(i: usize) -> UserId {
    UserId::new(format!("u{i}")).expect("id")
}

fn grant_of(i: usize) -> Assignment {
    Assignment::new(
        Principal::User(uid(i)),
        ProfileId::new("reader").expect("id"),
        Scope::System,
    )
}

fn membership_of(i: usize) -> Membership {
    Membership::new(uid(i), GroupId::new("g").expect("id"))
}

/// A fresh target: the people, one group, one profile, no grants and no members.
fn fresh() -> InMemorySystem {
    InMemorySystem::builder(SystemId::new("dst").expect("id"))
        .users((0..USERS).map(|i| User::new(uid(i))))
        .group(Group::new(GroupId::new("g").expect("id"), "G"))
        .profile(Profile::new(
            ProfileId::new("reader").expect("id"),
            "Reader",
        ))
        .build()
}

/// Grant `reader` to everyone and add everyone to `g`.
fn the_plan() -> Plan {
    let mut changes: Vec<Change> = (0..USERS)
        .map(|i| Change::Grant {
            assignment: grant_of(i),
            previous: None,
        })
        .collect();
    changes.extend((0..USERS).map(|i| Change::AddMember {
        membership: membership_of(i),
    }));
    Plan::from_changes(SystemId::new("dst").expect("id"), changes, false)
}

fn journal(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "grantbridge-honest-{}-{name}.jsonl",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

fn with_journal(path: &Path) -> ExecuteOptions {
    ExecuteOptions {
        batch_size: Some(4),
        concurrency: 1,
        journal: Some(path.to_path_buf()),
        ..ExecuteOptions::default()
    }
}

/// Runs `plan` on `target`; returns the report and the items the target saw change.
fn run(plan: &Plan, target: &InMemorySystem, options: &ExecuteOptions) -> (RunReport, usize) {
    let before = target.stats().items_applied;
    let report = block_on(engine::execute(plan, target, options)).expect("run");
    (report, target.stats().items_applied - before)
}

/// Every item the report calls done (this run or an earlier one) is as its change
/// leaves the target.
fn assert_done_items_hold(report: &RunReport, target: &InMemorySystem) {
    let held = block_on(target.list_assignments()).expect("list");
    let members = block_on(target.list_memberships()).expect("list");
    for item in &report.items {
        if !item.outcome.as_ref().is_some_and(Outcome::is_done) {
            continue;
        }
        let holds = match &item.change {
            Change::Grant { assignment, .. } => held.contains(assignment),
            Change::Revoke { assignment } => !held.iter().any(|a| a.key() == assignment.key()),
            Change::AddMember { membership } => members.contains(membership),
            Change::RemoveMember { membership } => !members.contains(membership),
        };
        assert!(holds, "reported done, not held: {:?}", item);
    }
}

#[test]
fn a_finished_journal_on_a_fresh_target_applies_everything_again_and_says_so() {
    let path = journal("fresh");
    let plan = the_plan();
    let first = fresh();
    let (report, wrote) = run(&plan, &first, &with_journal(&path));
    assert_eq!((report.counts().applied, wrote), (12, 12));
    assert_eq!(report.resumed_from, None);

    // The same settings name, a target that holds none of it (a reset sandbox).
    let reset = fresh();
    let (report, wrote) = run(&plan, &reset, &with_journal(&path));
    let c = report.counts();
    assert_eq!((c.applied, c.resumed, c.already_in_state), (12, 0, 0));
    assert_eq!(wrote, 12);
    let r = report.resumed_from.expect("resumed");
    assert_eq!((r.verified, r.missing), (0, 12));
    // One bulk read per list, not one per item: two reads more than a run without
    // a journal makes.
    let plain = fresh();
    block_on(engine::execute(&plan, &plain, &ExecuteOptions::default())).expect("run");
    assert_eq!(reset.stats().reads, plain.stats().reads + 2);
    assert_done_items_hold(&report, &reset);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_second_apply_on_the_same_target_verifies_and_applies_only_what_is_missing() {
    let path = journal("again");
    let plan = the_plan();
    let target = fresh();
    let (first, _) = run(&plan, &target, &with_journal(&path));

    let (report, wrote) = run(&plan, &target, &with_journal(&path));
    let c = report.counts();
    assert_eq!((c.applied, c.resumed, c.failed, c.not_run), (0, 12, 0, 0));
    assert_eq!(wrote, 0);
    let r = report.resumed_from.expect("resumed");
    assert_eq!((r.verified, r.missing), (12, 0));
    assert_eq!(r.started_at, first.started_at);
    // The rollback of the resumed run still undoes what the earlier run applied.
    assert_eq!(report.rollback_plan().changes.len(), 12);

    // Someone removes two grants and one member by hand.
    block_on(target.revoke(&[grant_of(1), grant_of(4)]));
    block_on(target.remove_memberships(&[membership_of(2)]));
    let (report, wrote) = run(&plan, &target, &with_journal(&path));
    let c = report.counts();
    assert_eq!((c.applied, c.resumed), (3, 9));
    assert_eq!(wrote, 3);
    let r = report.resumed_from.expect("resumed");
    assert_eq!((r.verified, r.missing), (9, 3));
    assert_done_items_hold(&report, &target);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_revoke_the_journal_records_done_is_sent_again_when_the_grant_is_back() {
    let path = journal("revoke");
    let target = fresh();
    block_on(target.grant(&[grant_of(0), grant_of(1)]));
    let plan = Plan::from_changes(
        SystemId::new("dst").expect("id"),
        vec![
            Change::Revoke {
                assignment: grant_of(0),
            },
            Change::Revoke {
                assignment: grant_of(1),
            },
        ],
        false,
    );
    let (report, _) = run(&plan, &target, &with_journal(&path));
    assert_eq!(report.counts().applied, 2);
    block_on(target.grant(&[grant_of(1)]));
    let (report, wrote) = run(&plan, &target, &with_journal(&path));
    assert_eq!((report.counts().applied, report.counts().resumed), (1, 1));
    assert_eq!(wrote, 1);
    assert_done_items_hold(&report, &target);
    let _ = std::fs::remove_file(&path);
}

/// An `InMemorySystem` that says it is somewhere else (another tenant, host or login).
struct Elsewhere {
    inner: InMemorySystem,
    identity: TargetIdentity,
}

#[async_trait]
impl ProfileCatalog for Elsewhere {
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

#[async_trait]
impl Directory for Elsewhere {
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
        self.inner.add_memberships(items).await
    }
    async fn remove_memberships(&self, items: &[Membership]) -> Vec<Outcome> {
        self.inner.remove_memberships(items).await
    }
}

#[async_trait]
impl AssignmentStore for Elsewhere {
    async fn list_assignments(&self) -> Result<Vec<Assignment>> {
        self.inner.list_assignments().await
    }
    async fn grant(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.inner.grant(items).await
    }
    async fn revoke(&self, items: &[Assignment]) -> Vec<Outcome> {
        self.inner.revoke(items).await
    }
}

impl AccessSystem for Elsewhere {
    fn id(&self) -> &SystemId {
        self.inner.id()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn identity(&self) -> TargetIdentity {
        self.identity.clone()
    }
}

fn elsewhere(tenant: &str) -> Elsewhere {
    Elsewhere {
        inner: fresh(),
        identity: TargetIdentity::new(SystemId::new("dst").expect("id"))
            .with_host_of("https://api.example")
            .with_tenant(tenant),
    }
}

#[test]
fn a_journal_of_another_target_is_refused_before_anything_is_sent() {
    let path = journal("identity");
    let plan = the_plan();
    let here = elsewhere("t1");
    let report = block_on(engine::execute(&plan, &here, &with_journal(&path))).expect("run");
    assert_eq!(
        report.identity.as_ref().and_then(|i| i.tenant.as_deref()),
        Some("t1")
    );

    let there = elsewhere("t2");
    let before = there.inner.stats();
    let err =
        block_on(engine::execute(&plan, &there, &with_journal(&path))).expect_err("another tenant");
    let text = err.to_string();
    for needle in [
        path.display().to_string(),
        "tenant t1".to_owned(),
        "tenant t2".to_owned(),
        "--new-run".to_owned(),
    ] {
        assert!(text.contains(&needle), "{needle:?} not in {text}");
    }
    // Nothing read, nothing written.
    assert_eq!(there.inner.stats(), before);
    assert!(
        block_on(there.inner.list_assignments())
            .expect("list")
            .is_empty()
    );

    // The report refuses a rollback there too, and allows it where it was made.
    assert!(report.check_target(&there.identity()).is_err());
    assert!(report.check_target(&here.identity()).is_ok());
    // A report of an older build (no identity) still checks the system id.
    let old = RunReport {
        identity: None,
        ..report.clone()
    };
    assert!(old.check_target(&there.identity()).is_ok());
    let other_id = TargetIdentity::new(SystemId::new("prod").expect("id"));
    assert!(old.check_target(&other_id).is_err());
    let _ = std::fs::remove_file(&path);
}

/// A step of the property below.
#[derive(Clone, Debug)]
enum Step {
    /// `apply` with the journal.
    Apply,
    /// `apply`, then the journal loses every line after the first `keep` (a crash
    /// after the vendor answered, before the journal was written).
    ApplyThenCrash { keep: usize },
    /// The target is replaced by a fresh one with the same settings.
    Reset,
    /// Someone revokes a grant and removes a member by hand.
    Drift { user: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Apply),
        (1usize..12).prop_map(|keep| Step::ApplyThenCrash { keep }),
        Just(Step::Reset),
        (0..USERS).prop_map(|user| Step::Drift { user }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    /// For any sequence of runs, crashes, resets and drift, each run's "applied" is
    /// exactly what the target saw change, every item it reports done is held when it
    /// ends, and its counts add up to the plan.
    #[test]
    fn applied_is_what_the_target_saw_and_done_is_what_it_holds(
        steps in proptest::collection::vec(step(), 1..8),
    ) {
        let path = journal(&format!("prop-{}", steps.len()));
        let plan = the_plan();
        let mut target = fresh();
        for step in steps {
            let apply = |target: &InMemorySystem| -> std::result::Result<(), TestCaseError> {
                let (report, wrote) = run(&plan, target, &with_journal(&path));
                let c = report.counts();
                prop_assert_eq!(c.applied, wrote, "{:?}", c);
                prop_assert_eq!(c.total(), plan.changes.len());
                prop_assert_eq!(c.failed + c.not_run, 0);
                assert_done_items_hold(&report, target);
                Ok(())
            };
            match step {
                Step::Apply => apply(&target)?,
                Step::ApplyThenCrash { keep } => {
                    apply(&target)?;
                    let text = std::fs::read_to_string(&path).expect("journal");
                    let kept: String = text.lines().take(keep).map(|l| format!("{l}\n")).collect();
                    std::fs::write(&path, kept).expect("cut journal");
                }
                Step::Reset => target = fresh(),
                Step::Drift { user } => {
                    block_on(target.revoke(&[grant_of(user)]));
                    block_on(target.remove_memberships(&[membership_of(user)]));
                }
            }
        }
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn a_dry_run_on_a_fresh_target_does_not_vouch_for_the_journal_either() {
    let path = journal("dry");
    let plan = the_plan();
    run(&plan, &fresh(), &with_journal(&path));
    let reset = fresh();
    let dry = ExecuteOptions {
        dry_run: true,
        ..with_journal(&path)
    };
    let (report, wrote) = run(&plan, &reset, &dry);
    let c = report.counts();
    assert_eq!((c.resumed, c.not_run, wrote), (0, 12, 0));
    let r = report.resumed_from.expect("resumed");
    assert_eq!((r.verified, r.missing), (0, 12));
    let _ = std::fs::remove_file(&path);
}
