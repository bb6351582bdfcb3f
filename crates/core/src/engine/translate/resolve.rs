//! Steps 1 and 2 of [`translate_at`](super::translate_at): the mapping's rules resolved
//! against both snapshots, and how source principals find their target counterparts.

use std::collections::{BTreeSet, HashMap};

use super::SkipReason;
use crate::engine::mapping::{
    GroupMatch, Location, Mapping, PrincipalMatch, ProfileRef, Rule, RuleTarget,
};
use crate::engine::snapshot::Snapshot;
use crate::error::Result;
use crate::ids::{GroupId, ProfileId, UserId};
use crate::model::{Group, Profile, ScopeKind, User};

fn resolve_profile<'a>(
    mapping: &Mapping,
    rule: &Rule,
    at: &Location,
    r: &ProfileRef,
    snapshot: &'a Snapshot,
    side: &str,
) -> Result<&'a Profile> {
    let by_id = |id: &str| snapshot.profiles.iter().find(|p| p.id.as_str() == id);
    let by_name = |name: &str| -> Result<Option<&'a Profile>> {
        let mut hits = snapshot.profiles.iter().filter(|p| p.name == name);
        match (hits.next(), hits.next()) {
            (Some(p), None) => Ok(Some(p)),
            (None, _) => Ok(None),
            (Some(a), Some(b)) => Err(mapping.rule_error(
                rule,
                at,
                format!(
                    "{side} profile name {name:?} is ambiguous in {} (ids {} and {}); write \"id:…\"",
                    snapshot.system, a.id, b.id
                ),
            )),
        }
    };
    let found = match r {
        ProfileRef::Id(id) => by_id(id),
        ProfileRef::Name(name) => by_name(name)?,
        ProfileRef::IdOrName(s) => match by_id(s) {
            Some(p) => Some(p),
            None => by_name(s)?,
        },
    };
    found.ok_or_else(|| {
        mapping.rule_error(
            rule,
            at,
            format!(
                "{side} profile {r} does not exist in the snapshot of {} ({} profiles)",
                snapshot.system,
                snapshot.profiles.len()
            ),
        )
    })
}

/// What each source profile becomes: its rules' targets, resolved against the target
/// snapshot.
pub(super) type Resolved<'m> = HashMap<&'m ProfileId, Vec<(&'m RuleTarget, ResolvedTarget)>>;

/// Step 1 of [`translate_at`]: resolves every rule against both snapshots; a dangling
/// reference is an error naming the rule's place in the mapping file.
pub(super) fn resolve_rules<'m>(
    mapping: &'m Mapping,
    source: &'m Snapshot,
    target: &Snapshot,
) -> Result<Resolved<'m>> {
    let caps = target.capabilities;
    let mut resolved: Resolved<'m> = HashMap::new();
    for rule in &mapping.rules {
        let from = resolve_profile(mapping, rule, &rule.at, &rule.from, source, "source")?;
        for t in &rule.to {
            let r = match t {
                RuleTarget::Profile { profile, at, .. } => {
                    let p = resolve_profile(mapping, rule, at, profile, target, "target")?;
                    ResolvedTarget::Profile(p.id.clone(), p.assignable_to.clone())
                }
                RuleTarget::Group { group, at } => {
                    let g =
                        target
                            .groups
                            .iter()
                            .find(|g| g.id.as_str() == group)
                            .or_else(|| target.groups.iter().find(|g| &g.name == group))
                            .ok_or_else(|| {
                                mapping.rule_error(
                                rule,
                                at,
                                format!(
                                    "target group {group:?} does not exist in the snapshot of {}{}",
                                    target.system,
                                    if caps.groups { "" } else { " (it has no groups at all)" }
                                ),
                            )
                            })?;
                    ResolvedTarget::Group(g.id.clone())
                }
            };
            resolved.entry(&from.id).or_default().push((t, r));
        }
    }
    Ok(resolved)
}

