//! Group memberships: members are written by e-mail, so users are resolved to their
//! address (invites are their own), and each group is read before it is changed.

use std::collections::{BTreeSet, HashMap, HashSet};

use futures::stream::{self, StreamExt, TryStreamExt};
use grantbridge_core::{
    Entity, Error, FailedWrite, GroupId, Membership, Outcome, OutcomeSlots, Result, UserId,
};

use super::convert::is_invite_id;
use super::{SegmentSystem, WRITE_CONCURRENCY};
use crate::client::SYSTEM;
use crate::wire;

impl SegmentSystem {
    /// E-mails of the given users: invites are their own id (if pending); users are
    /// read once each.
    async fn emails_of(&self, users: &[UserId]) -> HashMap<UserId, Result<String>> {
        let distinct: Vec<UserId> = users
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // An address that is no pending invite is an unknown user (`NotFound`), not a
        // vendor refusal on add nor a silent no-op on remove.
        let invites: Option<Result<HashSet<String>>> = if distinct.iter().any(is_invite_id) {
            Some(
                self.client
                    .stream_invites(self.page_size)
                    .map_ok(|e| e.to_ascii_lowercase())
                    .try_collect()
                    .await,
            )
        } else {
            None
        };
        let invites = &invites;
        stream::iter(distinct)
            .map(|id: UserId| async move {
                let email = if is_invite_id(&id) {
                    match invites {
                        Some(Err(e)) => Err(e.clone()),
                        Some(Ok(pending))
                            if pending.contains(&id.as_str().to_ascii_lowercase()) =>
                        {
                            Ok(id.as_str().to_owned())
                        }
                        _ => Err(Error::not_found(Entity::User, id.as_str())),
                    }
                } else {
                    self.client.get_user(id.as_str()).await.map(|u| u.email)
                };
                (id, email)
            })
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await
    }

    /// Members (users and invites) of a group, as lowercase e-mails.
    async fn member_emails(&self, group: &GroupId) -> Result<HashSet<String>> {
        let users: Vec<wire::MinimalUser> = self
            .client
            .stream_users_from_user_group(group.as_str(), self.page_size)
            .try_collect()
            .await?;
        let invites: Vec<String> = self
            .client
            .stream_invites_from_user_group(group.as_str(), self.page_size)
            .try_collect()
            .await?;
        Ok(users
            .into_iter()
            .map(|u| u.email)
            .chain(invites)
            .map(|e| e.to_ascii_lowercase())
            .collect())
    }

    async fn write_members(&self, group: &GroupId, emails: &[String], add: bool) -> Result<()> {
        if add {
            self.client
                .add_users_to_user_group(group.as_str(), emails)
                .await
                .map(|_| ())
        } else {
            self.client
                .remove_users_from_user_group(group.as_str(), emails)
                .await
                .map(|_| ())
        }
    }

    pub(super) async fn change_memberships(&self, items: &[Membership], add: bool) -> Vec<Outcome> {
        self.forget_cached_reads();
        let mut outcomes = OutcomeSlots::new(items.len());
        let users: Vec<UserId> = items.iter().map(|m| m.user.clone()).collect();
        let emails = self.emails_of(&users).await;
        let mut by_group: Vec<(GroupId, Vec<(usize, String)>)> = Vec::new();
        for (i, m) in items.iter().enumerate() {
            let email = match emails.get(&m.user) {
                Some(Ok(e)) => e.clone(),
                Some(Err(e)) => {
                    outcomes.set(i, Outcome::Failed(e.clone()));
                    continue;
                }
                None => {
                    outcomes.set(
                        i,
                        Outcome::Failed(Error::not_found(Entity::User, m.user.as_str())),
                    );
                    continue;
                }
            };
            match by_group.iter_mut().find(|(g, _)| g == &m.group) {
                Some((_, list)) => list.push((i, email)),
                None => by_group.push((m.group.clone(), vec![(i, email)])),
            }
        }
        for (group, entries) in by_group {
            let members = match self.member_emails(&group).await {
                Ok(m) => m,
                Err(e) => {
                    for (i, _) in entries {
                        outcomes.set(i, Outcome::Failed(e.clone()));
                    }
                    continue;
                }
            };
            let mut send: Vec<String> = Vec::new();
            let mut sent_lower: HashMap<String, usize> = HashMap::new();
            let mut pending: Vec<usize> = Vec::new();
            for (i, email) in entries {
                let lower = email.to_ascii_lowercase();
                let is_member = members.contains(&lower);
                if is_member != add && !sent_lower.contains_key(&lower) {
                    sent_lower.insert(lower, i);
                    send.push(email);
                    pending.push(i);
                } else if is_member != add {
                    // The same person twice in one batch: the first one does the work
                    // (and a failure of it is this item's too, settled by `finish`).
                    outcomes.set(i, Outcome::AlreadyInState);
                    if let Some(first) = sent_lower.get(&lower) {
                        outcomes.repeat_of(i, *first);
                    }
                } else {
                    outcomes.set(i, Outcome::AlreadyInState);
                }
            }
            if send.is_empty() {
                continue;
            }
            let result = self.write_members(&group, &send, add).await;
            let refused = matches!(
                result,
                Err(Error::Vendor {
                    status: 400 | 422,
                    ..
                })
            );
            if refused && send.len() > 1 {
                // One unknown address fails the whole call: retry one by one so only
                // the bad ones fail.
                for (i, email) in pending.into_iter().zip(send) {
                    let one = self
                        .write_members(&group, std::slice::from_ref(&email), add)
                        .await;
                    outcomes.set(
                        i,
                        match one {
                            Ok(()) => Outcome::Applied,
                            Err(e) => Outcome::Failed(e),
                        },
                    );
                }
                continue;
            }
            let Err(e) = result else {
                for i in pending {
                    outcomes.set(i, Outcome::Applied);
                }
                continue;
            };
            // The answer was lost or garbled: the write may have happened. Read the
            // members back rather than report a membership in effect as failed.
            let write = FailedWrite::settle(e, || self.member_emails(&group)).await;
            for (i, email) in pending.into_iter().zip(&send) {
                outcomes.set(
                    i,
                    write.outcome(|now| now.contains(&email.to_ascii_lowercase()) == add),
                );
            }
        }
        outcomes.finish(SYSTEM, "membership change")
    }
}
