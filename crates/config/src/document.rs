use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::error::{Error, ErrorKind, did_you_mean};
use crate::interpolate::{Problem, interpolate};
use crate::secret;

/// The top-level sections of `shipgate.toml`, besides `[environments]`. Each belongs to
/// one layer crate, which owns its types.
pub const SECTIONS: &[&str] = &["checks", "load", "deploy", "watch", "notify", "pipeline"];

const ENVIRONMENTS: &str = "environments";

/// Where `${NAME}` finds a value when the selected environment does not define it.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    map: BTreeMap<String, String>,
    process: bool,
}

impl Vars {
    /// The process environment.
    pub fn process() -> Self {
        Self {
            map: BTreeMap::new(),
            process: true,
        }
    }

    /// Only these pairs (for tests and embedding; no process environment).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            map: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            process: false,
        }
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<String> {
        if self.process {
            std::env::var(name).ok()
        } else {
            self.map.get(name).cloned()
        }
    }
}

/// One step of a path into the file: a key, or an array's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// A table's key.
    Key(&'a str),
    /// An array's element.
    Index(usize),
}

/// A parsed `shipgate.toml`, with one environment selected (or none).
///
/// Sections are deserialized on demand with [`Document::section`], into whatever type
/// the owning layer defines.
#[derive(Debug)]
pub struct Document {
    path: PathBuf,
    source: String,
    environment: Option<String>,
    environment_names: Vec<String>,
    env_vars: BTreeMap<String, String>,
    vars: Vars,
    secrets: Mutex<Vec<String>>,
    /// The process's secret registry: every secret a section holds is added the
    /// moment it is read, and whoever masks with [`Document::redactor`] (the logger,
    /// the reports) masks it from then on.
    redactor: shipgate_report::Redactor,
}

