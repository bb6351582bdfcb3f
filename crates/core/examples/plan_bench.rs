//! Plans 1,000,000 assignments (100,000 users × 10 profiles) against a target that
//! differs by 10 %, and prints wall time and peak memory; then does the same diff as a
//! naive per-user loop for comparison.
//!
//! ```text
//! cargo run -p grantbridge-core --release --example plan_bench --all-features
//! ```
//!
//! Optional arguments: the number of users (default 100000), the number of users
//! the naive loop is timed on (default 200; it is quadratic, so the full figure is
//! extrapolated from that sample and labelled as such), and `reorder` to give target
//! users ids in the opposite order of the source's (so translation must sort).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use grantbridge_core::engine::{self, Change, Mapping, Mode, Snapshot};
use grantbridge_core::{
    Assignment, Capabilities, Email, Principal, Profile, Scope, SystemId, TenantCode, Timestamp,
    User, Validity,
};

const PROFILES: usize = 10;

fn id<T: TryFrom<String, Error = grantbridge_core::Error>>(s: String) -> T {
    T::try_from(s).expect("valid id")
}

/// `VmHWM` (peak resident set) and `VmRSS` of this process, in MiB, from /proc.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn report(step: &str, took: Duration) {
    let (hwm, rss) = memory();
    println!(
        "{step:<34} {:>9.1} ms   peak RSS {hwm:>7.1} MiB   RSS now {rss:>7.1} MiB",
        took.as_secs_f64() * 1e3
    );
}

fn tenant(p: usize) -> Scope {
    Scope::tenant(id::<TenantCode>(format!("tenant-{}", p % 3)), true)
}

fn window(u: usize) -> Validity {
    // Every 7th user has a bounded window (far in the future, so nothing is expired).
    if u.is_multiple_of(7) {
        Validity::from_millis(Some(1_700_000_000_000), Some(4_000_000_000_000)).expect("window")
    } else {
        Validity::ALWAYS
    }
}

