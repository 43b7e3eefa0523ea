//! `{{name}}` placeholders in URLs, headers and bodies.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::{Error, ErrorKind};

/// Variables a template is rendered with: captures from earlier steps and configured values.
pub type Vars = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

/// A string with `{{name}}` placeholders, parsed once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl Template {
    /// Parses `source`; `{{` must be closed by `}}` around a name of letters, digits, `_`, `-` or `.`.
    pub fn parse(source: &str) -> Result<Self, Error> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidExpression,
                    format!("`{{{{` without `}}}}` in template {source:?}"),
                )
            })?;
            let name = after[..close].trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return Err(Error::new(
                    ErrorKind::InvalidExpression,
                    format!("`{{{{{name}}}}}` in template {source:?} is not a variable name"),
                ));
            }
            parts.push(Part::Var(name.to_owned()));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self {
            source: source.to_owned(),
            parts,
        })
    }

    /// The text, when it has no placeholder (renders the same every time).
    pub fn as_static(&self) -> Option<&str> {
        self.parts
            .iter()
            .all(|p| matches!(p, Part::Text(_)))
            .then_some(self.source.as_str())
    }

    /// Substitutes every placeholder; a variable that is not set is an error naming it.
    pub fn render(&self, vars: &Vars) -> Result<String, Error> {
        let mut out = String::with_capacity(self.source.len());
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(name) => match vars.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        return Err(Error::new(
                            ErrorKind::InvalidRequest,
                            format!(
                                "variable `{name}` is not set (capture it in an earlier step or define it)"
                            ),
                        ));
                    }
                },
            }
        }
        Ok(out)
    }

    /// The variables it uses.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Text(_) => None,
        })
    }
}

impl TryFrom<String> for Template {
    type Error = Error;

    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_reports_missing_variables() {
        let t = Template::parse("{{base}}/api/{{ id }}?q=a{b}").unwrap();
        let vars: Vars = [
            ("base".into(), "http://x".into()),
            ("id".into(), "7".into()),
        ]
        .into();
        assert_eq!(t.render(&vars).unwrap(), "http://x/api/7?q=a{b}");
        assert_eq!(t.variables().collect::<Vec<_>>(), ["base", "id"]);
        let err = t.render(&Vars::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(err.to_string().contains("`base`"));
        assert_eq!(
            Template::parse("x {{oops").unwrap_err().kind(),
            ErrorKind::InvalidExpression
        );
        assert_eq!(
            Template::parse("x {{a b}}").unwrap_err().kind(),
            ErrorKind::InvalidExpression
        );
    }
}
