//! Django's deploy checks (`manage.py check --deploy --tag security`: W001–W025, E023,
//! E024) applied to a settings dump: a JSON object, or `manage.py diffsettings --output
//! unified` text, with or without `--all` (Django's defaults fill in the rest).

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
    /// Readiness checks of shipgate's own beyond Django's: `performance` (a shared
    /// production cache, persistent database connections, compression) and
    /// `monitoring` (an error-reporting DSN, LOGGING configured).
    #[serde(default)]
    pub readiness: Vec<Readiness>,
}

/// A family of shipgate's own Django readiness checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// shipgate.P001 cache, P002 CONN_MAX_AGE, P003 compression.
    Performance,
    /// shipgate.M001 error reporting, M002 LOGGING.
    Monitoring,
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
    let mut all = deploy_checks(&settings);
    all.extend(readiness_checks(&settings, &check.readiness));
    // Silenced in the check's configuration, or by the project itself.
    let silenced_by_project: Vec<String> = settings
        .get("SILENCED_SYSTEM_CHECKS")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let issues: Vec<(&str, String)> = all
        .into_iter()
        .filter(|(id, _)| {
            !check.silence.iter().any(|s| s == id) && !silenced_by_project.iter().any(|s| s == id)
        })
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

/// Django's own defaults (django/conf/global_settings.py, 5.2) for the settings the
/// deploy checks read: a dump of only what a project changed (`diffsettings` without
/// `--all`, or a hand-made JSON) is judged as Django judges the whole.
const DEFAULTS: &[(&str, &str)] = &[
    ("DEBUG", "false"),
    ("ALLOWED_HOSTS", "[]"),
    ("INSTALLED_APPS", "[]"),
    ("MIDDLEWARE", "[]"),
    ("SECRET_KEY", "\"\""),
    ("SECRET_KEY_FALLBACKS", "[]"),
    ("SECURE_HSTS_SECONDS", "0"),
    ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "false"),
    ("SECURE_HSTS_PRELOAD", "false"),
    ("SECURE_CONTENT_TYPE_NOSNIFF", "true"),
    ("SECURE_SSL_REDIRECT", "false"),
    ("SECURE_REFERRER_POLICY", "\"same-origin\""),
    ("SECURE_CROSS_ORIGIN_OPENER_POLICY", "\"same-origin\""),
    ("SESSION_COOKIE_SECURE", "false"),
    ("SESSION_COOKIE_HTTPONLY", "true"),
    ("CSRF_COOKIE_SECURE", "false"),
    ("CSRF_USE_SESSIONS", "false"),
    ("X_FRAME_OPTIONS", "\"DENY\""),
];

const REFERRER_POLICIES: &[&str] = &[
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
];
const OPENER_POLICIES: &[&str] = &["same-origin", "same-origin-allow-popups", "unsafe-none"];

/// Django's `_check_secret_key`: 50+ characters, 5+ distinct, not `django-insecure-`.
fn strong_key(key: &str) -> bool {
    key.chars().collect::<std::collections::BTreeSet<_>>().len() >= 5
        && key.chars().count() >= 50
        && !key.starts_with("django-insecure-")
}