impl Document {
    /// Reads and checks the file at `path`; see [`Document::parse`].
    pub fn load(
        path: impl AsRef<Path>,
        environment: Option<&str>,
        vars: Vars,
    ) -> Result<Self, Error> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Read,
                path,
                format!("cannot read the configuration: {e}"),
            )
            .with_source(e)
        })?;
        Self::parse(path, source, environment, vars)
    }

    /// Parses `source` (the text of `path`, which only names it in errors), checks its
    /// top-level keys, and resolves the selected environment's variables.
    pub fn parse(
        path: impl AsRef<Path>,
        source: impl Into<String>,
        environment: Option<&str>,
        vars: Vars,
    ) -> Result<Self, Error> {
        let path = path.as_ref().to_owned();
        let source = source.into();
        let root = parse_root(&path, &source)?;

        let allowed: Vec<&str> = SECTIONS.iter().copied().chain([ENVIRONMENTS]).collect();
        for key in root.get_ref().keys() {
            if !allowed.contains(&&**key.get_ref()) {
                return Err(unknown_key(
                    &path,
                    &source,
                    key,
                    "at the top level",
                    &allowed,
                ));
            }
        }

        let mut environment_names = Vec::new();
        let mut env_vars = BTreeMap::new();
        if let Some(envs) = root.get_ref().get(ENVIRONMENTS) {
            let DeValue::Table(envs) = envs.get_ref() else {
                return Err(invalid(
                    &path,
                    &source,
                    envs.span(),
                    "`environments` must be a table of tables, like [environments.staging]",
                ));
            };
            for (name, table) in envs.iter() {
                let DeValue::Table(table) = table.get_ref() else {
                    return Err(invalid(
                        &path,
                        &source,
                        table.span(),
                        "an environment must be a table of variables, like [environments.staging]",
                    ));
                };
                environment_names.push(name.get_ref().to_string());
                if Some(name.get_ref().as_ref()) == environment {
                    for (key, value) in table.iter() {
                        let text = scalar_text(&path, &source, value)?;
                        let text = interpolate(&text, &|n| vars.get(n))
                            .map_err(|p| problem(&path, &source, value.span(), p, None))?;
                        env_vars.insert(key.get_ref().to_string(), text.into_owned());
                    }
                }
            }
        }
        if let Some(name) = environment
            && !environment_names.iter().any(|n| n == name)
        {
            let known = if environment_names.is_empty() {
                "none".to_owned()
            } else {
                environment_names.join(", ")
            };
            return Err(Error::new(
                ErrorKind::UnknownEnvironment,
                &path,
                format!("no environment `{name}`: add an [environments.{name}] table (environments defined: {known})"),
            )
            .with_hint(did_you_mean(name, environment_names.iter().map(String::as_str))));
        }

        Ok(Self {
            path,
            source,
            environment: environment.map(str::to_owned),
            environment_names,
            env_vars,
            vars,
            secrets: Mutex::new(Vec::new()),
            redactor: shipgate_report::Redactor::default(),
        })
    }

    /// An error about the value at `at` (`["checks", "pre", 3, "name"]`: keys and array
    /// indices), with its file, line, column and the line shown: for what a layer finds
    /// wrong only after parsing (two checks with one name, a dependency that does not
    /// exist). Without such a value, the error names the file only.
    pub fn invalid_at(&self, at: &[Seg<'_>], message: impl Into<String>) -> Error {
        let message = message.into();
        let span = parse_root(&self.path, &self.source).ok().and_then(|root| {
            let mut value: Option<&Spanned<DeValue<'_>>> = None;
            let mut table = Some(root.get_ref());
            let mut array: Option<&toml::de::DeArray<'_>> = None;
            for seg in at {
                let next = match seg {
                    Seg::Key(k) => table?.get(*k),
                    Seg::Index(i) => array?.get(*i),
                };
                let v = next?;
                value = Some(v);
                (table, array) = match v.get_ref() {
                    DeValue::Table(t) => (Some(t), None),
                    DeValue::Array(a) => (None, Some(a)),
                    _ => (None, None),
                };
            }
            value.map(Spanned::span)
        });
        match span {
            Some(span) => invalid(&self.path, &self.source, span, &message),
            None => Error::new(ErrorKind::InvalidValue, &self.path, message),
        }
    }

    /// The file this came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The selected environment.
    pub fn environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }

    /// Every environment the file defines, in file order.
    pub fn environment_names(&self) -> &[String] {
        &self.environment_names
    }

    /// Whether the file has a top-level table `name`.
    pub fn has_section(&self, name: &str) -> bool {
        // The source parsed once already; it parses again the same way.
        parse_root(&self.path, &self.source).is_ok_and(|root| root.get_ref().contains_key(name))
    }

    /// Deserializes the top-level table `name` into `T`, after interpolating every
    /// string in it. `Ok(None)` when the file has no such table.
    ///
    /// Use `#[serde(deny_unknown_fields)]` on `T`: unknown keys then come back as
    /// [`ErrorKind::UnknownKey`] with a "did you mean" hint.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, Error> {
        self.subsection(&[name])
    }

    /// Like [`Document::section`], for a table nested in a section, e.g.
    /// `&["checks", "post"]`: only that part is interpolated, so variables used elsewhere
    /// in the file need not be set.
    pub fn subsection<T: DeserializeOwned>(&self, path: &[&str]) -> Result<Option<T>, Error> {
        self.deserialize_at(path, &[])
    }

    /// Like [`Document::section`], with the keys `without` left out of the table first
    /// (and not interpolated): read a section's own settings apart from its sub-tables.
    pub fn section_without<T: DeserializeOwned>(
        &self,
        name: &str,
        without: &[&str],
    ) -> Result<Option<T>, Error> {
        self.deserialize_at(&[name], without)
    }

    fn deserialize_at<T: DeserializeOwned>(
        &self,
        path: &[&str],
        without: &[&str],
    ) -> Result<Option<T>, Error> {
        let mut table = parse_root(&self.path, &self.source)?.into_inner();
        let Some((last, parents)) = path.split_last() else {
            return Ok(None);
        };
        for key in parents {
            match table.remove(*key).map(Spanned::into_inner) {
                Some(DeValue::Table(inner)) => table = inner,
                _ => return Ok(None),
            }
        }
        let Some(mut value) = table.remove(*last) else {
            return Ok(None);
        };
        if let DeValue::Table(t) = value.get_mut() {
            for key in without {
                t.remove(*key);
            }
        }
        let lookup = |n: &str| self.env_vars.get(n).cloned().or_else(|| self.vars.get(n));
        self.interpolate_value(&mut value, &lookup)?;
        let (result, found) = secret::collecting(|| T::deserialize(ValueDeserializer::from(value)));
        // Registered before anything can print them, even when the section is wrong.
        self.redactor.add(&found);
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(found);
        let value = result.map_err(|e| self.deserialize_error(&e))?;
        Ok(Some(value))
    }

    /// The secret registry this document feeds: every [`crate::Secret`] any section
    /// held, from the moment it was read, and whatever else is added to it (the values
    /// an env check treats as secrets). Clones share it: give one to the logger and to
    /// each report, and a section read later is masked there too.
    pub fn redactor(&self) -> shipgate_report::Redactor {
        self.redactor.clone()
    }

    /// Every [`crate::Secret`] value read by [`Document::section`] so far, to build a
    /// redactor from. Do not print these.
    pub fn secrets(&self) -> Vec<String> {
        let mut list = self
            .secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        list.sort();
        list.dedup();
        list
    }

    fn interpolate_value(
        &self,
        value: &mut Spanned<DeValue<'_>>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), Error> {
        let span = value.span();
        match value.get_mut() {
            DeValue::String(text) => {
                let replaced = interpolate(text, lookup).map_err(|p| {
                    problem(
                        &self.path,
                        &self.source,
                        span,
                        p,
                        self.environment.as_deref(),
                    )
                })?;
                if let std::borrow::Cow::Owned(new) = replaced {
                    *text = std::borrow::Cow::Owned(new);
                }
            }
            DeValue::Array(items) => {
                for item in items.iter_mut() {
                    self.interpolate_value(item, lookup)?;
                }
            }
            DeValue::Table(table) => {
                for (_, item) in table.iter_mut() {
                    self.interpolate_value(item, lookup)?;
                }
            }
            DeValue::Integer(_)
            | DeValue::Float(_)
            | DeValue::Boolean(_)
            | DeValue::Datetime(_) => {}
        }
        Ok(())
    }

    fn deserialize_error(&self, err: &toml::de::Error) -> Error {
        let message = err.message().trim_end_matches('.').to_owned();
        let unknown = parse_unknown(&message);
        let kind = if unknown.is_some() {
            ErrorKind::UnknownKey
        } else {
            ErrorKind::InvalidValue
        };
        let hint = unknown
            .and_then(|(word, expected)| did_you_mean(word, expected.iter().map(String::as_str)));
        Error::at(kind, &self.path, &self.source, err.span(), message).with_hint(hint)
    }
}

