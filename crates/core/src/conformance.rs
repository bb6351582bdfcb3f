//! The conformance suite every adapter runs against a fresh system of its own.
//!
//! Like `object_store`'s integration functions, each check is a public async function
//! over `&dyn AccessSystem` that panics with a precise message when the system breaks
//! the core contract, and leaves the system as it found it. Checks for unsupported
//! capabilities assert that the system *refuses* with [`Error::Unsupported`] instead.
//!
//! The suite cannot invent vendor data, so the caller describes what exists in a
//! [`Fixture`]: users, groups and valid (profile, scope) pairs. A section whose data
//! the fixture lacks never passes silently: it returns [`Checked::Skipped`] with the
//! reason. [`run`] runs every section and returns a [`Report`] of what each one
//! checked, for the caller to assert on; [`run_all`] runs them all and fails if any
//! was skipped.
//!
//! ```
//! use grantbridge_core::conformance::{self, Checked, Fixture, Section};
//! use grantbridge_core::{Capabilities, InMemorySystem, Profile, ProfileId, Scope, SystemId, User, UserId};
//!
//! # futures::executor::block_on(async {
//! let users: Vec<UserId> = (0..5).map(|i| UserId::new(format!("u{i}")).unwrap()).collect();
//! let system = std::sync::Arc::new(InMemorySystem::builder(SystemId::new("mem").unwrap())
//!     .capabilities(
//!         Capabilities::full()
//!             .with_groups(false)
//!             .with_group_principals(false)
//!             .with_tenant_scopes(false)
//!             .with_resource_scopes(false),
//!     )
//!     .users(users.iter().cloned().map(User::new))
//!     .profiles([Profile::new(ProfileId::new("p1").unwrap(), "P1"), Profile::new(ProfileId::new("p2").unwrap(), "P2")])
//!     .build());
//! let fixture = Fixture {
//!     users,
//!     groups: vec![],
//!     grants: vec![
//!         (ProfileId::new("p1").unwrap(), Scope::System),
//!         (ProfileId::new("p2").unwrap(), Scope::System),
//!     ],
//!     unsupported_scopes: vec![],
//!     bulk: 4,
//!     // The in-memory system can lose its own answers (it is an `AnswerCutter`).
//!     answers: Some(system.clone() as std::sync::Arc<dyn conformance::AnswerCutter>),
//! };
//! let report = conformance::run(&system, &fixture).await;
//! // No groups here: the group sections checked refusals, no section was skipped.
//! assert_eq!(report.get(Section::Memberships), Some(&Checked::Absent));
//! assert_eq!(report.skipped(), []);
//! conformance::run_all(&system, &fixture).await; // the same, failing on any skip
//! # });
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::error::{Entity, Error, ErrorKind, Feature};
use crate::ids::{GroupId, ProfileId, ResourceId, ResourceKind, TenantCode, UserId};
use crate::model::{Assignment, AssignmentKey, Membership, Principal, Scope, ScopeKind, Validity};
use crate::traits::{AccessSystem, Outcome};

mod lost_answers;

pub use lost_answers::{AnswerCutter, WritePath, lost_answers};

/// What exists in the system under test.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// Existing users; at least 2, and at least `bulk` for the pagination check.
    pub users: Vec<UserId>,
    /// Existing groups (empty if the system has none; a system with group principals
    /// or membership writes needs one, or those sections are skipped).
    pub groups: Vec<GroupId>,
    /// Valid (profile, scope) pairs to grant; at least 1; more than the per-user limit
    /// (at least 2 without one) for [`per_user_limit`]. Every supported scope kind must
    /// appear in one of them, or [`scopes`] is skipped.
    pub grants: Vec<(ProfileId, Scope)>,
    /// Scopes of kinds the system does *not* support, to check refusal. The suite also
    /// derives some from the capabilities.
    pub unsupported_scopes: Vec<Scope>,
    /// How many assignments to grant to check that listing is exhaustive: more than
    /// one wire page (`Capabilities::page_size + 1` at least).
    pub bulk: usize,
    /// Cuts the answers of writes after they took effect, for [`lost_answers`]
    /// (usually over a sandbox's fault controls); without it that section is skipped.
    pub answers: Option<Arc<dyn AnswerCutter>>,
}

fn user(f: &Fixture, i: usize) -> Principal {
    Principal::User(f.users[i].clone())
}

