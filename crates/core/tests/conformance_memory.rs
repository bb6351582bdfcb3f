//! The conformance suite against `InMemorySystem` under several capability sets; each
//! test asserts what every section checked (ran, checked an absent feature, or was
//! skipped), so that no section can pass by doing nothing.

use std::sync::Arc;

use grantbridge_core::conformance::{self, Checked, Fixture, Report, Section, WritePath};
use grantbridge_core::testing::{Intercept, Intercepted};
use grantbridge_core::{
    AccessSystem, Assignment, Capabilities, Error, Group, GroupId, InMemorySystem, Membership,
    Outcome, Profile, ProfileId, ResourceId, ResourceKind, Scope, ScopeKind, SystemId, TenantCode,
    User, UserId, Validity, async_trait,
};

fn id<T: TryFrom<String, Error = grantbridge_core::Error>>(s: &str) -> T {
    T::try_from(s.to_owned()).expect("valid id")
}

fn tenant() -> Scope {
    Scope::tenant(id::<TenantCode>("WFF_j1r~c7"), true)
}

fn source() -> Scope {
    Scope::Resource {
        kind: id::<ResourceKind>("SOURCE"),
        id: id::<ResourceId>("src-1"),
        labels: [grantbridge_core::Label::new("env", "prod")].into(),
    }
}

/// A system with 30 users, 2 groups, profiles for each scope kind, seeded with a
/// membership and an assignment the suite must leave alone.
fn system(caps: Capabilities) -> (Arc<InMemorySystem>, Fixture) {
    let users: Vec<UserId> = (0..30).map(|i| id(&format!("user-{i:02}"))).collect();
    let groups: Vec<GroupId> = vec![id("analysts"), id("admins")];
    let mut grants = Vec::new();
    let mut builder = InMemorySystem::builder(id::<SystemId>("mem"))
        .capabilities(caps)
        .users(users.iter().cloned().map(User::new))
        .profile(Profile::new(id("untouched"), "Untouched"));
    if caps.groups {
        builder = builder
            .groups(groups.iter().map(|g| Group::new(g.clone(), g.as_str())))
            .membership(Membership::new(users[5].clone(), groups[1].clone()));
    }
    if caps.system_scope {
        builder = builder
            .profile(
                Profile::new(id("local-admin"), "Local admin").assignable_to([ScopeKind::System]),
            )
            .profile(Profile::new(id("local-viewer"), "Local viewer"));
        grants.push((id::<ProfileId>("local-admin"), Scope::System));
        grants.push((id::<ProfileId>("local-viewer"), Scope::System));
    }
    if caps.tenant_scopes {
        builder = builder
            .profile(Profile::new(id("analytic"), "Analytic").assignable_to([ScopeKind::Tenant]))
            .profile(
                Profile::new(id("analytic-2"), "Analytic 2").assignable_to([ScopeKind::Tenant]),
            )
            .scope(&tenant());
        grants.push((id::<ProfileId>("analytic"), tenant()));
        grants.push((id::<ProfileId>("analytic-2"), tenant()));
    }
    if caps.resource_scopes {
        builder = builder
            .profile(
                Profile::new(id("source-admin"), "Source Admin")
                    .assignable_to([ScopeKind::Resource]),
            )
            .profile(
                Profile::new(id("source-read"), "Source Read").assignable_to([ScopeKind::Resource]),
            )
            .scope(&source());
        grants.push((id::<ProfileId>("source-admin"), source()));
        grants.push((id::<ProfileId>("source-read"), source()));
    }
    let seeded = grantbridge_core::Assignment::new(
        grantbridge_core::Principal::User(users[29].clone()),
        id("untouched"),
        grants[0].1.clone(),
    );
    let system = Arc::new(builder.assignment(seeded).build());
    let fixture = Fixture {
        users,
        groups: if caps.groups { groups } else { vec![] },
        grants,
        unsupported_scopes: vec![],
        bulk: 25,
        answers: Some(system.clone()),
    };
    (system, fixture)
}

