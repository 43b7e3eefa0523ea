//! Backups taken by the deployment itself, and `rollback database|full` restoring
//! them: SQLite here (the library's tests cover PostgreSQL and MariaDB).

use std::process::Command;

use crate::{Site, text};

const BACKUP: &str = r#"
[deploy.backup]
dir = "backups"
items = [{ name = "db", type = "sqlite", path = "db.sqlite3", tables = ["orders"] }]
"#;

fn sql(site: &Site, query: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(site.path().join("db.sqlite3"))
        .arg(query)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_deployment_backs_up_first_and_rollback_database_or_full_restores_it() {
    let site = Site::with(
        BACKUP,
        "sqlite3 db.sqlite3 \\\"INSERT INTO orders VALUES ('$SHIPGATE_RELEASE')\\\"",
    )
    .await;
    sql(
        &site,
        "CREATE TABLE orders (note TEXT); INSERT INTO orders VALUES ('a'), ('b')",
    );
    site.deployed("v1").await;
    site.deployed("v2").await;
    assert_eq!(
        sql(&site, "SELECT group_concat(note) FROM orders"),
        "a,b,v1,v2"
    );
    let backups: Vec<_> = std::fs::read_dir(site.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 2);
    for dir in &backups {
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["schema"], "shipgate.backup/v1");
        assert_eq!(manifest["items"][0]["tables"][0], "orders");
    }

    // The database alone: back to before v2's migration; v2 still serves.
    let out = site.run("staging", &["rollback", "database"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("writes since then are lost"), "{stdout}");
    // Nothing says whether v2 changed the schema: the report says so, and offers full.
    assert!(stdout.contains("holds the schema of v1"), "{stdout}");
    assert!(
        stdout.contains("rollback full --to v1 --backup"),
        "{stdout}"
    );
    assert_eq!(
        sql(&site, "SELECT group_concat(note) FROM orders"),
        "a,b,v1"
    );
    assert_eq!(site.current().as_deref(), Some("v2"));

    // Full: the application first, then the same backup.
    sql(&site, "INSERT INTO orders VALUES ('late')");
    let out = site.run("staging", &["rollback", "full"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.current().as_deref(), Some("v1"));
    assert_eq!(
        sql(&site, "SELECT group_concat(note) FROM orders"),
        "a,b,v1"
    );
    let story = site.story("staging");
    let at = |e: &str| story.iter().position(|s| s == e).unwrap();
    assert!(
        at("step_done:release") < at("step_done:restore"),
        "{story:?}"
    );

    // A corrupted backup is refused before anything is restored.
    let latest = site
        .path()
        .join("backups")
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let file = latest.join("db.sqlite3");
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len() - 1;
    bytes[n] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let out = site.run("staging", &["rollback", "database"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("does not match its manifest"));
    assert_eq!(
        sql(&site, "SELECT group_concat(note) FROM orders"),
        "a,b,v1"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn backups_beyond_retention_go_after_a_successful_deployment() {
    let site = Site::new(&BACKUP.replace("dir = \"backups\"", "dir = \"backups\"\nkeep = 2")).await;
    sql(&site, "CREATE TABLE orders (note TEXT)");
    for release in ["v1", "v2", "v3", "v4"] {
        site.deployed(release).await;
    }
    let mut left: Vec<String> = std::fs::read_dir(site.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left[0].ends_with("-v3") && left[1].ends_with("-v4"),
        "{left:?}"
    );
}

/// Cuts `file` in a backup directory to `len` bytes and rewrites the manifest's size
/// and SHA-256 to match: a dump cut short whose checksum was taken afterwards, so only
/// reading it back can tell.
fn cut_consistently(dir: &std::path::Path, file: &str, len: usize) {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).unwrap();
    let cut = &bytes[..len];
    std::fs::write(&path, cut).unwrap();
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let digest = Command::new("sha256sum").arg(&path).output().unwrap();
    let sha = String::from_utf8_lossy(&digest.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    manifest["items"][0]["size"] = serde_json::json!(cut.len());
    manifest["items"][0]["sha256"] = serde_json::json!(sha);
    std::fs::write(manifest_path, manifest.to_string()).unwrap();
}

const SQLX: &str = r#"
[deploy.migrations]
framework = "sqlx"
dir = "migrations"
"#;

/// The release's migration files, and what its migrate step applies.
fn release(site: &Site, files: &[(&str, &str)], apply: &str) {
    let dir = site.path().join("build/migrations");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, sql) in files {
        std::fs::write(dir.join(name), sql).unwrap();
    }
    std::fs::write(site.path().join("build/apply.sql"), apply).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_database_refuses_to_leave_the_serving_release_on_an_older_schema() {
    let site = Site::with(
        &format!("{BACKUP}{SQLX}"),
        "sqlite3 db.sqlite3 < build/apply.sql",
    )
    .await;
    // The first deployment backs up a database that has no table yet.
    release(
        &site,
        &[
            ("0001_init.up.sql", "CREATE TABLE orders (note TEXT);"),
            ("0001_init.down.sql", "DROP TABLE orders;"),
        ],
        "CREATE TABLE IF NOT EXISTS orders (note TEXT); INSERT INTO orders VALUES ('v1');",
    );
    site.deployed("v1").await;
    // v2 adds a column its code needs.
    release(
        &site,
        &[
            (
                "0002_total.up.sql",
                "ALTER TABLE orders ADD COLUMN total int;",
            ),
            (
                "0002_total.down.sql",
                "ALTER TABLE orders DROP COLUMN total;",
            ),
        ],
        "ALTER TABLE orders ADD COLUMN total int; INSERT INTO orders VALUES ('v2', 2);",
    );
    site.deployed("v2").await;

    let out = site.run("staging", &["rollback", "database"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "holds the schema of v1",
        "v2 serves now and needs migrations it lacks (2)",
        "rollback full --to v1 --backup",
        "--force",
        "nothing was changed",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    assert_eq!(sql(&site, "SELECT group_concat(note) FROM orders"), "v1,v2");

    // --force restores it and says what v2 now runs on.
    let out = site
        .run("staging", &["rollback", "database", "--force"], &[])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("--force: v2 keeps serving on backup"),
        "{stdout}"
    );
    assert_eq!(sql(&site, "SELECT group_concat(note) FROM orders"), "v1");
    assert_eq!(site.current().as_deref(), Some("v2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_backup_one_byte_short_is_refused_before_anything_is_restored() {
    let site = Site::with(
        BACKUP,
        "sqlite3 db.sqlite3 \\\"INSERT INTO orders VALUES ('$SHIPGATE_RELEASE')\\\"",
    )
    .await;
    sql(
        &site,
        "CREATE TABLE orders (note TEXT); \
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000) \
         INSERT INTO orders SELECT 'order ' || n FROM g",
    );
    site.deployed("v1").await;
    site.deployed("v2").await;
    let latest = site
        .path()
        .join("backups")
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let size = std::fs::metadata(latest.join("db.sqlite3")).unwrap().len() as usize;
    cut_consistently(&latest, "db.sqlite3", size - 1);
    // SQLite's own check still says ok.
    let check = Command::new("sqlite3")
        .arg(latest.join("db.sqlite3"))
        .arg("PRAGMA integrity_check")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "ok");
    let before = sql(&site, "SELECT count(*) FROM orders");
    let out = site.run("staging", &["rollback", "database"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cut short"), "{stdout}");
    assert_eq!(sql(&site, "SELECT count(*) FROM orders"), before);
}