fn unknown_user() -> UserId {
    UserId::new("grantbridge-conformance-no-such-user").unwrap_or_else(|e| panic!("{e}"))
}

fn unknown_profile() -> ProfileId {
    ProfileId::new("grantbridge-conformance-no-such-profile").unwrap_or_else(|e| panic!("{e}"))
}

fn unknown_group() -> GroupId {
    GroupId::new("grantbridge-conformance-no-such-group").unwrap_or_else(|e| panic!("{e}"))
}

async fn keys(system: &dyn AccessSystem) -> BTreeSet<AssignmentKey> {
    all(system).await.iter().map(Assignment::key).collect()
}

async fn all(system: &dyn AccessSystem) -> Vec<Assignment> {
    system
        .list_assignments()
        .await
        .unwrap_or_else(|e| panic!("list_assignments failed: {e}"))
}

async fn find(system: &dyn AccessSystem, a: &Assignment) -> Option<Assignment> {
    system
        .list_assignments_for(&a.principal)
        .await
        .unwrap_or_else(|e| panic!("list_assignments_for({}) failed: {e}", a.principal))
        .into_iter()
        .find(|x| x.key() == a.key())
}

fn expect_outcomes(what: &str, got: &[Outcome], want: &[fn(&Outcome) -> bool]) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: expected one outcome per item, got {got:?}"
    );
    for (i, (o, ok)) in got.iter().zip(want).enumerate() {
        assert!(
            ok(o),
            "{what}: item {i} has unexpected outcome {o:?} (all: {got:?})"
        );
    }
}

fn applied(o: &Outcome) -> bool {
    matches!(o, Outcome::Applied)
}
fn already(o: &Outcome) -> bool {
    matches!(o, Outcome::AlreadyInState)
}
fn not_found(o: &Outcome) -> bool {
    matches!(o, Outcome::Failed(e) if e.kind() == ErrorKind::NotFound)
}
fn unsupported(o: &Outcome) -> bool {
    matches!(o, Outcome::Failed(e) if e.kind() == ErrorKind::Unsupported)
}

fn unsupported_feature(o: &Outcome, feature: Feature) -> bool {
    matches!(o, Outcome::Failed(Error::Unsupported { feature: f, .. }) if *f == feature)
}

/// A section of the suite: one of the public check functions of this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// [`grant_list_revoke`].
    GrantListRevoke,
    /// [`partial_batch`].
    PartialBatch,
    /// [`validity`].
    Validity,
    /// [`scopes`].
    Scopes,
    /// [`group_principals`].
    GroupPrincipals,
    /// [`per_user_limit`].
    PerUserLimit,
    /// [`memberships`].
    Memberships,
    /// [`exhaustive_listing`].
    ExhaustiveListing,
    /// [`unknown_reads`].
    UnknownReads,
    /// [`lost_answers`].
    LostAnswers,
}

impl Section {
    /// Every section, in the order [`run`] runs them.
    pub const ALL: [Section; 10] = [
        Section::GrantListRevoke,
        Section::PartialBatch,
        Section::Validity,
        Section::Scopes,
        Section::GroupPrincipals,
        Section::PerUserLimit,
        Section::Memberships,
        Section::ExhaustiveListing,
        Section::UnknownReads,
        Section::LostAnswers,
    ];
}

/// What one section checked. A failed check panics; this says what passed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a section may have been skipped: assert on what it checked"]
pub enum Checked {
    /// Every check of the section ran: the system has the feature (or the section is
    /// one every system must pass) and it behaves.
    Ran,
    /// The system declares that it lacks the feature, and the section checked that it
    /// behaves so: it refuses the feature with [`Error::Unsupported`] or, for a
    /// per-user limit, enforces none on the fixture's pairs.
    Absent,
    /// The section's checks did not run (or only a lesser part, which the reason
    /// names), because the fixture lacks what they need.
    Skipped(String),
}

/// What every section of a [`run`] checked, in run order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use = "assert which sections ran: a skipped section checked nothing"]
pub struct Report {
    /// One entry per section run.
    pub sections: Vec<(Section, Checked)>,
}

impl Report {
    /// What `section` checked, if it was run.
    pub fn get(&self, section: Section) -> Option<&Checked> {
        self.sections
            .iter()
            .find(|(s, _)| *s == section)
            .map(|(_, c)| c)
    }

