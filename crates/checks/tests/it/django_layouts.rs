//! Layouts the Django reader once passed over while the real Django had a migration
//! to run (issue #27's false passes): an app three levels below the project, and
//! `MIGRATION_MODULES` moving an app's migrations to another package. Each state is
//! made by the real Django (`makemigrations`, `migrate`), and shipgate's pending list
//! must be what `showmigrations` shows unapplied.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use shipgate_report::Outcome;

use crate::django_migrations::{copy, require, text};
use crate::{by_name, context, run_with};

struct Site {
    dir: tempfile::TempDir,
    db: std::path::PathBuf,
}

impl Site {
    /// The fixture project on SQLite, with `edit` applied to its settings.
    fn new(edit: impl FnOnce(&Path, String) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy(&crate::fixtures().join("django/project"), dir.path());
        let settings = dir.path().join("site_config/settings.py");
        let text = std::fs::read_to_string(&settings).unwrap();
        std::fs::write(&settings, edit(dir.path(), text)).unwrap();
        let db = dir.path().join("db.sqlite3");
        Self { dir, db }
    }

    fn manage(&self, args: &[&str]) -> Output {
        let out = Command::new("python3")
            .arg("manage.py")
            .args(args)
            .current_dir(self.dir.path())
            .env("DB_ENGINE", "sqlite")
            .env("DB_NAME", &self.db)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "manage.py {args:?}: {}", text(&out));
        out
    }

    /// `label.name` of each migration `showmigrations` marks unapplied for `apps`.
    fn django_unapplied(&self, apps: &[&str]) -> BTreeSet<String> {
        let mut args = vec!["showmigrations", "--list"];
        args.extend(apps);
        let out = self.manage(&args);
        let mut app = String::new();
        let mut unapplied = BTreeSet::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if !line.starts_with(' ') {
                app = line.trim().to_owned();
            } else if let Some(rest) = line.trim().strip_prefix("[ ] ") {
                unapplied.insert(format!("{app}.{}", rest.split_whitespace().next().unwrap()));
            }
        }
        unapplied
    }

    async fn shipgate(&self, only: &[&str]) -> (Outcome, BTreeSet<String>, String) {
        let toml = format!(
            "[[checks.pre]]\nname = \"django\"\n[checks.pre.database]\nurl = \"sqlite://{}?mode=rwc\"\nmigrations = {{ framework = \"django\", dir = \"{}\", apps = {only:?} }}\n",
            self.db.display(),
            self.dir.path().display()
        );
        let findings = run_with(&toml, &context(&[])).await;
        crate::migration_verdict(&findings, "django")
    }
}

/// An app `retired` with one migration, which INSTALLED_APPS does not list.
fn retired_app(dir: &Path) {
    write(&dir.join("retired/__init__.py"), "");
    write(&dir.join("retired/migrations/__init__.py"), "");
    write(
        &dir.join("retired/migrations/0001_initial.py"),
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    dependencies = []\n    operations = []\n",
    );
}

