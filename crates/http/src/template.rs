//! `{{name}}` placeholders in URLs, headers and bodies.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::{Error, ErrorKind};

/// Variables a template is rendered with: captures from earlier steps and configured values.
pub type TemplateVars = BTreeMap<String, String>;

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

    /// The text, when it has no placeholder left (renders the same every time).
    pub fn as_static(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// Substitutes now the variables that are set in `vars` and that `changes` says
    /// cannot change later (no step captures them), so that rendering need not. Shown
    /// (`Display`) as written.
    pub fn bind(&self, vars: &TemplateVars, changes: &dyn Fn(&str) -> bool) -> Template {
        let mut parts: Vec<Part> = Vec::with_capacity(self.parts.len());
        for part in &self.parts {
            let text = match part {
                Part::Var(name) if !changes(name) => vars.get(name).map(String::as_str),
                Part::Var(_) => None,
                Part::Text(t) => Some(t.as_str()),
            };
            match (text, parts.last_mut()) {
                (Some(t), Some(Part::Text(last))) => last.push_str(t),
                (Some(t), _) => parts.push(Part::Text(t.to_owned())),
                (None, _) => parts.push(part.clone()),
            }
        }
        Template {
            source: self.source.clone(),
            parts,
        }
    }

    /// Substitutes every placeholder; a variable that is not set is an error naming it.
    pub fn render(&self, vars: &TemplateVars) -> Result<String, Error> {
        // One lookup per variable: constants were bound before the run (`bind`).
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
    fn binds_constants_and_leaves_what_may_change() {
        let t = Template::parse("{{host}}/api/{{id}}/{{token}}").unwrap();
        let vars: TemplateVars = [
            ("host".into(), "http://x".into()),
            ("id".into(), "7".into()),
        ]
        .into();
        let bound = t.bind(&vars, &|name| name == "id");
        assert_eq!(bound.variables().collect::<Vec<_>>(), ["id", "token"]);
        assert_eq!(bound.to_string(), "{{host}}/api/{{id}}/{{token}}");
        let later: TemplateVars = [("id".into(), "8".into()), ("token".into(), "t".into())].into();
        assert_eq!(bound.render(&later).unwrap(), "http://x/api/8/t");
        let all = t.bind(
            &[
                ("token".into(), "t".into()),
                ("id".into(), "1".into()),
                ("host".into(), "h".into()),
            ]
            .into(),
            &|_| false,
        );
        assert_eq!(all.as_static(), Some("h/api/1/t"));
        assert_eq!(t.as_static(), None);
        assert_eq!(Template::parse("plain").unwrap().as_static(), Some("plain"));
    }

    #[test]
    fn renders_and_reports_missing_variables() {
        let t = Template::parse("{{base}}/api/{{ id }}?q=a{b}").unwrap();
        let vars: TemplateVars = [
            ("base".into(), "http://x".into()),
            ("id".into(), "7".into()),
        ]
        .into();
        assert_eq!(t.render(&vars).unwrap(), "http://x/api/7?q=a{b}");
        assert_eq!(t.variables().collect::<Vec<_>>(), ["base", "id"]);
        let err = t.render(&TemplateVars::new()).unwrap_err();
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
