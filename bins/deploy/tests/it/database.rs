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
