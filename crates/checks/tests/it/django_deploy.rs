//! The django check against the real Django's `check --deploy --tag security`: a
//! matrix of settings variants (every single change from a secure base, and every
//! combination of the session and CSRF settings whose ids depend on one another) is
//! configured in the real Django (fixtures/django/deploy_matrix.py), which reports its
//! ids and dumps the settings with `diffsettings --output unified`, with and without
//! `--all`; shipgate must find exactly Django's ids in both dumps.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::django_migrations::require;
use crate::{by_name, context, run_with};

const STRONG: &str = "k3Jq9-vX2m#Lp8@Zt5!Rw7$Nc4^Hb6&Yd1*Fg0(Ks)Ue_Ai+Oj=Ql~Mn";

fn base() -> serde_json::Map<String, Value> {
    let v = json!({
        "SECRET_KEY": STRONG,
        "DEBUG": false,
        "ALLOWED_HOSTS": ["shop.example.com"],
        "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"],
        "MIDDLEWARE": [
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": true,
        "SECURE_HSTS_PRELOAD": true,
        "SECURE_SSL_REDIRECT": true,
        "SESSION_COOKIE_SECURE": true,
        "CSRF_COOKIE_SECURE": true,
    });
    v.as_object().unwrap().clone()
}

/// A Python expression the fixture evaluates (a set, a float).
fn py(expr: &str) -> Value {
    json!({ "__python__": expr })
}

fn without(list: &str, item: &str) -> (String, Value) {
    let mut v = base()[list].clone();
    v.as_array_mut().unwrap().retain(|x| x != item);
    (list.to_owned(), v)
}

/// The variants: the base, each single change, and the session/CSRF combinations.
fn variants() -> Vec<serde_json::Map<String, Value>> {
    let set = |k: &str, v: Value| (k.to_owned(), v);
    let singles: Vec<(String, Value)> = vec![
        without(
            "MIDDLEWARE",
            "django.middleware.security.SecurityMiddleware",
        ),
        without(
            "MIDDLEWARE",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ),
        without("MIDDLEWARE", "django.middleware.csrf.CsrfViewMiddleware"),
        without(
            "MIDDLEWARE",
            "django.contrib.sessions.middleware.SessionMiddleware",
        ),
        without("INSTALLED_APPS", "django.contrib.sessions"),
        set("SECURE_HSTS_SECONDS", json!(0)),
        set("SECURE_HSTS_INCLUDE_SUBDOMAINS", json!(false)),
        set("SECURE_HSTS_PRELOAD", json!(false)),
        set("SECURE_CONTENT_TYPE_NOSNIFF", json!(false)),
        set("SECURE_SSL_REDIRECT", json!(false)),
        set("SECRET_KEY", json!(format!("django-insecure-{STRONG}"))),
        set("SECRET_KEY", json!("short-but-unique-0123456789")),
        set("SECRET_KEY_FALLBACKS", json!(["weak"])),
        set("SECRET_KEY_FALLBACKS", json!([STRONG])),
        set("SESSION_COOKIE_SECURE", json!(false)),
        set("SESSION_COOKIE_HTTPONLY", json!(false)),
        set("CSRF_COOKIE_SECURE", json!(false)),
        set("DEBUG", json!(true)),
        set("X_FRAME_OPTIONS", json!("SAMEORIGIN")),
        set("ALLOWED_HOSTS", json!([])),
        set("SECURE_REFERRER_POLICY", Value::Null),
        set("SECURE_REFERRER_POLICY", json!("no-such-policy")),
        set("SECURE_REFERRER_POLICY", json!(["same-origin", "origin"])),
        set("SECURE_CROSS_ORIGIN_OPENER_POLICY", json!("bogus")),
        set("SECURE_CROSS_ORIGIN_OPENER_POLICY", Value::Null),
        // Issue #27: what only a real Python literal reader gets right.
        set("SECURE_CROSS_ORIGIN_OPENER_POLICY", json!("")),
        set("SECURE_REFERRER_POLICY", py("{'same-origin', 'origin'}")),
        set("SECURE_REFERRER_POLICY", py("{'same-origin', 'bogus'}")),
        set("SECURE_HSTS_SECONDS", py("0.0")),
        set("SECURE_HSTS_SECONDS", py("1.5")),
        // 49 characters as Python counts them, 50 as its repr shows a backslash.
        set("SECRET_KEY", json!(format!("{}\\", &STRONG[..48]))),
        set("SECRET_KEY", json!(format!("{}\n", &STRONG[..48]))),
        set("SECRET_KEY", json!(format!("{}'\\", &STRONG[..49]))),
        set("SILENCED_SYSTEM_CHECKS", json!(["security.W004"])),
        set(
            "SILENCED_SYSTEM_CHECKS",
            json!(["security.W008", "security.W021"]),
        ),
    ];
    let mut out = vec![base()];
    for (k, v) in singles {
        let mut b = base();
        b.insert(k, v);
        out.push(b);
    }
    // A project that silences what fires: Django leaves it out of its report.
    let mut silenced = base();
    silenced.insert("SECURE_HSTS_SECONDS".into(), py("0.0"));
    silenced.insert("SECURE_SSL_REDIRECT".into(), json!(false));
    silenced.insert(
        "SILENCED_SYSTEM_CHECKS".into(),
        json!(["security.W004", "security.W008"]),
    );
    out.push(silenced);
    for bits in 0..32u32 {
        let on = |i: u32| bits & (1 << i) != 0;
        let mut b = base();
        if !on(0) {
            b.insert(
                without("INSTALLED_APPS", "django.contrib.sessions").0,
                without("INSTALLED_APPS", "django.contrib.sessions").1,
            );
        }
        if !on(1) {
            let (k, v) = without(
                "MIDDLEWARE",
                "django.contrib.sessions.middleware.SessionMiddleware",
            );
            b.insert(k, v);
        }
        b.insert("SESSION_COOKIE_SECURE".into(), json!(on(2)));
        b.insert("SESSION_COOKIE_HTTPONLY".into(), json!(on(3)));
        b.insert("CSRF_USE_SESSIONS".into(), json!(on(4)));
        b.insert("CSRF_COOKIE_SECURE".into(), json!(false));
        out.push(b);
    }
    out
}

