//! Profile grants and revokes: the state before a write, batching into assign and remove
//! calls, and each item's outcome from the answers.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures::StreamExt;
use grantbridge_core::{
    AccessSystem, Assignment, AssignmentKey, Entity, Error, FailedWrite, Feature, Outcome,
    OutcomeSlots, Result, Scope, Validity,
};

use crate::wire::*;

use super::convert::*;
use super::{Catalog, MAX_USERS_PER_CALL, PER_USER_READ_LIMIT, SYSTEM, VisierSystem};

impl VisierSystem {
    /// Local assignments of `users` (keyed by user): per user, or from one scan.
    async fn local_state(
        &self,
        users: &BTreeSet<String>,
    ) -> BTreeMap<String, Result<Vec<ProfileAssignedForLocalTenantDto>>> {
        if users.is_empty() {
            return BTreeMap::new();
        }
        if users.len() > PER_USER_READ_LIMIT {
            return match self.user_scan().await {
                Ok(scan) => {
                    let by_id: HashMap<&str, &UserGetApiResponseDto> = scan
                        .iter()
                        .filter_map(|u| Some((u.user_id.as_deref()?, u)))
                        .collect();
                    users
                        .iter()
                        .map(|u| {
                            let r = match by_id.get(u.as_str()) {
                                Some(dto) => Ok(dto
                                    .profiles
                                    .as_ref()
                                    .map(|p| p.assigned_profiles.clone())
                                    .unwrap_or_default()),
                                None => Err(Error::not_found(Entity::User, u.clone())),
                            };
                            (u.clone(), r)
                        })
                        .collect()
                }
                Err(e) => users.iter().map(|u| (u.clone(), Err(e.clone()))).collect(),
            };
        }
        futures::stream::iter(users.iter().cloned())
            .map(|u| async move {
                let r = self
                    .client
                    .get_user_profile(&u)
                    .await
                    .map(|d| d.assigned_profiles)
                    .map_err(|e| not_found(e, Entity::User, &u));
                (u, r)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await
    }

    /// Analytic assignments of `users`, one read per user.
    async fn analytic_state(
        &self,
        users: &BTreeSet<String>,
    ) -> BTreeMap<String, Result<Vec<ProfileAssignedForAccessibleTenantDto>>> {
        futures::stream::iter(users.iter().cloned())
            .map(|u| async move {
                let r = self
                    .client
                    .get_analytic_user_profile(&u)
                    .await
                    .map(|d| d.assigned_profiles_for_accessible_tenant)
                    .map_err(|e| not_found(e, Entity::User, &u));
                (u, r)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await
    }

    /// Checks shape and catalog; returns per item either an outcome already decided or
    /// the item's kind.
    fn classify(&self, items: &[Assignment], catalog: &Catalog) -> Vec<Result<Kind, Outcome>> {
        let caps = self.capabilities();
        items
            .iter()
            .map(|a| {
                if let Some(feature) = caps.missing_for(a) {
                    return Err(Outcome::Failed(Error::unsupported(SYSTEM, feature)));
                }
                let pid = a.profile.as_str();
                let (in_local, in_analytic) = (catalog.has_local(pid), catalog.has_analytic(pid));
                match (&a.scope, in_local, in_analytic) {
                    (Scope::System, true, _) => Ok(Kind::Local),
                    (Scope::Tenant { .. }, _, true) => Ok(Kind::Analytic),
                    (_, false, false) => {
                        Err(Outcome::Failed(Error::not_found(Entity::Profile, pid)))
                    }
                    _ => Err(Outcome::Failed(Error::unsupported(
                        SYSTEM,
                        Feature::ProfileScope,
                    ))),
                }
            })
            .collect()
    }

    pub(super) async fn write(&self, items: &[Assignment], grant: bool) -> Vec<Outcome> {
        let mut out = OutcomeSlots::new(items.len());
        let catalog = match self.catalog().await {
            Ok(c) => c,
            Err(e) => return Outcome::all_failed(items.len(), &e),
        };
        let kinds = self.classify(items, &catalog);
        let mut local_users = BTreeSet::new();
        let mut analytic_users = BTreeSet::new();
        for (i, k) in kinds.iter().enumerate() {
            let Some(user) = items[i].principal.as_user() else {
                continue;
            };
            match k {
                Ok(Kind::Local) => {
                    local_users.insert(user.as_str().to_owned());
                }
                Ok(Kind::Analytic) => {
                    analytic_users.insert(user.as_str().to_owned());
                }
                Err(_) => {}
            }
        }
        let (local, analytic) = futures::join!(
            self.local_state(&local_users),
            self.analytic_state(&analytic_users)
        );

        // Decide per item; collect what needs the wire.
        let mut local_calls: BTreeMap<(String, Window), Vec<usize>> = BTreeMap::new();
        let mut analytic_items: Vec<usize> = Vec::new();
        // A key named twice in one batch: items apply in order, as if one by one. The
        // state each key is in after the items decided so far, and the pending item
        // that writes it.
        let mut decided: BTreeMap<AssignmentKey, (Option<Window>, Option<usize>)> = BTreeMap::new();
        // (earlier, later): a grant superseded by a later window for the same key.
        let mut superseded: Vec<(usize, usize)> = Vec::new();
        // Analytic revokes of keys not held: sent anyway, since only Visier knows
        // whether the tenant code exists (`badTenantCodes`).
        let mut unheld: Vec<usize> = Vec::new();
        for (i, kind) in kinds.into_iter().enumerate() {
            let a = &items[i];
            let kind = match kind {
                Ok(k) => k,
                Err(o) => {
                    out.set(i, o);
                    continue;
                }
            };
            let Some(user) = a.principal.as_user() else {
                out.set(
                    i,
                    Outcome::Failed(Error::unsupported(SYSTEM, Feature::GroupPrincipals)),
                );
                continue;
            };
            let window = Window::of(&a.validity);
            let current = match kind {
                Kind::Local => match local.get(user.as_str()) {
                    Some(Ok(held)) => held
                        .iter()
                        .find(|p| p.profile_id.as_deref() == Some(a.profile.as_str()))
                        .map(|p| Window::from_wire(p.validity_start_time, p.validity_end_time)),
                    Some(Err(e)) => {
                        out.set(i, Outcome::Failed(e.clone()));
                        continue;
                    }
                    None => None,
                },
                Kind::Analytic => match analytic.get(user.as_str()) {
                    Some(Ok(held)) => held
                        .iter()
                        .find(|p| {
                            p.profile_id.as_deref() == Some(a.profile.as_str())
                                && tenant_matches(&a.scope, p)
                        })
                        .map(|p| Window::from_wire(p.validity_start_time, p.validity_end_time)),
                    Some(Err(e)) => {
                        out.set(i, Outcome::Failed(e.clone()));
                        continue;
                    }
                    None => None,
                },
            };
            let key = a.key();
            let (current, earlier) = match decided.get(&key) {
                Some(&(state, pending)) => (state, pending),
                None => (current, None),
            };
            let needed = if grant {
                current != Some(window)
            } else {
                current.is_some()
            };
            if !needed {
                match earlier {
                    // A repeat whose effect the earlier pending item carries.
                    Some(e) => out.repeat_of(i, e),
                    None if !grant && kind == Kind::Analytic => {
                        unheld.push(i);
                        analytic_items.push(i);
                    }
                    None => out.set(i, Outcome::AlreadyInState),
                }
                continue;
            }
            if let Some(e) = earlier {
                // Only the last window of a key is written; the earlier item shares
                // its outcome.
                for idx in local_calls.values_mut() {
                    idx.retain(|&x| x != e);
                }
                analytic_items.retain(|&x| x != e);
                superseded.push((e, i));
            }
            decided.insert(key, (grant.then_some(window), Some(i)));
            match kind {
                Kind::Local => {
                    let key_window = if grant { window } else { Window::ALWAYS };
                    local_calls
                        .entry((a.profile.as_str().to_owned(), key_window))
                        .or_default()
                        .push(i);
                }
                Kind::Analytic => analytic_items.push(i),
            }
        }

        for ((profile, window), idx) in local_calls {
            for chunk in chunk_by_user(items, &idx) {
                self.local_call(items, &profile, window, &chunk, grant, &mut out)
                    .await;
            }
        }
        self.analytic_calls(items, &analytic_items, grant, &mut out)
            .await;
        for i in unheld {
            if !matches!(out.get(i), Some(Outcome::Failed(_))) {
                out.set(i, Outcome::AlreadyInState);
            }
        }
        for (e, i) in superseded.into_iter().rev() {
            // A superseded item was sent nowhere: undecided until it takes this one's.
            if let Some(o) = out.get(i).cloned() {
                out.set(e, o);
            }
        }
        self.forget_cached_reads();
        // Repeats share their first item's fate; an item no answer settled fails.
        out.finish(SYSTEM, "the item was not processed")
    }

    async fn local_call(
        &self,
        items: &[Assignment],
        profile: &str,
        window: Window,
        idx: &[usize],
        grant: bool,
        out: &mut OutcomeSlots,
    ) {
        let users = distinct_users(items, idx);
        // Per user, what the answer says; a user it does not mention stays open.
        let (said, error): (HashMap<String, Outcome>, Error) = if grant {
            let body = LocalTenantProfileAssignmentRequestDto {
                target_user_ids: users,
                validity_start_time: Some(Millis::from_start(window.start)),
                validity_end_time: Some(Millis::from_end(window.end)),
            };
            match self.client.assign_profile(profile, &body).await {
                Ok(r) => {
                    let failed = r
                        .bad_user_ids
                        .iter()
                        .filter_map(|b| Some((b.user_id.clone()?, item_error(b.error.as_ref()))))
                        .chain(r.failed_assignments.iter().filter_map(|f| {
                            Some((f.user_id.clone()?, item_error(f.error.as_ref())))
                        }))
                        .map(|(u, e)| (u, Outcome::Failed(e)));
                    let applied = r
                        .successful_assignments
                        .iter()
                        .filter_map(|s| Some((s.user_id.clone()?, Outcome::Applied)));
                    // A refusal wins over a success for the same user.
                    (
                        applied.chain(failed).collect(),
                        unconfirmed("assign_profile"),
                    )
                }
                Err(e) => (HashMap::new(), not_found(e, Entity::Profile, profile)),
            }
        } else {
            let body = LocalTenantProfileRevokeRequestDto {
                target_user_ids: users,
            };
            match self.client.remove_profile(profile, &body).await {
                Ok(r) => {
                    let failed = r.failed.iter().filter_map(|f| {
                        let m = f.message.clone().unwrap_or_default();
                        Some((
                            f.user_id.clone()?,
                            Outcome::Failed(vendor_200(None, &m, None)),
                        ))
                    });
                    let applied = r
                        .succeeded
                        .iter()
                        .filter_map(|s| Some((s.user_id.clone()?, Outcome::Applied)));
                    (
                        applied.chain(failed).collect(),
                        unconfirmed("remove_profile"),
                    )
                }
                Err(e) => (HashMap::new(), not_found(e, Entity::Profile, profile)),
            }
        };
        let mut open = Vec::new();
        for &i in idx {
            match said.get(items[i].principal.id_str()) {
                Some(o) => out.set(i, o.clone()),
                None => open.push(i),
            }
        }
        if open.is_empty() {
            return;
        }
        // The answer was lost, garbled or silent about these users: the write may have
        // happened. One read of their state settles them (a refusal is not read).
        let open_users: BTreeSet<String> = open
            .iter()
            .map(|&i| items[i].principal.id_str().to_owned())
            .collect();
        let write = FailedWrite::settle(error, || async {
            self.forget_cached_reads();
            Ok(self.local_state(&open_users).await)
        })
        .await;
        write.settle_slots(out, open, |i, state| {
            let held = match state.get(items[i].principal.id_str()) {
                Some(Ok(held)) => held,
                _ => return false,
            };
            let now = held
                .iter()
                .find(|p| p.profile_id.as_deref() == Some(profile))
                .map(|p| Window::from_wire(p.validity_start_time, p.validity_end_time));
            if grant {
                now == Some(window)
            } else {
                now.is_none()
            }
        });
    }

    async fn analytic_calls(
        &self,
        items: &[Assignment],
        idx: &[usize],
        grant: bool,
        out: &mut OutcomeSlots,
    ) {
        // (profile, window) → user → tenant set; then users grouped by tenant set.
        let mut by_profile: BTreeMap<(String, Window), BTreeMap<String, TenantSet>> =
            BTreeMap::new();
        let mut item_of: HashMap<(String, Window, String, String, bool), Vec<usize>> =
            HashMap::new();
        for &i in idx {
            let a = &items[i];
            let (
                Some(user),
                Scope::Tenant {
                    code,
                    include_children,
                },
            ) = (a.principal.as_user(), &a.scope)
            else {
                continue;
            };
            let window = if grant {
                Window::of(&a.validity)
            } else {
                Window::ALWAYS
            };
            let profile = a.profile.as_str().to_owned();
            by_profile
                .entry((profile.clone(), window))
                .or_default()
                .entry(user.as_str().to_owned())
                .or_default()
                .insert((code.as_str().to_owned(), *include_children));
            item_of
                .entry((
                    profile,
                    window,
                    user.as_str().to_owned(),
                    code.as_str().to_owned(),
                    *include_children,
                ))
                .or_default()
                .push(i);
        }
        for ((profile, window), users) in by_profile {
            let mut by_set: BTreeMap<TenantSet, Vec<String>> = BTreeMap::new();
            for (user, set) in users {
                by_set.entry(set).or_default().push(user);
            }
            for (set, users) in by_set {
                for chunk in users.chunks(MAX_USERS_PER_CALL) {
                    let tenants: Vec<TargetTenantCodeDto> = set
                        .iter()
                        .map(|(code, children)| TargetTenantCodeDto {
                            tenant_code: Some(code.clone()),
                            for_all_children: Some(*children),
                        })
                        .collect();
                    let (said, error) = self
                        .analytic_call(&profile, window, chunk, tenants, grant)
                        .await;
                    let mut open = Vec::new();
                    for user in chunk {
                        for (code, children) in &set {
                            let key = (
                                profile.clone(),
                                window,
                                user.clone(),
                                code.clone(),
                                *children,
                            );
                            for &i in item_of.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                                match said(user, code) {
                                    Some(o) => out.set(i, o),
                                    None => open.push(i),
                                }
                            }
                        }
                    }
                    self.settle_analytic(items, open, error, window, grant, out)
                        .await;
                }
            }
        }
    }

    /// Settles the items of one analytic call its answer left open (lost, garbled or
    /// silent) with one read of their users' analytic assignments.
    async fn settle_analytic(
        &self,
        items: &[Assignment],
        open: Vec<usize>,
        error: Error,
        window: Window,
        grant: bool,
        out: &mut OutcomeSlots,
    ) {
        if open.is_empty() {
            return;
        }
        let users: BTreeSet<String> = open
            .iter()
            .map(|&i| items[i].principal.id_str().to_owned())
            .collect();
        let write =
            FailedWrite::settle(error, || async { Ok(self.analytic_state(&users).await) }).await;
        write.settle_slots(out, open, |i, state| {
            let a = &items[i];
            let Some(Ok(held)) = state.get(a.principal.id_str()) else {
                return false;
            };
            let now = held
                .iter()
                .find(|p| {
                    p.profile_id.as_deref() == Some(a.profile.as_str())
                        && tenant_matches(&a.scope, p)
                })
                .map(|p| Window::from_wire(p.validity_start_time, p.validity_end_time));
            if grant {
                now == Some(window)
            } else {
                now.is_none()
            }
        });
    }

    /// One analytic assign/remove call; returns what its answer says of each (user,
    /// tenant) (`None`: nothing), and the error the items it leaves open fail with
    /// unless a read-back finds them in effect.
    async fn analytic_call(
        &self,
        profile: &str,
        window: Window,
        users: &[String],
        tenants: Vec<TargetTenantCodeDto>,
        grant: bool,
    ) -> (Box<dyn Fn(&str, &str) -> Option<Outcome> + Send>, Error) {
        let bad_tenants = |list: &[TenantCodeErrorDto]| -> HashMap<String, Error> {
            // A listed code is one Visier does not know.
            list.iter()
                .filter_map(|b| {
                    let code = b.tenant_code.clone()?;
                    Some((code.clone(), Error::not_found(Entity::Tenant, code)))
                })
                .collect()
        };
        let bad_users = |list: &[UserIdErrorDto]| -> HashMap<String, Error> {
            list.iter()
                .filter_map(|b| Some((b.user_id.clone()?, item_error(b.error.as_ref()))))
                .collect()
        };
        if grant {
            let body = AccessibleTenantProfileAssignmentRequestDto {
                target_user_ids: users.to_vec(),
                target_tenant_codes: tenants,
                validity_start_time: Some(Millis::from_start(window.start)),
                validity_end_time: Some(Millis::from_end(window.end)),
            };
            match self.client.assign_analytic_profile(profile, &body).await {
                Ok(r) => {
                    let bt = bad_tenants(&r.bad_tenant_codes);
                    let bu = bad_users(&r.bad_user_ids);
                    let failed: HashMap<(String, String), Error> = r
                        .failed_assignments
                        .iter()
                        .filter_map(|f| {
                            Some((
                                (f.user_id.clone()?, f.tenant_code.clone()?),
                                item_error(f.error.as_ref()),
                            ))
                        })
                        .collect();
                    let ok: HashSet<(String, String)> = r
                        .successful_assignments
                        .iter()
                        .filter_map(|s| Some((s.user_id.clone()?, s.tenant_code.clone()?)))
                        .collect();
                    let said = move |u: &str, t: &str| {
                        let key = (u.to_owned(), t.to_owned());
                        if let Some(e) =
                            bu.get(u).or_else(|| bt.get(t)).or_else(|| failed.get(&key))
                        {
                            Some(Outcome::Failed(e.clone()))
                        } else {
                            ok.contains(&key).then_some(Outcome::Applied)
                        }
                    };
                    (Box::new(said), unconfirmed("assign_analytic_profile"))
                }
                Err(e) => (
                    Box::new(|_, _| None),
                    not_found(e, Entity::Profile, profile),
                ),
            }
        } else {
            let body = AccessibleTenantProfileRevokeRequestDto {
                target_user_ids: users.to_vec(),
                target_tenant_codes: tenants,
            };
            match self.client.remove_analytic_profile(profile, &body).await {
                Ok(r) => {
                    let bt = bad_tenants(&r.bad_tenant_codes);
                    let bu = bad_users(&r.bad_user_ids);
                    let failed: HashMap<String, String> = r
                        .failed
                        .iter()
                        .filter_map(|f| {
                            Some((f.user_id.clone()?, f.message.clone().unwrap_or_default()))
                        })
                        .collect();
                    let ok: HashSet<String> = r
                        .succeeded
                        .iter()
                        .filter_map(|s| s.user_id.clone())
                        .collect();
                    let unaffected: HashSet<String> = r
                        .unaffected_users
                        .iter()
                        .filter_map(|s| s.user_id.clone())
                        .collect();
                    let said = move |u: &str, t: &str| {
                        if let Some(e) = bu.get(u).or_else(|| bt.get(t)) {
                            Some(Outcome::Failed(e.clone()))
                        } else if let Some(m) = failed.get(u) {
                            Some(Outcome::Failed(vendor_200(None, m, None)))
                        } else if ok.contains(u) {
                            Some(Outcome::Applied)
                        } else {
                            unaffected.contains(u).then_some(Outcome::AlreadyInState)
                        }
                    };
                    (Box::new(said), unconfirmed("remove_analytic_profile"))
                }
                Err(e) => (
                    Box::new(|_, _| None),
                    not_found(e, Entity::Profile, profile),
                ),
            }
        }
    }
}

/// Analytic tenants of one call: (tenant code, for all children).
type TenantSet = BTreeSet<(String, bool)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Local,
    Analytic,
}

/// A validity window as optional epoch-millisecond bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Window {
    start: Option<i64>,
    end: Option<i64>,
}

impl Window {
    const ALWAYS: Window = Window {
        start: None,
        end: None,
    };

