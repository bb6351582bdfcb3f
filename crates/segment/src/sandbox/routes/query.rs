//! Query parsing (dotted, bracket, Python's JSON and repeated forms), the base64
//! offset cursors, and list pages.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde_json::{Value, json};

use super::{ApiError, data, invalid};

pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub(super) fn parse(raw: Option<String>) -> Query {
        let raw = raw.unwrap_or_default();
        Query(
            url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub(super) fn get(&self, keys: &[&str]) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| keys.contains(&k.as_str()))
            .map(|(_, v)| v.as_str())
    }

    /// `name.0=…` (documented), `name[0]=…` (TS SDK) and repeated `name=…` (Python
    /// SDK), in index order then arrival order.
    pub(super) fn array(&self, name: &str) -> Result<Vec<String>, ApiError> {
        let mut indexed: Vec<(usize, String)> = Vec::new();
        let mut plain: Vec<String> = Vec::new();
        for (k, v) in &self.0 {
            if k == name {
                plain.push(v.clone());
                continue;
            }
            let index = k.strip_prefix(name).and_then(|rest| {
                rest.strip_prefix('.')
                    .or_else(|| rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')))
            });
            if let Some(index) = index {
                let i = index
                    .parse::<usize>()
                    .map_err(|_| invalid(&format!("\"{k}\" is not a valid index"), name))?;
                indexed.push((i, v.clone()));
            }
        }
        indexed.sort_by_key(|(i, _)| *i);
        let mut out: Vec<String> = indexed.into_iter().map(|(_, v)| v).collect();
        out.extend(plain);
        if out.is_empty() {
            return Err(invalid(&format!("\"{name}\" is required"), name));
        }
        Ok(out)
    }

    /// `(offset, count)` from any of the pagination encodings; no pagination at all
    /// means the first 200.
    pub(super) fn pagination(&self) -> Result<(usize, usize), ApiError> {
        let mut count: Option<String> = self
            .get(&["pagination.count", "pagination[count]"])
            .map(str::to_owned);
        let mut cursor: Option<String> = self
            .get(&["pagination.cursor", "pagination[cursor]"])
            .map(str::to_owned);
        if let Some(json) = self.get(&["pagination"]) {
            let v: Value = serde_json::from_str(json)
                .map_err(|_| invalid("\"pagination\" must be an object", "pagination"))?;
            if let Some(c) = v.get("count") {
                count = Some(c.to_string());
            }
            match v.get("cursor") {
                Some(Value::String(c)) => cursor = Some(c.clone()),
                Some(Value::Null) | None => {}
                Some(_) => {
                    return Err(invalid("\"cursor\" must be a string", "pagination.cursor"));
                }
            }
        }
        let count = match count {
            None => 200,
            Some(c) => match c.trim().parse::<i64>() {
                Ok(n) if (1..=1000).contains(&n) => n as usize,
                Ok(_) => {
                    return Err(invalid(
                        "\"count\" must be between 1 and 1000",
                        "pagination.count",
                    ));
                }
                Err(_) => {
                    return Err(invalid("\"count\" must be a number", "pagination.count"));
                }
            },
        };
        let offset = match cursor {
            None => 0,
            Some(c) => decode_cursor(&c)
                .ok_or_else(|| invalid("\"cursor\" is invalid", "pagination.cursor"))?,
        };
        Ok((offset, count))
    }
}

/// Standard base64, lenient on read as the emulator always was: padding optional,
/// stray low bits ignored.
const CURSOR_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Cursors are base64 of the decimal offset, as in every documented example
/// (`MA==` = 0, `Mg==` = 2).
fn encode_cursor(offset: usize) -> String {
    STANDARD.encode(offset.to_string())
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let out = CURSOR_B64.decode(cursor.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(out).ok()?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 12 {
        return None;
    }
    text.parse().ok()
}

/// One page of `items` as `{<field>: [...], pagination: {...}}`.
pub(super) fn page(field: &str, items: Vec<Value>, offset: usize, count: usize) -> Response {
    let total = items.len();
    page_of(field, total, offset, count, |i| items[i].clone())
}

/// One page of `total` items, rendering only those on the page.
pub(super) fn page_of(
    field: &str,
    total: usize,
    offset: usize,
    count: usize,
    render: impl Fn(usize) -> Value,
) -> Response {
    let slice: Vec<Value> = (offset.min(total)..(offset.saturating_add(count)).min(total))
        .map(render)
        .collect();
    let mut pagination = json!({
        "current": encode_cursor(offset),
        "totalEntries": total,
        "previous": if offset == 0 { Value::Null } else { Value::from(encode_cursor(offset.saturating_sub(count))) },
    });
    if offset + count < total {
        pagination["next"] = Value::from(encode_cursor(offset + count));
    }
    data(
        StatusCode::OK,
        json!({ field: slice, "pagination": pagination }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_base64_offsets() {
        assert_eq!(encode_cursor(0), "MA==");
        assert_eq!(encode_cursor(2), "Mg==");
        assert_eq!(encode_cursor(3), "Mw==");
        assert_eq!(encode_cursor(200), "MjAw");
        assert_eq!(encode_cursor(1000), "MTAwMA==");
        for n in [0, 1, 2, 10, 99, 200, 1234, 99999] {
            assert_eq!(decode_cursor(&encode_cursor(n)), Some(n));
        }
        for bad in ["", "!!", "YWJj", "MA==MA=="] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_query_encoding_reads_the_same() {
        let q = |s: &str| Query::parse(Some(s.to_owned()));
        for raw in [
            "pagination.count=2&pagination.cursor=Mg%3D%3D",
            "pagination%5Bcursor%5D=Mg%3D%3D&pagination%5Bcount%5D=2",
            "pagination=%7B%22cursor%22%3A%20%22Mg%3D%3D%22%2C%20%22count%22%3A%202%7D",
        ] {
            assert_eq!(q(raw).pagination().ok(), Some((2, 2)), "{raw}");
        }
        assert_eq!(q("").pagination().ok(), Some((0, 200)));
        assert!(q("pagination%5Bcount%5D=5000").pagination().is_err());
        for raw in [
            "emails.0=a%2Bb%40example.com&emails.1=c%40example.com",
            "emails%5B0%5D=a%2Bb%40example.com&emails%5B1%5D=c%40example.com",
            "emails=a%2Bb%40example.com&emails=c%40example.com",
            "emails.1=c%40example.com&emails.0=a%2Bb%40example.com",
        ] {
            assert_eq!(
                q(raw).array("emails").ok(),
                Some(vec![
                    "a+b@example.com".to_owned(),
                    "c@example.com".to_owned()
                ]),
                "{raw}"
            );
        }
        assert!(q("other=1").array("emails").is_err());
    }
}
