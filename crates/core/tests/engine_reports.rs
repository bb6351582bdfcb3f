//! The engine's files and reports (snapshot, plan, summary table, access review,
//! run outcomes) and the translation rules that are easiest to see one at a time.

use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use grantbridge_core::engine::{
    self, ExecuteOptions, Mapping, Mode, Plan, Progress, RunReport, SkipReason, Snapshot,
    SummaryKey,
};
use grantbridge_core::{
    Assignment, Capabilities, Email, ErrorKind, Group, GroupId, InMemorySystem, Membership,
    Principal, Profile, ProfileId, Scope, SystemId, TenantCode, Timestamp, User, UserId, Validity,
};

fn uid(s: &str) -> UserId {
    UserId::new(s).expect("id")
}
fn pid(s: &str) -> ProfileId {
    ProfileId::new(s).expect("id")
}
fn user(id: &str, email: &str) -> User {
    User::new(uid(id)).with_email(Email::new(email).expect("email"))
}
fn at(s: i64) -> Timestamp {
    Timestamp::from_second(s).expect("time")
}
fn snap(system: &InMemorySystem) -> Snapshot {
    block_on(Snapshot::take(system)).expect("snapshot")
}

fn source() -> InMemorySystem {
    let tenant = Scope::tenant(TenantCode::new("EU").expect("id"), true);
    InMemorySystem::builder(SystemId::new("visier").expect("id"))
        .users([
            user("a", "ana@example.com"),
            user("b", "bo@example.com"),
            user("c", "cy@example.com"),
        ])
        .group(Group::new(GroupId::new("g").expect("id"), "Analysts"))
        .membership(Membership::new(uid("a"), GroupId::new("g").expect("id")))
        .profiles([
            Profile::new(pid("ADMIN"), "Admin"),
            Profile::new(pid("VIEW"), "Viewer"),
            Profile::new(pid("LEGACY"), "Legacy"),
        ])
        .assignments([
            Assignment::new(Principal::User(uid("a")), pid("ADMIN"), Scope::System),
            Assignment::new(Principal::User(uid("b")), pid("VIEW"), tenant.clone())
                .with_validity(Validity::new(Some(at(1_000)), Some(at(9_000))).expect("w")),
            // Expired at the translation time used below (5000 s).
            Assignment::new(Principal::User(uid("c")), pid("VIEW"), tenant.clone())
                .with_validity(Validity::new(None, Some(at(2_000))).expect("w")),
            // Starts after the translation time.
            Assignment::new(Principal::User(uid("a")), pid("VIEW"), tenant)
                .with_validity(Validity::new(Some(at(8_000)), None).expect("w")),
            Assignment::new(Principal::User(uid("c")), pid("LEGACY"), Scope::System),
            Assignment::new(
                Principal::Group(GroupId::new("g").expect("id")),
                pid("VIEW"),
                Scope::System,
            ),
        ])
        .build()
}

fn target(caps: Capabilities) -> InMemorySystem {
    InMemorySystem::builder(SystemId::new("segment").expect("id"))
        .capabilities(caps)
        .users([
            user("t-a", "ANA@example.com"),
            user("t-b", "bo@example.com"),
            user("t-c", "cy@example.com"),
        ])
        .group(Group::new(GroupId::new("tg").expect("id"), "Analysts"))
        .profiles([
            Profile::new(pid("owner"), "Owner"),
            Profile::new(pid("reader"), "Reader"),
        ])
        .scope(&Scope::tenant(TenantCode::new("EU").expect("id"), true))
        .assignment(Assignment::new(
            Principal::User(uid("t-c")),
            pid("reader"),
            Scope::System,
        ))
        .build()
}

const MAPPING: &str = r#"
[[rules]]
name = "admins"
from = "Admin"
to = [{ profile = "Owner" }]

[[rules]]
name = "viewers"
from = "VIEW"
to = [{ profile = "reader" }]
"#;

fn translate(
    target: &InMemorySystem,
    mapping: &str,
) -> (grantbridge_core::engine::Desired, Snapshot) {
    let current = snap(target);
    let mapping = Mapping::parse(mapping, "m.toml").expect("mapping");
    let desired =
        engine::translate_at(&snap(&source()), &mapping, &current, at(5_000)).expect("translate");
    (desired, current)
}

fn reasons(desired: &grantbridge_core::engine::Desired) -> Vec<String> {
    desired.skipped.iter().map(|s| s.to_string()).collect()
}