    fn of(v: &Validity) -> Window {
        Window {
            start: v.from_ms(),
            end: v.until_ms(),
        }
    }

    fn from_wire(start: Option<Millis>, end: Option<Millis>) -> Window {
        Window {
            start: Millis::start_bound(start),
            end: Millis::end_bound(end),
        }
    }
}

fn tenant_matches(scope: &Scope, p: &ProfileAssignedForAccessibleTenantDto) -> bool {
    matches!(scope, Scope::Tenant { code, include_children }
        if p.tenant_code.as_deref() == Some(code.as_str()) && p.for_all_children == *include_children)
}

/// Item indices split so that no call names more than [`MAX_USERS_PER_CALL`] users.
fn chunk_by_user(items: &[Assignment], idx: &[usize]) -> Vec<Vec<usize>> {
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let mut users: HashSet<&str> = HashSet::new();
    let mut current = Vec::new();
    for &i in idx {
        let u = items[i].principal.id_str();
        if !users.contains(u) && users.len() == MAX_USERS_PER_CALL {
            chunks.push(std::mem::take(&mut current));
            users.clear();
        }
        users.insert(u);
        current.push(i);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn distinct_users(items: &[Assignment], idx: &[usize]) -> Vec<String> {
    let set: BTreeSet<&str> = idx.iter().map(|&i| items[i].principal.id_str()).collect();
    set.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use grantbridge_core::{Principal, ProfileId, UserId};

    fn item(user: &str) -> Assignment {
        Assignment::new(
            Principal::User(UserId::new(user).expect("id")),
            ProfileId::new("p").expect("id"),
            Scope::System,
        )
    }

    #[test]
    fn a_call_names_at_most_the_api_limit_of_users_and_repeats_stay_together() {
        let mut items: Vec<Assignment> = (0..=MAX_USERS_PER_CALL)
            .map(|n| item(&format!("u{n}")))
            .collect();
        // u0 again after the limit was reached: it joins the chunk that names it.
        items.insert(MAX_USERS_PER_CALL, item("u0"));
        let idx: Vec<usize> = (0..items.len()).collect();
        let chunks = chunk_by_user(&items, &idx);
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, [MAX_USERS_PER_CALL + 1, 1]);
        for chunk in &chunks {
            let users: HashSet<&str> = chunk.iter().map(|&i| items[i].principal.id_str()).collect();
            assert!(users.len() <= MAX_USERS_PER_CALL);
        }
    }
}
