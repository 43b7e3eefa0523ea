use std::time::{Duration, Instant};

use shipgate_checks::{ChecksConfig, ErrorKind, RunConfig, run};
use shipgate_config::{Document, Vars};
use shipgate_report::{Outcome, Phase};
use shipgate_testkit::{BlackHole, RefusingPort};

use crate::{by_name, context, run_checks, specs};

#[tokio::test]
async fn checks_run_concurrently_so_a_phase_takes_as_long_as_its_slowest_check() {
    let text = (0..8)
        .map(|i| format!("[[checks.pre]]\nname = \"sleep {i}\"\n[checks.pre.command]\nrun = [\"sleep\", \"0.{}\"]\n", 3 + i % 3))
        .collect::<String>();
    let start = Instant::now();
    let findings = run_checks(&text).await;
    let took = start.elapsed();
    assert!(
        findings.iter().all(|f| f.outcome == Outcome::Pass),
        "{findings:#?}"
    );
    let slowest = findings.iter().map(|f| f.duration).max().unwrap();
    let sum: Duration = findings.iter().map(|f| f.duration).sum();
    // Sequentially it would take the sum (~3.2 s); concurrently about the slowest (0.5 s).
    assert!(
        took < sum / 2,
        "took {took:?}, sum {sum:?}, slowest {slowest:?}"
    );
}

#[tokio::test]
async fn a_black_holed_host_fails_within_its_timeout() {
    let hole = BlackHole::start().unwrap();
    let text = format!(
        "[[checks.pre]]\nname = \"api\"\ntimeout = \"300ms\"\n[checks.pre.http]\nurl = \"http://{}/health\"\n",
        hole.addr()
    );
    let start = Instant::now();
    let findings = run_checks(&text).await;
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let f = by_name(&findings, "api");
    assert_eq!(f.outcome, Outcome::Fail);
    assert!(
        f.message.contains("no result within 300ms"),
        "{}",
        f.message
    );
    assert!(f.recommendation.as_deref().unwrap().contains("black-holed"));
}

#[tokio::test]
async fn a_failed_dependency_skips_its_dependents_with_a_reason() {
    let refused = RefusingPort::new().addr();
    let text = format!(
        r#"
[[checks.pre]]
name = "db port"
[checks.pre.tcp]
host = "127.0.0.1"
port = {}

[[checks.pre]]
name = "migrations"
depends_on = ["db port"]
[checks.pre.command]
run = ["true"]

[[checks.pre]]
name = "independent"
[checks.pre.command]
run = ["true"]
"#,
        refused.port()
    );
    let findings = run_checks(&text).await;
    assert_eq!(by_name(&findings, "db port").outcome, Outcome::Fail);
    let skipped = by_name(&findings, "migrations");
    assert_eq!(skipped.outcome, Outcome::Skip);
    assert!(skipped.message.contains("db port did not pass"));
    assert_eq!(by_name(&findings, "independent").outcome, Outcome::Pass);
    assert_eq!(
        findings.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["db port", "migrations", "independent"]
    );
}

#[tokio::test]
async fn severity_warn_and_optional_downgrade_failures() {
    let refused = RefusingPort::new().addr();
    let text = format!(
        r#"
[[checks.pre]]
name = "soft"
severity = "warn"
[checks.pre.command]
run = ["false"]

[[checks.pre]]
name = "search (optional)"
optional = true
[checks.pre.tcp]
host = "127.0.0.1"
port = {port}

[[checks.pre]]
name = "optional but broken"
optional = true
recommendation = "page the on-call"
[checks.pre.command]
run = ["false"]
"#,
        port = refused.port()
    );
    let findings = run_checks(&text).await;
    assert_eq!(by_name(&findings, "soft").outcome, Outcome::Warn);
    assert_eq!(
        by_name(&findings, "search (optional)").outcome,
        Outcome::Warn,
        "cannot connect: only a warning"
    );
    let broken = by_name(&findings, "optional but broken");
    assert_eq!(
        broken.outcome,
        Outcome::Fail,
        "reachable and wrong still fails"
    );
    assert_eq!(broken.recommendation.as_deref(), Some("page the on-call"));
}

#[tokio::test]
async fn bad_dependency_graphs_are_rejected_before_running() {
    let config = RunConfig {
        timeout: Duration::from_secs(1),
        concurrency: 4,
    };
    let ctx = context(&[]);
    let cycle = specs(
        "[[checks.pre]]\nname = \"a\"\ndepends_on = [\"b\"]\n[checks.pre.command]\nrun = [\"true\"]\n\
         [[checks.pre]]\nname = \"b\"\ndepends_on = [\"a\"]\n[checks.pre.command]\nrun = [\"true\"]\n",
    );
    let err = run(&cycle, Phase::Pre, config, &ctx).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Dependency);
    assert!(err.to_string().contains("a -> b -> a"), "{err}");
    let missing = specs(
        "[[checks.pre]]\nname = \"a\"\ndepends_on = [\"nope\"]\n[checks.pre.command]\nrun = [\"true\"]\n",
    );
    assert_eq!(
        run(&missing, Phase::Pre, config, &ctx)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Dependency
    );
    let twice = specs(
        "[[checks.pre]]\nname = \"a\"\n[checks.pre.command]\nrun = [\"true\"]\n[[checks.pre]]\nname = \"a\"\n[checks.pre.command]\nrun = [\"true\"]\n",
    );
    assert_eq!(
        run(&twice, Phase::Pre, config, &ctx)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::DuplicateName
    );
}

fn config_error(text: &str) -> shipgate_config::Error {
    let doc = Document::parse("shipgate.toml", text, None, Vars::default()).unwrap();
    doc.section::<ChecksConfig>("checks").unwrap_err()
}

#[test]
fn config_errors_point_into_the_kind_table() {
    let err = config_error(
        "[[checks.pre]]\nname = \"x\"\n[checks.pre.http]\nurl = \"http://a\"\nstauts = 200\n",
    );
    assert_eq!(err.kind(), shipgate_config::ErrorKind::UnknownKey, "{err}");
    assert_eq!(err.location().unwrap().line, 5, "{err}");
    assert_eq!(err.hint(), Some("did you mean `status`?"));

    let err = config_error(
        "[[checks.pre]]\nname = \"x\"\n[checks.pre.tcp]\nhost = \"a\"\nport = \"eighty\"\n",
    );
    assert_eq!(
        err.kind(),
        shipgate_config::ErrorKind::InvalidValue,
        "{err}"
    );
    assert_eq!(err.location().unwrap().line, 5, "{err}");

    let err = config_error("[[checks.pre]]\nname = \"x\"\n[checks.pre.htp]\nurl = \"http://a\"\n");
    assert_eq!(err.hint(), Some("did you mean `http`?"), "{err}");

    let err = config_error("[[checks.pre]]\nname = \"x\"\n");
    assert!(err.to_string().contains("needs one kind table"), "{err}");

    let err = config_error(
        "[[checks.pre]]\nname = \"x\"\ntcp = { host = \"a\", port = 1 }\ndns = { name = \"a\" }\n",
    );
    assert!(err.to_string().contains("second one"), "{err}");

    let err = config_error(
        "[[checks.post]]\nname = \"x\"\n[checks.post.smoke]\n[[checks.post.smoke.steps]]\nurl = \"{{base}\"\n",
    );
    assert!(err.to_string().contains("without"), "{err}");
    assert_eq!(err.location().unwrap().line, 5, "{err}");
}
