//! Group memberships: adding and removing users, one call per group and direction.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use grantbridge_core::{Entity, Error, FailedWrite, Membership, Outcome, OutcomeSlots, Result};

use crate::client::UsersQuery;
use crate::wire::*;

use super::convert::*;
use super::{SYSTEM, VisierSystem};

impl VisierSystem {
    /// Whether the users of `items[idx]` exist (one read per distinct user): a 404
    /// becomes [`Error::NotFound`].
    async fn users_exist(
        &self,
        items: &[Membership],
        idx: &[usize],
    ) -> HashMap<String, Result<()>> {
        let users: BTreeSet<String> = idx
            .iter()
            .map(|&i| items[i].user.as_str().to_owned())
            .collect();
        futures::stream::iter(users)
            .map(|u| async move {
                let r = self
                    .client
                    .get_user(&u, &UsersQuery::default())
                    .await
                    .map(|_| ())
                    .map_err(|e| not_found(e, Entity::User, &u));
                (u, r)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await
    }

    pub(super) async fn change_memberships(&self, items: &[Membership], add: bool) -> Vec<Outcome> {
        let groups = match self.client.get_all_user_groups().await {
            Ok(g) => g,
            Err(e) => return Outcome::all_failed(items.len(), &e),
        };
        let known: HashSet<&str> = groups
            .iter()
            .filter_map(|g| g.user_group_id.as_deref())
            .collect();
        let mut out = OutcomeSlots::new(items.len());
        let wanted: BTreeSet<String> = items
            .iter()
            .map(|m| m.group.as_str())
            .filter(|g| known.contains(g))
            .map(str::to_owned)
            .collect();
        let members: BTreeMap<String, Result<HashSet<String>>> = futures::stream::iter(wanted)
            .map(|g| async move {
                let r = self
                    .client
                    .get_all_user_group_users(&g)
                    .await
                    .map(|users| users.into_iter().filter_map(|u| u.user_id).collect())
                    .map_err(|e| not_found(e, Entity::Group, &g));
                (g, r)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut pending: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut absent: Vec<usize> = Vec::new();
        for (i, m) in items.iter().enumerate() {
            let group = m.group.as_str();
            match members.get(group) {
                None => out.set(i, Outcome::Failed(Error::not_found(Entity::Group, group))),
                Some(Err(e)) => out.set(i, Outcome::Failed(e.clone())),
                Some(Ok(set)) if set.contains(m.user.as_str()) == add => {
                    if add {
                        out.set(i, Outcome::AlreadyInState);
                    } else {
                        // Not a member: "already" only if the user exists at all.
                        absent.push(i);
                    }
                }
                Some(Ok(_)) => {
                    let idx = pending.entry(group.to_owned()).or_default();
                    // The same pair twice: the first does the work, the repeat finds
                    // it done.
                    match idx.iter().find(|&&x| items[x].user == m.user) {
                        Some(&first) => out.repeat_of(i, first),
                        None => idx.push(i),
                    }
                }
            }
        }
        if !absent.is_empty() {
            let known = self.users_exist(items, &absent).await;
            for i in absent {
                out.set(
                    i,
                    match known.get(items[i].user.as_str()) {
                        Some(Err(e)) => Outcome::Failed(e.clone()),
                        _ => Outcome::AlreadyInState,
                    },
                );
            }
        }
        if !pending.is_empty() {
            let body = UsersToUserGroupsRequestDto {
                user_groups: pending
                    .iter()
                    .map(|(g, idx)| UserGroupUsersDto {
                        user_group_id: Some(g.clone()),
                        user_ids: idx
                            .iter()
                            .map(|&i| items[i].user.as_str().to_owned())
                            .collect::<BTreeSet<_>>()
                            .into_iter()
                            .collect(),
                    })
                    .collect(),
                target_project_for_tenants_list: None,
            };
            let result = if add {
                self.client.add_users_to_user_groups(&body).await
            } else {
                self.client.remove_users_from_user_groups(&body).await
            };
            self.forget_cached_reads();
            // Per item, what the answer says; items it leaves open are read back.
            let (said, error): (HashMap<usize, Outcome>, Error) = match result {
                Ok(r) => {
                    let done: HashSet<(String, String)> = r
                        .tenants
                        .iter()
                        .flat_map(|t| &t.assignments)
                        .flat_map(|a| {
                            let g = a.id.clone().unwrap_or_default();
                            a.users
                                .iter()
                                .filter_map(move |u| Some((g.clone(), u.user_id.clone()?)))
                        })
                        .collect();
                    let why = r
                        .tenants
                        .iter()
                        .filter_map(|t| t.message.clone())
                        .collect::<Vec<_>>()
                        .join("; ");
                    let said = pending
                        .iter()
                        .flat_map(|(g, idx)| idx.iter().map(move |&i| (g, i)))
                        .filter(|(g, i)| {
                            done.contains(&((*g).clone(), items[*i].user.as_str().to_owned()))
                        })
                        .map(|(_, i)| (i, Outcome::Applied))
                        .collect();
                    // A message is Visier's refusal of what it did not do; silence
                    // leaves the outcome unknown.
                    let error = if why.is_empty() {
                        OutcomeSlots::unconfirmed(SYSTEM, "membership change")
                    } else {
                        vendor_200(None, &why, None)
                    };
                    (said, error)
                }
                Err(e) => (HashMap::new(), e),
            };
            let mut open: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (g, idx) in &pending {
                for &i in idx {
                    match said.get(&i) {
                        Some(o) => out.set(i, o.clone()),
                        None => open.entry(g.as_str()).or_default().push(i),
                    }
                }
            }
            if !open.is_empty() {
                // One members read per group the call left open.
                let groups: Vec<String> = open.keys().map(|g| (*g).to_owned()).collect();
                let write = FailedWrite::settle(error, || async {
                    futures::stream::iter(groups)
                        .map(|g: String| async move {
                            let users = self.client.get_all_user_group_users(&g).await?;
                            let ids: HashSet<String> =
                                users.into_iter().filter_map(|u| u.user_id).collect();
                            Ok::<_, Error>((g, ids))
                        })
                        .buffer_unordered(self.concurrency)
                        .try_collect::<HashMap<String, HashSet<String>>>()
                        .await
                })
                .await;
                let refused: Vec<usize> = open.values().flatten().copied().collect();
                write.settle_slots(&mut out, refused.iter().copied(), |i, members| {
                    let m = &items[i];
                    members
                        .get(m.group.as_str())
                        .is_some_and(|set| set.contains(m.user.as_str()) == add)
                });
                // The answer says why only in prose: an unknown user is told apart by
                // reading it.
                let refused: Vec<usize> = refused
                    .into_iter()
                    .filter(|&i| matches!(out.get(i), Some(Outcome::Failed(_))))
                    .collect();
                if !refused.is_empty() {
                    let known = self.users_exist(items, &refused).await;
                    for i in refused {
                        if let Some(Err(e @ Error::NotFound { .. })) =
                            known.get(items[i].user.as_str())
                        {
                            out.set(i, Outcome::Failed(e.clone()));
                        }
                    }
                }
            }
        }
        // Repeats share their first item's fate; an item no answer settled fails.
        out.finish(SYSTEM, "membership change")
    }
}
