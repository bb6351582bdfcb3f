//! The mapping between wire and core: profiles, users, assignments and validity, and
//! Visier's answers as core errors.

use grantbridge_core::{
    Assignment, Capability, Email, Entity, Error, OutcomeSlots, Principal, Profile, ProfileId,
    Scope, ScopeKind, TenantCode, User, UserId, UserStatus, Validity,
};
use serde_json::Value;

use crate::wire::*;

use super::SYSTEM;

/// A per-item error from a 200 answer.
pub(super) fn vendor_200(code: Option<String>, message: &str, rci: Option<String>) -> Error {
    Error::Vendor {
        system: SYSTEM.to_owned(),
        status: 200,
        code,
        message: if message.is_empty() {
            "refused by Visier".to_owned()
        } else {
            message.to_owned()
        },
        request_id: rci,
    }
}

pub(super) fn item_error(e: Option<&ErrorDto>) -> Error {
    match e {
        Some(e) => vendor_200(
            e.error_code.clone(),
            e.error_message.as_deref().unwrap_or_default(),
            e.root_cause_id.clone(),
        ),
        None => vendor_200(None, "", None),
    }
}

/// An item the answer to `what` neither confirms nor refuses (a 200 error).
pub(super) fn unconfirmed(what: &str) -> Error {
    OutcomeSlots::unconfirmed(SYSTEM, what)
}

/// A 404 about `id` becomes [`Error::NotFound`].
pub(super) fn not_found(e: Error, entity: Entity, id: &str) -> Error {
    match e {
        Error::Vendor { status: 404, .. } => Error::not_found(entity, id),
        other => other,
    }
}

pub(super) fn to_profile(p: &ProfileGetApiResponseDto, kind: ScopeKind) -> Option<Profile> {
    let id = ProfileId::new(p.profile_id.clone()?).ok()?;
    let mut profile = Profile::new(
        id,
        p.display_name
            .clone()
            .unwrap_or_else(|| p.profile_id.clone().unwrap_or_default()),
    )
    .assignable_to([kind]);
    for c in &p.capabilities {
        let Some(name) = &c.capability else { continue };
        profile.capabilities.push(Capability::with_level(
            name.clone(),
            format!(
                "{}/{}",
                c.access_level.as_deref().unwrap_or(""),
                c.view_level.as_deref().unwrap_or("")
            ),
        ));
    }
    profile.capabilities.extend(
        p.additional_capabilities
            .iter()
            .map(|a| Capability::new(a.clone())),
    );
    let kind_name = if kind == ScopeKind::System {
        "local"
    } else {
        "analytic"
    };
    profile
        .extra
        .insert("visier_profile_kind".to_owned(), Value::from(kind_name));
    Some(profile)
}

pub(super) fn to_user(u: &UserGetApiResponseDto) -> Option<User> {
    let id = match u.user_id.as_deref().map(UserId::new) {
        Some(Ok(id)) => id,
        _ => {
            tracing::warn!("skipping a Visier user without a valid userId");
            return None;
        }
    };
    let mut user = User::new(id);
    user.email = u
        .email
        .as_deref()
        .and_then(|e| Email::new(e).ok())
        .or_else(|| u.username.as_deref().and_then(|n| Email::new(n).ok()));
    user.display_name = u.display_name.clone();
    if u.account_enabled == Some(false) {
        user.status = UserStatus::Disabled;
    }
    for (k, v) in [("username", &u.username), ("employee_id", &u.employee_id)] {
        if let Some(v) = v {
            user.extra.insert(k.to_owned(), Value::from(v.clone()));
        }
    }
    if let Some(ts) = u.last_login.as_ref().and_then(|l| l.timestamp) {
        user.extra
            .insert("last_login_ms".to_owned(), Value::from(ts.0));
    }
    Some(user)
}

pub(super) fn validity(start: Option<Millis>, end: Option<Millis>, what: &str) -> Option<Validity> {
    match Validity::from_millis(Millis::start_bound(start), Millis::end_bound(end)) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(%e, what, "skipping an assignment with an unusable validity window");
            None
        }
    }
}

pub(super) fn local_assignment(
    user: &UserId,
    p: &ProfileAssignedForLocalTenantDto,
) -> Option<Assignment> {
    let profile = ProfileId::new(p.profile_id.clone()?).ok()?;
    let v = validity(p.validity_start_time, p.validity_end_time, "local")?;
    Some(Assignment::new(Principal::User(user.clone()), profile, Scope::System).with_validity(v))
}

pub(super) fn analytic_assignment(
    user: &UserId,
    p: &ProfileAssignedForAccessibleTenantDto,
) -> Option<Assignment> {
    let profile = ProfileId::new(p.profile_id.clone()?).ok()?;
    let code = TenantCode::new(p.tenant_code.clone()?).ok()?;
    let v = validity(p.validity_start_time, p.validity_end_time, "analytic")?;
    Some(
        Assignment::new(
            Principal::User(user.clone()),
            profile,
            Scope::tenant(code, p.for_all_children),
        )
        .with_validity(v),
    )
}
