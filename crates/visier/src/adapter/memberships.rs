//! Group memberships: adding and removing users, one call per group and direction.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures::StreamExt;
use grantbridge_core::{Entity, Error, Membership, Outcome, OutcomeSlots, Result};

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
            match result {
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
                    let mut refused = Vec::new();
                    for (g, idx) in &pending {
                        for &i in idx {
                            let key = (g.clone(), items[i].user.as_str().to_owned());
                            out.set(
                                i,
                                if done.contains(&key) {
                                    Outcome::Applied
                                } else {
                                    refused.push(i);
                                    Outcome::Failed(vendor_200(
                                        None,
                                        if why.is_empty() {
                                            "not confirmed by Visier"
                                        } else {
                                            &why
                                        },
                                        None,
                                    ))
                                },
                            );
                        }
                    }
                    // The answer says why only in prose: an unknown user is told apart
                    // by reading it.
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
                Err(e) => {
                    for idx in pending.values() {
                        for &i in idx {
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
