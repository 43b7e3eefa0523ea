//! An operation resolved and guarded before anything changes (`prepare`), and the
//! watch layer's rollback built on it: unattended, it switches back only when the
//! database holds no migration the previous release lacks.

use std::path::Path;

use shipgate_deploy::{Artifact, DeployConfig, Driver, Ending, Hooks};
use shipgate_pipeline::{DeployRollback, ErrorKind, Intent, RollbackOf, Target, prepare};
use shipgate_watch::Rollback;

const CONFIG: &str = r#"
state_dir = "state"
timeout = "20s"
[driver]
type = "host"
root = "app"
source = "build"
[migrations]
framework = "sqlx"
dir = "migrations"
"#;

fn config() -> DeployConfig {
    toml::from_str(CONFIG).unwrap()
}

fn staging<'a>(config: &'a DeployConfig, site: &'a Path, driver: &'a dyn Driver) -> Target<'a> {
    Target {
        config,
        base: site,
        environment: "staging",
        driver,
    }
}

fn migration(site: &Path, name: &str, sql: &str) {
    let dir = site.join("build/migrations");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), sql).unwrap();
}

/// Deploys `release` (the build directory as it is now) through `prepare`.
async fn deploy(site: &Path, release: &str) {
    let config = config();
    let driver = shipgate_deploy::driver_for(&config, site).unwrap();
    let target = staging(&config, site, &*driver);
    let intent = Intent::Deploy {
        release: release.to_owned(),
        artifact: Artifact::version(release),
        promotion: None,
        skip: Vec::new(),
        force: false,
    };
    let prepared = prepare(&target, &intent, Hooks::default()).await.unwrap();
    assert_eq!(prepared.release, release);
    let http = shipgate_http::HttpClient::new(&Default::default()).unwrap();
    let outcome = shipgate_deploy::deploy(&prepared.context(&*driver, http, true))
        .await
        .unwrap();
    assert_eq!(outcome.ending, Ending::Deployed, "{:?}", outcome.findings);
}

async fn current(site: &Path) -> Option<String> {
    shipgate_deploy::driver_for(&config(), site)
        .unwrap()
        .current()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unattended_rollback_is_refused_past_any_new_migration_and_goes_ahead_without() {
    let site = tempfile::tempdir().unwrap();
    let site = site.path();
    migration(site, "0001_init.up.sql", "CREATE TABLE t (a int);");
    migration(site, "0001_init.down.sql", "DROP TABLE t;");
    deploy(site, "v1").await;
    migration(site, "0002_index.up.sql", "CREATE INDEX t_a ON t (a);");
    migration(site, "0002_index.down.sql", "DROP INDEX t_a;");
    deploy(site, "v2").await;

    let hook = DeployRollback {
        config: config(),
        base: site.to_owned(),
        environment: "staging".into(),
    };
    // 0002 can be undone, but nobody is there to run its down migration.
    let refused = hook.rollback("health").await.unwrap_err().to_string();
    assert!(refused.contains("not rolling back unattended"), "{refused}");
    assert!(refused.contains("(2)"), "{refused}");
    assert_eq!(
        current(site).await.as_deref(),
        Some("v2"),
        "nothing was changed"
    );

    // An operator's rollback to the same release is allowed: 0002 is reversible.
    let config = config();
    let driver = shipgate_deploy::driver_for(&config, site).unwrap();
    let target = staging(&config, site, &*driver);
    let attended = Intent::Rollback {
        of: RollbackOf::Application,
        to: "previous".into(),
        backup: None,
        force: false,
        unattended: false,
    };
    let prepared = prepare(&target, &attended, Hooks::default()).await.unwrap();
    assert_eq!(prepared.release, "v1");
    assert!(
        prepared.findings[0].message.contains("all reversible (2)"),
        "{:?}",
        prepared.findings
    );

    // v3 brings no migration v2 lacks: the unattended rollback to v2 goes ahead.
    std::fs::write(site.join("build/VERSION"), "3").unwrap();
    deploy(site, "v3").await;
    let done = hook.rollback("health").await.unwrap();
    assert!(done.starts_with("switched back to v2"), "{done}");
    assert_eq!(current(site).await.as_deref(), Some("v2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_to_roll_back_to_is_refused_as_nothing_changed() {
    let site = tempfile::tempdir().unwrap();
    let config = config();
    let driver = shipgate_deploy::driver_for(&config, site.path()).unwrap();
    let target = staging(&config, site.path(), &*driver);
    let intent = Intent::Rollback {
        of: RollbackOf::Application,
        to: "previous".into(),
        backup: None,
        force: false,
        unattended: false,
    };
    let e = prepare(&target, &intent, Hooks::default())
        .await
        .unwrap_err();
    assert!(e.changed_nothing(), "{e}");
    assert_eq!(e.kind(), ErrorKind::Deploy);
    let deploy = e.into_deploy().expect("the deployment layer's own error");
    assert_eq!(deploy.kind(), shipgate_deploy::ErrorKind::NothingToDo);
}
