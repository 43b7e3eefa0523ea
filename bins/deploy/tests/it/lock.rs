//! One deployment per environment: a second one names the holder; a stale lock is
//! recognised and released only on purpose.

use crate::{Site, text};

#[tokio::test(flavor = "multi_thread")]
async fn two_deploys_at_once_one_runs_and_the_other_names_it() {
    // The first deployment's build waits for a file the test writes.
    let site = Site::new("").await;
    let config = std::fs::read_to_string(site.path().join("shipgate.toml")).unwrap();
    let config = config.replace(
        r#"run = "echo $SHIPGATE_RELEASE > build/VERSION""#,
        r#"run = "touch building; while [ ! -f go ]; do sleep 0.05; done; echo $SHIPGATE_RELEASE > build/VERSION""#,
    );
    std::fs::write(site.path().join("shipgate.toml"), config).unwrap();
    let first = {
        let mut cmd = tokio::process::Command::new(crate::BIN);
        cmd.current_dir(site.path())
            .args(["--env", "staging", "deploy", "--release", "v1"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let pid = first.id().unwrap();
    // Wait (bounded) until the first one is inside its build step, holding the lock.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !site.path().join("building").exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first deploy never started"
        );
        tokio::task::yield_now().await;
    }
    let second = site
        .run("staging", &["deploy", "--release", "v2"], &[])
        .await;
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("locked by deployment"), "{stderr}");
    assert!(stderr.contains(&format!("(pid {pid})")), "{stderr}");
    assert!(stderr.contains("-v1"), "{stderr}");
    let status = site.run("staging", &["status"], &[]).await;
    assert!(String::from_utf8_lossy(&status.stdout).contains("held by deployment"));

    std::fs::write(site.path().join("go"), "").unwrap();
    let first = first.wait_with_output().await.unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(site.current().as_deref(), Some("v1"));
    assert_eq!(
        site.journals("staging").len(),
        1,
        "the second never started"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_lock_is_reported_and_released_by_unlock() {
    let site = Site::new("").await;
    site.deployed("v1").await;
    let out = site
        .run(
            "staging",
            &["deploy", "--release", "v2"],
            &[("SHIPGATE_DEPLOY_CRASH_AFTER", "5")],
        )
        .await;
    assert!(!out.status.success());
    let status = site.run("staging", &["status", "--json"], &[]).await;
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(
        status["lock"]
            .as_str()
            .unwrap()
            .starts_with("stale: deployment"),
        "{status}"
    );
    assert_eq!(status["deployment"]["ending"], serde_json::Value::Null);

    // Without --yes, only what would be released.
    let out = site.run("staging", &["unlock"], &[]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(site.story("staging").last().unwrap().starts_with("step_"));
    let out = site.run("staging", &["unlock", "--yes"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.story("staging").last().unwrap(), "finished:abandoned");
    // Its changes stay (migrate had run); the environment is free.
    assert_eq!(site.count("migrations.log", "unmigrate v2"), 0);
    site.deployed("v3").await;
    assert_eq!(site.current().as_deref(), Some("v3"));

    // Nothing held: nothing to release, and no --yes offered.
    let out = site.run("staging", &["unlock"], &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("nothing to release"), "{stdout}");
    assert!(!stdout.contains("--yes"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployer_killed_creating_its_journal_did_nothing_and_history_says_when_there_is_none() {
    let site = Site::new("").await;
    let out = site.run("staging", &["history"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no deployment yet"));
    site.deployed("v1").await;
    // Killed between creating its journal and writing the first line.
    let empty = site
        .path()
        .join("state/staging/deployments/20991231T000000000Z-v2.jsonl");
    std::fs::write(&empty, "").unwrap();
    let out = site.run("staging", &["status"], &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("deployment") && stdout.contains("of v1: ended deployed"),
        "{stdout}"
    );
    let out = site.run("staging", &["resume"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("was not interrupted"));
    site.deployed("v3").await;
    assert!(
        !empty.exists(),
        "the journal of a deployment that never began is removed"
    );
}
