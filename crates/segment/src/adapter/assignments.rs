//! Grants and revokes: the read-modify-write of each principal's direct permissions,
//! and the outcome of every item (including writes whose answer was lost).

use std::collections::HashSet;

use futures::stream::{self, StreamExt};
use grantbridge_core::{
    AccessSystem, Assignment, Entity, Error, FailedWrite, Outcome, OutcomeSlots, Principal, Result,
};

use super::convert::{Atom, Held, assignment_of, atom_of, is_invite_id};
use super::{SegmentSystem, WRITE_CONCURRENCY};
use crate::client::SYSTEM;

/// (repeat, first): a pair asked twice in one batch, changed by its first item.
type Repeats = Vec<(usize, usize)>;

impl SegmentSystem {
    /// The principal's direct permissions, fresh from the server.
    pub(super) async fn read_held(&self, principal: &Principal) -> Result<Held> {
        let perms = match principal {
            Principal::User(id) => match self.client.get_user(id.as_str()).await {
                Ok(u) => u.permissions.unwrap_or_default(),
                Err(e) if e.kind() == grantbridge_core::ErrorKind::NotFound && is_invite_id(id) => {
                    return Err(self.invite_error(id).await);
                }
                Err(e) => return Err(e),
            },
            Principal::Group(id) => self
                .client
                .get_user_group(id.as_str())
                .await?
                .permissions
                .unwrap_or_default(),
        };
        let held = Held::from_permissions(&perms, &self.workspace.id);
        self.remember(principal, &held);
        Ok(held)
    }

    async fn write_held(&self, principal: &Principal, held: &Held) -> Result<()> {
        let inputs = held.to_inputs();
        let result = match principal {
            Principal::User(id) => {
                self.client
                    .replace_permissions_for_user(id.as_str(), &inputs)
                    .await
            }
            Principal::Group(id) => {
                self.client
                    .replace_permissions_for_user_group(id.as_str(), &inputs)
                    .await
            }
        };
        match result {
            Ok(_) => {
                self.remember(principal, held);
                Ok(())
            }
            Err(e) => {
                // The outcome may be unknown (a timeout): never reuse a guess.
                self.forget(principal);
                Err(e)
            }
        }
    }

    /// Validates a batch and groups its items by principal, in first-seen order.
    async fn plan_batch(
        &self,
        items: &[Assignment],
        grant: bool,
        outcomes: &mut OutcomeSlots,
    ) -> Vec<(Principal, Vec<(usize, Atom)>)> {
        let caps = self.capabilities();
        let roles = match self.roles(false).await {
            Ok(roles) => roles,
            Err(e) => {
                outcomes.fail_unset(&e);
                return Vec::new();
            }
        };
        let role_ids: HashSet<&str> = roles.iter().map(|r| r.id.as_str()).collect();
        let mut groups: Vec<(Principal, Vec<(usize, Atom)>)> = Vec::new();
        for (i, a) in items.iter().enumerate() {
            if let Some(feature) = caps.missing_for(a) {
                outcomes.set(i, Outcome::Failed(Error::unsupported(SYSTEM, feature)));
                continue;
            }
            let atom = match atom_of(a, grant) {
                Ok(atom) => atom,
                Err(e) => {
                    outcomes.set(i, Outcome::Failed(e));
                    continue;
                }
            };
            if !role_ids.contains(atom.role.as_str()) {
                outcomes.set(
                    i,
                    Outcome::Failed(Error::not_found(Entity::Profile, a.profile.as_str())),
                );
                continue;
            }
            match groups.iter_mut().find(|(p, _)| p == &a.principal) {
                Some((_, list)) => list.push((i, atom)),
                None => groups.push((a.principal.clone(), vec![(i, atom)])),
            }
        }
        groups
    }

