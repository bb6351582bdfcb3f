//! Grant and revoke: shape and existence checks, then role bindings per profile and
//! private profiles per user, with one outcome per item.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use futures::stream;
use grantbridge_core::{
    AccessSystem, Assignment, Entity, Error, FailedWrite, Outcome, OutcomeSlots, Principal, Scope,
    Validity,
};

use super::{FAN_OUT, PyramidSystem};
use crate::wire::{ProfileRolesData, UpdateUserDb};

/// Outcomes of some items of a batch, by index.
pub(super) type ItemOutcomes = Vec<(usize, Outcome)>;

/// (repeat, first): the same change asked twice in one batch, made by its first item.
pub(super) type Repeats = Vec<(usize, usize)>;

/// Outcomes of some items, and the repeats among them (settled by
/// [`OutcomeSlots::finish`]).
pub(super) type Settled = (ItemOutcomes, Repeats);

impl PyramidSystem {
    /// The shape check every item passes before anything is read.
    fn check_shape(&self, a: &Assignment) -> Option<Error> {
        if let Some(feature) = self.capabilities().missing_for(a) {
            return Some(Error::unsupported(self.id.as_str(), feature));
        }
        match &a.scope {
            Scope::Tenant { code, .. } if *code != self.tenant => Some(Error::invalid(
                format!("scope {}", a.scope),
                format!("this system works in Pyramid tenant {}", self.tenant),
            )),
            Scope::Tenant {
                include_children: true,
                ..
            } => Some(Error::invalid(
                format!("scope {}", a.scope),
                "Pyramid tenants have no children",
            )),
            _ => None,
        }
    }

