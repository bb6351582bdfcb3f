//! [`translate`]: a source snapshot through a mapping into the desired state of a
//! target, with every source item that cannot be carried listed with its reason.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::mapping::{GroupMatch, Mapping, RuleTarget, ValidityPolicy};
use super::snapshot::Snapshot;
use crate::error::{Feature, Result};
use crate::ids::{GroupId, ProfileId, SystemId, UserId};
use crate::model::{Assignment, Membership, Principal, Scope, Validity};
use crate::traits::Capabilities;

mod resolve;

use resolve::{Principals, ResolvedTarget, resolve_rules};

/// Why a source item was not carried to the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// The window ended before the translation time.
    Expired {
        /// When it ended.
        until: Timestamp,
    },
    /// No rule maps the source profile.
    NoRule {
        /// The source profile.
        profile: ProfileId,
    },
    /// No target user matches the source user.
    NoTargetUser {
        /// The source user.
        user: UserId,
    },
    /// Several target users have the source user's e-mail address; picking one would
    /// be a guess. Map the user explicitly in `[principals.users]`.
    AmbiguousTargetUser {
        /// The source user.
        user: UserId,
        /// The shared address (as the source spells it).
        email: String,
    },
    /// No target group matches the source group.
    NoTargetGroup {
        /// The source group.
        group: GroupId,
    },
    /// The mapping does not carry groups (`groups.match = "none"`).
    GroupsNotCarried,
    /// The target lacks a capability the item needs.
    TargetLacks {
        /// The missing capability.
        feature: Feature,
    },
    /// The target profile cannot be assigned on the translated scope.
    ProfileScope {
        /// The target profile.
        profile: ProfileId,
        /// The translated scope.
        scope: Scope,
    },
    /// The target has no windows and the window has not started yet: dropping it
    /// would grant access early.
    FutureWindow {
        /// When the window starts.
        from: Timestamp,
    },
    /// Another source item wants the same target assignment with a disjoint window;
    /// the target holds one window per assignment.
    WindowConflict {
        /// The window kept.
        kept: Validity,
    },
    /// The target allows at most this many assignments per user.
    PerUserLimit {
        /// The limit.
        max: u32,
    },
    /// A group target (membership) cannot hold a group.
    GroupInGroup,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Expired { until } => write!(f, "expired at {until}"),
            SkipReason::NoRule { profile } => write!(f, "no mapping rule for profile {profile}"),
            SkipReason::NoTargetUser { user } => write!(f, "no target user matches {user}"),
            SkipReason::AmbiguousTargetUser { user, email } => write!(
                f,
                "several target users have {user}'s e-mail {email}; map the user in [principals.users]"
            ),
            SkipReason::NoTargetGroup { group } => write!(f, "no target group matches {group}"),
            SkipReason::GroupsNotCarried => f.write_str("the mapping does not carry groups"),
            SkipReason::TargetLacks { feature } => {
                write!(f, "the target does not support {feature}")
            }
            SkipReason::ProfileScope { profile, scope } => {
                write!(f, "target profile {profile} cannot be assigned on {scope}")
            }
            SkipReason::FutureWindow { from } => write!(
                f,
                "window starts at {from} and the target has no windows (dropping it would grant access early)"
            ),
            SkipReason::WindowConflict { kept } => {
                write!(
                    f,
                    "another source grants the same with the disjoint window {kept}"
                )
            }
            SkipReason::PerUserLimit { max } => {
                write!(f, "the target allows at most {max} assignment(s) per user")
            }
            SkipReason::GroupInGroup => f.write_str("a group cannot be made a member of a group"),
        }
    }
}

/// A source item that was not carried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SkippedItem {
    /// A source assignment.
    Assignment {
        /// The source assignment.
        assignment: Assignment,
    },
    /// A source membership.
    Membership {
        /// The source membership.
        membership: Membership,
    },
}

/// A source item not carried, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The item.
    #[serde(flatten)]
    pub item: SkippedItem,
    /// Why.
    #[serde(flatten)]
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.item {
            SkippedItem::Assignment { assignment } => write!(f, "{assignment}: {}", self.reason),
            SkippedItem::Membership { membership } => write!(
                f,
                "user:{} in group:{}: {}",
                membership.user, membership.group, self.reason
            ),
        }
    }
}

