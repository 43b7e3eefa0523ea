use std::path::Path;
use std::time::{Duration, Instant};

use shipgate_report::{Finding, Outcome};
use shipgate_testkit::{BlackHole, MariaDb, Postgres, RefusingPort};
use sqlx::{AnyConnection, Connection};

use crate::{by_name, context, run_with};

pub(crate) async fn exec(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.unwrap();
}

/// Applies the first `n` sqlx fixture migrations with sqlx's own migrator.
async fn sqlx_migrate(url: &str, n: usize) {
    let dir = crate::sqlx_layouts::migrations(n, &[]);
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await.unwrap();
    sqlx::migrate::Migrator::new(dir.path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

fn check(name: &str, url: &str, framework: &str, dir: &str) -> String {
    format!(
        "[[checks.pre]]\nname = \"{name}\"\n[checks.pre.database]\nurl = \"{url}\"\nmigrations = {{ framework = \"{framework}\", dir = \"{dir}\" }}\n"
    )
}

async fn run(text: &str) -> Vec<Finding> {
    run_with(text, &context(&[])).await
}

fn assert_pending(findings: &[Finding], name: &str, pending: &str) {
    let f = by_name(findings, name);
    assert_eq!(f.outcome, Outcome::Fail, "{f:#?}");
    assert_eq!(
        f.details.get("pending").map(String::as_str),
        Some(pending),
        "{f:#?}"
    );
}

#[tokio::test]
async fn postgresql_sqlx_django_and_alembic() {
    let pg = Postgres::start().expect("PostgreSQL");
    for db in ["sqlx_ok", "sqlx_pending", "sqlx_bad", "django", "alembic"] {
        exec(&pg.url(), &format!("CREATE DATABASE {db}")).await;
    }
    sqlx_migrate(&pg.url_for("sqlx_ok"), 3).await;
    sqlx_migrate(&pg.url_for("sqlx_pending"), 2).await;
    sqlx_migrate(&pg.url_for("sqlx_bad"), 3).await;
    exec(
        &pg.url_for("sqlx_bad"),
        "UPDATE _sqlx_migrations SET success = false WHERE version = 20260103000000",
    )
    .await;
    exec(
        &pg.url_for("sqlx_bad"),
        "UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = 20260101000000",
    )
    .await;
    exec(
        &pg.url_for("django"),
        "CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255) NOT NULL, name varchar(255) NOT NULL, applied timestamptz NOT NULL DEFAULT now());
         INSERT INTO django_migrations (app, name) VALUES ('accounts', '0001_initial'), ('courses', '0001_initial');",
    )
    .await;
    exec(&pg.url_for("alembic"), "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY); INSERT INTO alembic_version VALUES ('2b3c4d5e6f7a');").await;

    let text = [
        check("sqlx ok", &pg.url_for("sqlx_ok"), "sqlx", "migrations/sqlx"),
        check(
            "sqlx pending",
            &pg.url_for("sqlx_pending"),
            "sqlx",
            "migrations/sqlx",
        ),
        check(
            "sqlx failed and changed",
            &pg.url_for("sqlx_bad"),
            "sqlx",
            "migrations/sqlx",
        ),
        check(
            "django",
            &pg.url_for("django"),
            "django",
            "migrations/django",
        ),
        check(
            "alembic",
            &pg.url_for("alembic"),
            "alembic",
            "migrations/alembic/versions",
        ),
        check("no migrations yet", &pg.url(), "sqlx", "migrations/sqlx"),
        // The testkit's server allows 60 connections.
        format!("[[checks.pre]]\nname = \"pool ok\"\ndatabase = {{ url = \"{}\", pool_size = 10, instances = 4 }}\n", pg.url()),
        format!("[[checks.pre]]\nname = \"pool tight\"\ndatabase = {{ url = \"{}\", pool_size = 10, instances = 5 }}\n", pg.url()),
        format!("[[checks.pre]]\nname = \"pool over\"\ndatabase = {{ url = \"{}\", pool_size = 20, instances = 4 }}\n", pg.url()),
    ]
    .concat();
    let findings = run(&text).await;
    let ok = by_name(&findings, "sqlx ok");
    assert_eq!(ok.outcome, Outcome::Pass, "{ok:#?}");
    assert!(
        ok.message.contains("3 migrations, all applied")
            && ok.details["version"].starts_with("PostgreSQL"),
        "{ok:#?}"
    );
    assert_pending(&findings, "sqlx pending", "20260103000000");
    let bad = by_name(&findings, "sqlx failed and changed");
    assert!(
        bad.message
            .contains("failed sqlx migration(s) recorded: 20260103000000"),
        "{}",
        bad.message
    );
    assert!(
        bad.message
            .contains("changed on disk since: 20260101000000"),
        "{}",
        bad.message
    );
    assert_pending(&findings, "django", "courses.0002_course_level");
    assert!(
        by_name(&findings, "django")
            .recommendation
            .as_deref()
            .unwrap()
            .contains("manage.py migrate")
    );
    assert_pending(&findings, "alembic", "3c4d5e6f7a8b");
    assert_pending(
        &findings,
        "no migrations yet",
        "20260101000000,20260102000000,20260103000000",
    );
    assert_eq!(
        by_name(&findings, "pool ok").outcome,
        Outcome::Pass,
        "{:#?}",
        by_name(&findings, "pool ok")
    );
    assert_eq!(by_name(&findings, "pool tight").outcome, Outcome::Warn);
    let over = by_name(&findings, "pool over");
    assert_eq!(over.outcome, Outcome::Fail);
    assert!(
        over.message
            .contains("80 connections, over the server's max_connections 60"),
        "{}",
        over.message
    );
}

#[tokio::test]
async fn mariadb_golang_migrate_flyway_liquibase_and_sqlx() {
    let db = MariaDb::start().expect("MariaDB");
    for name in ["gm", "flyway", "lb", "sx"] {
        exec(&db.url(), &format!("CREATE DATABASE {name}")).await;
    }
    exec(&db.url_for("gm"), "CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, dirty BOOLEAN NOT NULL); INSERT INTO schema_migrations VALUES (2, true);").await;
    exec(
        &db.url_for("flyway"),
        "CREATE TABLE flyway_schema_history (installed_rank INT PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, execution_time INT NOT NULL, success BOOLEAN NOT NULL);
         INSERT INTO flyway_schema_history VALUES (1, '1', 'create users', 'SQL', 'V1__create_users.sql', 1, 'ci', NOW(), 5, true), (2, '1.1', 'add email', 'SQL', 'V1_1__add_email.sql', 2, 'ci', NOW(), 5, false);",
    )
    .await;
    exec(
        &db.url_for("lb"),
        "CREATE TABLE databasechangelog (id VARCHAR(255) NOT NULL, author VARCHAR(255) NOT NULL, filename VARCHAR(255) NOT NULL, dateexecuted DATETIME NOT NULL, orderexecuted INT NOT NULL, exectype VARCHAR(10) NOT NULL);
         INSERT INTO databasechangelog VALUES ('1', 'alice', 'changelog.sql', NOW(), 1, 'EXECUTED'), ('2', 'alice', 'changelog.sql', NOW(), 2, 'EXECUTED');",
    )
    .await;
    sqlx_migrate(&db.url_for("sx"), 3).await;

    let wrong_password = db.url().replace("root@", "root:wrong-password@");
    let text = [
        check("golang-migrate", &db.url_for("gm"), "golang-migrate", "migrations/golang-migrate"),
        check("flyway", &db.url_for("flyway"), "flyway", "migrations/flyway"),
        check("liquibase", &db.url_for("lb"), "liquibase", "migrations/liquibase"),
        check("sqlx", &db.url_for("sx"), "sqlx", "migrations/sqlx"),
        format!("[[checks.pre]]\nname = \"wrong password\"\ndatabase = {{ url = \"{wrong_password}\" }}\n"),
    ]
    .concat();
    let findings = run(&text).await;
    let gm = by_name(&findings, "golang-migrate");
    assert!(
        gm.message.contains("golang-migrate version 2 is dirty"),
        "{}",
        gm.message
    );
    assert_eq!(
        gm.details.get("pending").map(String::as_str),
        Some("3_create_orders")
    );
    let flyway = by_name(&findings, "flyway");
    assert!(
        flyway
            .message
            .contains("failed Flyway migration(s) recorded: 1.1"),
        "{}",
        flyway.message
    );
    assert_eq!(flyway.details.get("pending").map(String::as_str), Some("2"));
    assert_pending(&findings, "liquibase", "bob:3");
    let sqlx = by_name(&findings, "sqlx");
    assert_eq!(sqlx.outcome, Outcome::Pass, "{sqlx:#?}");
    assert!(sqlx.details["version"].contains("MariaDB"));
    let denied = by_name(&findings, "wrong password");
    assert_eq!(denied.outcome, Outcome::Fail);
    assert!(
        denied.message.contains("Access denied"),
        "{}",
        denied.message
    );
    assert!(
        !denied.message.contains("wrong-password"),
        "the password is not echoed: {}",
        denied.message
    );
}

#[tokio::test]
async fn sqlite_sqlx_rails_and_diesel() {
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
    sqlx_migrate(&url("sqlx.db"), 1).await;
    exec(&url("rails.db"), "CREATE TABLE schema_migrations (version VARCHAR NOT NULL PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20250101000000'), ('20260101120000');").await;
    exec(&url("diesel.db"), "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP); INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000'), ('20260101120000'), ('20260102120000');").await;
    let text = [
        check("sqlx", &url("sqlx.db"), "sqlx", "migrations/sqlx"),
        check(
            "rails",
            &url("rails.db"),
            "rails",
            "migrations/rails/db/migrate",
        ),
        check("diesel", &url("diesel.db"), "diesel", "migrations/diesel"),
    ]
    .concat();
    let findings = run(&text).await;
    assert_pending(&findings, "sqlx", "20260102000000,20260103000000");
    let rails = by_name(&findings, "rails");
    assert_eq!(
        rails.details.get("pending").map(String::as_str),
        Some("20260102120000")
    );
    assert!(
        rails.message.contains("does not know: 20250101000000"),
        "{}",
        rails.message
    );
    let diesel = by_name(&findings, "diesel");
    assert_eq!(diesel.outcome, Outcome::Pass, "{diesel:#?}");
    assert!(
        diesel.details["version"].starts_with('3'),
        "SQLite 3.x: {:?}",
        diesel.details
    );
    assert!(Path::new(&dir.path().join("diesel.db")).exists());
}

#[tokio::test]
async fn a_server_down_or_black_holed_fails_in_time() {
    let down = RefusingPort::new().addr();
    let hole = BlackHole::start().unwrap();
    let text = format!(
        "[[checks.pre]]\nname = \"down\"\ndatabase = {{ url = \"postgres://app:pw@{down}/app\" }}\n\
         [[checks.pre]]\nname = \"black hole\"\ntimeout = \"500ms\"\ndatabase = {{ url = \"postgres://app:pw@{}/app\" }}\n",
        hole.addr()
    );
    let start = Instant::now();
    let findings = run(&text).await;
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    let down = by_name(&findings, "down");
    assert_eq!(down.outcome, Outcome::Fail);
    assert!(down.message.contains("cannot connect"), "{}", down.message);
    let hole = by_name(&findings, "black hole");
    assert_eq!(hole.outcome, Outcome::Fail);
    assert!(
        hole.message.contains("no result within 500ms"),
        "{}",
        hole.message
    );
}
