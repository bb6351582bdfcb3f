//! `grantbridge diff A.json B.json`: what changed between two snapshots.

use std::collections::{BTreeMap, BTreeSet};

use grantbridge_core::engine::Snapshot;
use grantbridge_core::{Assignment, AssignmentKey, Membership, Validity};
use serde::Serialize;

/// The differences between two snapshots of (usually) the same system.
#[derive(Debug, Default, Serialize)]
pub struct SnapshotDiff {
    /// Users present only in B (by id).
    pub users_added: Vec<String>,
    /// Users present only in A.
    pub users_removed: Vec<String>,
    /// Groups present only in B.
    pub groups_added: Vec<String>,
    /// Groups present only in A.
    pub groups_removed: Vec<String>,
    /// Memberships present only in B.
    pub memberships_added: Vec<Membership>,
    /// Memberships present only in A.
    pub memberships_removed: Vec<Membership>,
    /// Assignments present only in B.
    pub assignments_added: Vec<Assignment>,
    /// Assignments present only in A.
    pub assignments_removed: Vec<Assignment>,
    /// Assignments in both whose validity window changed.
    pub assignments_changed: Vec<ChangedWindow>,
}

/// One assignment whose window differs between A and B.
#[derive(Debug, Serialize)]
pub struct ChangedWindow {
    /// The assignment as it is in B.
    pub assignment: Assignment,
    /// The window it had in A.
    pub before: Validity,
}

impl SnapshotDiff {
    /// True when A and B hold the same access.
    pub fn is_empty(&self) -> bool {
        self.users_added.is_empty()
            && self.users_removed.is_empty()
            && self.groups_added.is_empty()
            && self.groups_removed.is_empty()
            && self.memberships_added.is_empty()
            && self.memberships_removed.is_empty()
            && self.assignments_added.is_empty()
            && self.assignments_removed.is_empty()
            && self.assignments_changed.is_empty()
    }
}

/// Compares two snapshots; every list is sorted, so the output is deterministic.
pub fn diff(a: &Snapshot, b: &Snapshot) -> SnapshotDiff {
    let ids = |s: &Snapshot| -> BTreeSet<String> {
        s.users.iter().map(|u| u.id.as_str().to_owned()).collect()
    };
    let groups = |s: &Snapshot| -> BTreeSet<String> {
        s.groups.iter().map(|g| g.id.as_str().to_owned()).collect()
    };
    let (ua, ub) = (ids(a), ids(b));
    let (ga, gb) = (groups(a), groups(b));
    let ma: BTreeSet<&Membership> = a.memberships.iter().collect();
    let mb: BTreeSet<&Membership> = b.memberships.iter().collect();
    let keyed = |s: &Snapshot| -> BTreeMap<AssignmentKey, Assignment> {
        s.assignments.iter().map(|x| (x.key(), x.clone())).collect()
    };
    let (aa, ab) = (keyed(a), keyed(b));

    let mut out = SnapshotDiff {
        users_added: ub.difference(&ua).cloned().collect(),
        users_removed: ua.difference(&ub).cloned().collect(),
        groups_added: gb.difference(&ga).cloned().collect(),
        groups_removed: ga.difference(&gb).cloned().collect(),
        memberships_added: mb.difference(&ma).map(|m| (*m).clone()).collect(),
        memberships_removed: ma.difference(&mb).map(|m| (*m).clone()).collect(),
        ..SnapshotDiff::default()
    };
    for (key, x) in &ab {
        match aa.get(key) {
            None => out.assignments_added.push(x.clone()),
            Some(before) if before.validity != x.validity => {
                out.assignments_changed.push(ChangedWindow {
                    assignment: x.clone(),
                    before: before.validity,
                })
            }
            Some(_) => {}
        }
    }
    out.assignments_removed = aa
        .iter()
        .filter(|(key, _)| !ab.contains_key(key))
        .map(|(_, x)| x.clone())
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use grantbridge_core::{
        Capabilities, GroupId, Principal, ProfileId, Scope, SystemId, Timestamp, User, UserId,
    };

    fn snap(
        users: &[&str],
        grants: &[(&str, &str, Validity)],
        members: &[(&str, &str)],
    ) -> Snapshot {
        let uid = |s: &str| UserId::new(s).expect("id");
        Snapshot::from_parts(
            SystemId::new("s").expect("id"),
            Timestamp::UNIX_EPOCH,
            Capabilities::full(),
            users.iter().map(|u| User::new(uid(u))).collect(),
            vec![],
            vec![],
            members
                .iter()
                .map(|(u, g)| Membership::new(uid(u), GroupId::new(*g).expect("id")))
                .collect(),
            grants
                .iter()
                .map(|(u, p, v)| {
                    Assignment::new(
                        Principal::User(uid(u)),
                        ProfileId::new(*p).expect("id"),
                        Scope::System,
                    )
                    .with_validity(*v)
                })
                .collect(),
        )
    }

    #[test]
    fn diff_reports_added_removed_and_changed_windows() {
        let open = Validity::default();
        let until = Validity::from_millis(None, Some(1_000)).expect("window");
        let a = snap(
            &["ana", "bo"],
            &[("ana", "admin", open), ("bo", "viewer", open)],
            &[("ana", "g1")],
        );
        let b = snap(
            &["ana", "cy"],
            &[("ana", "admin", until), ("cy", "viewer", open)],
            &[("cy", "g1")],
        );
        let d = diff(&a, &b);
        assert_eq!(d.users_added, vec!["cy"]);
        assert_eq!(d.users_removed, vec!["bo"]);
        assert_eq!(d.assignments_added.len(), 1);
        assert_eq!(d.assignments_added[0].principal.id_str(), "cy");
        assert_eq!(d.assignments_removed.len(), 1);
        assert_eq!(d.assignments_removed[0].principal.id_str(), "bo");
        assert_eq!(d.assignments_changed.len(), 1);
        assert_eq!(d.assignments_changed[0].before, open);
        assert_eq!(d.memberships_added.len(), 1);
        assert_eq!(d.memberships_removed.len(), 1);
        assert!(!d.is_empty());
        assert!(diff(&a, &a).is_empty());
    }
}
