//! `/invites`: list, create and delete pending invites.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::query::{Query, page};
use super::{Answer, Shared, body, check_resource, data, invalid, lock, same_email};
use crate::sandbox::state::StoredInvite;
use crate::wire::CreateInvitesInput;

pub(super) async fn list_invites(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let items = store
        .invites
        .iter()
        .map(|v| Value::from(v.email.clone()))
        .collect();
    Ok(page("invites", items, offset, count))
}

pub(super) async fn create_invites(State(s): State<Shared>, bytes: Bytes) -> Answer {
    let input: CreateInvitesInput = body(&bytes)?;
    if input.invites.is_empty() {
        return Err(invalid("\"invites\" must not be empty", "invites"));
    }
    let mut store = lock(&s);
    for (i, invite) in input.invites.iter().enumerate() {
        let email_ok = invite
            .email
            .rsplit_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
            && !invite.email.chars().any(char::is_whitespace);
        if !email_ok {
            return Err(invalid(
                "\"email\" must be a valid email",
                &format!("invites.{i}.email"),
            ));
        }
        if store
            .users
            .iter()
            .any(|u| same_email(&u.email, &invite.email))
        {
            return Err(invalid(
                &format!("{:?} already belongs to a workspace user", invite.email),
                &format!("invites.{i}.email"),
            ));
        }
        for (j, p) in invite.permissions.iter().flatten().enumerate() {
            if !store.roles.iter().any(|r| r.id == p.role_id) {
                return Err(invalid(
                    &format!("role {:?} does not exist", p.role_id),
                    &format!("invites.{i}.permissions.{j}.roleId"),
                ));
            }
            for (k, r) in p.resources.iter().flatten().enumerate() {
                check_resource(
                    &store,
                    &r.kind,
                    &r.id,
                    &format!("invites.{i}.permissions.{j}.resources.{k}"),
                )?;
            }
        }
    }
    let mut emails = Vec::new();
    for invite in input.invites {
        let permissions = invite.permissions.unwrap_or_default();
        match store
            .invites
            .iter_mut()
            .find(|v| same_email(&v.email, &invite.email))
        {
            Some(existing) => existing.permissions = permissions,
            None => store.invites.push(StoredInvite {
                email: invite.email.clone(),
                permissions,
            }),
        }
        emails.push(invite.email);
    }
    Ok(data(StatusCode::CREATED, json!({ "emails": emails })))
}

pub(super) async fn delete_invites(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let emails = Query::parse(q).array("emails")?;
    let mut store = lock(&s);
    let removed: Vec<String> = store
        .invites
        .iter()
        .filter(|v| emails.iter().any(|e| same_email(e, &v.email)))
        .map(|v| v.email.clone())
        .collect();
    store
        .invites
        .retain(|v| !removed.iter().any(|e| same_email(e, &v.email)));
    for g in &mut store.groups {
        g.members
            .retain(|m| !removed.iter().any(|e| same_email(e, m)));
    }
    Ok(data(StatusCode::OK, json!({ "status": "SUCCESS" })))
}
