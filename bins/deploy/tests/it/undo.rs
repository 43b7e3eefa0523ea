//! The undo paths, run when things are already going wrong: a failure after the
//! switch switches back, the restored release is checked as itself, a killed
//! deployer's step processes die with it and are gone before `resume`/`abort` act,
//! and secrets stay out of the journal and `status`.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use crate::{Site, text};

/// The processes whose environment says they belong to a deployment under `dir`'s
/// state (tagged `SHIPGATE_DEPLOYMENT=<one of its journals' ids>`), as `pid cmdline`.
pub(crate) fn step_processes(site: &Site) -> Vec<String> {
    let ids: Vec<String> = ["staging", "production"]
        .iter()
        .flat_map(|e| site.journals(e))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat
            .rsplit_once(") ")
            .is_some_and(|(_, r)| r.starts_with('Z'))
        {
            continue;
        }
        let tagged = environ.split(|b| *b == 0).any(|v| {
            ids.iter()
                .any(|id| v == format!("SHIPGATE_DEPLOYMENT={id}").as_bytes())
        });
        if tagged {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            out.push(format!(
                "{pid} {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    out
}

/// Waits (bounded) until `cond` holds; false if it never did.
async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        // tidy: polling /proc for processes that are not ours, with a deadline
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_that_fails_after_the_switch_is_switched_back_before_the_migration_is_undone() {
    let site = Site::new("").await;
    site.deployed("v1").await;
    // v2's restart fails: the switch has happened, its activation has not.
    site.edit(
        r#"restart = "echo restart $SHIPGATE_RELEASE >> restarts.log""#,
        r#"restart = "echo restart $SHIPGATE_RELEASE >> restarts.log; test $SHIPGATE_RELEASE != v2""#,
    );
    let out = site
        .run("staging", &["deploy", "--release", "v2"], &[])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("rolled_back"), "{stdout}");
    assert_eq!(site.current().as_deref(), Some("v1"), "{stdout}");
    // A line per undone step, the switch first: v1 restarted again, then the
    // migration undone (so v2 never served on the undone schema).
    let undo_release = stdout.find("undo release").expect(&stdout);
    let undo_migrate = stdout.find("undo migrate").expect(&stdout);
    assert!(undo_release < undo_migrate, "{stdout}");
    assert!(stdout.contains("switched back to v1"), "{stdout}");
    assert_eq!(
        site.log("restarts.log"),
        ["restart v1", "restart v2", "restart v1"]
    );
    assert_eq!(
        site.log("migrations.log"),
        ["migrate v1", "migrate v2", "unmigrate v2"]
    );
    assert_eq!(
        site.story("staging").last().map(String::as_str),
        Some("finished:rolled_back")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_health_check_after_an_undo_asserts_the_restored_release() {
    let site = Site::new("").await;
    site.health_asserts_the_release();
    site.deployed("v1").await;

    // An automatic undo after v2 fails its health check.
    site.break_build(true);
    let out = site
        .run("staging", &["deploy", "--release", "v2"], &[])
        .await;
    site.break_build(false);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("rolled_back"), "{stdout}");
    assert!(stdout.contains("v1: healthy after"), "{stdout}");
    assert_eq!(site.current().as_deref(), Some("v1"));

    // An abort of a deployment killed in its restart, after the switch.
    site.edit(
        r#"restart = "echo restart $SHIPGATE_RELEASE >> restarts.log""#,
        r#"restart = "echo restart $SHIPGATE_RELEASE >> restarts.log; if [ ! -f killed ]; then touch killed; kill -9 $(cut -d' ' -f4 /proc/$PPID/stat); fi""#,
    );
    let out = site
        .run("staging", &["deploy", "--release", "v3"], &[])
        .await;
    assert_eq!(out.status.signal(), Some(9), "{}", text(&out));
    assert_eq!(site.current().as_deref(), Some("v3"));
    let started = std::time::Instant::now();
    let out = site.run("staging", &["abort"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("aborted"), "{stdout}");
    assert!(stdout.contains("v1: healthy after 1 attempt"), "{stdout}");
    assert_eq!(site.current().as_deref(), Some("v1"));
    // Not the health step's whole timeout spent on the wrong release.
    assert!(started.elapsed() < Duration::from_secs(2), "{stdout}");
}

/// A migration that starts a worker in a process group of its own (so the
/// wrapper's group kill misses it), then runs long: the deployer is killed while it
/// runs.
const LONG_MIGRATE: &str = "echo migrate $SHIPGATE_RELEASE >> migrations.log; \
    if [ $SHIPGATE_RELEASE = v2 ] && [ ! -f once ]; then touch once; \
    perl -e 'setpgrp(0,0); while (1) { open my $f, q(>>), q(beats.log); print $f qq(beat\\n); close $f; select(undef,undef,undef,0.02) }' & \
    sleep 30; fi";

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_deployers_step_processes_die_with_it_and_resume_or_abort_stops_the_rest() {
    for then in ["resume", "abort"] {
        let site = Site::with("", LONG_MIGRATE).await;
        site.deployed("v1").await;
        let mut deployer = tokio::process::Command::new(crate::BIN)
            .current_dir(site.path())
            .args([
                "--config",
                "shipgate.toml",
                "--env",
                "staging",
                "deploy",
                "--release",
                "v2",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let beats = site.path().join("beats.log");
        assert!(
            eventually(|| beats.exists()).await,
            "{then}: the worker never beat"
        );
        let during = step_processes(&site);
        assert!(
            during.len() >= 3,
            "{then}: wrapper, shell, sleep, worker: {during:?}"
        );
        deployer.start_kill().unwrap();
        assert_eq!(deployer.wait().await.unwrap().signal(), Some(9));
        // The step's own process group dies with its deployer at once ...
        assert!(
            eventually(|| step_processes(&site).len() == 1).await,
            "{then}: {:?}",
            step_processes(&site)
        );
        // ... but not the worker that left it: only a take-over can stop it.
        let left = step_processes(&site);
        assert!(left[0].contains("perl"), "{then}: {left:?}");

        let out = site.run("staging", &[then], &[]).await;
        assert_eq!(out.status.code(), Some(0), "{then}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("stopped 1 process(es)"), "{then}: {stdout}");
        assert_eq!(step_processes(&site), Vec::<String>::new(), "{then}");
        let beaten = std::fs::read_to_string(&beats).unwrap().len();
        // tidy: ten of the worker's beats: a worker still running would have written
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            std::fs::read_to_string(&beats).unwrap().len(),
            beaten,
            "{then}: the worker still beats"
        );
        let expected = if then == "resume" { "v2" } else { "v1" };
        assert_eq!(site.current().as_deref(), Some(expected), "{then}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_in_failing_commands_and_undo_commands_stay_out_of_the_journal_and_status() {
    let secret = "postgres://app:Jr9-planted-pw-7f3kQz81@db.internal.example.com/shop";
    let site = Site::with("", "echo migrate $SHIPGATE_RELEASE >> migrations.log").await;
    // The team's env check says DB_URL is a secret; the undo and a command use it.
    site.edit(
        r#"undo = "echo unmigrate $SHIPGATE_RELEASE >> migrations.log""#,
        r#"undo = "echo unmigrate ${DB_URL} >> migrations.log""#,
    );
    site.edit(
        r#"run = "echo $SHIPGATE_RELEASE > build/VERSION""#,
        r#"run = "echo $SHIPGATE_RELEASE > build/VERSION; if [ -f fail-build ]; then echo cannot reach ${DB_URL} >&2; exit 3; fi""#,
    );
    let config = std::fs::read_to_string(site.path().join("shipgate.toml")).unwrap();
    std::fs::write(
        site.path().join("shipgate.toml"),
        format!(
            "{config}\n[[checks.pre]]\nname = \"db url\"\nenv = {{ required = [\"DB_URL\"], secrets = [\"DB_URL\"] }}\n"
        ),
    )
    .unwrap();
    let env = [("DB_URL", secret)];
    let deployed = site
        .run("staging", &["deploy", "--release", "v1"], &env)
        .await;
    assert_eq!(deployed.status.code(), Some(0), "{}", text(&deployed));

    // v2 fails its health check: the migration's undo (with the secret) is journaled,
    // and runs as configured.
    site.break_build(true);
    let failed_health = site
        .run("staging", &["deploy", "--release", "v2"], &env)
        .await;
    site.break_build(false);
    assert_eq!(
        failed_health.status.code(),
        Some(1),
        "{}",
        text(&failed_health)
    );
    assert_eq!(
        site.count("migrations.log", &format!("unmigrate {secret}")),
        1
    );

    // v3's build fails with the secret in its output.
    std::fs::write(site.path().join("fail-build"), "").unwrap();
    let failed_build = site
        .run("staging", &["deploy", "--release", "v3"], &env)
        .await;
    assert_eq!(
        failed_build.status.code(),
        Some(1),
        "{}",
        text(&failed_build)
    );
    let status = site.run("staging", &["status"], &env).await;
    let status_json = site.run("staging", &["status", "--json"], &env).await;
    let history = site.run("staging", &["history", "--json"], &env).await;
    let mut all = String::new();
    for out in [
        &failed_health,
        &failed_build,
        &status,
        &status_json,
        &history,
    ] {
        all.push_str(&text(out));
    }
    for journal in site.journals("staging") {
        all.push_str(&std::fs::read_to_string(journal).unwrap());
    }
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("cannot reach [redacted]"),
        "{}",
        text(&status)
    );
    for leak in [
        "Jr9-planted-pw",
        "Jr9-planted-pw".replace('-', "%2D").as_str(),
    ] {
        assert!(!all.contains(leak), "{leak} leaked: {all:.4000}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abort_killed_between_its_switch_back_and_the_end_of_the_restart_restarts_again() {
    let site = Site::new("").await;
    // The restart kills its deployer once per `kill-<release>` file, before the
    // application serves the release (the step dies with its deployer, in its sleep).
    site.edit(
        r#"restart = "echo restart $SHIPGATE_RELEASE >> restarts.log""#,
        r#"restart = "echo restart $SHIPGATE_RELEASE >> restarts.log; if [ -f kill-$SHIPGATE_RELEASE ]; then rm kill-$SHIPGATE_RELEASE; kill -9 $(cut -d' ' -f4 /proc/$PPID/stat); sleep 5; fi; echo $SHIPGATE_RELEASE > served.tmp && mv served.tmp served""#,
    );
    site.deployed("v1").await;
    std::fs::write(site.path().join("kill-v2"), "").unwrap();
    let out = site
        .run("staging", &["deploy", "--release", "v2"], &[])
        .await;
    assert_eq!(out.status.signal(), Some(9), "{}", text(&out));
    // The abort switches back to v1 and is killed in v1's restart.
    std::fs::write(site.path().join("kill-v1"), "").unwrap();
    let out = site.run("staging", &["abort"], &[]).await;
    assert_eq!(out.status.signal(), Some(9), "{}", text(&out));
    assert_eq!(site.current().as_deref(), Some("v1"));
    let served = || std::fs::read_to_string(site.path().join("served")).unwrap();
    assert_eq!(served().trim(), "v1", "v1 served before the deployment");
    // v2 never served (its restart was cut short): what serves now is v1's code as it
    // was before; the cut-short restart of v1 must still be done again.
    let out = site.run("staging", &["abort"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        site.log("restarts.log"),
        ["restart v1", "restart v2", "restart v1", "restart v1"]
    );
    assert_eq!(served().trim(), "v1");
    assert_eq!(
        site.story("staging").last().map(String::as_str),
        Some("finished:aborted")
    );
}
