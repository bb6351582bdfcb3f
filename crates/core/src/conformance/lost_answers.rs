//! The lost-answer section: a write takes effect and its answer never arrives.

use std::collections::BTreeSet;
use std::fmt::Debug;

use super::{Checked, Fixture, all, keys, list_memberships, user};
use crate::model::{Assignment, AssignmentKey, Membership, Principal};
use crate::traits::{AccessSystem, Outcome};

/// A kind of write whose answers an [`AnswerCutter`] can cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WritePath {
    /// [`AccessSystem::grant`](crate::AssignmentStore::grant).
    Grant,
    /// [`AccessSystem::revoke`](crate::AssignmentStore::revoke).
    Revoke,
    /// [`add_memberships`](crate::Directory::add_memberships).
    AddMemberships,
    /// [`remove_memberships`](crate::Directory::remove_memberships).
    RemoveMemberships,
}

/// Cuts the answers of one kind of write *after* the write took effect, the way a
/// reset connection, a proxy timeout or a truncated body does, so that the
/// [`lost_answers`] section can check the adapter settles such writes.
///
/// An adapter's test implements it over its sandbox's fault controls, e.g. for a
/// vendor whose writes are `PUT`s under `/v1/admin/profiles/`:
/// `controls.set_faults(FaultPlan::none().with_truncated(1.0).with_method("PUT")
/// .with_path_prefix("/v1/admin/profiles/"))`. Reads must stay whole: they are how an
/// adapter learns what happened.
pub trait AnswerCutter: Send + Sync + Debug {
    /// From now on, every answer to a write of `path` is lost after the write took
    /// effect (a cutter may cut other writes too; the section cuts only around the
    /// write it checks).
    fn cut(&self, path: WritePath);
    /// Answers arrive whole again.
    fn restore(&self);
}

/// With each write path's answers cut after the write took effect, no item ends
/// [`Outcome::Failed`] while in effect, every [`Outcome::Applied`] item is in effect,
/// and undoing exactly the items reported applied (what a rollback does) restores the
/// state before.
///
/// Grants go to users and, where the system has group principals, to the first group.
/// Needs [`Fixture::answers`]; without it the section is [`Checked::Skipped`].
/// Memberships are checked when the system writes them and the fixture has a group.
pub async fn lost_answers(system: &dyn AccessSystem, f: &Fixture) -> Checked {
    let Some(cutter) = f.answers.as_deref() else {
        return Checked::Skipped(
            "the fixture has no AnswerCutter: writes whose answers are lost were not checked"
                .to_owned(),
        );
    };
    let before = keys(system).await;
    let items = grant_items(system, f, &before);
    if items.is_empty() {
        return Checked::Skipped(
            "every fixture pair is already held by the users tried: lost grants were not \
             checked"
                .to_owned(),
        );
    }

    // Grant with the answers cut, then undo what was reported applied.
    cutter.cut(WritePath::Grant);
    let got = system.grant(&items).await;
    cutter.restore();
    let after = keys(system).await;
    check_against("grant", &items, &got, |a| after.contains(&a.key()));
    let undo: Vec<Assignment> = reported_applied(&items, &got);
    let undone = system.revoke(&undo).await;
    assert!(
        undone.iter().all(|o| matches!(o, Outcome::Applied)),
        "undoing the grants reported applied (answers whole): {undone:?}"
    );
    assert_eq!(
        keys(system).await,
        before,
        "after a grant whose answers were lost, undoing the items reported applied must \
         restore the state before: an item in effect was reported failed"
    );

    // Revoke with the answers cut (from a state where every item is held), then undo.
    let granted = system.grant(&items).await;
    assert!(
        granted.iter().all(|o| matches!(o, Outcome::Applied)),
        "granting the section's items (answers whole): {granted:?}"
    );
    let held = all(system).await;
    let held_keys: BTreeSet<AssignmentKey> = held.iter().map(Assignment::key).collect();
    cutter.cut(WritePath::Revoke);
    let got = system.revoke(&items).await;
    cutter.restore();
    let after = keys(system).await;
    check_against("revoke", &items, &got, |a| !after.contains(&a.key()));
    // Undoing a revoke re-grants the item as it was held (its window included).
    let regrant: Vec<Assignment> = reported_applied(&items, &got)
        .iter()
        .filter_map(|a| held.iter().find(|h| h.key() == a.key()).cloned())
        .collect();
    let redone = system.grant(&regrant).await;
    assert!(
        redone.iter().all(|o| matches!(o, Outcome::Applied)),
        "undoing the revokes reported applied (answers whole): {redone:?}"
    );
    assert_eq!(
        keys(system).await,
        held_keys,
        "after a revoke whose answers were lost, undoing the items reported applied must \
         restore the state before: an item in effect was reported failed"
    );
    let cleaned = system.revoke(&items).await;
    assert!(
        cleaned.iter().all(|o| matches!(o, Outcome::Applied)),
        "cleaning up: {cleaned:?}"
    );
    assert_eq!(
        keys(system).await,
        before,
        "the section leaves no grant behind"
    );

    let caps = system.capabilities();
    if caps.groups && caps.membership_write && !f.groups.is_empty() {
        check_memberships(system, f, cutter).await;
    }
    Checked::Ran
}