    pub(super) async fn change_assignments(
        &self,
        items: &[Assignment],
        grant: bool,
    ) -> Vec<Outcome> {
        let what = if grant { "grant" } else { "revoke" };
        let mut out = OutcomeSlots::new(items.len());
        for (i, a) in items.iter().enumerate() {
            // A revoke matches the key whatever the window (the `AssignmentStore`
            // contract), so a window on it is not a shape Pyramid lacks.
            let key_only;
            let a = if grant || a.validity.is_unbounded() {
                a
            } else {
                key_only = Assignment {
                    validity: Validity::ALWAYS,
                    ..a.clone()
                };
                &key_only
            };
            if let Some(e) = self.check_shape(a) {
                out.set(i, Outcome::Failed(e));
            }
        }
        if out.all_set() {
            return out.finish(self.id.as_str(), what);
        }
        // Existence checks, one list read per kind, all at once.
        let needs = |user: bool| {
            items
                .iter()
                .enumerate()
                .any(|(i, a)| !out.is_set(i) && a.principal.as_user().is_some() == user)
        };
        let (wants_users, wants_groups) = (needs(true), needs(false));
        let (profiles, users, groups) = futures::join!(
            self.profile_ids(),
            async {
                if wants_users {
                    Some(self.user_ids().await)
                } else {
                    None
                }
            },
            async {
                if wants_groups {
                    Some(self.group_ids().await)
                } else {
                    None
                }
            },
        );
        let profiles = match profiles {
            Ok(p) => p,
            Err(e) => {
                out.fail_unset(&e);
                return out.finish(self.id.as_str(), what);
            }
        };
        for (i, a) in items.iter().enumerate() {
            if out.is_set(i) {
                continue;
            }
            if !profiles.contains(a.profile.as_str()) {
                out.set(
                    i,
                    Outcome::Failed(Error::not_found(Entity::Profile, a.profile.as_str())),
                );
                continue;
            }
            let (known, entity) = match &a.principal {
                Principal::User(u) => (
                    users
                        .as_ref()
                        .map(|r| r.as_ref().map(|s| s.contains(u.as_str()))),
                    Entity::User,
                ),
                Principal::Group(g) => (
                    groups
                        .as_ref()
                        .map(|r| r.as_ref().map(|s| s.contains(g.as_str()))),
                    Entity::Group,
                ),
            };
            match known {
                Some(Ok(true)) => {}
                Some(Ok(false)) | None => {
                    out.set(
                        i,
                        Outcome::Failed(Error::not_found(entity, a.principal.id_str())),
                    );
                }
                Some(Err(e)) => out.set(i, Outcome::Failed(e.clone())),
            }
        }

        // Role bindings: one read and one write per profile.
        let mut by_profile: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut by_user: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, a) in items.iter().enumerate() {
            if out.is_set(i) {
                continue;
            }
            match &a.principal {
                Principal::Group(_) => by_profile
                    .entry(a.profile.as_str().to_owned())
                    .or_default()
                    .push(i),
                Principal::User(u) => by_user.entry(u.as_str().to_owned()).or_default().push(i),
            }
        }
        let (group_results, user_results): (Vec<Settled>, Vec<ItemOutcomes>) = futures::join!(
            stream::iter(by_profile)
                .map(|(profile, idx)| async move {
                    self.change_bindings(&profile, idx, items, grant).await
                })
                .buffer_unordered(FAN_OUT)
                .collect(),
            stream::iter(by_user)
                .map(|(user, idx)| async move {
                    self.change_private_profile(&user, idx, items, grant).await
                })
                .buffer_unordered(FAN_OUT)
                .collect(),
        );
        for (decided, repeats) in group_results {
            for (i, o) in decided {
                out.set(i, o);
            }
            for (repeat, first) in repeats {
                out.repeat_of(repeat, first);
            }
        }
        for (i, o) in user_results.into_iter().flatten() {
            out.set(i, o);
        }
        out.finish(self.id.as_str(), what)
    }

    async fn change_bindings(
        &self,
        profile: &str,
        idx: Vec<usize>,
        items: &[Assignment],
        grant: bool,
    ) -> Settled {
        let current: BTreeSet<String> = match self.client.get_all_roles_by_profile_id(profile).await
        {
            Ok(roles) => roles.into_iter().filter_map(|r| r.role_id).collect(),
            Err(e) => {
                let failed = idx
                    .into_iter()
                    .map(|i| (i, Outcome::Failed(e.clone())))
                    .collect();
                return (failed, Vec::new());
            }
        };
        let mut send: Vec<String> = Vec::new();
        let mut out = Vec::new();
        let mut waiting: Vec<(usize, String)> = Vec::new();
        let mut repeats: Repeats = Vec::new();
        for i in idx {
            let role = items[i].principal.id_str().to_owned();
            let needed = current.contains(&role) != grant;
            if let Some((first, _)) = waiting.iter().find(|(_, r)| *r == role) {
                // The same binding twice: sent once, and the first item's failure is
                // this one's too.
                out.push((i, Outcome::AlreadyInState));
                repeats.push((i, *first));
            } else if !needed {
                out.push((i, Outcome::AlreadyInState));
            } else {
                send.push(role.clone());
                waiting.push((i, role));
            }
        }
        if send.is_empty() {
            return (out, repeats);
        }
        let data = ProfileRolesData {
            profile_id: profile.to_owned(),
            roles_to_add: if grant { send.clone() } else { Vec::new() },
            roles_to_remove: if grant { Vec::new() } else { send.clone() },
        };
        let (confirmed, error): (BTreeSet<String>, Error) =
            match self.client.update_roles_by_profile_id(&data).await {
                // A role the answer does not list (servers differ in what they list)
                // is unconfirmed: read back like a lost answer.
                Ok(ids) => (
                    ids.into_iter().filter_map(|i| i.id).collect(),
                    OutcomeSlots::unconfirmed(
                        self.id.as_str(),
                        &format!(
                            "updateRolesByProfileId did not {} the role",
                            if grant { "bind" } else { "unbind" }
                        ),
                    ),
                ),
                Err(e) => (BTreeSet::new(), e),
            };
        let (done, open): (Vec<_>, Vec<_>) = waiting
            .into_iter()
            .partition(|(_, r)| confirmed.contains(r));
        out.extend(done.into_iter().map(|(i, _)| (i, Outcome::Applied)));
        if open.is_empty() {
            return (out, repeats);
        }
        // One fresh read settles every role the answer left open (a refusal is not
        // read: nothing happened).
        let write = FailedWrite::settle(error, || async {
            let roles = self.client.get_all_roles_by_profile_id(profile).await?;
            Ok(roles
                .into_iter()
                .filter_map(|r| r.role_id)
                .collect::<BTreeSet<_>>())
        })
        .await;
        for (i, role) in open {
            out.push((i, write.outcome(|fresh| fresh.contains(&role) == grant)));
        }
        (out, repeats)
    }

    async fn change_private_profile(
        &self,
        user: &str,
        idx: Vec<usize>,
        items: &[Assignment],
        grant: bool,
    ) -> Vec<(usize, Outcome)> {
        let mut current = match self.client.get_private_profile_id_for_user(user).await {
            Ok(p) => p,
            Err(e) => {
                return idx
                    .into_iter()
                    .map(|i| (i, Outcome::Failed(e.clone())))
                    .collect();
            }
        };
        let mut out = Vec::new();
        for i in idx {
            let profile = items[i].profile.as_str();
            let outcome = match (&current, grant) {
                (Some(p), true) if p == profile => Outcome::AlreadyInState,
                (Some(p), true) => Outcome::Failed(Error::Conflict {
                    entity: Entity::User,
                    id: user.to_owned(),
                    why: format!(
                        "already holds private profile {p}; Pyramid allows one per user (revoke it first)"
                    ),
                }),
                (None, false) => Outcome::AlreadyInState,
                (Some(p), false) if p != profile => Outcome::AlreadyInState,
                _ => {
                    let update = UpdateUserDb {
                        id: user.to_owned(),
                        profile_id: Some(grant.then(|| profile.to_owned())),
                        ..UpdateUserDb::default()
                    };
                    let desired = grant.then(|| profile.to_owned());
                    match self.client.update_user_db(&update).await {
                        Ok(()) => {
                            current = desired;
                            Outcome::Applied
                        }
                        // The answer was lost or garbled: what does the server hold?
                        Err(e) => {
                            let write = FailedWrite::settle(e, || {
                                self.client.get_private_profile_id_for_user(user)
                            })
                            .await;
                            let outcome = write.outcome(|now| *now == desired);
                            if matches!(outcome, Outcome::Applied) {
                                current = desired;
                            }
                            outcome
                        }
                    }
                }
            };
            out.push((i, outcome));
        }
        out
    }
}
