//! Django's deploy checks (`manage.py check --deploy`, security.W001–W022) applied to a
//! settings dump: a JSON object, or `manage.py diffsettings --output unified` text.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::Context;
use crate::observation::Observation;

/// `[checks.pre.django]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DjangoCheck {
    /// The dump, relative to the configuration: `settings.json`, or the output of
    /// `python manage.py diffsettings --output unified --all`.
    pub settings: String,
    /// Check ids to skip, as Django's SILENCED_SYSTEM_CHECKS: `["security.W021"]`.
    #[serde(default)]
    pub silence: Vec<String>,
}

type Settings = BTreeMap<String, Value>;

pub(crate) fn observe(check: &DjangoCheck, ctx: &Context) -> Observation {
    let path = ctx.base_dir.join(&check.settings);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return Observation::fail(format!("cannot read {}: {e}", path.display()))
                .recommend("dump the settings first (diffsettings)");
        }
    };
    let settings = match parse(&text) {
        Ok(s) => s,
        Err(e) => return Observation::fail(format!("{}: {e}", path.display())),
    };
    let issues: Vec<(&str, String)> = deploy_checks(&settings)
        .into_iter()
        .filter(|(id, _)| !check.silence.iter().any(|s| s == id))
        .collect();
    if issues.is_empty() {
        return Observation::pass(format!(
            "{} settings pass Django's deploy checks",
            settings.len()
        ));
    }
    let ids: Vec<&str> = issues.iter().map(|(id, _)| *id).collect();
    let mut out = Observation::fail(format!(
        "{} deploy check(s) fail: {}",
        issues.len(),
        ids.join(", ")
    ))
    .recommend(
        issues
            .iter()
            .map(|(id, fix)| format!("{id}: {fix}"))
            .collect::<Vec<_>>()
            .join("; "),
    );
    for (id, fix) in issues {
        out.details.insert(id.to_owned(), fix);
    }
    out
}

/// Every failing deploy check: `(id, what to set)`.
pub(crate) fn deploy_checks(s: &Settings) -> Vec<(&'static str, String)> {
    let truthy = |k: &str| {
        s.get(k)
            .is_some_and(|v| matches!(v, Value::Bool(true)) || v.as_i64().is_some_and(|n| n != 0))
    };
    let text = |k: &str| {
        s.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let list = |k: &str| -> Vec<String> {
        s.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let middleware = list("MIDDLEWARE");
    let has = |m: &str| middleware.iter().any(|x| x == m);
    let security = has("django.middleware.security.SecurityMiddleware");
    let mut out = Vec::new();
    if !security {
        out.push((
            "security.W001",
            "add django.middleware.security.SecurityMiddleware to MIDDLEWARE".to_owned(),
        ));
    }
    let xframe = has("django.middleware.clickjacking.XFrameOptionsMiddleware");
    if !xframe {
        out.push((
            "security.W002",
            "add django.middleware.clickjacking.XFrameOptionsMiddleware to MIDDLEWARE".to_owned(),
        ));
    }
    if !has("django.middleware.csrf.CsrfViewMiddleware") {
        out.push((
            "security.W003",
            "add django.middleware.csrf.CsrfViewMiddleware to MIDDLEWARE".to_owned(),
        ));
    }
    let hsts = s
        .get("SECURE_HSTS_SECONDS")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if security && hsts <= 0 {
        out.push((
            "security.W004",
            "set SECURE_HSTS_SECONDS (e.g. 31536000) once HTTPS works everywhere".to_owned(),
        ));
    }
    if security && hsts > 0 && !truthy("SECURE_HSTS_INCLUDE_SUBDOMAINS") {
        out.push((
            "security.W005",
            "set SECURE_HSTS_INCLUDE_SUBDOMAINS = True".to_owned(),
        ));
    }
    if security
        && s.get("SECURE_CONTENT_TYPE_NOSNIFF")
            .is_some_and(|v| v == &Value::Bool(false))
    {
        out.push((
            "security.W006",
            "set SECURE_CONTENT_TYPE_NOSNIFF = True".to_owned(),
        ));
    }
    if security && !truthy("SECURE_SSL_REDIRECT") {
        out.push((
            "security.W008",
            "set SECURE_SSL_REDIRECT = True (or redirect at the proxy and silence this)".to_owned(),
        ));
    }
    let key = text("SECRET_KEY");
    let unique = key.chars().collect::<std::collections::BTreeSet<_>>().len();
    if key.starts_with("django-insecure-") || key.chars().count() < 50 || unique < 5 {
        out.push((
            "security.W009",
            "generate a SECRET_KEY of 50+ random characters, not prefixed django-insecure-"
                .to_owned(),
        ));
    }
    if !truthy("SESSION_COOKIE_SECURE") {
        out.push((
            "security.W012",
            "set SESSION_COOKIE_SECURE = True".to_owned(),
        ));
    }
    if s.get("SESSION_COOKIE_HTTPONLY")
        .is_some_and(|v| v == &Value::Bool(false))
    {
        out.push((
            "security.W013",
            "set SESSION_COOKIE_HTTPONLY = True".to_owned(),
        ));
    }
    if has("django.middleware.csrf.CsrfViewMiddleware") && !truthy("CSRF_COOKIE_SECURE") {
        out.push(("security.W016", "set CSRF_COOKIE_SECURE = True".to_owned()));
    }
    if truthy("DEBUG") {
        out.push((
            "security.W018",
            "set DEBUG = False in production".to_owned(),
        ));
    }
    if xframe
        && s.get("X_FRAME_OPTIONS")
            .is_some_and(|v| v.as_str() != Some("DENY"))
    {
        out.push((
            "security.W019",
            "set X_FRAME_OPTIONS = 'DENY' unless the site must be framed".to_owned(),
        ));
    }
    let hosts = list("ALLOWED_HOSTS");
    if hosts.is_empty() {
        out.push((
            "security.W020",
            "set ALLOWED_HOSTS to the site's host names".to_owned(),
        ));
    }
    if security && hsts > 0 && !truthy("SECURE_HSTS_PRELOAD") {
        out.push((
            "security.W021",
            "set SECURE_HSTS_PRELOAD = True to be eligible for preload lists".to_owned(),
        ));
    }
    if security && s.get("SECURE_REFERRER_POLICY").is_none_or(Value::is_null) {
        out.push((
            "security.W022",
            "set SECURE_REFERRER_POLICY (e.g. 'same-origin')".to_owned(),
        ));
    }
    out
}

/// A JSON object, or `diffsettings --output unified` lines (`+ NAME = value`, `  NAME = value`;
/// `- NAME = default` lines are defaults that were overridden and are skipped).
pub(crate) fn parse(text: &str) -> Result<Settings, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return serde_json::from_str::<Settings>(trimmed)
            .map_err(|e| format!("not a JSON object of settings: {e}"));
    }
    let mut out = Settings::new();
    for (n, line) in text.lines().enumerate() {
        let body = if let Some(rest) = line.strip_prefix("+ ") {
            rest
        } else if line.starts_with("- ")
            || line.trim().is_empty()
            || line.trim_start().starts_with('#')
        {
            continue;
        } else {
            line.trim_start()
        };
        let Some((name, value)) = body.split_once(" = ") else {
            return Err(format!(
                "line {}: expected `NAME = value`, found {line:?}",
                n + 1
            ));
        };
        let name = name.trim();
        if !name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(format!("line {}: {name:?} is not a setting name", n + 1));
        }
        out.insert(name.to_owned(), python_literal(value.trim()));
    }
    Ok(out)
}