    /// Read-modify-write of one principal; returns (index, outcome) per item, and the
    /// repeats among them (each settled by [`OutcomeSlots::finish`]).
    async fn change_one(
        &self,
        principal: Principal,
        entries: Vec<(usize, Atom)>,
        grant: bool,
    ) -> (Vec<(usize, Outcome)>, Repeats) {
        let lock = self.lock_for(&principal);
        let _guard = lock.lock().await;
        let held = match self.recalled(&principal) {
            Some(h) => Ok(h),
            None => self.read_held(&principal).await,
        };
        let mut held = match held {
            Ok(h) => h,
            Err(e) => {
                let failed = entries
                    .into_iter()
                    .map(|(i, _)| (i, Outcome::Failed(e.clone())))
                    .collect();
                return (failed, Vec::new());
            }
        };
        let original = held.clone();
        let apply = |held: &mut Held, atom: &Atom| {
            if grant {
                held.push(atom.clone())
            } else {
                held.remove(atom)
            }
        };
        let mut results = Vec::with_capacity(entries.len());
        let mut changed: Vec<(usize, Atom)> = Vec::new();
        let mut repeats: Repeats = Vec::new();
        for (i, atom) in entries {
            if apply(&mut held, &atom) {
                results.push((i, Outcome::Applied));
                changed.push((i, atom));
            } else {
                if let Some((first, _)) = changed.iter().find(|(_, a)| *a == atom) {
                    repeats.push((i, *first));
                }
                results.push((i, Outcome::AlreadyInState));
            }
        }
        if changed.is_empty() {
            return (results, repeats);
        }
        let Err(e) = self.write_held(&principal, &held).await else {
            return (results, repeats);
        };
        let refused = matches!(
            e,
            Error::Vendor {
                status: 400 | 404 | 422,
                ..
            }
        );
        if !refused || changed.len() == 1 {
            // The answer was lost or garbled (a cut body, a reset after sending, a
            // 500/502/504): the write may have happened. Read what the server holds
            // rather than report a grant in effect as failed (a refusal is not read).
            let write = FailedWrite::settle(e, || self.read_held(&principal)).await;
            for (i, o) in &mut results {
                if !matches!(o, Outcome::Applied) {
                    continue;
                }
                *o = write.outcome(|now| {
                    changed
                        .iter()
                        .find(|(j, _)| j == i)
                        .is_some_and(|(_, atom)| now.atoms.contains(atom) == grant)
                });
            }
            return (results, repeats);
        }
        // The server refused the whole list (one bad resource fails the write):
        // apply the items one at a time so only the bad ones fail. The refused write
        // changed nothing, so start again from what was read.
        let mut current = original;
        for (i, atom) in changed {
            let mut next = current.clone();
            apply(&mut next, &atom);
            let outcome = match self.write_held(&principal, &next).await {
                Ok(()) => {
                    current = next;
                    Outcome::Applied
                }
                Err(e) => Outcome::Failed(e),
            };
            if let Some(slot) = results.iter_mut().find(|(j, _)| *j == i) {
                slot.1 = outcome;
            }
        }
        (results, repeats)
    }

    pub(super) async fn change(&self, items: &[Assignment], grant: bool) -> Vec<Outcome> {
        self.forget_cached_reads();
        let mut outcomes = OutcomeSlots::new(items.len());
        let groups = self.plan_batch(items, grant, &mut outcomes).await;
        let results: Vec<(Vec<(usize, Outcome)>, Repeats)> = stream::iter(groups)
            .map(|(principal, entries)| self.change_one(principal, entries, grant))
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await;
        for (decided, repeats) in results {
            for (i, o) in decided {
                outcomes.set(i, o);
            }
            // A repeat shares its first item's fate: the same failure if that failed.
            for (repeat, first) in repeats {
                outcomes.repeat_of(repeat, first);
            }
        }
        outcomes.finish(SYSTEM, if grant { "grant" } else { "revoke" })
    }

    pub(super) fn assignments_of(
        &self,
        principal: &Principal,
        held: &Held,
    ) -> Result<Vec<Assignment>> {
        held.atoms
            .iter()
            .map(|atom| assignment_of(principal, atom))
            .collect()
    }
}
