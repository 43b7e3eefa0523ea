//! Environment variables: present, not forbidden, secrets strong, hosts restricted.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Context;
use crate::observation::Observation;

fn fifty() -> usize {
    50
}

fn five() -> usize {
    5
}

/// `[checks.pre.env]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvCheck {
    /// Variables that must be set and non-empty.
    #[serde(default)]
    pub required: Vec<String>,
    /// Values a variable must not have here (compared case-insensitively), e.g. `DEBUG = ["true", "1"]`.
    #[serde(default)]
    pub forbidden: BTreeMap<String, Vec<String>>,
    /// Variables holding secrets: checked for strength, never printed.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Shortest acceptable secret (Django's W009 asks for 50).
    #[serde(default = "fifty")]
    pub min_secret_length: usize,
    /// Fewest distinct characters in a secret (Django's W009 asks for 5).
    #[serde(default = "five")]
    pub min_unique_chars: usize,
    /// A variable holding comma-separated allowed hosts; `*` or empty fails.
    #[serde(default)]
    pub allowed_hosts: Option<String>,
}

/// Prefixes of secrets that were generated for development and must not reach production.
const INSECURE_PREFIXES: &[&str] = &[
    "django-insecure-",
    "changeme",
    "change-me",
    "insecure",
    "secret",
    "dev-",
];

pub(crate) fn observe(check: &EnvCheck, ctx: &Context) -> Observation {
    let get = |name: &str| ctx.vars.get(name);
    let mut problems: Vec<Observation> = Vec::new();

    let missing: Vec<&str> = check
        .required
        .iter()
        .map(String::as_str)
        .filter(|n| get(n).is_none_or(|v| v.trim().is_empty()))
        .collect();
    if !missing.is_empty() {
        problems.push(
            Observation::fail(format!("missing or empty: {}", missing.join(", ")))
                .recommend("set them in the deployment environment (or the secret store it reads)"),
        );
    }
    for (name, values) in &check.forbidden {
        if let Some(v) = get(name)
            && values.iter().any(|f| f.eq_ignore_ascii_case(v.trim()))
        {
            let shown = if check.secrets.contains(name) {
                "a forbidden value".to_owned()
            } else {
                format!("{v:?}")
            };
            problems.push(
                Observation::fail(format!(
                    "{name} is {shown}, which is forbidden in this environment"
                ))
                .recommend(format!("set {name} to a production value")),
            );
        }
    }
    for name in &check.secrets {
        let Some(value) = get(name) else {
            if !check.required.contains(name) {
                problems.push(
                    Observation::fail(format!("secret {name} is not set"))
                        .recommend(format!("set {name}")),
                );
            }
            continue;
        };
        let unique = value
            .chars()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let lower = value.to_ascii_lowercase();
        if let Some(prefix) = INSECURE_PREFIXES.iter().find(|p| lower.starts_with(**p)) {
            problems.push(
                Observation::fail(format!("secret {name} starts with `{prefix}`: a development placeholder"))
                    .recommend(format!("generate a new {name} (e.g. 50+ random characters) and keep it in the secret store")),
            );
        } else if value.chars().count() < check.min_secret_length || unique < check.min_unique_chars
        {
            problems.push(
                Observation::fail(format!(
                    "secret {name} is weak: {} characters ({} distinct), needs at least {} ({} distinct)",
                    value.chars().count(),
                    unique,
                    check.min_secret_length,
                    check.min_unique_chars
                ))
                .recommend(format!("generate a longer random {name}")),
            );
        }
    }
    if let Some(var) = &check.allowed_hosts {
        let hosts: Vec<String> = get(var)
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect();
        if hosts.is_empty() || hosts.iter().any(|h| h == "*") {
            problems.push(
                Observation::fail(format!("{var} allows any host ({:?})", hosts.join(",")))
                    .recommend(format!("list the real host names in {var}")),
            );
        }
    }
    let checked = check.required.len()
        + check.forbidden.len()
        + check.secrets.len()
        + usize::from(check.allowed_hosts.is_some());
    let summary = format!("{checked} variable rules hold");
    Observation::combine(problems, &summary)
}