use Checked::{Absent, Ran};

/// Asserts that `report` holds exactly `expected`, one entry per section in run order.
fn assert_report(report: &Report, expected: [Checked; 10]) {
    let expected: Vec<(Section, Checked)> = Section::ALL.into_iter().zip(expected).collect();
    assert_eq!(report.sections, expected);
}

#[tokio::test]
async fn full_capabilities() {
    let (system, fixture) = system(Capabilities::full().with_page_size(Some(10)));
    let report = conformance::run(&system, &fixture).await;
    // Sections: grant/list/revoke, partial batch, validity, scopes, group principals,
    // per-user limit, memberships, exhaustive listing, unknown reads, lost answers.
    assert_report(
        &report,
        [Ran, Ran, Ran, Ran, Ran, Absent, Ran, Ran, Ran, Ran],
    );
}

#[tokio::test]
async fn visier_like_windows_and_tenants_no_resources() {
    let (system, fixture) = system(
        Capabilities::full()
            .with_resource_scopes(false)
            .with_group_principals(false)
            .with_profile_create(false)
            .with_profile_delete(false),
    );
    let report = conformance::run(&system, &fixture).await;
    assert_report(
        &report,
        [Ran, Ran, Ran, Ran, Absent, Absent, Ran, Ran, Ran, Ran],
    );
}

#[tokio::test]
async fn segment_like_resources_without_windows() {
    let (system, fixture) = system(
        Capabilities::full()
            .with_validity_windows(false)
            .with_system_scope(false)
            .with_tenant_scopes(false),
    );
    let report = conformance::run(&system, &fixture).await;
    assert_report(
        &report,
        [Ran, Ran, Absent, Ran, Ran, Absent, Ran, Ran, Ran, Ran],
    );
}

#[tokio::test]
async fn pyramid_like_one_profile_per_user() {
    let (system, fixture) = system(
        Capabilities::full()
            .with_validity_windows(false)
            .with_resource_scopes(false)
            .with_system_scope(false)
            .with_max_assignments_per_user(Some(1)),
    );
    let report = conformance::run(&system, &fixture).await;
    assert_report(
        &report,
        [Ran, Ran, Absent, Ran, Ran, Ran, Ran, Ran, Ran, Ran],
    );
}

#[tokio::test]
async fn minimal_system_refuses_everything_else() {
    let (system, fixture) = system(Capabilities::minimal());
    let report = conformance::run(&system, &fixture).await;
    assert_report(
        &report,
        [Ran, Ran, Absent, Ran, Absent, Absent, Absent, Ran, Ran, Ran],
    );
    // `run_all` accepts a run without skips.
    conformance::run_all(&system, &fixture).await;
}

/// A fixture without the groups, pairs and scope kinds the system's capabilities call
/// for: each section that needs them says so instead of passing silently.
fn thin_fixture(caps: Capabilities) -> (Arc<InMemorySystem>, Fixture) {
    let (system, mut fixture) = system(caps);
    fixture.groups.clear();
    fixture.grants.truncate(1);
    fixture.answers = None;
    (system, fixture)
}

#[tokio::test]
async fn sections_short_of_fixture_data_are_counted_skips() {
    let (system, fixture) = thin_fixture(Capabilities::full());
    assert_eq!(fixture.grants[0].1, Scope::System);
    let report = conformance::run(&system, &fixture).await;
    let skipped: Vec<Section> = report.skipped().into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        skipped,
        [
            Section::Scopes,
            Section::GroupPrincipals,
            Section::PerUserLimit,
            Section::Memberships,
            Section::LostAnswers,
        ]
    );
    let reason = |s| match report.get(s) {
        Some(Checked::Skipped(reason)) => reason.clone(),
        other => panic!("{s:?}: {other:?}"),
    };
    assert!(reason(Section::Scopes).contains("[Tenant, Resource]"));
    assert!(reason(Section::GroupPrincipals).contains("no group"));
    assert!(reason(Section::PerUserLimit).contains("1 grant pair"));
    assert!(reason(Section::Memberships).contains("no group"));
    assert!(reason(Section::LostAnswers).contains("no AnswerCutter"));
    assert_eq!(report.get(Section::Validity), Some(&Ran));

    // With a per-user limit of 1, one pair cannot exceed it.
    let (system, fixture) =
        thin_fixture(Capabilities::full().with_max_assignments_per_user(Some(1)));
    let report = conformance::run(&system, &fixture).await;
    assert!(
        matches!(report.get(Section::PerUserLimit), Some(Checked::Skipped(r)) if r.contains("not more than the per-user limit 1")),
        "{report:?}"
    );
}

