//! Back up, change, restore, compare: against real PostgreSQL and MariaDB servers
//! (started by the testkit on free ports) and SQLite files; and a truncated or
//! corrupted backup found at verification, not at restore.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use shipgate_deploy::backup::{self, BackupConfig, Meta};
use shipgate_testkit::{MariaDb, Postgres};

const T: Duration = Duration::from_secs(60);

fn config(items: &str) -> BackupConfig {
    toml::from_str(&format!("dir = \"backups\"\nkeep = 2\n{items}")).unwrap()
}

fn meta(id: &str) -> Meta<'_> {
    Meta {
        id,
        environment: "staging",
        release: "v2",
        previous_release: Some("v1"),
    }
}

fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn psql(url: &str, sql: &str) -> String {
    sh(
        "psql",
        &["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
    )
}

fn mariadb(port: u16, sql: &str) -> String {
    sh(
        "mariadb",
        &[
            "-h",
            "127.0.0.1",
            "--protocol=TCP",
            "-P",
            &port.to_string(),
            "-u",
            "root",
            "-N",
            "-B",
            "test",
            "-e",
            sql,
        ],
    )
}

fn sqlite(db: &Path, sql: &str) -> String {
    sh("sqlite3", &[db.to_str().unwrap(), sql])
}

/// Cuts the file to half its size and rewrites the manifest's size and SHA-256 to
/// match, as a dump cut short by a full disk would look if its checksum had been
/// taken afterwards: only reading it back can tell.
fn truncate_consistently(dir: &Path, file: &str) {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let mut manifest = backup::manifest(dir).unwrap();
    let item = manifest.items.iter_mut().find(|i| i.file == file).unwrap();
    let (size, sha) = {
        use sha2::Digest;
        let half = &bytes[..bytes.len() / 2];
        (half.len() as u64, hex::encode(sha2::Sha256::digest(half)))
    };
    item.size = size;
    item.sha256 = sha;
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string(&manifest).unwrap(),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_backup_restores_the_data_exactly_and_a_bad_one_is_caught() {
    let pg = Postgres::start().unwrap();
    let url = pg.url();
    psql(
        &url,
        "CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2), note text)",
    );
    psql(
        &url,
        "INSERT INTO orders SELECT g, g * 1.5, 'n' || g FROM generate_series(1, 500) g",
    );
    let before = psql(&url, "SELECT * FROM orders ORDER BY id");
    let site = tempfile::tempdir().unwrap();
    let cfg = config(&format!(
        "[[items]]\nname = \"main\"\ntype = \"postgres\"\nurl = \"{url}\"\ntables = [\"orders\"]"
    ));
    let m = backup::take(&cfg, site.path(), &meta("d1"), T)
        .await
        .unwrap();
    assert_eq!(m.items[0].tables, ["orders"]);
    assert_eq!(m.previous_release.as_deref(), Some("v1"));
    assert_eq!(m.items[0].sha256.len(), 64);

    // The migration and the writes a rollback undoes.
    psql(&url, "ALTER TABLE orders DROP COLUMN note");
    psql(&url, "DELETE FROM orders WHERE id > 100");
    let dir = site.path().join("backups/d1");
    backup::restore(&cfg, site.path(), &dir, T).await.unwrap();
    assert_eq!(psql(&url, "SELECT * FROM orders ORDER BY id"), before);

    // Truncated, with a checksum to match: pg_restore cannot read it back.
    truncate_consistently(&dir, "main.pgdump");
    let e = backup::verify(&cfg, &dir, T).await.unwrap_err();
    assert!(
        shipgate_report::error_line(&e).contains("pg_restore"),
        "{e}"
    );
    // A backup missing an expected table fails at take, and leaves no manifest.
    let cfg = config(&format!(
        "[[items]]\nname = \"main\"\ntype = \"postgres\"\nurl = \"{url}\"\ntables = [\"invoices\"]"
    ));
    let e = backup::take(&cfg, site.path(), &meta("d2"), T)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("\"invoices\""), "{e}");
    assert!(!site.path().join("backups/d2").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_backup_restores_the_data_exactly_and_a_bad_one_is_caught() {
    let db = MariaDb::start().unwrap();
    let port = db.port();
    mariadb(
        port,
        "CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2), note VARCHAR(50))",
    );
    mariadb(
        port,
        "INSERT INTO orders SELECT seq, seq * 1.5, CONCAT('n', seq) FROM seq_1_to_500",
    );
    let before = mariadb(port, "SELECT * FROM orders ORDER BY id");
    let site = tempfile::tempdir().unwrap();
    let url = db.url();
    let cfg = config(&format!(
        "[[items]]\nname = \"main\"\ntype = \"mariadb\"\nurl = \"{url}\"\ntables = [\"orders\"]"
    ));
    backup::take(&cfg, site.path(), &meta("d1"), T)
        .await
        .unwrap();
    mariadb(port, "ALTER TABLE orders DROP COLUMN note");
    mariadb(port, "DELETE FROM orders WHERE id > 100");
    mariadb(port, "CREATE TABLE added_later (id INT)");
    let dir = site.path().join("backups/d1");
    backup::restore(&cfg, site.path(), &dir, T).await.unwrap();
    assert_eq!(mariadb(port, "SELECT * FROM orders ORDER BY id"), before);
    assert_eq!(mariadb(port, "SHOW TABLES"), "orders\n");

    truncate_consistently(&dir, "main.sql");
    let e = backup::verify(&cfg, &dir, T).await.unwrap_err();
    assert!(e.to_string().contains("incomplete"), "{e}");
    let e = backup::restore(&cfg, site.path(), &dir, T)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("incomplete"), "{e}");
    assert_eq!(
        mariadb(port, "SELECT COUNT(*) FROM orders"),
        "500\n",
        "nothing restored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_and_files_backups_restore_exactly_and_corruption_is_caught() {
    let site = tempfile::tempdir().unwrap();
    let db = site.path().join("db.sqlite3");
    sqlite(
        &db,
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL, note TEXT)",
    );
    sqlite(
        &db,
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 500) INSERT INTO orders SELECT n, n * 1.5, 'n' || n FROM g",
    );
    let before = sqlite(&db, "SELECT * FROM orders ORDER BY id");
    std::fs::create_dir_all(site.path().join("media/avatars")).unwrap();
    std::fs::write(site.path().join("media/avatars/a.png"), b"\x89PNG one").unwrap();
    let cfg = config(
        "[[items]]\nname = \"db\"\ntype = \"sqlite\"\npath = \"db.sqlite3\"\ntables = [\"orders\"]\n\
         [[items]]\nname = \"media\"\ntype = \"files\"\npath = \"media\"\ntables = [\"media/avatars/a.png\"]",
    );
    backup::take(&cfg, site.path(), &meta("d1"), T)
        .await
        .unwrap();
    sqlite(&db, "DELETE FROM orders WHERE id > 10");
    std::fs::write(site.path().join("media/avatars/a.png"), b"changed").unwrap();
    std::fs::write(site.path().join("media/new.txt"), b"new").unwrap();
    let dir = site.path().join("backups/d1");
    backup::restore(&cfg, site.path(), &dir, T).await.unwrap();
    assert_eq!(sqlite(&db, "SELECT * FROM orders ORDER BY id"), before);
    assert_eq!(
        std::fs::read(site.path().join("media/avatars/a.png")).unwrap(),
        b"\x89PNG one"
    );
    assert!(!site.path().join("media/new.txt").exists());

    // A flipped byte: the checksum says so before anything is read.
    let file = dir.join("db.sqlite3");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[4096 + 100] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let e = backup::verify(&cfg, &dir, T).await.unwrap_err();
    assert!(e.to_string().contains("does not match its manifest"), "{e}");
    // Truncated with a matching checksum: SQLite's own check catches it.
    let tmp = tempfile::tempdir().unwrap();
    backup::take(&cfg, site.path(), &meta("d2"), T)
        .await
        .unwrap();
    let dir2 = site.path().join("backups/d2");
    truncate_consistently(&dir2, "db.sqlite3");
    assert!(backup::verify(&cfg, &dir2, T).await.is_err());
    drop(tmp);
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_keeps_the_newest_and_what_a_rollback_needs() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("media")).unwrap();
    std::fs::write(site.path().join("media/x"), b"x").unwrap();
    let cfg = config("[[items]]\nname = \"media\"\ntype = \"files\"\npath = \"media\"");
    for id in ["d1", "d2", "d3", "d4"] {
        backup::take(&cfg, site.path(), &meta(id), T).await.unwrap();
    }
    // An unfinished one (no manifest) is not a backup.
    std::fs::create_dir_all(site.path().join("backups/d5")).unwrap();
    let removed = backup::prune(&cfg, site.path(), &["d1"]).await.unwrap();
    assert_eq!(removed, ["d2"]);
    let left: Vec<String> = backup::list(&cfg, site.path())
        .unwrap()
        .into_iter()
        .map(|(_, m)| m.id)
        .collect();
    assert_eq!(left, ["d1", "d3", "d4"]);
}