    /// The sections skipped, with their reasons.
    pub fn skipped(&self) -> Vec<(Section, &str)> {
        self.sections
            .iter()
            .filter_map(|(s, c)| match c {
                Checked::Skipped(reason) => Some((*s, reason.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Panics, naming each one and why, if any section was skipped or not run.
    pub fn assert_complete(&self) {
        let skipped = self.skipped();
        assert!(
            skipped.is_empty(),
            "conformance sections skipped for lack of fixture data: {skipped:?}"
        );
        for section in Section::ALL {
            assert!(
                self.get(section).is_some(),
                "section {section:?} did not run"
            );
        }
    }
}

/// Runs every section and reports what each one checked; a section whose data the
/// fixture lacks is [`Checked::Skipped`], never silently passed.
pub async fn run(system: &dyn AccessSystem, fixture: &Fixture) -> Report {
    assert!(fixture.users.len() >= 2, "fixture needs at least 2 users");
    assert!(
        !fixture.grants.is_empty(),
        "fixture needs at least 1 grant pair"
    );
    let before = keys(system).await;
    let sections = vec![
        (
            Section::GrantListRevoke,
            grant_list_revoke(system, fixture).await,
        ),
        (Section::PartialBatch, partial_batch(system, fixture).await),
        (Section::Validity, validity(system, fixture).await),
        (Section::Scopes, scopes(system, fixture).await),
        (
            Section::GroupPrincipals,
            group_principals(system, fixture).await,
        ),
        (Section::PerUserLimit, per_user_limit(system, fixture).await),
        (Section::Memberships, memberships(system, fixture).await),
        (
            Section::ExhaustiveListing,
            exhaustive_listing(system, fixture).await,
        ),
        (Section::UnknownReads, unknown_reads(system).await),
        (Section::LostAnswers, lost_answers(system, fixture).await),
    ];
    assert_eq!(
        keys(system).await,
        before,
        "the suite must leave the system's assignments as it found them"
    );
    Report { sections }
}

/// Runs every section ([`run`]) and fails if any was skipped: the fixture must hold
/// everything the system's capabilities call for.
pub async fn run_all(system: &dyn AccessSystem, fixture: &Fixture) {
    run(system, fixture).await.assert_complete();
}

/// Grant then list shows it; granting again is `AlreadyInState`; revoke restores;
/// revoking what is absent is `AlreadyInState`.
pub async fn grant_list_revoke(system: &dyn AccessSystem, f: &Fixture) -> Checked {
    let before = keys(system).await;
    for (profile, scope) in &f.grants {
        let a = Assignment::new(user(f, 0), profile.clone(), scope.clone());
        expect_outcomes(
            "first grant",
            &system.grant(std::slice::from_ref(&a)).await,
            &[applied],
        );
        let listed = all(system).await;
        assert!(
            listed.contains(&a),
            "granted {a} but list_assignments does not show it exactly"
        );
        assert_eq!(
            find(system, &a).await.as_ref(),
            Some(&a),
            "list_assignments_for misses {a}"
        );
        expect_outcomes(
            "second grant",
            &system.grant(std::slice::from_ref(&a)).await,
            &[already],
        );
        expect_outcomes(
            "revoke",
            &system.revoke(std::slice::from_ref(&a)).await,
            &[applied],
        );
        assert!(
            find(system, &a).await.is_none(),
            "revoked {a} but it is still listed"
        );
        expect_outcomes(
            "second revoke",
            &system.revoke(std::slice::from_ref(&a)).await,
            &[already],
        );
        assert_eq!(
            keys(system).await,
            before,
            "grant + revoke of {a} did not restore the state"
        );
    }
    Checked::Ran
}

/// Unknown profile or principal fails that item only; the rest of the batch applies.
pub async fn partial_batch(system: &dyn AccessSystem, f: &Fixture) -> Checked {
    let (profile, scope) = f.grants[0].clone();
    let good0 = Assignment::new(user(f, 0), profile.clone(), scope.clone());
    let bad_profile = Assignment::new(user(f, 0), unknown_profile(), scope.clone());
    let bad_user = Assignment::new(
        Principal::User(unknown_user()),
        profile.clone(),
        scope.clone(),
    );
    let good1 = Assignment::new(user(f, 1), profile, scope);
    let batch = [
        good0.clone(),
        bad_profile.clone(),
        bad_user.clone(),
        good1.clone(),
    ];
    let got = system.grant(&batch).await;
    expect_outcomes(
        "mixed grant batch",
        &got,
        &[applied, not_found, not_found, applied],
    );
    if let Outcome::Failed(Error::NotFound { entity, .. }) = &got[1] {
        assert_eq!(
            *entity,
            Entity::Profile,
            "unknown profile must be NotFound(profile)"
        );
    }
    if let Outcome::Failed(Error::NotFound { entity, .. }) = &got[2] {
        assert_eq!(*entity, Entity::User, "unknown user must be NotFound(user)");
    }
    assert!(find(system, &good0).await.is_some() && find(system, &good1).await.is_some());
    let got = system.revoke(&batch).await;
    expect_outcomes(
        "mixed revoke batch",
        &got,
        &[applied, not_found, not_found, applied],
    );
    assert!(find(system, &good0).await.is_none() && find(system, &good1).await.is_none());
    Checked::Ran
}

/// Validity windows round-trip exactly where supported (including an update of the
/// window by a second grant) and are refused with `Unsupported` where not.
pub async fn validity(system: &dyn AccessSystem, f: &Fixture) -> Checked {
    let (profile, scope) = f.grants[0].clone();
    let windows = [
        Validity::from_millis(Some(1_700_000_000_123), Some(4_102_444_800_000)),
        Validity::from_millis(None, Some(4_102_444_800_000)),
        Validity::from_millis(Some(1_600_000_000_000), None),
    ];
    let before = keys(system).await;
    for window in windows {
        let window = window.unwrap_or_else(|e| panic!("{e}"));
        let a = Assignment::new(user(f, 0), profile.clone(), scope.clone()).with_validity(window);
        let got = system.grant(std::slice::from_ref(&a)).await;
        if system.capabilities().validity_windows {
            expect_outcomes("windowed grant", &got, &[applied]);
            assert_eq!(
                find(system, &a).await.map(|x| x.validity),
                Some(window),
                "validity did not round-trip"
            );
            // A different window on the same key updates it.
            let b = a.clone().with_validity(Validity::ALWAYS);
            expect_outcomes(
                "window update",
                &system.grant(std::slice::from_ref(&b)).await,
                &[applied],
            );
            assert_eq!(
                find(system, &b).await.map(|x| x.validity),
                Some(Validity::ALWAYS)
            );
            expect_outcomes(
                "revoke windowed",
                &system.revoke(std::slice::from_ref(&a)).await,
                &[applied],
            );
        } else {
            assert!(
                unsupported_feature(&got[0], Feature::ValidityWindows),
                "a system without validity windows must refuse a window with Unsupported, got {got:?}"
            );
        }
        assert_eq!(keys(system).await, before);
    }
    if system.capabilities().validity_windows {
        Checked::Ran
    } else {
        Checked::Absent
    }
}

/// Scopes round-trip exactly where supported; unsupported kinds are refused. Skipped
/// (after running what it can) when a supported scope kind has no fixture pair.
pub async fn scopes(system: &dyn AccessSystem, f: &Fixture) -> Checked {
    let caps = system.capabilities();
    for (profile, scope) in &f.grants {
        assert!(
            caps.supports_scope(scope.kind()),
            "fixture grant on {scope} but capabilities say {:?} is unsupported",
            scope.kind()
        );
        let a = Assignment::new(user(f, 1), profile.clone(), scope.clone());
        expect_outcomes(
            "scoped grant",
            &system.grant(std::slice::from_ref(&a)).await,
            &[applied],
        );
        assert_eq!(find(system, &a).await.map(|x| x.scope), Some(scope.clone()));
        expect_outcomes(
            "scoped revoke",
            &system.revoke(std::slice::from_ref(&a)).await,
            &[applied],
        );
    }
    let mut refused = f.unsupported_scopes.clone();
    if !caps.system_scope {
        refused.push(Scope::System);
    }
    if !caps.tenant_scopes {
        let code =
            TenantCode::new("grantbridge-conformance-tenant").unwrap_or_else(|e| panic!("{e}"));
        refused.push(Scope::tenant(code, false));
    }
    if !caps.resource_scopes {
        let kind = ResourceKind::new("WORKSPACE").unwrap_or_else(|e| panic!("{e}"));
        let id =
            ResourceId::new("grantbridge-conformance-resource").unwrap_or_else(|e| panic!("{e}"));
        refused.push(Scope::resource(kind, id));
    }
    let profile = f.grants[0].0.clone();
    for scope in refused {
        let a = Assignment::new(user(f, 0), profile.clone(), scope.clone());
        let got = system.grant(std::slice::from_ref(&a)).await;
        expect_outcomes(
            &format!("grant on unsupported scope {scope}"),
            &got,
            &[unsupported],
        );
    }
    let uncovered: Vec<ScopeKind> = [ScopeKind::System, ScopeKind::Tenant, ScopeKind::Resource]
        .into_iter()
        .filter(|&kind| {
            caps.supports_scope(kind) && !f.grants.iter().any(|(_, s)| s.kind() == kind)
        })
        .collect();
    if uncovered.is_empty() {
        Checked::Ran
    } else {
        Checked::Skipped(format!(
            "no fixture grant on the supported scope kinds {uncovered:?}: their round trip was not checked"
        ))
    }
}

/// Group principals round-trip where supported and are refused where not.
pub async fn group_principals(system: &dyn AccessSystem, f: &Fixture) -> Checked {
    let caps = system.capabilities();
    let (profile, scope) = f.grants[0].clone();
    let group = f.groups.first().cloned().unwrap_or_else(unknown_group);
    let a = Assignment::new(Principal::Group(group), profile, scope);
    let got = system.grant(std::slice::from_ref(&a)).await;
    if !caps.group_principals {
        assert!(
            unsupported_feature(&got[0], Feature::GroupPrincipals),
            "a system without group principals must refuse with Unsupported, got {got:?}"
        );
        return Checked::Absent;
    }
    if f.groups.is_empty() {
        expect_outcomes("grant to unknown group", &got, &[not_found]);
        return Checked::Skipped(
            "the fixture has no group: only a grant to an unknown group (NotFound) was checked, not the round trip"
                .to_owned(),
        );
    }
    expect_outcomes("group grant", &got, &[applied]);
    assert_eq!(find(system, &a).await.as_ref(), Some(&a));
    expect_outcomes(
        "group revoke",
        &system.revoke(std::slice::from_ref(&a)).await,
        &[applied],
    );
    assert!(find(system, &a).await.is_none());
    Checked::Ran
}

/// A per-user assignment limit is enforced with a typed failure; a system without
/// one grants all the fixture's pairs to one user in one batch.
pub async fn per_user_limit(system: &dyn AccessSystem, f: &Fixture) -> Checked {
    let before = keys(system).await;
    let Some(max) = system.capabilities().max_assignments_per_user else {
        if f.grants.len() < 2 {
            return Checked::Skipped(
                "the fixture has 1 grant pair: that no per-user limit applies was not checked"
                    .to_owned(),
            );
        }
        let items: Vec<Assignment> = f
            .grants
            .iter()
            .map(|(p, s)| Assignment::new(user(f, 0), p.clone(), s.clone()))
            .collect();
        let got = system.grant(&items).await;
        assert!(
            got.iter().all(applied),
            "a system without a per-user limit must grant one user all {} fixture pairs: {got:?}",
            items.len()
        );
        let got = system.revoke(&items).await;
        assert!(got.iter().all(applied), "revoke: {got:?}");
        assert_eq!(keys(system).await, before);
        return Checked::Absent;
    };
    let distinct: Vec<_> = f.grants.iter().take(max as usize + 1).collect();
    if distinct.len() <= max as usize {
        return Checked::Skipped(format!(
            "the fixture has {} grant pairs, not more than the per-user limit {max}: the limit was not checked",
            f.grants.len()
        ));
    }
    let items: Vec<Assignment> = distinct
        .iter()
        .map(|(p, s)| Assignment::new(user(f, 0), p.clone(), s.clone()))
        .collect();
    let got = system.grant(&items).await;
    assert!(
        got[..max as usize].iter().all(Outcome::is_done),
        "the first {max} grants must succeed: {got:?}"
    );
    assert!(
        matches!(got.last(), Some(Outcome::Failed(e)) if e.kind() == ErrorKind::Conflict),
        "exceeding {max} assignments per user must fail with Conflict: {got:?}"
    );
    system.revoke(&items[..max as usize]).await;
    assert_eq!(keys(system).await, before);
    Checked::Ran
}

/// Memberships round-trip where writable; refused with `Unsupported` where not.
pub async fn memberships(system: &dyn AccessSystem, f: &Fixture) -> Checked {
    let caps = system.capabilities();
    let group = f.groups.first().cloned().unwrap_or_else(unknown_group);
    let m = Membership::new(f.users[0].clone(), group);
    let before: BTreeSet<Membership> = list_memberships(system).await;
    if !caps.groups || !caps.membership_write {
        let got = system.add_memberships(std::slice::from_ref(&m)).await;
        expect_outcomes(
            "membership on a system without membership writes",
            &got,
            &[unsupported],
        );
        return Checked::Absent;
    }
    if f.groups.is_empty() {
        return Checked::Skipped(
            "the fixture has no group: memberships were not checked".to_owned(),
        );
    }
    // Make sure we start from "not a member".
    let was_member = before.contains(&m);
    if was_member {
        expect_outcomes(
            "remove",
            &system.remove_memberships(std::slice::from_ref(&m)).await,
            &[applied],
        );
    }
    let bad = Membership::new(f.users[0].clone(), unknown_group());
    let got = system.add_memberships(&[m.clone(), bad.clone()]).await;
    expect_outcomes("add membership", &got, &[applied, not_found]);
    assert!(
        list_memberships(system).await.contains(&m),
        "added membership not listed"
    );
    expect_outcomes(
        "add again",
        &system.add_memberships(std::slice::from_ref(&m)).await,
        &[already],
    );
    expect_outcomes(
        "remove",
        &system.remove_memberships(std::slice::from_ref(&m)).await,
        &[applied],
    );
    assert!(
        !list_memberships(system).await.contains(&m),
        "removed membership still listed"
    );
    expect_outcomes(
        "remove again",
        &system.remove_memberships(std::slice::from_ref(&m)).await,
        &[already],
    );
    if was_member {
        expect_outcomes(
            "restore",
            &system.add_memberships(std::slice::from_ref(&m)).await,
            &[applied],
        );
    }
    assert_eq!(list_memberships(system).await, before);
    Checked::Ran
}

async fn list_memberships(system: &dyn AccessSystem) -> BTreeSet<Membership> {
    system
        .list_memberships()
        .await
        .unwrap_or_else(|e| panic!("list_memberships failed: {e}"))
        .into_iter()
        .collect()
}

/// Listing is exhaustive past one page: `bulk` grants all show up.
pub async fn exhaustive_listing(system: &dyn AccessSystem, f: &Fixture) -> Checked {
    let (profile, scope) = f.grants[0].clone();
    assert!(
        f.users.len() >= f.bulk,
        "fixture.bulk = {} needs as many users, has {}",
        f.bulk,
        f.users.len()
    );
    if let Some(page) = system.capabilities().page_size {
        assert!(
            f.bulk > page,
            "fixture.bulk must exceed the page size {page}"
        );
    }
    let users = system
        .list_users()
        .await
        .unwrap_or_else(|e| panic!("list_users failed: {e}"));
    let listed: BTreeSet<_> = users.iter().map(|u| &u.id).collect();
    for u in &f.users {
        assert!(listed.contains(u), "list_users misses fixture user {u}");
    }
    let items: Vec<Assignment> = f.users[..f.bulk]
        .iter()
        .map(|u| Assignment::new(Principal::User(u.clone()), profile.clone(), scope.clone()))
        .collect();
    let max_batch = system.capabilities().max_batch.max(1);
    for chunk in items.chunks(max_batch) {
        let got = system.grant(chunk).await;
        assert!(got.iter().all(applied), "bulk grant failed: {got:?}");
    }
    let listed = keys(system).await;
    let missing = items.iter().filter(|a| !listed.contains(&a.key())).count();
    assert_eq!(
        missing, 0,
        "list_assignments missed {missing} of {} granted",
        f.bulk
    );
    for chunk in items.chunks(max_batch) {
        let got = system.revoke(chunk).await;
        assert!(got.iter().all(applied), "bulk revoke failed: {got:?}");
    }
    Checked::Ran
}

/// Reads of unknown ids give typed `NotFound` errors.
pub async fn unknown_reads(system: &dyn AccessSystem) -> Checked {
    let err = system
        .get_profile(&unknown_profile())
        .await
        .expect_err("get_profile of an unknown id must fail");
    assert_eq!(
        err.kind(),
        ErrorKind::NotFound,
        "get_profile(unknown): {err}"
    );
    let err = system
        .list_assignments_for(&Principal::User(unknown_user()))
        .await
        .expect_err("list_assignments_for an unknown user must fail");
    assert_eq!(
        err.kind(),
        ErrorKind::NotFound,
        "list_assignments_for(unknown): {err}"
    );
    Checked::Ran
}