#[tokio::test]
#[should_panic(expected = "conformance sections skipped for lack of fixture data")]
async fn run_all_fails_when_a_section_is_skipped() {
    let (system, fixture) = thin_fixture(Capabilities::full());
    conformance::run_all(&system, &fixture).await;
}

/// The suite must catch a broken system: a store that "forgets" validity windows.
#[tokio::test]
#[should_panic(expected = "validity did not round-trip")]
async fn suite_catches_a_system_that_drops_windows() {
    struct DropsWindows;
    #[async_trait]
    impl Intercept for DropsWindows {
        async fn grant(&self, inner: &dyn AccessSystem, items: &[Assignment]) -> Vec<Outcome> {
            let stripped: Vec<Assignment> = items
                .iter()
                .cloned()
                .map(|a| a.with_validity(Validity::ALWAYS))
                .collect();
            inner.grant(&stripped).await
        }
    }
    let (system, fixture) = system(Capabilities::full());
    assert_eq!(
        conformance::validity(&Intercepted::new(system, DropsWindows), &fixture).await,
        Ran
    );
}

/// The suite must catch a system that declares no per-user limit but enforces one.
#[tokio::test]
#[should_panic(expected = "a system without a per-user limit must grant one user all 2")]
async fn suite_catches_an_undeclared_per_user_limit() {
    /// Enforces one assignment per user, declares no limit.
    struct Undeclared;
    impl Intercept for Undeclared {
        fn capabilities(&self, inner: Capabilities) -> Capabilities {
            inner.with_max_assignments_per_user(None)
        }
    }
    let (system, fixture) = system(
        Capabilities::full()
            .with_validity_windows(false)
            .with_resource_scopes(false)
            .with_system_scope(false)
            .with_max_assignments_per_user(Some(1)),
    );
    assert_eq!(fixture.grants.len(), 2);
    let _ = conformance::per_user_limit(&Intercepted::new(system, Undeclared), &fixture).await;
}

/// The suite must catch a system that reports a write failed when only its answer was
/// lost (the write took effect): a rollback would leave that write in place.
#[tokio::test]
#[should_panic(expected = "is in effect but reported failed")]
async fn suite_catches_a_write_hidden_behind_a_lost_answer() {
    /// Fails every item of a write whose answer is cut, without reading back.
    struct HidesLostWrites(Arc<InMemorySystem>);
    impl HidesLostWrites {
        fn answer(&self, path: WritePath, got: Vec<Outcome>) -> Vec<Outcome> {
            if self.0.is_cut(path) {
                Outcome::all_failed(got.len(), &Error::transport("answer lost"))
            } else {
                got
            }
        }
    }
    #[async_trait]
    impl Intercept for HidesLostWrites {
        async fn grant(&self, inner: &dyn AccessSystem, items: &[Assignment]) -> Vec<Outcome> {
            let got = inner.grant(items).await;
            self.answer(WritePath::Grant, got)
        }
        async fn revoke(&self, inner: &dyn AccessSystem, items: &[Assignment]) -> Vec<Outcome> {
            let got = inner.revoke(items).await;
            self.answer(WritePath::Revoke, got)
        }
    }
    let (system, fixture) = system(Capabilities::full().with_groups(false));
    let hides = HidesLostWrites(system.clone());
    let _ = conformance::lost_answers(&Intercepted::new(system, hides), &fixture).await;
}