#[test]
fn expired_unmapped_and_early_windows_are_skipped_with_reasons() {
    // A target without windows, dropping them with a warning.
    let t = target(Capabilities::full().with_validity_windows(false));
    let (desired, _) = translate(&t, MAPPING);
    let r = reasons(&desired);
    assert!(
        r.iter()
            .any(|s| s.contains("user:c holds VIEW") && s.contains("expired")),
        "{r:?}"
    );
    assert!(
        r.iter()
            .any(|s| s.contains("no mapping rule for profile LEGACY")),
        "{r:?}"
    );
    assert!(
        r.iter()
            .any(|s| s.contains("user:a holds VIEW") && s.contains("grant access early")),
        "{r:?}"
    );
    // b's active window was dropped, with a warning.
    assert_eq!(desired.warnings.len(), 1, "{:?}", desired.warnings);
    assert!(desired.assignments.contains(&Assignment::new(
        Principal::User(uid("t-b")),
        pid("reader"),
        Scope::tenant(TenantCode::new("EU").expect("id"), true),
    )));

    // The same with `refuse`: b is skipped instead.
    let refuse = format!("[validity]\non_unsupported = \"refuse\"\n{MAPPING}");
    let (desired, _) = translate(&t, &refuse);
    assert!(desired.warnings.is_empty());
    assert!(desired.skipped.iter().any(|s| {
        s.reason
            == SkipReason::TargetLacks {
                feature: grantbridge_core::Feature::ValidityWindows,
            }
            && s.to_string().contains("user:b")
    }));

    // A target with windows keeps them exactly.
    let (desired, _) = translate(&target(Capabilities::full()), MAPPING);
    let b = desired
        .assignments
        .iter()
        .find(|a| a.principal == Principal::User(uid("t-b")))
        .expect("carried");
    assert_eq!(b.validity.from(), Some(at(1_000)));
    assert_eq!(b.validity.until(), Some(at(9_000)));
}

#[test]
fn an_address_two_target_users_share_is_not_guessed() {
    let t = InMemorySystem::builder(SystemId::new("segment").expect("id"))
        .users([
            user("t-a1", "ana@example.com"),
            user("t-a2", "Ana@Example.com"),
            user("t-b", "bo@example.com"),
        ])
        .profiles([
            Profile::new(pid("owner"), "Owner"),
            Profile::new(pid("reader"), "Reader"),
        ])
        .build();
    let (desired, _) = translate(&t, MAPPING);
    assert!(
        desired.skipped.iter().any(|s| matches!(
            &s.reason,
            SkipReason::AmbiguousTargetUser { user, .. } if user.as_str() == "a"
        )),
        "{:?}",
        reasons(&desired)
    );
    assert!(
        desired
            .assignments
            .iter()
            .all(|a| !a.principal.id_str().starts_with("t-a"))
    );
}

#[test]
fn additive_plans_on_one_profile_per_user_targets_skip_what_has_no_room() {
    let caps = Capabilities::full()
        .with_max_assignments_per_user(Some(1))
        .with_validity_windows(false);
    let t = target(caps);
    let (desired, current) = translate(&t, MAPPING);
    // t-c already holds `reader`; nothing for c is desired (expired, legacy), so it
    // stays. Additive: a new grant for a user without room is skipped at plan time.
    let t2 = InMemorySystem::builder(SystemId::new("segment").expect("id"))
        .capabilities(caps)
        .users([
            user("t-a", "ana@example.com"),
            user("t-b", "bo@example.com"),
        ])
        .profiles([
            Profile::new(pid("owner"), "Owner"),
            Profile::new(pid("reader"), "Reader"),
        ])
        .scope(&Scope::tenant(TenantCode::new("EU").expect("id"), true))
        .assignment(Assignment::new(
            Principal::User(uid("t-a")),
            pid("reader"),
            Scope::System,
        ))
        .build();
    let (desired2, current2) = translate(&t2, MAPPING);
    let plan = engine::plan(&desired2, &current2, Mode::Additive);
    assert!(
        plan.skipped
            .iter()
            .any(|s| s.reason == SkipReason::PerUserLimit { max: 1 }
                && s.to_string().contains("user:t-a holds owner")),
        "{:?}",
        plan.skipped
    );
    let report = block_on(engine::execute(&plan, &t2, &ExecuteOptions::default())).expect("run");
    assert!(!report.has_failures(), "{:?}", report.items);
    // Mirror makes room first: revoke, then grant; and the inverse also revokes first.
    let mirror = engine::plan(&desired, &current, Mode::Mirror);
    assert!(mirror.removals_first && mirror.inverse().removals_first);
    let report = block_on(engine::execute(&mirror, &t, &ExecuteOptions::default())).expect("run");
    assert!(!report.has_failures(), "{:?}", report.items);
    let back = block_on(engine::execute(
        &mirror.inverse(),
        &t,
        &ExecuteOptions::default(),
    ))
    .expect("rollback");
    assert!(!back.has_failures(), "{:?}", back.items);
    assert_eq!(snap(&t).assignments, current.assignments);
}

