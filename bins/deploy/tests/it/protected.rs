//! A protected environment changes nothing until its operator confirms: the phrase on
//! a terminal (a real pseudo-terminal, through util-linux `script`), or --confirm.

use crate::{Site, text};

const PROTECTED: &str = r#"protected = ["production"]"#;

#[tokio::test(flavor = "multi_thread")]
async fn without_a_terminal_it_needs_confirm_naming_the_environment() {
    let site = Site::new(PROTECTED).await;
    for args in [
        vec!["deploy", "--release", "v1"],
        vec!["deploy", "--release", "v1", "--confirm", "staging"],
    ] {
        let out = site.run("production", &args, &[]).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was changed"));
        assert!(!site.path().join("state").exists(), "{args:?}");
        assert!(!site.path().join("app").exists(), "{args:?}");
    }
    // Backup and health are not skipped there without --force.
    let out = site
        .run(
            "production",
            &[
                "deploy",
                "--release",
                "v1",
                "--confirm",
                "production",
                "--skip",
                "health",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));

    let out = site
        .run(
            "production",
            &["deploy", "--release", "v1", "--confirm", "production"],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.current().as_deref(), Some("v1"));
}

/// Runs the deployer on a pseudo-terminal with `typed` as the operator's input.
async fn on_a_terminal(site: &Site, args: &str, typed: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let command = format!("{} --env production {args}", crate::BIN);
    let mut child = tokio::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(site.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` (Debian package bsdutils) gives the test a terminal");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(typed.as_bytes()).await.unwrap();
    drop(stdin);
    child.wait_with_output().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_it_asks_for_the_phrase_before_anything_changes() {
    let site = Site::new(PROTECTED).await;
    let out = on_a_terminal(&site, "deploy --release v1", "deploy staging\n").await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let all = String::from_utf8_lossy(&out.stdout);
    assert!(all.contains("Type \"deploy production\""), "{all}");
    assert!(!site.path().join("app").exists());
    assert!(!site.path().join("state").exists());

    let out = on_a_terminal(&site, "deploy --release v1", "deploy production\n").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.current().as_deref(), Some("v1"));
}