/// Appends a change of INSTALLED_APPS the file reader cannot follow.
fn unreadable_installed_apps(site: &Site) {
    let settings = site.dir.path().join("site_config/settings.py");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, format!("{text}\nINSTALLED_APPS += []\n")).unwrap();
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_three_levels_down_is_read_as_django_reads_it() {
    require("Django");
    let site = Site::new(|dir, settings| {
        for pkg in [
            "company",
            "company/apps",
            "company/apps/orders",
            "company/apps/orders/migrations",
        ] {
            write(&dir.join(pkg).join("__init__.py"), "");
        }
        write(
            &dir.join("company/apps/orders/models.py"),
            "from django.db import models\n\n\nclass Order(models.Model):\n    number = models.IntegerField()\n",
        );
        settings.replace(
            "    \"billing\",\n",
            "    \"billing\",\n    \"company.apps.orders\",\n",
        )
    });
    site.manage(&["makemigrations", "orders"]);
    for app in ["shop", "payments"] {
        site.manage(&["migrate", "--no-input", app]);
    }
    let django = site.django_unapplied(&["orders"]);
    assert_eq!(django, BTreeSet::from(["orders.0001_initial".to_owned()]));
    for only in [&[][..], &["orders"][..]] {
        let (outcome, pending, message) = site.shipgate(only).await;
        assert_eq!(outcome, Outcome::Fail, "apps = {only:?}: {message}");
        let ours: BTreeSet<String> = pending
            .into_iter()
            .filter(|p| p.starts_with("orders."))
            .collect();
        assert_eq!(ours, django, "apps = {only:?}: {message}");
    }
    site.manage(&["migrate", "--no-input", "orders"]);
    assert!(site.django_unapplied(&["orders"]).is_empty());
    let (outcome, _, message) = site.shipgate(&["orders"]).await;
    assert_eq!(outcome, Outcome::Pass, "{message}");
    // An app named in `apps` that is nowhere on disk is not a pass.
    let (outcome, _, message) = site.shipgate(&["ordres"]).await;
    assert_eq!(outcome, Outcome::Fail, "{message}");
    assert!(message.contains("app ordres"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn migration_modules_are_read_where_django_reads_them() {
    require("Django");
    let site = Site::new(|dir, settings| {
        // shop's migrations move to legacy/shop_migrations.
        std::fs::rename(
            dir.join("shop/migrations"),
            dir.join("legacy_shop_migrations"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("legacy")).unwrap();
        write(&dir.join("legacy/__init__.py"), "");
        std::fs::rename(
            dir.join("legacy_shop_migrations"),
            dir.join("legacy/shop_migrations"),
        )
        .unwrap();
        format!("{settings}\nMIGRATION_MODULES = {{\"shop\": \"legacy.shop_migrations\"}}\n")
    });
    site.manage(&["migrate", "--no-input"]);
    assert!(site.django_unapplied(&["shop"]).is_empty());
    let (outcome, _, message) = site.shipgate(&[]).await;
    assert_eq!(outcome, Outcome::Pass, "{message}");
    site.manage(&["makemigrations", "shop", "--empty", "-n", "backfill"]);
    assert!(
        site.dir
            .path()
            .join("legacy/shop_migrations/0004_backfill.py")
            .is_file(),
        "Django wrote the new migration into the mapped package"
    );
    let django = site.django_unapplied(&["shop"]);
    assert_eq!(django, BTreeSet::from(["shop.0004_backfill".to_owned()]));
    let (outcome, pending, message) = site.shipgate(&[]).await;
    assert_eq!(outcome, Outcome::Fail, "{message}");
    assert_eq!(pending, django, "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn apple_double_files_from_a_macos_tarball_are_ignored_as_django_ignores_them() {
    require("Django");
    let site = Site::new(|dir, settings| {
        // Resource forks: binary, named like a migration behind `._`.
        std::fs::write(
            dir.join("shop/migrations/._0003_product_sku.py"),
            [0x00, 0x05, 0x16, 0x07, 0xff, 0xfe, 0x80],
        )
        .unwrap();
        settings
    });
    site.manage(&["migrate", "--no-input"]);
    assert!(site.django_unapplied(&["shop"]).is_empty());
    let (outcome, pending, message) = site.shipgate(&[]).await;
    assert!(pending.is_empty(), "{message}");
    assert_eq!(outcome, Outcome::Pass, "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_not_in_installed_apps_is_not_pending_as_django_does_not_see_it() {
    require("Django");
    let site = Site::new(|dir, settings| {
        // An app left in the tree but taken out of INSTALLED_APPS (or never put in).
        retired_app(dir);
        settings
    });
    site.manage(&["migrate", "--no-input"]);
    let shown = site.manage(&["showmigrations", "--list"]);
    assert!(
        !String::from_utf8_lossy(&shown.stdout).contains("retired"),
        "Django does not see it"
    );
    let (outcome, pending, message) = site.shipgate(&[]).await;
    assert!(pending.is_empty(), "{message}");
    assert_eq!(outcome, Outcome::Pass, "{message}");
    // Settings that change INSTALLED_APPS after defining it cannot be read as a
    // literal: every app on disk counts then, strict rather than lenient.
    unreadable_installed_apps(&site);
    let (outcome, pending, message) = site.shipgate(&[]).await;
    assert_eq!(outcome, Outcome::Fail, "{message}");
    assert!(pending.contains("retired.0001_initial"), "{message}");
}

impl Site {
    /// The check with `via = "cli"`: Django's own `showmigrations --plan` asked too.
    async fn shipgate_via_cli(&self, command: &str) -> (Outcome, String) {
        let toml = format!(
            "[[checks.pre]]\nname = \"django\"\ntimeout = \"60s\"\n[checks.pre.database]\nurl = \"sqlite://{}?mode=rwc\"\nmigrations = {{ framework = \"django\", dir = \"{}\", via = \"cli\", command = \"{command}\" }}\n",
            self.db.display(),
            self.dir.path().display()
        );
        let findings = run_with(&toml, &context(&[])).await;
        let f = by_name(&findings, "django");
        (f.outcome, f.message.clone())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn via_cli_asks_django_and_fails_when_the_files_disagree() {
    require("Django");
    let site = Site::new(|dir, settings| {
        retired_app(dir);
        settings
    });
    site.manage(&["migrate", "--no-input"]);
    let command = format!(
        "DB_ENGINE=sqlite DB_NAME={} python3 manage.py showmigrations --plan",
        site.db.display()
    );
    let (outcome, message) = site.shipgate_via_cli(&command).await;
    assert_eq!(outcome, Outcome::Pass, "{message}");
    assert!(message.contains("Django agrees"), "{message}");

    // Settings the file reader cannot read literally: it counts the retired app,
    // Django does not; the disagreement fails, naming both answers.
    unreadable_installed_apps(&site);
    let (outcome, message) = site.shipgate_via_cli(&command).await;
    assert_eq!(outcome, Outcome::Fail, "{message}");
    assert!(
        message.contains("the files say retired.0001_initial pending; Django says nothing"),
        "{message}"
    );

    // A command that fails is a failure, never a pass.
    let (outcome, message) = site
        .shipgate_via_cli("python3 manage.py no-such-command")
        .await;
    assert_eq!(outcome, Outcome::Fail, "{message}");
    assert!(message.contains("via = \"cli\""), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_leaf_under_latest_is_said_as_django_says_it() {
    require("Django");
    let site = Site::new(|dir, settings| {
        write(&dir.join("orders/__init__.py"), "");
        write(&dir.join("orders/migrations/__init__.py"), "");
        write(
            &dir.join("orders/migrations/0001_initial.py"),
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    dependencies = [(\"payments\", \"__latest__\")]\n    operations = []\n",
        );
        settings.replace("    \"billing\",\n", "    \"billing\",\n    \"orders\",\n")
    });
    site.manage(&["migrate", "--no-input"]);
    // A new leaf of payments: orders' `__latest__` now names it, unapplied. (Not
    // shop's: its squash is a leaf too, sorted first, and Django takes that.)
    site.manage(&["makemigrations", "payments", "--empty", "-n", "backfill"]);
    let refused = Command::new("python3")
        .args(["manage.py", "migrate", "--no-input"])
        .current_dir(site.dir.path())
        .env("DB_ENGINE", "sqlite")
        .env("DB_NAME", &site.db)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let said = text(&refused);
    assert!(!refused.status.success(), "Django refuses: {said}");
    assert!(said.contains("InconsistentMigrationHistory"), "{said}");
    let (outcome, _, message) = site.shipgate(&[]).await;
    assert_eq!(outcome, Outcome::Fail, "{message}");
    assert!(
        message.contains("InconsistentMigrationHistory")
            && message.contains("Migration orders.0001_initial is applied before its dependency payments.0001_backfill"),
        "{message}"
    );
}