/// Python's truthiness of a setting's value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Every failing check of `manage.py check --deploy --tag security` that a dump can
/// show, as Django 5.2 decides it: `(id, what to set)`. (E101/E102 need the failure
/// view imported, which only Django itself can do.)
pub(crate) fn deploy_checks(dump: &Settings) -> Vec<(&'static str, String)> {
    let mut s = dump.clone();
    for (name, default) in DEFAULTS {
        s.entry((*name).to_owned())
            .or_insert_with(|| serde_json::from_str(default).expect("a default parses"));
    }
    let get = |k: &str| s.get(k).unwrap_or(&Value::Null);
    // `settings.X is True`: only the boolean True, not a truthy value.
    let is_true = |k: &str| get(k) == &Value::Bool(true);
    let strings = |k: &str| -> Vec<String> {
        get(k)
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let middleware = strings("MIDDLEWARE");
    let has = |m: &str| middleware.iter().any(|x| x == m);
    let security = has("django.middleware.security.SecurityMiddleware");
    let xframe = has("django.middleware.clickjacking.XFrameOptionsMiddleware");
    let csrf = has("django.middleware.csrf.CsrfViewMiddleware");
    let session_mw = has("django.contrib.sessions.middleware.SessionMiddleware");
    let session_app = strings("INSTALLED_APPS")
        .iter()
        .any(|a| a == "django.contrib.sessions");
    let hsts = truthy(get("SECURE_HSTS_SECONDS"));
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let mut fail = |id: &'static str, fix: &str| out.push((id, fix.to_owned()));
    if !security {
        fail(
            "security.W001",
            "add django.middleware.security.SecurityMiddleware to MIDDLEWARE",
        );
    }
    if !xframe {
        fail(
            "security.W002",
            "add django.middleware.clickjacking.XFrameOptionsMiddleware to MIDDLEWARE",
        );
    }
    if !csrf {
        fail(
            "security.W003",
            "add django.middleware.csrf.CsrfViewMiddleware to MIDDLEWARE",
        );
    }
    if security && !hsts {
        fail(
            "security.W004",
            "set SECURE_HSTS_SECONDS (e.g. 31536000) once HTTPS works everywhere",
        );
    }
    if security && hsts && !is_true("SECURE_HSTS_INCLUDE_SUBDOMAINS") {
        fail("security.W005", "set SECURE_HSTS_INCLUDE_SUBDOMAINS = True");
    }
    if security && !is_true("SECURE_CONTENT_TYPE_NOSNIFF") {
        fail("security.W006", "set SECURE_CONTENT_TYPE_NOSNIFF = True");
    }
    if security && !is_true("SECURE_SSL_REDIRECT") {
        fail(
            "security.W008",
            "set SECURE_SSL_REDIRECT = True (or redirect at the proxy and silence this)",
        );
    }
    if !get("SECRET_KEY").as_str().is_some_and(strong_key) {
        fail(
            "security.W009",
            "generate a SECRET_KEY of 50+ random characters, not prefixed django-insecure-",
        );
    }
    // Session cookies: W010/W013 for the sessions app, W011/W014 for the session
    // middleware, W012/W015 for both.
    for (setting, app_id, mw_id, both_id) in [
        (
            "SESSION_COOKIE_SECURE",
            "security.W010",
            "security.W011",
            "security.W012",
        ),
        (
            "SESSION_COOKIE_HTTPONLY",
            "security.W013",
            "security.W014",
            "security.W015",
        ),
    ] {
        if is_true(setting) {
            continue;
        }
        let fix = format!("set {setting} = True");
        match (session_app, session_mw) {
            (true, true) => fail(both_id, &fix),
            (true, false) => fail(app_id, &fix),
            (false, true) => fail(mw_id, &fix),
            (false, false) => {}
        }
    }
    if csrf && !truthy(get("CSRF_USE_SESSIONS")) && !is_true("CSRF_COOKIE_SECURE") {
        fail("security.W016", "set CSRF_COOKIE_SECURE = True");
    }
    if truthy(get("DEBUG")) {
        fail("security.W018", "set DEBUG = False in production");
    }
    if xframe && get("X_FRAME_OPTIONS").as_str() != Some("DENY") {
        fail(
            "security.W019",
            "set X_FRAME_OPTIONS = 'DENY' unless the site must be framed",
        );
    }
    if !truthy(get("ALLOWED_HOSTS")) {
        fail(
            "security.W020",
            "set ALLOWED_HOSTS to the site's host names",
        );
    }
    if security && hsts && !is_true("SECURE_HSTS_PRELOAD") {
        fail(
            "security.W021",
            "set SECURE_HSTS_PRELOAD = True to be eligible for preload lists",
        );
    }
    if security {
        let policy = get("SECURE_REFERRER_POLICY");
        let values: Option<Vec<String>> = match policy {
            Value::Null => None,
            Value::String(s) => Some(s.split(',').map(|v| v.trim().to_owned()).collect()),
            other => Some(
                other
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| v.as_str().unwrap_or("?").to_owned())
                            .collect()
                    })
                    .unwrap_or_else(|| vec!["?".to_owned()]),
            ),
        };
        match values {
            None => fail(
                "security.W022",
                "set SECURE_REFERRER_POLICY (e.g. 'same-origin')",
            ),
            Some(v) if !v.iter().all(|p| REFERRER_POLICIES.contains(&p.as_str())) => fail(
                "security.E023",
                &format!(
                    "SECURE_REFERRER_POLICY must be among: {}",
                    REFERRER_POLICIES.join(", ")
                ),
            ),
            Some(_) => {}
        }
        // Django: `is not None and not in` the values, so '' fails too.
        let opener = get("SECURE_CROSS_ORIGIN_OPENER_POLICY");
        if !opener.is_null()
            && !opener
                .as_str()
                .is_some_and(|o| OPENER_POLICIES.contains(&o))
        {
            fail(
                "security.E024",
                &format!(
                    "SECURE_CROSS_ORIGIN_OPENER_POLICY must be one of: {}",
                    OPENER_POLICIES.join(", ")
                ),
            );
        }
    }
    let fallbacks = get("SECRET_KEY_FALLBACKS")
        .as_array()
        .cloned()
        .unwrap_or_default();
    if fallbacks
        .iter()
        .any(|k| !k.as_str().is_some_and(strong_key))
    {
        fail(
            "security.W025",
            "every SECRET_KEY_FALLBACKS entry must be a strong key too (or drop the old ones)",
        );
    }
    out
}