/// The state a target should reach, from [`translate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    /// The source system.
    pub source: SystemId,
    /// The target system.
    pub target: SystemId,
    /// The target's capabilities (from its snapshot).
    pub target_capabilities: Capabilities,
    /// The time the translation was made for (windows ended by then are not carried).
    pub as_of: Timestamp,
    /// Desired assignments, sorted, one per key.
    pub assignments: Vec<Assignment>,
    /// Desired memberships, sorted.
    pub memberships: Vec<Membership>,
    /// Whether the mapping governs memberships (so `Mirror` may remove others).
    pub manages_memberships: bool,
    /// Source items not carried, with reasons.
    pub skipped: Vec<Skipped>,
    /// Items carried with a loss (a dropped window), one message each.
    pub warnings: Vec<String>,
    /// Indices into the source snapshot's assignments that were carried to at least
    /// one target item.
    pub carried_assignments: Vec<usize>,
    /// Indices into the source snapshot's memberships that were carried.
    pub carried_memberships: Vec<usize>,
}

/// Union of two windows if it is itself one window (they overlap or touch).
pub(crate) fn union(a: Validity, b: Validity) -> Option<Validity> {
    // [a.from, a.until) and [b.from, b.until) touch iff a.from <= b.until and b.from <= a.until,
    // with absent bounds as -inf / +inf.
    let le = |x: Option<Timestamp>, y: Option<Timestamp>| match (x, y) {
        (None, _) | (_, None) => true,
        (Some(x), Some(y)) => x <= y,
    };
    if !(le(a.from(), b.until()) && le(b.from(), a.until())) {
        return None;
    }
    let from = match (a.from(), b.from()) {
        (Some(x), Some(y)) => Some(x.min(y)),
        _ => None,
    };
    let until = match (a.until(), b.until()) {
        (Some(x), Some(y)) => Some(x.max(y)),
        _ => None,
    };
    Validity::new(from, until).ok()
}

/// Translates `source` through `mapping` into the desired state of `target`, as of now.
pub fn translate(source: &Snapshot, mapping: &Mapping, target: &Snapshot) -> Result<Desired> {
    translate_at(source, mapping, target, Timestamp::now())
}