#[test]
fn snapshots_round_trip_and_refuse_unknown_versions() {
    let s = snap(&source());
    let json = s.to_json().expect("json");
    assert_eq!(Snapshot::from_json(&json).expect("parse"), s);
    let future = json.replacen("\"format_version\": 1", "\"format_version\": 2", 1);
    let err = Snapshot::from_json(&future).expect_err("v2");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("2 is not supported"), "{err}");
    let err = Snapshot::from_json("{\"users\": []}").expect_err("no version");
    assert!(
        err.to_string().contains("not a grantbridge snapshot"),
        "{err}"
    );

    let path = std::env::temp_dir().join(format!("gb-snap-{}.json", std::process::id()));
    std::fs::write(&path, &future).expect("write");
    let err = Snapshot::load(&path).expect_err("v2 file");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn plans_are_json_for_machines_and_a_table_for_people() {
    let t = target(Capabilities::full());
    let (desired, current) = translate(&t, MAPPING);
    let plan = engine::plan(&desired, &current, Mode::Mirror);
    // Deterministic time: the later of the translation time and the snapshot's.
    assert_eq!(plan.created_at, current.taken_at.max(at(5_000)));
    let json = plan.to_json().expect("json");
    let back = Plan::from_json(&json).expect("parse");
    assert_eq!(back, plan);
    assert_eq!(back.fingerprint(), plan.fingerprint());
    let err = Plan::from_json(&json.replacen("\"format_version\": 1", "\"format_version\": 9", 1))
        .expect_err("v9");
    assert!(err.to_string().contains("9 is not supported"), "{err}");

    let summary = plan.summary();
    let profile = |id: &str| SummaryKey::Profile(ProfileId::new(id).expect("id"));
    let owner = summary.rows[&profile("owner")];
    assert_eq!((owner.grants, owner.revokes), (1, 0));
    let reader = summary.rows[&profile("reader")];
    // b and a (windows kept, a's not started yet) and the group are granted; t-c's
    // extra `reader` is revoked.
    assert_eq!((reader.grants, reader.updates, reader.revokes), (3, 0, 1));
    // Skipped source items count under their source profile: c's expired VIEW.
    assert_eq!(summary.rows[&profile("VIEW")].skipped, 1);
    assert_eq!(summary.rows[&profile("LEGACY")].skipped, 1);
    let table = summary.to_string();
    assert!(table.starts_with("plan for segment (Mirror)\n"), "{table}");
    for needle in ["grants", "revokes", "skipped", "profile owner", "total"] {
        assert!(table.contains(needle), "{needle} missing in\n{table}");
    }
}

#[test]
fn the_access_review_lists_direct_and_group_access() {
    let s = snap(&source());
    let mut out = Vec::new();
    engine::write_access_csv(&s, &mut out).expect("csv");
    let text = String::from_utf8(out).expect("utf-8");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "system,principal_type,principal,email,name,profile,profile_name,scope,valid_from,valid_until,via_group"
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.contains(&"visier,user,b,bo@example.com,,VIEW,Viewer,tenant:EU+children,1970-01-01T00:16:40Z,1970-01-01T02:30:00Z,"),
        "{rows:#?}"
    );
    // The group's own row, and one per member, naming the group.
    assert!(rows.contains(&"visier,group,g,,Analysts,VIEW,Viewer,system,,,"));
    assert!(rows.contains(&"visier,user,a,ana@example.com,,VIEW,Viewer,system,,,Analysts"));
    assert_eq!(rows.len(), s.assignments.len() + 1);
}

#[test]
fn a_run_reports_every_outcome_as_json_and_csv_with_progress() {
    let t = target(Capabilities::full());
    let (desired, current) = translate(&t, MAPPING);
    let plan = engine::plan(&desired, &current, Mode::Mirror);
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let log = seen.clone();
    let options = ExecuteOptions {
        batch_size: Some(1),
        concurrency: 1,
        progress: Some(Arc::new(move |p| log.lock().expect("lock").push(p))),
        ..ExecuteOptions::default()
    };
    let dry = block_on(engine::execute(
        &plan,
        &t,
        &ExecuteOptions {
            dry_run: true,
            ..options.clone()
        },
    ))
    .expect("dry");
    assert_eq!(dry.counts().not_run, plan.changes.len());
    assert_eq!(
        snap(&t).assignments,
        current.assignments,
        "a dry run changes nothing"
    );

    let report = block_on(engine::execute(&plan, &t, &options)).expect("run");
    let progress = seen.lock().expect("lock").clone();
    assert_eq!(progress.len(), plan.changes.len());
    assert_eq!(
        progress.last().map(|p| (p.done, p.total, p.failed)),
        Some((plan.changes.len(), plan.changes.len(), 0))
    );
    assert_eq!(
        RunReport::from_json(&report.to_json().expect("json")).expect("parse"),
        report
    );
    let mut out = Vec::new();
    engine::write_outcomes_csv(&report, &mut out).expect("csv");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.starts_with(
        "index,action,principal,object,scope,valid_from,valid_until,outcome,resumed,error\n"
    ));
    assert_eq!(text.lines().count(), plan.changes.len() + 1);
    assert!(
        text.contains(",revoke,user:t-c,reader,system,,,applied,false,"),
        "{text}"
    );

    // A plan for another system is refused before anything is sent.
    let other = source();
    let err = block_on(engine::execute(&plan, &other, &options)).expect_err("wrong target");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        other.stats().grant_batches + other.stats().revoke_batches,
        0
    );
}

