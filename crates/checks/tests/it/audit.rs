//! The dependency-vulnerability gate on reports in cargo-audit's, npm audit's and
//! pip-audit's JSON shapes (fixtures/audit): severities read or computed from CVSS,
//! the threshold, unknown severities failing, ignores by id or alias.

use shipgate_report::Outcome;

use crate::{by_name, run_checks};

#[tokio::test]
async fn each_tools_report_fails_at_its_threshold_and_says_what_to_upgrade() {
    let findings = run_checks(
        r#"
[[checks.pre]]
name = "cargo high"
audit = { report = "audit/cargo-audit.json" }
[[checks.pre]]
name = "cargo critical, unknown ignored"
audit = { report = "audit/cargo-audit.json", fail_at = "critical", ignore = ["GHSA-dddd-eeee-ffff", "RUSTSEC-2099-0001"] }
[[checks.pre]]
name = "npm high"
audit = { report = "audit/npm-audit.json" }
[[checks.pre]]
name = "npm moderate"
audit = { report = "audit/npm-audit.json", fail_at = "moderate", ignore = ["GHSA-4444-5555-6666"] }
[[checks.pre]]
name = "pip"
audit = { report = "audit/pip-audit.json", fail_at = "critical" }
[[checks.pre]]
name = "clean"
audit = { report = "audit/clean-cargo-audit.json", fail_at = "low" }
[[checks.pre]]
name = "not a report"
audit = { report = "django/settings_secure.json" }
"#,
    )
    .await;
    let f = by_name(&findings, "cargo high");
    assert_eq!(f.outcome, Outcome::Fail, "{f:#?}");
    // 9.8 from its vector: critical; no vector: unknown, which fails; 3.7: low, passes.
    assert!(
        f.message
            .contains("RUSTSEC-2099-0001 (tinyhttp 1.4.0, critical, fixed in >=1.4.2)"),
        "{}",
        f.message
    );
    assert!(
        f.message
            .contains("RUSTSEC-2099-0003 (oldtls 1.9.3, severity unknown"),
        "{}",
        f.message
    );
    assert!(
        !f.message.contains("RUSTSEC-2099-0002"),
        "low passes at high: {}",
        f.message
    );
    assert_eq!(f.details["tool"], "cargo-audit");
    assert_eq!(
        by_name(&findings, "cargo critical, unknown ignored").outcome,
        Outcome::Pass
    );

    let f = by_name(&findings, "npm high");
    assert_eq!(f.outcome, Outcome::Fail);
    assert!(
        f.message
            .contains("GHSA-4444-5555-6666 (deepmerge-lite <3.1.0, critical)"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("3 vulnerabilities") || f.message.contains("2 vulnerabilities"),
        "{}",
        f.message
    );
    let f = by_name(&findings, "npm moderate");
    assert_eq!(f.outcome, Outcome::Fail);
    assert!(
        f.message.contains(
            "GHSA-1111-2222-3333 (leftpadder <2.0.1, moderate, fixed in leftpadder 2.0.1)"
        ),
        "{}",
        f.message
    );
    assert!(f.message.contains("1 ignored on purpose"), "{}", f.message);

    let f = by_name(&findings, "pip");
    assert_eq!(
        f.outcome,
        Outcome::Fail,
        "pip-audit gives no severity: unknown fails"
    );
    assert!(
        f.message
            .contains("PYSEC-2099-10 (django 5.2.1, severity unknown, fixed in 5.2.2)"),
        "{}",
        f.message
    );

    assert_eq!(by_name(&findings, "clean").outcome, Outcome::Pass);
    let f = by_name(&findings, "not a report");
    assert_eq!(f.outcome, Outcome::Fail);
    assert!(
        f.message.contains("not a report of cargo audit"),
        "{}",
        f.message
    );
}