/// The identity of an assignment, borrowed.
fn key(a: &Assignment) -> (&Principal, &grantbridge_core::ProfileId, &Scope) {
    (&a.principal, &a.profile, &a.scope)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let sample: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(200)
        .min(users);
    let reorder = args.next().as_deref() == Some("reorder");
    // The target id of the person who is user `u` in the source.
    let tid = |u: usize| if reorder { users - 1 - u } else { u };
    let n = users * PROFILES;
    println!(
        "grantbridge plan benchmark: {users} users × {PROFILES} profiles = {n} assignments, target differs by 10 %"
    );
    println!(
        "(release build: {}; target ids {}; {} CPUs)",
        !cfg!(debug_assertions),
        if reorder {
            "in reverse order: translation sorts"
        } else {
            "in source order"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // ---- inputs -----------------------------------------------------------------------
    let t = Instant::now();
    let at = Timestamp::from_second(1_750_000_000).expect("time");
    let mail = |u: usize| Email::new(format!("user{u:06}@example.com")).expect("email");
    let src_users: Vec<User> = (0..users)
        .map(|u| User::new(id(format!("s-{u:06}"))).with_email(mail(u)))
        .collect();
    let dst_users: Vec<User> = (0..users)
        .map(|u| User::new(id(format!("t-{:06}", tid(u)))).with_email(mail(u)))
        .collect();
    let src_profiles: Vec<Profile> = (0..PROFILES)
        .map(|p| Profile::new(id(format!("SRC_{p}")), format!("Source profile {p}")))
        .collect();
    let dst_profiles: Vec<Profile> = (0..PROFILES)
        .map(|p| Profile::new(id(format!("dst-{p}")), format!("Target profile {p}")))
        .collect();
    let mut src_assignments = Vec::with_capacity(n);
    let mut dst_assignments = Vec::with_capacity(n);
    // The target differs on 10 % of the items: 5 % missing (grants), 2.5 % with another
    // window (updates), 2.5 % extra (revokes in Mirror mode).
    let (mut missing, mut changed, mut extra) = (0usize, 0usize, 0usize);
    for u in 0..users {
        for p in 0..PROFILES {
            let s = Principal::User(id(format!("s-{u:06}")));
            let d = Principal::User(id(format!("t-{:06}", tid(u))));
            src_assignments.push(
                Assignment::new(s, id(format!("SRC_{p}")), tenant(p)).with_validity(window(u)),
            );
            let k = (u * PROFILES + p) % 40;
            let target = Assignment::new(d.clone(), id(format!("dst-{p}")), tenant(p));
            match k {
                0 | 1 => missing += 1,
                2 => {
                    changed += 1;
                    let other = Validity::from_millis(Some(1_600_000_000_000), None).expect("w");
                    dst_assignments.push(target.with_validity(other));
                }
                3 => {
                    extra += 1;
                    dst_assignments.push(target.clone().with_validity(window(u)));
                    dst_assignments.push(Assignment::new(
                        d,
                        id(format!("dst-{p}")),
                        Scope::tenant(id::<TenantCode>("legacy".to_owned()), false),
                    ));
                }
                _ => dst_assignments.push(target.with_validity(window(u))),
            }
        }
    }
    let source = Snapshot::from_parts(
        id::<SystemId>("visier".into()),
        at,
        Capabilities::full(),
        src_users,
        Vec::new(),
        src_profiles,
        Vec::new(),
        src_assignments,
    );
    let target = Snapshot::from_parts(
        id::<SystemId>("segment".into()),
        at,
        Capabilities::full(),
        dst_users,
        Vec::new(),
        dst_profiles,
        Vec::new(),
        dst_assignments,
    );
    let mut rules = String::new();
    for p in 0..PROFILES {
        rules.push_str(&format!(
            "[[rules]]\nfrom = \"Source profile {p}\"\nto = [{{ profile = \"dst-{p}\" }}]\n"
        ));
    }
    let mapping = Mapping::parse(&rules, "bench.toml").expect("mapping");
    report("build inputs (not part of the plan)", t.elapsed());

    // ---- the engine -------------------------------------------------------------------
    let t = Instant::now();
    let desired = engine::translate_at(&source, &mapping, &target, at).expect("translate");
    let translate_time = t.elapsed();
    report("translate (source → desired)", translate_time);
    assert_eq!(desired.assignments.len(), n);
    assert!(desired.skipped.is_empty());

    let t = Instant::now();
    let plan = engine::plan(&desired, &target, Mode::Mirror);
    let plan_time = t.elapsed();
    report("plan (desired vs target, Mirror)", plan_time);
    let summary = plan.summary().totals();
    assert_eq!(summary.grants, missing);
    assert_eq!(summary.updates, changed);
    assert_eq!(summary.revokes, extra);
    println!(
        "plan: {} changes ({} grants, {} updates, {} revokes)",
        plan.changes.len(),
        summary.grants,
        summary.updates,
        summary.revokes
    );

    // ---- the naive loop ---------------------------------------------------------------
    // The desired items grouped by user in one pass, then for each user: scan the
    // whole target list for that user's assignments and compare. The scan makes it
    // quadratic, so the loop is timed on a sample of users and extrapolated.
    let t = Instant::now();
    let mut wanted_by_user: HashMap<&Principal, Vec<&Assignment>> = HashMap::new();
    for a in &desired.assignments {
        wanted_by_user.entry(&a.principal).or_default().push(a);
    }
    let grouping = t.elapsed();
    let t = Instant::now();
    let mut naive_changes = 0usize;
    let sample_users: Vec<&User> = target.users.iter().take(sample).collect();
    for user in &sample_users {
        let principal = Principal::User(user.id.clone());
        let held: Vec<&Assignment> = target
            .assignments
            .iter()
            .filter(|a| a.principal == principal)
            .collect();
        let wanted = wanted_by_user
            .get(&principal)
            .map_or(&[][..], |v| v.as_slice());
        for w in wanted {
            match held.iter().find(|h| key(h) == key(w)) {
                Some(h) if h.validity == w.validity => {}
                _ => naive_changes += 1,
            }
        }
        for h in &held {
            if !wanted.iter().any(|w| key(w) == key(h)) {
                naive_changes += 1;
            }
        }
    }
    let naive_sample = t.elapsed();
    // The engine's answer for the same users, to show the loop computes the same diff.
    let sampled: BTreeSet<Principal> = sample_users
        .iter()
        .map(|u| Principal::User(u.id.clone()))
        .collect();
    let engine_changes = plan
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Grant { .. } | Change::Revoke { .. }))
        .filter(|c| sampled.contains(&c.principal()))
        .count();
    assert_eq!(naive_changes, engine_changes);
    let scale = users as f64 / sample.max(1) as f64;
    report("naive: group desired by user", grouping);
    report(
        &format!("naive: per-user loop, {sample} users"),
        naive_sample,
    );
    let naive_total = grouping.as_secs_f64() + naive_sample.as_secs_f64() * scale;
    println!(
        "naive per-user diff, all {users} users: ~{naive_total:.0} s \
         (EXTRAPOLATED: grouping + {scale:.0} × the {sample}-user loop; each user scans all {} target items)",
        target.assignments.len(),
    );

    let (hwm, _) = memory();
    println!();
    println!(
        "RESULT {n} assignments: plan {:.0} ms, translate {:.0} ms, translate+plan {:.0} ms, naive diff ~{naive_total:.0} s (extrapolated); \
         peak RSS {hwm:.0} MiB (whole process, inputs included); goal < 1000 ms and < 1024 MiB",
        plan_time.as_secs_f64() * 1e3,
        translate_time.as_secs_f64() * 1e3,
        (plan_time + translate_time).as_secs_f64() * 1e3,
    );
}
