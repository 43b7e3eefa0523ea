//! The migrations check against the real Django (pinned in the testkit's NEEDS): the
//! fixture project under fixtures/django/project is migrated by `manage.py migrate`
//! into SQLite, PostgreSQL and MariaDB, state after state, and at each one shipgate's
//! pending list must equal what `manage.py showmigrations` shows unapplied, its verdict
//! what `manage.py migrate --check` says. The states are made by Django, not typed in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use shipgate_report::Outcome;

use crate::{context, run_with};

/// The project's own apps, by label.
const APPS: [&str; 2] = ["shop", "payments"];

pub(crate) fn require(dist: &str) {
    let need = shipgate_testkit::needs::need(dist);
    assert!(
        need.is_installed(),
        "{}",
        shipgate_testkit::missing_message(dist)
    );
}

/// A copy of the fixture project aimed at one database.
struct Project {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
    url: String,
}

impl Project {
    fn new(env: Vec<(&'static str, String)>, url: String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy(&crate::fixtures().join("django/project"), dir.path());
        Self { dir, env, url }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn manage(&self, args: &[&str]) -> Output {
        Command::new("python3")
            .arg("manage.py")
            .args(args)
            .current_dir(self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap()
    }

    fn migrate(&self, args: &[&str]) {
        let mut all = vec!["migrate", "--no-input"];
        all.extend_from_slice(args);
        let out = self.manage(&all);
        assert!(out.status.success(), "manage.py {all:?}: {}", text(&out));
    }

    /// `app.name` of every migration `showmigrations --list` marks `[ ]` for our apps.
    fn django_unapplied(&self) -> BTreeSet<String> {
        let mut args = vec!["showmigrations", "--list"];
        args.extend(APPS);
        let out = self.manage(&args);
        assert!(out.status.success(), "showmigrations: {}", text(&out));
        let mut app = String::new();
        let mut unapplied = BTreeSet::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if !line.starts_with(' ') {
                app = line.trim().to_owned();
            } else if let Some(rest) = line.trim().strip_prefix("[ ] ") {
                let name = rest.split_whitespace().next().unwrap();
                unapplied.insert(format!("{app}.{name}"));
            }
        }
        unapplied
    }

    /// Whether `migrate --check` finds anything to do for our apps.
    fn django_would_migrate(&self) -> bool {
        let mut args = vec!["migrate", "--check", "--plan"];
        args.extend(&APPS[..1]);
        let shop = self.manage(&args);
        let mut args = vec!["migrate", "--check", "--plan"];
        args.extend(&APPS[1..]);
        let payments = self.manage(&args);
        for out in [&shop, &payments] {
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "migrate --check: {}",
                text(out)
            );
        }
        shop.status.code() == Some(1) || payments.status.code() == Some(1)
    }

    /// shipgate's verdict: outcome, pending and the message.
    async fn shipgate(&self) -> (Outcome, BTreeSet<String>, String) {
        self.shipgate_for(&[]).await
    }

    /// The same, answering only for the apps `only` names.
    async fn shipgate_for(&self, only: &[&str]) -> (Outcome, BTreeSet<String>, String) {
        let toml = format!(
            "[[checks.pre]]\nname = \"django\"\n[checks.pre.database]\nurl = \"{}\"\nmigrations = {{ framework = \"django\", dir = \"{}\", apps = {only:?} }}\n",
            self.url,
            self.dir.path().display()
        );
        let findings = run_with(&toml, &context(&[])).await;
        crate::migration_verdict(&findings, "django")
    }

    /// Compares shipgate with Django in the state reached.
    async fn agree(&self, state: &str) -> String {
        let django = self.django_unapplied();
        let (outcome, pending, message) = self.shipgate().await;
        assert_eq!(
            pending, django,
            "{state}: shipgate's pending vs showmigrations' unapplied ({message})"
        );
        assert_eq!(
            outcome == Outcome::Fail,
            self.django_would_migrate(),
            "{state}: shipgate says {outcome:?} ({message})"
        );
        message
    }
}

pub(crate) fn copy(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() == "__pycache__" {
                continue;
            }
            std::fs::create_dir_all(&target).unwrap();
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub(crate) fn text(out: &Output) -> String {
    format!(
        "{:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The matrix, in one project: each step is made by Django, then compared.
async fn matrix(p: &Project) {
    p.agree("nothing migrated (no django_migrations table)")
        .await;
    p.migrate(&["contenttypes"]);
    p.migrate(&["auth"]);
    p.agree("only Django's own apps migrated").await;
    p.migrate(&["shop", "0001_squashed_0002_product_price"]);
    p.agree("the squashed migration applied").await;
    p.migrate(&["payments", "0001_initial"]);
    p.agree("an app whose label is not its directory, half migrated")
        .await;
    p.migrate(&[]);
    let clean = p.agree("everything migrated").await;
    let (outcome, _, _) = p.shipgate().await;
    assert_eq!(
        outcome,
        Outcome::Pass,
        "a clean project is clean, whatever Django's own apps recorded: {clean}"
    );
    p.migrate(&["payments", "0001_initial"]);
    p.agree("a migration whose name starts with a letter, unapplied")
        .await;
    p.migrate(&[]);

    // The squash's replaced files deleted, as teams do once everyone has migrated.
    std::fs::remove_file(p.path("shop/migrations/0001_initial.py")).unwrap();
    std::fs::remove_file(p.path("shop/migrations/0002_product_price.py")).unwrap();
    let (outcome, _, message) = p.shipgate().await;
    p.agree("replaced files deleted").await;
    assert_eq!(outcome, Outcome::Pass, "{message}");

    // An applied migration whose file is gone: Django shows nothing to do; shipgate
    // agrees, and names the one the code no longer knows.
    std::fs::remove_file(p.path("shop/migrations/0003_product_sku.py")).unwrap();
    let message = p.agree("an applied migration's file deleted").await;
    let (outcome, _, _) = p.shipgate().await;
    assert_eq!(outcome, Outcome::Warn, "{message}");
    assert!(message.contains("shop.0003_product_sku"), "{message}");
}

/// A squash added after some of what it replaces was applied: Django then keeps the
/// replaced migrations in the graph and leaves the squash out.
async fn partly_squashed(p: &Project) {
    let squash = p.path("shop/migrations/0001_squashed_0002_product_price.py");
    let kept = std::fs::read(&squash).unwrap();
    std::fs::remove_file(&squash).unwrap();
    p.migrate(&["shop", "0001_initial"]);
    std::fs::write(&squash, kept).unwrap();
    p.agree("a squash over a partly applied history").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_agrees_with_django() {
    require("Django");
    let dir = tempfile::tempdir().unwrap();
    for (name, check) in [("matrix", true), ("partial", false)] {
        let db = dir.path().join(format!("{name}.sqlite3"));
        let p = Project::new(
            vec![
                ("DB_ENGINE", "sqlite".into()),
                ("DB_NAME", db.display().to_string()),
            ],
            format!("sqlite://{}?mode=rwc", db.display()),
        );
        if check {
            matrix(&p).await;
        } else {
            partly_squashed(&p).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_agrees_with_django() {
    require("Django");
    require("psycopg");
    let pg = shipgate_testkit::Postgres::start().expect("PostgreSQL");
    for db in ["matrix", "partial"] {
        crate::database::exec(&pg.url(), &format!("CREATE DATABASE {db}")).await;
        let p = Project::new(
            vec![
                ("DB_ENGINE", "postgresql".into()),
                ("DB_NAME", db.into()),
                ("DB_HOST", "127.0.0.1".into()),
                ("DB_PORT", pg.port().to_string()),
                ("DB_USER", "postgres".into()),
            ],
            pg.url_for(db),
        );
        if db == "matrix" {
            matrix(&p).await;
        } else {
            partly_squashed(&p).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_agrees_with_django() {
    require("Django");
    require("PyMySQL");
    let maria = shipgate_testkit::MariaDb::start().expect("MariaDB");
    for db in ["matrix", "partial"] {
        crate::database::exec(&maria.url(), &format!("CREATE DATABASE {db}")).await;
        let p = Project::new(
            vec![
                ("DB_ENGINE", "mysql".into()),
                ("DB_NAME", db.into()),
                ("DB_HOST", "127.0.0.1".into()),
                ("DB_PORT", maria.port().to_string()),
                ("DB_USER", "root".into()),
            ],
            maria.url_for(db),
        );
        if db == "matrix" {
            matrix(&p).await;
        } else {
            partly_squashed(&p).await;
        }
    }
}
