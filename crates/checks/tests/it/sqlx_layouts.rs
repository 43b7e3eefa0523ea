//! sqlx layouts the reader once passed while sqlx itself refused (issue #27): a
//! migration applied but missing from the directory, and a file whose name sqlx
//! cannot parse. The real sqlx migrator (sqlx-core, the code `sqlx migrate run` runs)
//! decides each case; shipgate must pass exactly when it would run cleanly.

use std::path::Path;

use shipgate_report::Outcome;
use sqlx::{AnyConnection, Connection};

use crate::{by_name, context, fixtures, run_with};

/// A directory holding the first `n` fixture migrations, and `extra` files.
pub(crate) fn migrations(n: usize, extra: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(fixtures().join("migrations/sqlx"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files.iter().take(n) {
        std::fs::copy(f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    for name in extra {
        std::fs::write(dir.path().join(name), "SELECT 1;\n").unwrap();
    }
    dir
}

/// What sqlx's migrator says of `dir` against `url`: Ok when it would run (and then
/// has run) cleanly, else its error.
async fn sqlx_says(url: &str, dir: &Path) -> Result<(), String> {
    sqlx::any::install_default_drivers();
    let migrator = sqlx::migrate::Migrator::new(dir)
        .await
        .map_err(|e| e.to_string())?;
    let mut conn = AnyConnection::connect(url).await.unwrap();
    let result = migrator.run(&mut conn).await.map_err(|e| e.to_string());
    conn.close().await.unwrap();
    result
}

async fn shipgate_says(url: &str, dir: &Path) -> (Outcome, String) {
    let toml = format!(
        "[[checks.pre]]\nname = \"sqlx\"\n[checks.pre.database]\nurl = \"{url}\"\nmigrations = {{ framework = \"sqlx\", dir = \"{}\" }}\n",
        dir.display()
    );
    let findings = run_with(&toml, &context(&[])).await;
    let f = by_name(&findings, "sqlx");
    (f.outcome, f.message.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn shipgate_passes_exactly_when_sqlx_would_run_cleanly() {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", db.path().join("app.db").display());
    let all = migrations(3, &[]);
    sqlx_says(&url, all.path()).await.unwrap();
    let (outcome, message) = shipgate_says(&url, all.path()).await;
    assert_eq!(outcome, Outcome::Pass, "{message}");

    // An older release's directory: one applied migration is missing from it.
    let older = migrations(2, &[]);
    let (outcome, message) = shipgate_says(&url, older.path()).await;
    let sqlx = sqlx_says(&url, older.path()).await;
    assert!(sqlx.is_err(), "sqlx refuses: {sqlx:?}");
    assert_eq!(
        outcome,
        Outcome::Fail,
        "sqlx said {sqlx:?}; shipgate: {message}"
    );
    assert!(message.contains("refuses"), "{message}");

    // Names sqlx cannot parse: it resolves nothing.
    for bad in ["v4_add_index.sql", "._0004_x.sql"] {
        let dir = migrations(3, &[bad]);
        let sqlx = sqlx_says(&url, dir.path()).await;
        assert!(sqlx.is_err(), "{bad}: sqlx refuses: {sqlx:?}");
        let (outcome, message) = shipgate_says(&url, dir.path()).await;
        assert_eq!(
            outcome,
            Outcome::Fail,
            "{bad}: sqlx said {sqlx:?}; shipgate: {message}"
        );
        assert!(message.contains(bad), "{message}");
    }

    // Names sqlx ignores: it runs cleanly, and so shipgate passes.
    let ignored = migrations(3, &["README", "notes.txt", "draft.sql"]);
    sqlx_says(&url, ignored.path()).await.unwrap();
    let (outcome, message) = shipgate_says(&url, ignored.path()).await;
    assert_eq!(outcome, Outcome::Pass, "{message}");
}
