//! Adding and removing memberships (users in roles), one read and one write per user.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use futures::stream;
use grantbridge_core::{Entity, Error, FailedWrite, Membership, Outcome, OutcomeSlots};

use super::assignments::{Repeats, Settled};
use super::{FAN_OUT, PyramidSystem};
use crate::wire::UserRolesData;

impl PyramidSystem {
    pub(super) async fn change_memberships(&self, items: &[Membership], add: bool) -> Vec<Outcome> {
        if items.is_empty() {
            return Vec::new();
        }
        let (users, groups) = futures::join!(self.user_ids(), self.group_ids());
        let (users, groups) = match (users, groups) {
            (Ok(u), Ok(g)) => (u, g),
            (Err(e), _) | (_, Err(e)) => return Outcome::all_failed(items.len(), &e),
        };
        let mut out = OutcomeSlots::new(items.len());
        let mut by_user: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, m) in items.iter().enumerate() {
            if !groups.contains(m.group.as_str()) {
                out.set(
                    i,
                    Outcome::Failed(Error::not_found(Entity::Group, m.group.as_str())),
                );
            } else if !users.contains(m.user.as_str()) {
                out.set(
                    i,
                    Outcome::Failed(Error::not_found(Entity::User, m.user.as_str())),
                );
            } else {
                by_user
                    .entry(m.user.as_str().to_owned())
                    .or_default()
                    .push(i);
            }
        }
        let results: Vec<Settled> = stream::iter(by_user)
            .map(|(user, idx): (String, Vec<usize>)| async move {
                let user = user.as_str();
                let current: BTreeSet<String> = match self.client.get_all_roles_by_user(user).await
                {
                    Ok(r) => r.into_iter().filter_map(|i| i.id).collect(),
                    Err(e) => {
                        let failed = idx
                            .into_iter()
                            .map(|i| (i, Outcome::Failed(e.clone())))
                            .collect();
                        return (failed, Vec::new());
                    }
                };
                let mut send: Vec<String> = Vec::new();
                let mut waiting: Vec<(usize, String)> = Vec::new();
                let mut res = Vec::new();
                let mut repeats: Repeats = Vec::new();
                for i in idx {
                    let g = items[i].group.as_str().to_owned();
                    if let Some((first, _)) = waiting.iter().find(|(_, w)| *w == g) {
                        // The same membership twice: sent once, and the first item's
                        // failure is this one's too.
                        res.push((i, Outcome::AlreadyInState));
                        repeats.push((i, *first));
                    } else if current.contains(&g) == add {
                        res.push((i, Outcome::AlreadyInState));
                    } else {
                        send.push(g.clone());
                        waiting.push((i, g));
                    }
                }
                if send.is_empty() {
                    return (res, repeats);
                }
                let data = UserRolesData {
                    user_id: user.to_owned(),
                    roles_to_add: if add { send.clone() } else { Vec::new() },
                    roles_to_remove: if add { Vec::new() } else { send },
                };
                match self.client.update_user_roles(&data).await {
                    // The answer lists the user's roles after the change.
                    Ok(final_roles) => {
                        let now: BTreeSet<String> =
                            final_roles.into_iter().filter_map(|i| i.id).collect();
                        for (i, g) in waiting {
                            let outcome = if now.contains(&g) == add {
                                Outcome::Applied
                            } else {
                                Outcome::Failed(Error::Vendor {
                                    system: self.id.to_string(),
                                    status: 200,
                                    code: None,
                                    message: format!(
                                        "updateUserRoles answered without the change to role {g}"
                                    ),
                                    request_id: None,
                                })
                            };
                            res.push((i, outcome));
                        }
                    }
                    // The answer was lost or garbled: read what the server holds.
                    Err(e) => {
                        let write = FailedWrite::settle(e, || async {
                            let roles = self.client.get_all_roles_by_user(user).await?;
                            Ok(roles
                                .into_iter()
                                .filter_map(|i| i.id)
                                .collect::<BTreeSet<String>>())
                        })
                        .await;
                        for (i, g) in waiting {
                            res.push((i, write.outcome(|now| now.contains(&g) == add)));
                        }
                    }
                }
                (res, repeats)
            })
            .buffer_unordered(FAN_OUT)
            .collect()
            .await;
        for (decided, repeats) in results {
            for (i, o) in decided {
                out.set(i, o);
            }
            for (repeat, first) in repeats {
                out.repeat_of(repeat, first);
            }
        }
        out.finish(self.id.as_str(), "membership change")
    }
}
