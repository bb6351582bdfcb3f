//! `/`, `/sources`, `/warehouses`, `/spaces`, `/functions` and `/labels`: the
//! workspace and the resources permissions name.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::query::{Query, page};
use super::{Answer, Shared, data, invalid, lock};

pub(super) async fn get_workspace(State(s): State<Shared>) -> Response {
    let store = lock(&s);
    data(StatusCode::OK, json!({ "workspace": store.workspace }))
}

pub(super) async fn list_sources(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let items = store
        .sources
        .iter()
        .map(|x| {
            let mut v = json!(x);
            v["writeKeys"] = json!([]);
            v["metadata"] = json!({});
            v
        })
        .collect();
    Ok(page("sources", items, offset, count))
}

pub(super) async fn list_warehouses(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let items = store
        .warehouses
        .iter()
        .map(|x| {
            let mut v = json!(x);
            v["metadata"] = json!({});
            v
        })
        .collect();
    Ok(page("warehouses", items, offset, count))
}

pub(super) async fn list_spaces(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let (offset, count) = Query::parse(q).pagination()?;
    let store = lock(&s);
    let items = store.spaces.iter().map(|x| json!(x)).collect();
    Ok(page("spaces", items, offset, count))
}

pub(super) async fn list_functions(State(s): State<Shared>, RawQuery(q): RawQuery) -> Answer {
    let query = Query::parse(q);
    let (offset, count) = query.pagination()?;
    let kind = query
        .get(&["resourceType"])
        .ok_or_else(|| invalid("\"resourceType\" is required", "resourceType"))?
        .to_owned();
    if !["DESTINATION", "INSERT_DESTINATION", "SOURCE"].contains(&kind.as_str()) {
        return Err(invalid(
            "\"resourceType\" must be one of DESTINATION, INSERT_DESTINATION, SOURCE",
            "resourceType",
        ));
    }
    let store = lock(&s);
    let items = store
        .functions
        .iter()
        .filter(|f| f.resource_type.as_deref() == Some(kind.as_str()))
        .map(|x| json!(x))
        .collect();
    Ok(page("functions", items, offset, count))
}

pub(super) async fn list_labels(State(s): State<Shared>) -> Response {
    let store = lock(&s);
    data(StatusCode::OK, json!({ "labels": store.labels }))
}