/// Python literals as they appear in diffsettings: True/False/None, numbers, quoted
/// strings, and lists/tuples of those. Anything else stays text.
fn python_literal(text: &str) -> Value {
    match text {
        "True" => return Value::Bool(true),
        "False" => return Value::Bool(false),
        "None" => return Value::Null,
        _ => {}
    }
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    if let Some(s) = quoted(text) {
        return Value::String(s);
    }
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .or_else(|| text.strip_prefix('(').and_then(|t| t.strip_suffix(')')));
    if let Some(inner) = inner {
        let items = split_items(inner);
        return Value::Array(
            items
                .iter()
                .filter(|i| !i.is_empty())
                .map(|i| python_literal(i))
                .collect(),
        );
    }
    Value::String(text.to_owned())
}

fn quoted(text: &str) -> Option<String> {
    let q = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = text.strip_prefix(q)?.strip_suffix(q)?;
    Some(inner.replace("\\'", "'").replace("\\\"", "\""))
}

/// Splits on commas outside quotes and brackets.
fn split_items(text: &str) -> Vec<String> {
    let (mut items, mut cur, mut depth, mut quote) = (Vec::new(), String::new(), 0, None);
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '[' | '(' | '{') => {
                depth += 1;
                cur.push(c);
            }
            (None, ']' | ')' | '}') => {
                depth -= 1;
                cur.push(c);
            }
            (None, ',') if depth == 0 => items.push(std::mem::take(&mut cur).trim().to_owned()),
            (None, c) => cur.push(c),
        }
    }
    items.push(cur.trim().to_owned());
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_diffsettings_unified_output() {
        let text = "- DEBUG = False\n+ DEBUG = True\n  ALLOWED_HOSTS = ['a.example.com', \"b.example.com\"]\n+ SECURE_HSTS_SECONDS = 3600\n  MIDDLEWARE = ('x', 'y',)\n";
        let s = parse(text).unwrap();
        assert_eq!(s["DEBUG"], Value::Bool(true));
        assert_eq!(
            s["ALLOWED_HOSTS"],
            serde_json::json!(["a.example.com", "b.example.com"])
        );
        assert_eq!(s["SECURE_HSTS_SECONDS"], serde_json::json!(3600));
        assert_eq!(s["MIDDLEWARE"], serde_json::json!(["x", "y"]));
        assert!(parse("nonsense line").is_err());
    }
}
