//! SIGKILL at random instants (not only at journal boundaries): of a deployment, and
//! then of the `resume` or `abort` that finishes it, before one that runs to its end.
//! After each, what serves, `current`, the journal's ending and the SQLite schema
//! agree, and no step process outlives it.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use crate::undo::step_processes;
use crate::{BIN, Site, text};

/// Deployments killed per follow-up (`resume`, `abort`).
const ROUNDS: u64 = 20;

/// xorshift64*: random enough to scatter the kills, repeatable from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A migration that takes a while and changes the schema; a restart that takes a
/// while and then serves the release (the `served` file is what the application
/// runs).
async fn site() -> Site {
    let site = Site::with(
        "",
        "sleep 0.03; sqlite3 db.sqlite 'CREATE TABLE IF NOT EXISTS t_'$SHIPGATE_RELEASE'(x)'",
    )
    .await;
    site.edit(
        r#"undo = "echo unmigrate $SHIPGATE_RELEASE >> migrations.log""#,
        r#"undo = "sqlite3 db.sqlite 'DROP TABLE IF EXISTS t_'$SHIPGATE_RELEASE""#,
    );
    site.edit(
        r#"restart = "echo restart $SHIPGATE_RELEASE >> restarts.log""#,
        r#"restart = "sleep 0.03; echo $SHIPGATE_RELEASE > served.tmp && mv served.tmp served""#,
    );
    site.deployed("v1").await;
    site
}

/// Runs `shipgate-deploy ARGS` and SIGKILLs it after `after` (if it still runs);
/// whether it was killed.
async fn killed_after(site: &Site, args: &[&str], after: Duration) -> bool {
    let mut child = tokio::process::Command::new(BIN)
        .current_dir(site.path())
        .args(["--config", "shipgate.toml", "--env", "staging"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::select! {
        status = child.wait() => {
            let status = status.unwrap();
            assert!(status.code().is_some(), "{status:?}");
            false
        }
        // tidy: the random instant of the kill is what is under test
        () = tokio::time::sleep(after) => {
            let _ = child.start_kill();
            child.wait().await.unwrap().signal() == Some(9)
        }
    }
}

fn tables(site: &Site) -> Vec<String> {
    let out = std::process::Command::new("sqlite3")
        .current_dir(site.path())
        .args([
            "db.sqlite",
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Whether v2's deployment wrote its first journal line.
fn began(site: &Site) -> bool {
    site.journals("staging").len() == 2 && !site.story("staging").is_empty()
}

/// The latest journal's ending, or none while interrupted.
fn ending(site: &Site) -> Option<String> {
    site.story("staging")
        .last()
        .and_then(|e| e.strip_prefix("finished:").map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_random_instants_then_resumed_or_aborted_everything_agrees() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for round in 0..ROUNDS * 2 {
        let then = if round % 2 == 0 { "resume" } else { "abort" };
        let at = format!("seed {seed}, round {round} ({then})");
        let site = site().await;
        let first = Duration::from_millis(rng.below(160));
        let killed = killed_after(&site, &["deploy", "--release", "v2"], first).await;
        let interrupted = killed && began(&site) && ending(&site).is_none();
        *counts
            .entry(format!(
                "{then}: deploy killed={killed} interrupted={interrupted}"
            ))
            .or_default() += 1;
        if interrupted {
            // Kill the follow-up once too, at a random instant, then let one finish.
            let second = Duration::from_millis(rng.below(120));
            killed_after(&site, &[then], second).await;
            if ending(&site).is_none() {
                let out = site.run("staging", &[then], &[]).await;
                assert_eq!(out.status.code(), Some(0), "{at}: {}", text(&out));
            }
        }
        let expected = match ending(&site).as_deref() {
            // Killed before v2's journal had its first line.
            _ if !began(&site) => "v1",
            Some("deployed") => "v2",
            Some("aborted" | "rolled_back") => "v1",
            other => panic!("{at}: ended {other:?}: {:?}", site.story("staging")),
        };
        assert_eq!(site.current().as_deref(), Some(expected), "{at}");
        let served = std::fs::read_to_string(site.path().join("served")).unwrap();
        assert_eq!(
            served.trim(),
            expected,
            "{at}: served; journal {:?}",
            site.journals("staging")
                .last()
                .map(|j| std::fs::read_to_string(j).unwrap())
        );
        let want: Vec<String> = if expected == "v2" {
            vec!["t_v1".into(), "t_v2".into()]
        } else {
            vec!["t_v1".into()]
        };
        assert_eq!(tables(&site), want, "{at}: schema");
        assert_eq!(step_processes(&site), Vec::<String>::new(), "{at}");
        // The environment is free again.
        let out = site.run("staging", &["status"], &[]).await;
        let status = String::from_utf8_lossy(&out.stdout);
        // (A deployer killed after its journal's last line leaves a stale lock record,
        // which the next operation takes over.)
        assert!(
            status.starts_with("lock: free") || status.starts_with("lock: stale"),
            "{at}: {}",
            text(&out)
        );
        assert!(!status.contains("(interrupted)"), "{at}: {}", text(&out));
    }
    // The kills landed in different places, not all before or after the deployment.
    let interrupted: usize = counts
        .iter()
        .filter(|(k, _)| k.ends_with("interrupted=true"))
        .map(|(_, n)| n)
        .sum();
    assert!(interrupted >= 10, "seed {seed}: {counts:?}");
}
