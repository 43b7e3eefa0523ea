//! SIGKILL at every journal record and in the middle of migrate and release: `resume`
//! ends deployed, `abort` ends at the previous release, and nothing that took effect
//! is done twice.

use std::os::unix::process::ExitStatusExt;

use crate::{Site, text};

/// A deployment of v2 over v1 writes 10 records: started, build ×2, migrate ×2,
/// release ×2, health ×2, finished.
const RECORDS: usize = 10;

async fn crashed_after(n: usize) -> Site {
    let site = Site::new("").await;
    site.deployed("v1").await;
    let out = site
        .run(
            "staging",
            &["deploy", "--release", "v2"],
            &[("SHIPGATE_DEPLOY_CRASH_AFTER", &n.to_string())],
        )
        .await;
    assert_eq!(out.status.signal(), Some(9), "after {n}: {}", text(&out));
    assert_eq!(site.story("staging").len(), n, "after {n}");
    site
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_after_any_journal_record_resume_finishes_without_doing_anything_twice() {
    for n in 1..RECORDS {
        let site = crashed_after(n).await;
        // Nothing starts over an interrupted deployment.
        let out = site
            .run("staging", &["deploy", "--release", "v3"], &[])
            .await;
        assert_eq!(out.status.code(), Some(2), "after {n}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("was interrupted at step"),
            "after {n}: {stderr}"
        );
        assert!(
            stderr.contains("shipgate-deploy resume"),
            "after {n}: {stderr}"
        );
        let status = site.run("staging", &["status"], &[]).await;
        let status = String::from_utf8_lossy(&status.stdout);
        assert!(status.contains("stale"), "after {n}: {status}");
        assert!(
            status.contains("interrupted at step"),
            "after {n}: {status}"
        );

        let out = site.run("staging", &["resume"], &[]).await;
        assert_eq!(out.status.code(), Some(0), "after {n}: {}", text(&out));
        assert_eq!(site.current().as_deref(), Some("v2"), "after {n}");
        assert_eq!(site.count("migrations.log", "migrate v2"), 1, "after {n}");
        assert_eq!(site.count("restarts.log", "restart v2"), 1, "after {n}");
        let story = site.story("staging");
        assert_eq!(story.last().unwrap(), "finished:deployed", "after {n}");
        assert!(
            story.contains(&"resumed".to_owned()),
            "after {n}: {story:?}"
        );
        assert_eq!(
            story.iter().filter(|e| *e == "step_done:release").count(),
            1,
            "after {n}: {story:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_after_any_journal_record_abort_ends_at_the_previous_release() {
    for n in 1..RECORDS {
        let site = crashed_after(n).await;
        let out = site.run("staging", &["abort"], &[]).await;
        assert_eq!(out.status.code(), Some(0), "after {n}: {}", text(&out));
        assert_eq!(site.current().as_deref(), Some("v1"), "after {n}");
        // The migration is undone when it had started (record 4 is its start): one
        // that was in doubt may have taken effect, so its (idempotent) undo runs too.
        let started = usize::from(n >= 4);
        assert!(
            site.count("migrations.log", "migrate v2") <= started,
            "after {n}"
        );
        assert_eq!(
            site.count("migrations.log", "unmigrate v2"),
            started,
            "after {n}"
        );
        assert_eq!(site.story("staging").last().unwrap(), "finished:aborted");
        // And the environment is free again.
        site.deployed("v3").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_in_the_middle_of_migrate_or_of_the_restart_after_the_switch() {
    // migrate: the command kills the deployer (the parent of its shell's wrapper) once,
    // half-way.
    let site = Site::with(
        "",
        "echo migrate $SHIPGATE_RELEASE >> migrations.log; if [ $SHIPGATE_RELEASE = v2 ] && [ ! -f killed ]; then touch killed; kill -9 $(cut -d' ' -f4 /proc/$PPID/stat); fi",
    )
    .await;
    site.deployed("v1").await;
    let out = site
        .run("staging", &["deploy", "--release", "v2"], &[])
        .await;
    assert_eq!(out.status.signal(), Some(9), "{}", text(&out));
    assert_eq!(
        site.story("staging").last().unwrap(),
        "step_starting:migrate"
    );
    let out = site.run("staging", &["resume"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.current().as_deref(), Some("v2"));
    // The step the deployer died in runs again (a migration tool applies what is left).
    assert_eq!(site.count("migrations.log", "migrate v2"), 2);

    // release: the switch is done, the restart after it is killed.
    let site = Site::new("").await;
    site.deployed("v1").await;
    let config = std::fs::read_to_string(site.path().join("shipgate.toml")).unwrap();
    let config = config.replace(
        r#"restart = "echo restart $SHIPGATE_RELEASE >> restarts.log""#,
        r#"restart = "echo restart $SHIPGATE_RELEASE >> restarts.log; if [ ! -f killed ]; then touch killed; kill -9 $(cut -d' ' -f4 /proc/$PPID/stat); fi""#,
    );
    std::fs::write(site.path().join("shipgate.toml"), config).unwrap();
    let out = site
        .run("staging", &["deploy", "--release", "v2"], &[])
        .await;
    assert_eq!(out.status.signal(), Some(9), "{}", text(&out));
    assert_eq!(
        site.current().as_deref(),
        Some("v2"),
        "the switch took effect"
    );
    assert_eq!(
        site.story("staging").last().unwrap(),
        "step_starting:release"
    );
    let out = site.run("staging", &["resume"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("already serving"), "{stdout}");
    // Not switched again, but restarted again: the killed restart may not have ended.
    assert_eq!(site.count("restarts.log", "restart v2"), 2);
    let story = site.story("staging");
    assert_eq!(
        story.iter().filter(|e| *e == "step_done:release").count(),
        1
    );
}