/// shipgate's own readiness checks (not Django's): what a production deployment of a
/// Django project should also have. Each is `(id, what to set)`.
pub(crate) fn readiness_checks(
    s: &Settings,
    families: &[Readiness],
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let middleware: Vec<&str> = s
        .get("MIDDLEWARE")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if families.contains(&Readiness::Performance) {
        // Django's default cache is local memory: per process, lost on restart.
        let backend = s
            .get("CACHES")
            .and_then(|c| c.get("default"))
            .and_then(|d| d.get("BACKEND"))
            .and_then(Value::as_str)
            .unwrap_or("django.core.cache.backends.locmem.LocMemCache");
        if backend.ends_with("LocMemCache") || backend.ends_with("DummyCache") {
            out.push((
                "shipgate.P001",
                format!("CACHES default is {backend}: use a shared cache in production (django.core.cache.backends.redis.RedisCache, Memcached)"),
            ));
        }
        let age = s
            .get("DATABASES")
            .and_then(|d| d.get("default"))
            .and_then(|d| d.get("CONN_MAX_AGE"));
        if !age.is_some_and(|a| a.is_null() || a.as_f64().is_some_and(|n| n > 0.0)) {
            out.push((
                "shipgate.P002",
                "set DATABASES['default']['CONN_MAX_AGE'] (e.g. 60) so connections are reused, not opened per request".to_owned(),
            ));
        }
        if !middleware.contains(&"django.middleware.gzip.GZipMiddleware") {
            out.push((
                "shipgate.P003",
                "compress responses: add django.middleware.gzip.GZipMiddleware (or compress at the proxy and silence this)".to_owned(),
            ));
        }
    }
    if families.contains(&Readiness::Monitoring) {
        let dsn = ["SENTRY_DSN", "ERROR_REPORTING_DSN", "ROLLBAR", "BUGSNAG"]
            .iter()
            .any(|k| {
                s.get(*k)
                    .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
            });
        if !dsn {
            out.push((
                "shipgate.M001",
                "configure error reporting (SENTRY_DSN, or ROLLBAR/BUGSNAG settings) so production errors reach someone".to_owned(),
            ));
        }
        let logging = s.get("LOGGING");
        let configured = logging.is_some_and(|l| {
            l.as_object().is_some_and(|o| !o.is_empty())
                || l.as_str()
                    .is_some_and(|t| t.trim() != "{}" && !t.trim().is_empty())
        });
        if !configured {
            out.push((
                "shipgate.M002",
                "configure LOGGING (handlers and levels for django and your apps), so errors are logged where you read them".to_owned(),
            ));
        }
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
        let value = super::pyliteral::parse(value)
            .map_err(|why| format!("line {}: the value of {name}: {why}", n + 1))?;
        out.insert(name.to_owned(), value);
    }
    Ok(out)
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