/// [`translate`] at a given time (windows ended by `now` are not carried).
pub fn translate_at(
    source: &Snapshot,
    mapping: &Mapping,
    target: &Snapshot,
    now: Timestamp,
) -> Result<Desired> {
    let caps = target.capabilities;

    // 1. Resolve rules against both snapshots; a dangling reference is an error.
    let resolved = resolve_rules(mapping, source, target)?;

    // 2. Principal matching.
    let principals = Principals::new(mapping, source, target);
    let groups_carried = mapping.group_match != GroupMatch::None || !mapping.group_map.is_empty();
    let map_user = |u: &UserId| principals.user(u);
    let map_group = |g: &GroupId| principals.group(g);

    // 3. Assignments. Each source assignment becomes zero or more target items,
    //    collected in a flat list with the index of the source item behind each; one
    //    window per key is settled afterwards (step 4) on the sorted list, which is far
    //    lighter than a map for a million items.
    let mut items: Vec<Assignment> = Vec::with_capacity(source.assignments.len());
    let mut item_sources: Vec<usize> = Vec::with_capacity(source.assignments.len());
    let mut memberships: BTreeMap<Membership, ()> = BTreeMap::new();
    let mut skipped = Vec::new();
    // (source item, message): kept only if the item is carried in the end, since a
    // warning says the item was carried with a loss.
    let mut warned: Vec<(usize, String)> = Vec::new();
    // Source items carried as a membership (these never count against limits).
    let mut carried_flags = vec![false; source.assignments.len()];
    // Snapshots sort assignments by principal, so one lookup serves a whole run.
    let mut last: Option<(&Principal, std::result::Result<Principal, SkipReason>)> = None;

    for (index, a) in source.assignments.iter().enumerate() {
        if a.validity.has_ended_by(now) {
            if let Some(until) = a.validity.until() {
                skip(&mut skipped, a, SkipReason::Expired { until });
            }
            continue;
        }
        let Some(targets) = resolved.get(&a.profile) else {
            skip(
                &mut skipped,
                a,
                SkipReason::NoRule {
                    profile: a.profile.clone(),
                },
            );
            continue;
        };
        let mapped = match &last {
            Some((p, mapped)) if *p == &a.principal => mapped,
            _ => {
                let mapped = match &a.principal {
                    Principal::User(u) => map_user(u).map(Principal::User),
                    Principal::Group(g) => map_group(g).map(Principal::Group),
                };
                &last.insert((&a.principal, mapped)).1
            }
        };
        let principal = match mapped {
            Ok(p) => p,
            Err(reason) => {
                skip(&mut skipped, a, reason.clone());
                continue;
            }
        };
        // What window the target can hold, or why not.
        let window = if a.validity.is_unbounded() || caps.validity_windows {
            Ok(a.validity)
        } else {
            match (mapping.validity, a.validity.from()) {
                (ValidityPolicy::Refuse, _) => Err(SkipReason::TargetLacks {
                    feature: Feature::ValidityWindows,
                }),
                (ValidityPolicy::DropWithWarning, Some(from)) if from > now => {
                    Err(SkipReason::FutureWindow { from })
                }
                (ValidityPolicy::DropWithWarning, _) => {
                    warned.push((
                        index,
                        format!(
                            "{a}: window {} dropped, {} has no validity windows",
                            a.validity, target.system
                        ),
                    ));
                    Ok(Validity::ALWAYS)
                }
            }
        };
        for (rule_target, r) in targets {
            let window = match &window {
                Ok(w) => *w,
                Err(reason) => {
                    skip(&mut skipped, a, reason.clone());
                    continue;
                }
            };
            match r {
                ResolvedTarget::Group(group) => {
                    let Principal::User(user) = principal else {
                        skip(&mut skipped, a, SkipReason::GroupInGroup);
                        continue;
                    };
                    if !window.is_unbounded() {
                        // Memberships have no windows; the same policy applies.
                        match (mapping.validity, window.from()) {
                            (ValidityPolicy::Refuse, _) => {
                                skip(
                                    &mut skipped,
                                    a,
                                    SkipReason::TargetLacks {
                                        feature: Feature::ValidityWindows,
                                    },
                                );
                                continue;
                            }
                            (_, Some(from)) if from > now => {
                                skip(&mut skipped, a, SkipReason::FutureWindow { from });
                                continue;
                            }
                            _ => warned.push((
                                index,
                                format!(
                                    "{a}: window {window} dropped, memberships have no windows"
                                ),
                            )),
                        }
                    }
                    if !caps.groups || !caps.membership_write {
                        skip(
                            &mut skipped,
                            a,
                            SkipReason::TargetLacks {
                                feature: Feature::MembershipWrite,
                            },
                        );
                        continue;
                    }
                    memberships.insert(Membership::new(user.clone(), group.clone()), ());
                    carried_flags[index] = true;
                }
                ResolvedTarget::Profile(profile, accepts) => {
                    let scope = match rule_target {
                        RuleTarget::Profile {
                            scope: Some(scope), ..
                        } => scope,
                        _ => mapping.translate_scope(&a.scope).unwrap_or(&a.scope),
                    };
                    if !accepts.is_empty() && !accepts.contains(&scope.kind()) {
                        skip(
                            &mut skipped,
                            a,
                            SkipReason::ProfileScope {
                                profile: profile.clone(),
                                scope: scope.clone(),
                            },
                        );
                        continue;
                    }
                    let item = Assignment {
                        principal: principal.clone(),
                        profile: profile.clone(),
                        scope: scope.clone(),
                        validity: window,
                    };
                    if let Some(feature) = caps.missing_for(&item) {
                        skip(&mut skipped, a, SkipReason::TargetLacks { feature });
                        continue;
                    }
                    items.push(item);
                    item_sources.push(index);
                }
            }
        }
    }

    // 4. One window per key (merging overlapping windows), then 5. per-user limits.
    let fed = one_window_per_key(&mut items, item_sources, source, &mut skipped);
    per_user_limit(
        &mut items,
        &fed,
        caps.max_assignments_per_user,
        source,
        &mut skipped,
        &mut carried_flags,
    );
    let carried_assignments: Vec<usize> = carried_flags
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.then_some(i))
        .collect();
    let warnings: Vec<String> = warned
        .into_iter()
        .filter(|(i, _)| carried_flags[*i])
        .map(|(_, w)| w)
        .collect();

    // 6. Memberships.
    let carried_memberships = carry_memberships(
        source,
        &principals,
        groups_carried,
        caps,
        &mut memberships,
        &mut skipped,
    );

    let manages_memberships = groups_carried
        || mapping
            .rules
            .iter()
            .flat_map(|r| &r.to)
            .any(|t| matches!(t, RuleTarget::Group { .. }));
    Ok(Desired {
        source: source.system.clone(),
        target: target.system.clone(),
        target_capabilities: caps,
        as_of: now,
        assignments: items,
        memberships: memberships.into_keys().collect(),
        manages_memberships,
        skipped,
        warnings,
        carried_assignments,
        carried_memberships,
    })
}