/// Step 2 of [`translate_at`]: how source users and groups find their target
/// counterparts (explicit maps first, then the mapping's match rule).
pub(super) struct Principals<'a> {
    mapping: &'a Mapping,
    target_users: HashMap<&'a str, &'a UserId>,
    /// `None` marks an address several target users share: matching it would be a guess.
    target_by_email: HashMap<&'a str, Option<&'a UserId>>,
    source_users: HashMap<&'a UserId, &'a User>,
    source_groups: HashMap<&'a GroupId, &'a Group>,
    target_groups: HashMap<&'a GroupId, &'a GroupId>,
    target_group_names: HashMap<&'a str, &'a GroupId>,
}

impl<'a> Principals<'a> {
    pub(super) fn new(mapping: &'a Mapping, source: &'a Snapshot, target: &'a Snapshot) -> Self {
        let target_users = target
            .users
            .iter()
            .map(|u| (u.id.as_str(), &u.id))
            .collect();
        let mut target_by_email: HashMap<&str, Option<&UserId>> = HashMap::new();
        for u in &target.users {
            if let Some(e) = &u.email {
                target_by_email
                    .entry(e.normalized())
                    .and_modify(|hit| *hit = None)
                    .or_insert(Some(&u.id));
            }
        }
        // Groups are sorted by id, so a shared name resolves to the lowest id, as before.
        let mut target_group_names: HashMap<&str, &GroupId> = HashMap::new();
        for g in &target.groups {
            target_group_names.entry(g.name.as_str()).or_insert(&g.id);
        }
        Principals {
            mapping,
            target_users,
            target_by_email,
            source_users: source.users.iter().map(|u| (&u.id, u)).collect(),
            source_groups: source.groups.iter().map(|g| (&g.id, g)).collect(),
            target_groups: target.groups.iter().map(|g| (&g.id, &g.id)).collect(),
            target_group_names,
        }
    }

    /// The target user for source user `u`, or why there is none.
    pub(super) fn user(&self, u: &UserId) -> std::result::Result<UserId, SkipReason> {
        let none = || SkipReason::NoTargetUser { user: u.clone() };
        if let Some(t) = self.mapping.user_map.get(u) {
            return self
                .target_users
                .get(t.as_str())
                .map(|&t| t.clone())
                .ok_or_else(none);
        }
        match self.mapping.principal_match {
            PrincipalMatch::Id => self
                .target_users
                .get(u.as_str())
                .map(|&t| t.clone())
                .ok_or_else(none),
            PrincipalMatch::Email => {
                let email = self
                    .source_users
                    .get(u)
                    .and_then(|su| su.email.as_ref())
                    .ok_or_else(none)?;
                match self.target_by_email.get(email.normalized()) {
                    Some(Some(t)) => Ok((*t).clone()),
                    Some(None) => Err(SkipReason::AmbiguousTargetUser {
                        user: u.clone(),
                        email: email.to_string(),
                    }),
                    None => Err(none()),
                }
            }
        }
    }

    /// The target group for source group `g`, or why there is none.
    pub(super) fn group(&self, g: &GroupId) -> std::result::Result<GroupId, SkipReason> {
        let found = if let Some(t) = self.mapping.group_map.get(g) {
            self.target_groups.get(t).copied()
        } else {
            match self.mapping.group_match {
                GroupMatch::None => return Err(SkipReason::GroupsNotCarried),
                GroupMatch::Id => self.target_groups.get(g).copied(),
                GroupMatch::Name => self
                    .source_groups
                    .get(g)
                    .and_then(|sg| self.target_group_names.get(sg.name.as_str()).copied()),
            }
        };
        found
            .cloned()
            .ok_or(SkipReason::NoTargetGroup { group: g.clone() })
    }
}

/// A rule's target, found in the target snapshot.
pub(super) enum ResolvedTarget {
    /// A profile, with the scope kinds it accepts (empty: any).
    Profile(ProfileId, BTreeSet<ScopeKind>),
    /// A group the (user) principal joins.
    Group(GroupId),
}
