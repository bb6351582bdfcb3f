//! The mapping from Pyramid's wire types to core types: profiles, roles (groups),
//! users, and permission bits as capabilities.

use grantbridge_core::{
    Capability, Email, Extra, Group, GroupId, Profile, ProfileId, Result, ScopeKind, User, UserId,
    UserStatus,
};
use serde_json::json;

use super::{PyramidSystem, item_error};
use crate::wire::{ProfileApiData, ProfilePermissionHolder, RoleData, UserObject, UserStatusId};

impl PyramidSystem {
    pub(super) fn profile_from_wire(&self, p: ProfileApiData) -> Result<Profile> {
        let id = p
            .profile_id
            .clone()
            .ok_or_else(|| item_error(format!("profile {:?} has no profileId", p.name)))?;
        let mut profile =
            Profile::new(ProfileId::new(id)?, p.name.clone()).assignable_to([ScopeKind::Tenant]);
        profile.description = (!p.description.is_empty()).then(|| p.description.clone());
        profile.capabilities = capabilities_of(&p.permissions);
        let mut extra: Extra = p.extra;
        extra.insert("tenantId".to_owned(), json!(p.tenant_id));
        extra.insert(
            "permissions".to_owned(),
            serde_json::to_value(&p.permissions).unwrap_or_default(),
        );
        profile.extra = extra;
        Ok(profile)
    }

    pub(super) fn group_from_wire(r: RoleData) -> Result<Group> {
        let id = r
            .role_id
            .clone()
            .ok_or_else(|| item_error(format!("role {:?} has no id", r.role_name)))?;
        let mut group = Group::new(GroupId::new(id)?, r.role_name.clone());
        let mut extra = r.extra;
        for (k, v) in [
            ("isHidden", r.is_hidden),
            ("isPrivate", r.is_private),
            ("isGroupRole", r.is_group_role),
        ] {
            if let Some(v) = v {
                extra.insert(k.to_owned(), json!(v));
            }
        }
        for (k, v) in [
            ("tenantId", r.tenant_id),
            ("roleSettings", r.role_settings),
            ("createdBy", r.created_by),
        ] {
            if let Some(v) = v {
                extra.insert(k.to_owned(), json!(v));
            }
        }
        group.extra = extra;
        Ok(group)
    }

    pub(super) fn user_from_wire(u: UserObject) -> Result<User> {
        let mut user = User::new(UserId::new(u.id.clone())?);
        let mut extra = u.extra;
        if let Some(e) = &u.email {
            match Email::new(e.clone()) {
                Ok(email) => user.email = Some(email),
                // Kept as read rather than dropped; matching by e-mail skips it.
                Err(_) => {
                    extra.insert("email".to_owned(), json!(e));
                }
            }
        }
        let full: Vec<&str> = [u.first_name.as_deref(), u.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        user.display_name = if full.is_empty() {
            u.user_name.clone()
        } else {
            Some(full.join(" "))
        };
        if u.status_id == Some(UserStatusId::Disabled) {
            user.status = UserStatus::Disabled;
        }
        if let Some(n) = &u.user_name {
            extra.insert("userName".to_owned(), json!(n));
        }
        if let Some(a) = u.admin_type {
            extra.insert("adminType".to_owned(), json!(a.code()));
        }
        if let Some(l) = u.client_license_type {
            extra.insert("clientLicenseType".to_owned(), json!(l.code()));
        }
        if let Some(t) = &u.tenant_id {
            extra.insert("tenantId".to_owned(), json!(t));
        }
        // The display name merges the names and the status only tells disabled
        // apart: keep the fields themselves so nothing read is lost.
        for (k, v) in [
            ("firstName", u.first_name.map(|s| json!(s))),
            ("lastName", u.last_name.map(|s| json!(s))),
            ("phone", u.phone.map(|s| json!(s))),
            ("statusID", u.status_id.map(|s| json!(s.code()))),
            ("createdDate", u.created_date.map(|d| json!(d))),
            ("lastLoginDate", u.last_login_date.map(|d| json!(d))),
        ] {
            if let Some(v) = v {
                extra.insert(k.to_owned(), v);
            }
        }
        user.extra = extra;
        Ok(user)
    }
}

/// The capabilities of a holder: the names of its bits; a bit this crate does not
/// know becomes `bit_<n>` so it is reported, not dropped.
fn capabilities_of(holder: &ProfilePermissionHolder) -> Vec<Capability> {
    let bits: Vec<i64> = match (&holder.permission_bit_index_list, holder.numeric) {
        (Some(list), _) => {
            let mut l = list.clone();
            l.sort_unstable();
            l.dedup();
            l
        }
        (None, Some(n)) => (0..64).filter(|b| (n >> b) & 1 == 1).collect(),
        (None, None) => Vec::new(),
    };
    bits.into_iter()
        .map(|b| match crate::wire::Permission::from_bit(b) {
            Some(p) => Capability::new(p.name()),
            None => Capability::new(format!("bit_{b}")),
        })
        .collect()
}
