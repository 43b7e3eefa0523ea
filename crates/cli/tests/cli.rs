//! The shared binary glue, exercised as a binary would use it.

use std::error::Error as _;

use shipgate_cli::{Chain, ConfigArgs, Failure, FailureKind, Logging, base_dir, write_report};
use shipgate_report::ExitCode;

#[test]
fn a_config_error_is_a_usage_error_that_keeps_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.toml");
    std::fs::write(&path, "[load]\nhost = \n").unwrap();
    let args = ConfigArgs {
        config: path.clone(),
        env: None,
    };
    let failure = args.load(&Logging::default()).unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Usage);
    assert_eq!(failure.exit_code(), ExitCode::Usage);
    let shown = Chain(&failure).to_string();
    assert!(shown.starts_with(&path.display().to_string()), "{shown}");
    assert!(shown.contains(":2:"), "line 2 is named: {shown}");
    assert!(failure.source().is_some(), "the config error is the source");
}

#[test]
fn a_missing_section_names_the_file_and_the_section() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.toml");
    std::fs::write(&path, "[checks]\n").unwrap();
    let doc = ConfigArgs {
        config: path.clone(),
        env: None,
    }
    .load(&Logging::default())
    .unwrap();
    let failure = shipgate_cli::required_section::<Empty>(&doc, "load").unwrap_err();
    assert_eq!(
        failure.to_string(),
        format!("{} has no [load] section", path.display())
    );
    assert_eq!(failure.exit_code(), ExitCode::Usage);
}

/// A type any section deserializes into.
#[derive(Debug, serde::Deserialize)]
struct Empty {}

#[test]
fn a_report_that_cannot_be_written_aborts_with_exit_1_and_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should go: rename over it fails.
    let target = dir.path().join("report.json");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), "x").unwrap();
    let failure = write_report(&target, "{}").unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Aborted);
    assert_eq!(failure.exit_code(), ExitCode::Failure);
    let shown = Chain(&failure).to_string();
    assert!(
        shown.starts_with(&format!("cannot write {}\n  caused by: ", target.display())),
        "{shown}"
    );
}

#[test]
fn a_report_is_written_whole_and_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("nested/report.md");
    write_report(&target, "# all good\n").unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "# all good\n");
    let names: Vec<_> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["report.md"]);
}

#[test]
fn a_cause_already_in_the_message_is_not_repeated() {
    let io = std::io::Error::other("disk full");
    let failure = Failure::aborted("cannot write x: disk full", io);
    assert_eq!(Chain(&failure).to_string(), "cannot write x: disk full");
    let failure = Failure::aborted("cannot write x", std::io::Error::other("disk full"));
    assert_eq!(
        Chain(&failure).to_string(),
        "cannot write x\n  caused by: disk full"
    );
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    assert_eq!(
        base_dir("shipgate.toml".as_ref()),
        std::path::Path::new(".")
    );
    assert_eq!(
        base_dir("deploy/prod/shipgate.toml".as_ref()),
        std::path::Path::new("deploy/prod")
    );
}

/// A token only the late section holds.
const LATE_TOKEN: &str = "Late-planted-token-93c1f0";

#[derive(serde::Deserialize)]
struct Late {
    token: shipgate_config::Secret,
}

/// Run as a child by the test below (it does nothing on its own): starts the logger,
/// loads the configuration, logs, and only then reads a section holding a secret, and
/// logs its value at every level.
#[test]
fn late_section_child() {
    let Ok(config) = std::env::var("SHIPGATE_CLI_LATE_CONFIG") else {
        return;
    };
    let logging = shipgate_cli::init_logging(&shipgate_cli::LogArgs {
        log_format: shipgate_cli::LogFormat::Human,
    });
    tracing::info!("logging has started");
    let doc = ConfigArgs {
        config: config.into(),
        env: None,
    }
    .load(&logging)
    .unwrap();
    tracing::info!("the configuration is loaded; no section read yet");
    let late: Late = doc.section("notify").unwrap().unwrap();
    tracing::trace!("connecting with {}", late.token.expose());
    tracing::debug!(token = late.token.expose(), "as a field");
    tracing::warn!("url http://ops:{}@host/", late.token.expose());
}

#[test]
fn a_section_read_after_logging_started_is_masked_from_its_first_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.toml");
    std::fs::write(&path, format!("[notify]\ntoken = \"{LATE_TOKEN}\"\n")).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "late_section_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SHIPGATE_CLI_LATE_CONFIG", &path)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("connecting with [redacted]"), "{stderr}");
    assert!(stderr.contains("ops:[redacted]@host"), "{stderr}");
    assert!(!stderr.contains("Late-planted"), "{stderr}");
    assert_eq!(stderr.matches("[redacted]").count(), 3, "{stderr}");
}
