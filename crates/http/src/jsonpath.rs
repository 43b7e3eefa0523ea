//! A small JSON path: `$.data.items[0].id`, `$['key with space']`, or `data.items.0.id`.

use std::fmt;

use serde_json::Value;

use crate::{Error, ErrorKind};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    source: String,
    segments: Vec<Segment>,
}

impl JsonPath {
    /// Parses a path; `$` alone is the whole document.
    pub fn parse(source: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::InvalidExpression,
                format!("JSON path {source:?}: {why}"),
            )
        };
        let mut rest = source.trim();
        rest = rest.strip_prefix('$').unwrap_or(rest);
        let mut segments = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                rest = r;
                if rest.is_empty() {
                    return Err(bad("ends with `.`"));
                }
                continue;
            }
            if let Some(r) = rest.strip_prefix("['") {
                let end = r.find("']").ok_or_else(|| bad("`['` without `']`"))?;
                segments.push(Segment::Key(r[..end].to_owned()));
                rest = &r[end + 2..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']').ok_or_else(|| bad("`[` without `]`"))?;
                let index = r[..end]
                    .trim()
                    .parse()
                    .map_err(|_| bad("an index in `[]` must be a whole number"))?;
                segments.push(Segment::Index(index));
                rest = &r[end + 1..];
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                let key = &rest[..end];
                match key.parse::<usize>() {
                    Ok(i) => segments.push(Segment::Index(i)),
                    Err(_) => segments.push(Segment::Key(key.to_owned())),
                }
                rest = &rest[end..];
            }
        }
        Ok(Self {
            source: source.trim().to_owned(),
            segments,
        })
    }

    /// The value at this path, if there is one.
    pub fn find<'a>(&self, mut value: &'a Value) -> Option<&'a Value> {
        for segment in &self.segments {
            value = match (segment, value) {
                (Segment::Key(k), Value::Object(map)) => map.get(k)?,
                (Segment::Index(i), Value::Array(items)) => items.get(*i)?,
                (Segment::Index(i), Value::Object(map)) => map.get(&i.to_string())?,
                _ => return None,
            };
        }
        Some(value)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values() {
        let doc = serde_json::json!({"data": {"items": [{"id": 7}], "a b": true}, "n": 1});
        let at = |p: &str| JsonPath::parse(p).unwrap().find(&doc).cloned();
        assert_eq!(at("$.data.items[0].id"), Some(serde_json::json!(7)));
        assert_eq!(at("data.items.0.id"), Some(serde_json::json!(7)));
        assert_eq!(at("$.data['a b']"), Some(serde_json::json!(true)));
        assert_eq!(at("$"), Some(doc.clone()));
        assert_eq!(at("$.data.items[3]"), None);
        assert_eq!(at("$.n.x"), None);
        assert!(JsonPath::parse("$.a[x]").is_err());
        assert!(JsonPath::parse("$.a.").is_err());
    }
}