fn parse_root<'a>(path: &Path, source: &'a str) -> Result<Spanned<DeTable<'a>>, Error> {
    DeTable::parse(source).map_err(|e| {
        let message = e.message().trim_end_matches('.').to_owned();
        Error::at(ErrorKind::Syntax, path, source, e.span(), message)
    })
}

fn scalar_text(path: &Path, source: &str, value: &Spanned<DeValue<'_>>) -> Result<String, Error> {
    Ok(match value.get_ref() {
        DeValue::String(s) => s.to_string(),
        DeValue::Integer(i) => i.as_str().to_owned(),
        DeValue::Float(f) => f.as_str().to_owned(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(_) | DeValue::Table(_) => {
            return Err(invalid(
                path,
                source,
                value.span(),
                "an environment variable must be a string, number or boolean",
            ));
        }
    })
}

fn invalid(path: &Path, source: &str, span: std::ops::Range<usize>, message: &str) -> Error {
    Error::at(ErrorKind::InvalidValue, path, source, Some(span), message)
}

fn unknown_key(
    path: &Path,
    source: &str,
    key: &Spanned<std::borrow::Cow<'_, str>>,
    place: &str,
    allowed: &[&str],
) -> Error {
    let name = key.get_ref();
    let list = allowed
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Error::at(
        ErrorKind::UnknownKey,
        path,
        source,
        Some(key.span()),
        format!("unknown key `{name}` {place}, expected one of {list}"),
    )
    .with_hint(did_you_mean(name, allowed.iter().copied()))
}

fn problem(
    path: &Path,
    source: &str,
    span: std::ops::Range<usize>,
    problem: Problem,
    environment: Option<&str>,
) -> Error {
    let (kind, message) = match problem {
        Problem::Undefined(name) => {
            let place = match environment {
                Some(env) => format!("in [environments.{env}] nor in the process environment"),
                None => "in the process environment (no environment selected)".to_owned(),
            };
            (
                ErrorKind::UndefinedVariable,
                format!(
                    "variable `{name}` is not defined {place}; set it, or write ${{{name}:-default}}"
                ),
            )
        }
        Problem::Unterminated => (
            ErrorKind::InvalidValue,
            "`${` is not closed by `}`; write `$$` for a literal `$`".to_owned(),
        ),
        Problem::BadName(name) => (
            ErrorKind::InvalidValue,
            format!(
                "`${{{name}}}` is not a variable name: use letters, digits and `_`, not starting with a digit"
            ),
        ),
    };
    Error::at(kind, path, source, Some(span), message)
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`" (and "unknown variant").
fn parse_unknown(message: &str) -> Option<(&str, Vec<String>)> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (word, tail) = rest.split_once('`')?;
    let expected = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((word, expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_serde_unknown_field_messages() {
        let (w, e) =
            parse_unknown("unknown field `tiemout`, expected one of `name`, `timeout`").unwrap();
        assert_eq!(w, "tiemout");
        assert_eq!(e, ["name", "timeout"]);
        let (w, e) = parse_unknown("unknown variant `wran`, expected `warn`").unwrap();
        assert_eq!((w, e.as_slice()), ("wran", ["warn".to_owned()].as_slice()));
        assert!(parse_unknown("invalid type: integer `5`, expected a string").is_none());
    }
}
