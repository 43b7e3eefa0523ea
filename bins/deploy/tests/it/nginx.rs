//! The nginx driver's undo paths, behind a real nginx: the rollback guard compares
//! migrations from the releases' files (or refuses: it never passes unable to
//! compare), and `scale_down_delay` neither holds the deployment nor its lock.

use std::time::Duration;

use crate::bluegreen::BlueGreen;
use crate::text;

/// v1 creates a table (reversible); v2 drops a column with no way back.
fn builds(bg: &BlueGreen) {
    let root = bg.site.path().join("builds");
    for (release, files) in [
        (
            "v1",
            &[
                (
                    "0001_init.up.sql",
                    "CREATE TABLE orders (id int, note text);",
                ),
                ("0001_init.down.sql", "DROP TABLE orders;"),
            ][..],
        ),
        (
            "v2",
            &[
                (
                    "0001_init.up.sql",
                    "CREATE TABLE orders (id int, note text);",
                ),
                ("0001_init.down.sql", "DROP TABLE orders;"),
                ("0002_drop_note.sql", "ALTER TABLE orders DROP COLUMN note;"),
            ][..],
        ),
    ] {
        let dir = root.join(release).join("migrations");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, sql) in files {
            std::fs::write(dir.join(name), sql).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rollback_guard_compares_the_releases_files_or_refuses() {
    // Without `releases`, the guard has nothing to compare: refused, not passed.
    let bg = BlueGreen::start(
        "[deploy.migrations]\nframework = \"sqlx\"\ndir = \"migrations\"",
        "",
    );
    builds(&bg);
    for release in ["v1", "v2"] {
        let (out, _) = bg.run(&["deploy", "--release", release]).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let (out, _) = bg.run(&["rollback", "--to", "v1"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "cannot be compared",
        "releases = \"builds/{release}\"",
        "--force",
        "nothing was changed",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    assert_eq!(bg.serving().await, "v2");

    // With it, the same rollback past the irreversible 0002 is refused as the host
    // driver refuses it, naming the migration and the choices.
    let config = bg.site.path().join("shipgate.toml");
    let text_now = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_now.replace(
            "dir = \"migrations\"",
            "dir = \"migrations\"\nreleases = \"builds/{release}\"",
        ),
    )
    .unwrap();
    let (out, _) = bg.run(&["rollback", "--to", "v1"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "cannot be undone",
        "2 (",
        "DROP COLUMN",
        "rollback full --to v1",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    assert_eq!(bg.serving().await, "v2");

    // --force: the application goes back, and the report says the schema stays.
    let (out, _) = bg.run(&["rollback", "--to", "v1", "--force"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--force: the schema stays"));
    assert_eq!(bg.serving().await, "v1");
    bg.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn scale_down_delay_keeps_the_old_slot_without_holding_the_deployment_or_the_lock() {
    let delay = Duration::from_secs(1);
    let bg = BlueGreen::start("", "scale_down_delay = \"1s\"");
    let (out, _) = bg.run(&["deploy", "--release", "v1"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (out, took) = bg.run(&["deploy", "--release", "v2"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        took < delay,
        "the deployment waited for the delay: {took:?}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("kept for an instant rollback"),
        "{}",
        text(&out)
    );
    let (status, _) = bg.run(&["status"]).await;
    assert!(String::from_utf8_lossy(&status.stdout).starts_with("lock: free"));

    // Within the delay: the instant rollback the old slot was kept for.
    let (out, took) = bg.run(&["rollback"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(took < delay, "{took:?}");
    assert_eq!(bg.serving().await, "v1");

    // Nothing stops before its time; after it, `gc` stops the slot kept (v2's).
    let (out, _) = bg.run(&["gc"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to stop"));
    let running = bg.slots.pids().len();
    // tidy: the delay under test has to pass
    tokio::time::sleep(delay + Duration::from_millis(100)).await;
    let (out, _) = bg.run(&["gc"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("stopped v2"), "{stdout}");
    assert_eq!(bg.serving().await, "v1");
    let alive = shipgate_testkit::running_after_wait(&bg.slots.pids()).len();
    assert!(alive < running, "{alive} of {running} slots still run");

    // Plain `rollback` still knows the previous release from the journals, and starts
    // its slot again.
    let (out, _) = bg.run(&["rollback"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(bg.serving().await, "v2");
    bg.stop();
}