/// Pairs of the fixture granted to users who do not hold them: every pair to users
/// 0 and 1, or with a per-user limit one pair per user; and the first pair to the
/// first group, where groups hold grants.
fn grant_items(
    system: &dyn AccessSystem,
    f: &Fixture,
    held: &BTreeSet<AssignmentKey>,
) -> Vec<Assignment> {
    let caps = system.capabilities();
    let limited = caps.max_assignments_per_user.is_some();
    let mut items = Vec::new();
    if let (true, Some(group), Some((profile, scope))) =
        (caps.group_principals, f.groups.first(), f.grants.first())
    {
        let a = Assignment::new(
            Principal::Group(group.clone()),
            profile.clone(),
            scope.clone(),
        );
        if !held.contains(&a.key()) {
            items.push(a);
        }
    }
    for (j, (profile, scope)) in f.grants.iter().enumerate() {
        let users: Vec<usize> = if limited {
            (j < f.users.len()).then_some(j).into_iter().collect()
        } else {
            vec![0, 1]
        };
        for u in users {
            let a = Assignment::new(user(f, u), profile.clone(), scope.clone());
            if !held.contains(&a.key()) {
                items.push(a);
            }
        }
    }
    items
}

fn reported_applied<T: Clone>(items: &[T], got: &[Outcome]) -> Vec<T> {
    items
        .iter()
        .zip(got)
        .filter(|(_, o)| matches!(o, Outcome::Applied))
        .map(|(a, _)| a.clone())
        .collect()
}

/// One outcome per item; none failed while in effect; every applied one in effect.
fn check_against<T: Debug>(
    what: &str,
    items: &[T],
    got: &[Outcome],
    in_effect: impl Fn(&T) -> bool,
) {
    assert_eq!(
        got.len(),
        items.len(),
        "{what} with lost answers: one outcome per item, got {got:?}"
    );
    for (item, o) in items.iter().zip(got) {
        let effective = in_effect(item);
        match o {
            Outcome::Failed(e) => assert!(
                !effective,
                "{what} with lost answers: {item:?} is in effect but reported failed ({e}); \
                 a rollback would not undo it"
            ),
            Outcome::Applied => assert!(
                effective,
                "{what} with lost answers: {item:?} reported applied but not in effect"
            ),
            Outcome::AlreadyInState => panic!(
                "{what} with lost answers: {item:?} needed the write but was reported \
                 already in state"
            ),
        }
    }
}

async fn check_memberships(system: &dyn AccessSystem, f: &Fixture, cutter: &dyn AnswerCutter) {
    let before = list_memberships(system).await;
    let group = &f.groups[0];
    let items: Vec<Membership> = f
        .users
        .iter()
        .take(2)
        .map(|u| Membership::new(u.clone(), group.clone()))
        .filter(|m| !before.contains(m))
        .collect();
    if items.is_empty() {
        return;
    }
    cutter.cut(WritePath::AddMemberships);
    let got = system.add_memberships(&items).await;
    cutter.restore();
    let after = list_memberships(system).await;
    check_against("add memberships", &items, &got, |m| after.contains(m));
    let undone = system
        .remove_memberships(&reported_applied(&items, &got))
        .await;
    assert!(
        undone.iter().all(|o| matches!(o, Outcome::Applied)),
        "undoing the memberships reported added: {undone:?}"
    );
    assert_eq!(
        list_memberships(system).await,
        before,
        "after adding memberships whose answers were lost, undoing the items reported \
         applied must restore the members before"
    );

    let added = system.add_memberships(&items).await;
    assert!(
        added.iter().all(|o| matches!(o, Outcome::Applied)),
        "adding the section's memberships (answers whole): {added:?}"
    );
    let full = list_memberships(system).await;
    cutter.cut(WritePath::RemoveMemberships);
    let got = system.remove_memberships(&items).await;
    cutter.restore();
    let after = list_memberships(system).await;
    check_against("remove memberships", &items, &got, |m| !after.contains(m));
    let redone = system
        .add_memberships(&reported_applied(&items, &got))
        .await;
    assert!(
        redone.iter().all(|o| matches!(o, Outcome::Applied)),
        "undoing the memberships reported removed: {redone:?}"
    );
    assert_eq!(
        list_memberships(system).await,
        full,
        "after removing memberships whose answers were lost, undoing the items reported \
         applied must restore the members before"
    );
    let cleaned = system.remove_memberships(&items).await;
    assert!(
        cleaned.iter().all(|o| matches!(o, Outcome::Applied)),
        "cleaning up memberships: {cleaned:?}"
    );
    assert_eq!(list_memberships(system).await, before);
}