#[test]
fn additive_plans_widen_windows_and_never_narrow_them() {
    let w = |f: Option<i64>, u: Option<i64>| Validity::new(f.map(at), u.map(at)).expect("window");
    // (held, wanted, expected update or None, expected conflict)
    let cases = [
        (Validity::ALWAYS, w(Some(3), Some(8)), None, false),
        (
            w(Some(1), Some(5)),
            w(Some(3), Some(8)),
            Some(w(Some(1), Some(8))),
            false,
        ),
        (
            w(Some(3), Some(8)),
            w(None, Some(4)),
            Some(w(None, Some(8))),
            false,
        ),
        (w(Some(1), Some(3)), w(Some(5), Some(8)), None, true),
    ];
    for (held, wanted, update, conflict) in cases {
        let a = |v: Validity| {
            Assignment::new(Principal::User(uid("t-a")), pid("owner"), Scope::System)
                .with_validity(v)
        };
        let current = Snapshot::from_parts(
            SystemId::new("segment").expect("id"),
            at(0),
            Capabilities::full(),
            vec![user("t-a", "ana@example.com")],
            Vec::new(),
            vec![Profile::new(pid("owner"), "Owner")],
            Vec::new(),
            vec![a(held)],
        );
        let (mut desired, _) = translate(&target(Capabilities::full()), MAPPING);
        desired.assignments = vec![a(wanted)];
        desired.skipped.clear();
        desired.memberships.clear();
        let plan = engine::plan(&desired, &current, Mode::Additive);
        let got = plan.changes.iter().find_map(|c| match c {
            engine::Change::Grant {
                assignment,
                previous: Some(p),
            } => {
                assert_eq!(*p, held);
                Some(assignment.validity)
            }
            _ => None,
        });
        assert_eq!(got, update, "held {held}, wanted {wanted}");
        assert_eq!(
            plan.skipped
                .iter()
                .any(|s| matches!(s.reason, SkipReason::WindowConflict { kept } if kept == held)),
            conflict,
            "held {held}, wanted {wanted}"
        );
        // Mirror sets the window exactly.
        let mirror = engine::plan(&desired, &current, Mode::Mirror);
        assert_eq!(mirror.changes.len(), 1);
    }
}

/// Names anyone in a vendor workspace can set: every cell that would start a formula
/// in a spreadsheet is written with a leading `'`, and nothing else changes.
#[test]
fn csv_exports_never_start_a_formula() {
    let hostile = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "+1+cmd|'/C calc'!A0",
        "-2+3",
        "@SUM(1,1)",
        "\tTab",
        "\rReturn",
    ];
    let mut b = InMemorySystem::builder(SystemId::new("segment").expect("id"));
    for (i, name) in hostile.iter().enumerate() {
        let mut u = user(&format!("u{i}"), &format!("u{i}@example.com"));
        u.display_name = Some((*name).to_owned());
        let gid = GroupId::new(format!("g{i}")).expect("id");
        b = b
            .users([u])
            .group(Group::new(gid.clone(), *name))
            .membership(Membership::new(uid(&format!("u{i}")), gid.clone()))
            .profiles([Profile::new(pid(&format!("p{i}")), *name)])
            .assignment(Assignment::new(
                Principal::Group(gid),
                pid(&format!("p{i}")),
                Scope::System,
            ));
    }
    let s = snap(&b.build());
    let mut out = Vec::new();
    engine::write_access_csv(&s, &mut out).expect("csv");
    let mut reader = csv::ReaderBuilder::new().from_reader(out.as_slice());
    let mut quoted = 0;
    for record in reader.records() {
        let record = record.expect("a well-formed row");
        for cell in record.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a formula cell: {cell:?}"
            );
            if let Some(original) = cell.strip_prefix('\'') {
                assert!(hostile.contains(&original), "{cell:?}");
                quoted += 1;
            }
        }
    }
    // Per name: the group row (group name, profile name) and the member row (display
    // name, profile name, via group).
    assert_eq!(quoted, hostile.len() * 5);
    // JSON keeps the exact values.
    let json = serde_json::to_string(&engine::access_rows(&s)).expect("json");
    assert!(json.contains("\"=HYPERLINK("), "{json}");
}
