//! `/roles`: the role list.

use axum::extract::{RawQuery, State};
use serde_json::json;

use super::query::{Query, page};
use super::{Answer, Shared, lock};

pub(super) async fn list_roles(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let items = store.roles.iter().map(|r| json!(r)).collect();
    Ok(page("roles", items, offset, count))
}