/// Step 6 of [`translate_at`]: the source's memberships, into `memberships`; returns
/// the indices of the source memberships carried.
fn carry_memberships(
    source: &Snapshot,
    principals: &Principals<'_>,
    groups_carried: bool,
    caps: Capabilities,
    memberships: &mut BTreeMap<Membership, ()>,
    skipped: &mut Vec<Skipped>,
) -> Vec<usize> {
    let mut carried = Vec::new();
    for (index, m) in source.memberships.iter().enumerate() {
        let reason = if !groups_carried {
            Some(SkipReason::GroupsNotCarried)
        } else if !caps.groups || !caps.membership_write {
            Some(SkipReason::TargetLacks {
                feature: Feature::MembershipWrite,
            })
        } else {
            match (principals.user(&m.user), principals.group(&m.group)) {
                (Err(reason), _) | (_, Err(reason)) => Some(reason),
                (Ok(user), Ok(group)) => {
                    memberships.insert(Membership::new(user, group), ());
                    carried.push(index);
                    None
                }
            }
        };
        if let Some(reason) = reason {
            skipped.push(Skipped {
                item: SkippedItem::Membership {
                    membership: m.clone(),
                },
                reason,
            });
        }
    }
    carried
}

/// Lists source assignment `a` as not carried, for `reason`.
fn skip(skipped: &mut Vec<Skipped>, a: &Assignment, reason: SkipReason) {
    skipped.push(Skipped {
        item: SkippedItem::Assignment {
            assignment: a.clone(),
        },
        reason,
    });
}

/// Step 4 of [`translate_at`]: one window per key. Sorts by (key, source order), then
/// folds each run of equal keys in source order: windows that overlap or touch merge, a
/// disjoint one is skipped (the target holds one window per key). The sort is skipped
/// when the mapping kept the source order, as it usually does. Returns, for each item
/// folded, (entry in the folded list, source item behind it).
fn one_window_per_key(
    items: &mut Vec<Assignment>,
    mut item_sources: Vec<usize>,
    source: &Snapshot,
    skipped: &mut Vec<Skipped>,
) -> Vec<(usize, usize)> {
    if !items.windows(2).all(|w| key_of(&w[0]) <= key_of(&w[1])) {
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_unstable_by(|&x, &y| {
            key_of(&items[x])
                .cmp(&key_of(&items[y]))
                .then(item_sources[x].cmp(&item_sources[y]))
        });
        permute(items, &mut item_sources, order);
    }
    // (entry in the folded list, source item behind it)
    let mut fed: Vec<(usize, usize)> = Vec::with_capacity(items.len());
    let mut kept = 0;
    for next in 0..items.len() {
        if kept > 0 && key_of(&items[kept - 1]) == key_of(&items[next]) {
            let (held, window) = (items[kept - 1].validity, items[next].validity);
            if held != window {
                match union(held, window) {
                    Some(u) => items[kept - 1].validity = u,
                    None => {
                        let a = &source.assignments[item_sources[next]];
                        skip(skipped, a, SkipReason::WindowConflict { kept: held });
                        continue;
                    }
                }
            }
            fed.push((kept - 1, item_sources[next]));
        } else {
            items.swap(kept, next);
            fed.push((kept, item_sources[next]));
            kept += 1;
        }
    }
    items.truncate(kept);
    fed
}

/// Step 5 of [`translate_at`]: per-user limits. Keeps each user's first assignments in
/// key order; the source items behind the others are skipped, and no longer count as
/// carried unless they also fed a kept item or a membership.
fn per_user_limit(
    items: &mut Vec<Assignment>,
    fed: &[(usize, usize)],
    max_per_user: Option<u32>,
    source: &Snapshot,
    skipped: &mut Vec<Skipped>,
    carried_flags: &mut [bool],
) {
    let mut dropped = vec![false; items.len()];
    if let Some(max) = max_per_user {
        let mut run: Option<(&Principal, u32)> = None;
        for (i, a) in items.iter().enumerate() {
            let n = match &mut run {
                Some((p, n)) if *p == &a.principal => {
                    *n += 1;
                    *n
                }
                _ => run.insert((&a.principal, 1)).1,
            };
            dropped[i] = matches!(a.principal, Principal::User(_)) && n > max;
        }
        for &(entry, src) in fed {
            if dropped[entry] {
                skip(
                    skipped,
                    &source.assignments[src],
                    SkipReason::PerUserLimit { max },
                );
            }
        }
        let mut i = 0;
        items.retain(|_| {
            i += 1;
            !dropped[i - 1]
        });
    }
    for &(entry, src) in fed {
        if !dropped[entry] {
            carried_flags[src] = true;
        }
    }
}

/// The identity of an assignment, borrowed (an [`AssignmentKey`](crate::AssignmentKey)
/// without the clones).
pub(crate) fn key_of(a: &Assignment) -> (&Principal, &ProfileId, &Scope) {
    (&a.principal, &a.profile, &a.scope)
}

/// Reorders both lists in place so that position `k` holds what was at `order[k]`
/// (following cycles: no second copy of a million items).
fn permute(items: &mut [Assignment], sources: &mut [usize], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != at {
            let from = order[at];
            order[at] = at;
            if order[from] == from {
                break;
            }
            items.swap(at, from);
            sources.swap(at, from);
            at = from;
        }
    }
}
