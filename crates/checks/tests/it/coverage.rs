//! The coverage gate against reports the real coverage.py writes (pinned in the
//! testkit's NEEDS): one measured run of a small module, written as coverage.py JSON,
//! Cobertura XML and lcov; the gate reads the same totals from all three as
//! coverage.py's own `report` states, and passes or fails at the minimum.

use std::process::Command;

use shipgate_report::Outcome;

use crate::django_migrations::require;
use crate::{by_name, context, run_with};

fn coverage(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("python3")
        .args(["-m", "coverage"])
        .args(args)
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "coverage {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gate_reads_coverage_pys_totals_in_every_format_it_writes() {
    require("coverage");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shop.py"),
        "def price(n, member):\n    total = n * 10\n    if member:\n        total -= 1\n    if n > 100:\n        total -= 50\n        total = max(total, 0)\n    return total\n\n\nprint(price(2, True))\n",
    )
    .unwrap();
    coverage(dir.path(), &["run", "shop.py"]);
    coverage(dir.path(), &["json", "-q", "-o", "cov.json"]);
    coverage(dir.path(), &["xml", "-q", "-o", "cov.xml"]);
    coverage(dir.path(), &["lcov", "-q", "-o", "cov.lcov"]);
    // coverage.py's own words: `TOTAL  <statements> <missed> <percent>%`.
    let report = coverage(dir.path(), &["report", "--precision", "1"]);
    let total: Vec<&str> = report
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap()
        .split_whitespace()
        .collect();
    let (statements, missed): (u64, u64) = (total[1].parse().unwrap(), total[2].parse().unwrap());
    let percent = total[3].trim_end_matches('%');
    assert!(missed > 0, "the run leaves lines uncovered: {report}");
    let expected = format!(
        "line coverage {percent}% ({} of {statements} lines",
        statements - missed
    );

    for (file, format) in [
        ("cov.json", "coverage.py JSON"),
        ("cov.xml", "Cobertura XML"),
        ("cov.lcov", "lcov"),
    ] {
        let path = dir.path().join(file);
        let toml = format!(
            "[[checks.pre]]\nname = \"low bar\"\ncoverage = {{ report = \"{p}\", min = 50 }}\n[[checks.pre]]\nname = \"high bar\"\ncoverage = {{ report = \"{p}\", min = 95 }}\n",
            p = path.display()
        );
        let findings = run_with(&toml, &context(&[])).await;
        let low = by_name(&findings, "low bar");
        assert_eq!(low.outcome, Outcome::Pass, "{file}: {low:#?}");
        assert!(
            low.message.starts_with(&expected),
            "{file}: {} vs {expected}",
            low.message
        );
        assert_eq!(low.details["format"], format);
        let high = by_name(&findings, "high bar");
        assert_eq!(high.outcome, Outcome::Fail, "{file}: {high:#?}");
        assert!(
            high.message.contains("below the minimum 95%"),
            "{}",
            high.message
        );
    }
}
