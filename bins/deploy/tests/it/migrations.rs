//! An application rollback past migrations the older release does not know: refused
//! with the choices when they cannot be undone, allowed when they can.

use crate::{Site, text};

const MIGRATIONS: &str = r#"
[deploy.migrations]
framework = "sqlx"
dir = "migrations"
"#;

fn add(site: &Site, name: &str, sql: &str) {
    let dir = site.path().join("build/migrations");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), sql).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_past_an_irreversible_migration_is_refused_with_the_choices() {
    let site = Site::new(MIGRATIONS).await;
    add(
        &site,
        "0001_init.up.sql",
        "CREATE TABLE orders (id int, note text);",
    );
    add(&site, "0001_init.down.sql", "DROP TABLE orders;");
    site.deployed("v1").await;
    add(
        &site,
        "0002_index.up.sql",
        "CREATE INDEX orders_id ON orders (id);",
    );
    add(&site, "0002_index.down.sql", "DROP INDEX orders_id;");
    site.deployed("v2").await;

    // v2 → v1: v1 does not know 0002, which has its down migration: allowed.
    let out = site.run("staging", &["rollback", "--to", "v1"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("all reversible (2)"), "{stdout}");
    assert_eq!(site.current().as_deref(), Some("v1"));

    // v3 drops a column in a migration with no way back.
    add(
        &site,
        "0003_drop_note.sql",
        "ALTER TABLE orders DROP COLUMN note;",
    );
    site.deployed("v3").await;
    let out = site.run("staging", &["rollback", "--to", "v2"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "cannot be undone",
        "3 (",
        "a simple sqlx migration",
        "destroys data: ALTER TABLE ORDERS DROP COLUMN NOTE",
        "rollback full --to v2",
        "--force",
        "nothing was changed",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    assert_eq!(site.current().as_deref(), Some("v3"), "nothing changed");

    // A reversible but destructive one is refused too: reversing restores the column,
    // not what was in it.
    add(
        &site,
        "0004_drop_id.up.sql",
        "ALTER TABLE orders DROP COLUMN id;",
    );
    add(
        &site,
        "0004_drop_id.down.sql",
        "ALTER TABLE orders ADD COLUMN id int;",
    );
    site.deployed("v4").await;
    let out = site.run("staging", &["rollback", "--to", "v3"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 ("));

    // --force: the application goes back, the report says the schema stays ahead.
    let out = site
        .run("staging", &["rollback", "--to", "v3", "--force"], &[])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--force: the schema stays"));
    assert_eq!(site.current().as_deref(), Some("v3"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_protected_deployment_proves_first_that_it_could_be_rolled_back() {
    let site = Site::new(&format!("protected = [\"production\"]\n{MIGRATIONS}")).await;
    let confirm = ["--confirm", "production"];
    add(&site, "0001_init.up.sql", "CREATE TABLE orders (id int);");
    add(&site, "0001_init.down.sql", "DROP TABLE orders;");
    let out = site
        .run(
            "production",
            &[&["deploy", "--release", "v1"][..], &confirm].concat(),
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // v2 brings a migration with no way back, and nothing backs the database up.
    add(&site, "0002_fill.sql", "UPDATE orders SET id = id + 1;");
    let out = site
        .run(
            "production",
            &[&["deploy", "--release", "v2"][..], &confirm].concat(),
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a rollback of v2 could not be proved: new migrations 2 cannot be undone"),
        "{stderr}"
    );
    assert_eq!(site.current().as_deref(), Some("v1"));
    assert_eq!(site.count("migrations.log", "migrate v2"), 0);

    let out = site
        .run(
            "production",
            &[&["deploy", "--release", "v2", "--force"][..], &confirm].concat(),
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--force: new migrations 2"));
    assert_eq!(site.current().as_deref(), Some("v2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_database_url_the_tracking_table_says_what_is_applied() {
    let site = Site::new("").await;
    let db = site.path().join("db.sqlite3");
    let config = std::fs::read_to_string(site.path().join("shipgate.toml")).unwrap();
    let config = format!(
        "{config}\n[deploy.migrations]\nframework = \"sqlx\"\ndir = \"migrations\"\nurl = \"sqlite://{}\"\n",
        db.display()
    );
    std::fs::write(site.path().join("shipgate.toml"), config).unwrap();
    let sql = |q: &str| {
        let out = std::process::Command::new("sqlite3")
            .arg(&db)
            .arg(q)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sql(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT, installed_on TEXT, success BOOLEAN, checksum BLOB, execution_time BIGINT)",
    );
    let applied = |v: u32| {
        sql(&format!(
            "INSERT INTO _sqlx_migrations VALUES ({v}, 'm', '', 1, x'00', 0)"
        ));
    };
    add(&site, "0001_init.up.sql", "CREATE TABLE orders (id int);");
    add(&site, "0001_init.down.sql", "DROP TABLE orders;");
    site.deployed("v1").await;
    applied(1);
    add(&site, "0002_index.up.sql", "CREATE INDEX i ON orders (id);");
    add(&site, "0002_index.down.sql", "DROP INDEX i;");
    site.deployed("v2").await;
    applied(2);
    // A hotfix applied by hand: no release here has its file.
    applied(3);

    let out = site.run("staging", &["rollback", "--to", "v1"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3 ((no release here has its file))"),
        "{stderr}"
    );
    assert!(
        stderr.contains("whether it can be undone is unknown"),
        "{stderr}"
    );
    assert!(stderr.contains("(reversible: 2)"), "{stderr}");
    assert_eq!(site.current().as_deref(), Some("v2"));

    sql("DELETE FROM _sqlx_migrations WHERE version = 3");
    let out = site.run("staging", &["rollback", "--to", "v1"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.current().as_deref(), Some("v1"));
}