async fn shipgate_ids(dump: &str, dir: &std::path::Path, name: &str) -> BTreeSet<String> {
    let path = dir.join(name);
    std::fs::write(&path, dump).unwrap();
    let toml = format!(
        "[[checks.pre]]\nname = \"d\"\ndjango = {{ settings = \"{}\" }}\n",
        path.display()
    );
    let findings = run_with(&toml, &context(&[])).await;
    by_name(&findings, "d")
        .details
        .keys()
        .filter(|k| k.starts_with("security."))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_check_ids_equal_djangos_for_every_variant() {
    require("Django");
    let variants = variants();
    let mut child = Command::new("python3")
        .arg(crate::fixtures().join("django/deploy_matrix.py"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for v in &variants {
            writeln!(stdin, "{}", Value::Object(v.clone())).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let answers: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), variants.len());
    let dir = tempfile::tempdir().unwrap();
    let mut seen = BTreeSet::new();
    for (n, (variant, answer)) in variants.iter().zip(&answers).enumerate() {
        assert!(answer.get("error").is_none(), "variant {n}: {answer}");
        let django: BTreeSet<String> = answer["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap().to_owned())
            .collect();
        seen.extend(django.iter().cloned());
        let whole = shipgate_ids(answer["all"].as_str().unwrap(), dir.path(), "all.txt").await;
        assert_eq!(
            whole, django,
            "variant {n} (diffsettings --all): {variant:?}"
        );
        let changed = shipgate_ids(
            answer["changed"].as_str().unwrap(),
            dir.path(),
            "changed.txt",
        )
        .await;
        assert_eq!(
            changed, django,
            "variant {n} (diffsettings without --all): {variant:?}"
        );
    }
    // The matrix reaches every id a dump can show.
    for id in [
        "W001", "W002", "W003", "W004", "W005", "W006", "W008", "W009", "W010", "W011", "W012",
        "W013", "W014", "W015", "W016", "W018", "W019", "W020", "W021", "W022", "E023", "E024",
        "W025",
    ] {
        assert!(
            seen.contains(&format!("security.{id}")),
            "{id} never seen: {seen:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn performance_and_monitoring_readiness_read_from_djangos_own_dump() {
    require("Django");
    let plain = base();
    let mut ready = base();
    for (k, v) in [
        (
            "CACHES",
            json!({"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/1"}}),
        ),
        (
            "DATABASES",
            json!({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3", "CONN_MAX_AGE": 60}}),
        ),
        ("SENTRY_DSN", json!("https://key@sentry.example.com/1")),
        (
            "LOGGING",
            json!({"version": 1, "handlers": {"console": {"class": "logging.StreamHandler"}}}),
        ),
    ] {
        ready.insert(k.into(), v);
    }
    let mut mw = ready["MIDDLEWARE"].as_array().unwrap().clone();
    mw.insert(1, json!("django.middleware.gzip.GZipMiddleware"));
    ready.insert("MIDDLEWARE".into(), Value::Array(mw));
    let mut child = Command::new("python3")
        .arg(crate::fixtures().join("django/deploy_matrix.py"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for v in [&plain, &ready] {
            writeln!(stdin, "{}", Value::Object(v.clone())).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let answers: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for (n, answer) in answers.iter().enumerate() {
        let path = dir.path().join(format!("dump{n}.txt"));
        std::fs::write(&path, answer["all"].as_str().unwrap()).unwrap();
        let toml = format!(
            "[[checks.pre]]\nname = \"d\"\ndjango = {{ settings = \"{}\", readiness = [\"performance\", \"monitoring\"] }}\n",
            path.display()
        );
        let findings = run_with(&toml, &context(&[])).await;
        let found: BTreeSet<String> = by_name(&findings, "d")
            .details
            .keys()
            .filter(|k| k.starts_with("shipgate."))
            .cloned()
            .collect();
        ids.push(found);
    }
    let all: BTreeSet<String> = ["P001", "P002", "P003", "M001", "M002"]
        .iter()
        .map(|i| format!("shipgate.{i}"))
        .collect();
    assert_eq!(
        ids[0], all,
        "Django's defaults: local-memory cache, CONN_MAX_AGE 0, no gzip, no DSN, LOGGING {{}}"
    );
    assert!(ids[1].is_empty(), "a ready project: {:?}", ids[1]);
}
