use shipgate_report::Outcome;

use crate::{by_name, run_checks};

#[tokio::test]
async fn deploy_checks_with_their_ids() {
    let findings = run_checks(
        r#"
[[checks.pre]]
name = "insecure"
django = { settings = "django/settings_insecure.json" }
[[checks.pre]]
name = "secure"
django = { settings = "django/settings_secure.json" }
[[checks.pre]]
name = "diffsettings"
django = { settings = "django/diffsettings_unified.txt" }
[[checks.pre]]
name = "silenced"
django = { settings = "django/diffsettings_unified.txt", silence = ["security.W018"] }
"#,
    )
    .await;
    let insecure = by_name(&findings, "insecure");
    assert_eq!(insecure.outcome, Outcome::Fail);
    // As the real Django 5.2 says for this file (W011: the session middleware without
    // the sessions app; django_deploy.rs compares every variant with Django itself).
    for id in [
        "W002", "W004", "W008", "W009", "W011", "W016", "W018", "W020", "W022",
    ] {
        assert!(
            insecure.details.contains_key(&format!("security.{id}")),
            "{id} missing: {:?}",
            insecure.details.keys()
        );
    }
    for id in ["W001", "W003"] {
        assert!(
            !insecure.details.contains_key(&format!("security.{id}")),
            "{id} should pass"
        );
    }
    assert!(
        insecure
            .recommendation
            .as_deref()
            .unwrap()
            .contains("security.W018: set DEBUG = False")
    );
    assert_eq!(
        by_name(&findings, "secure").outcome,
        Outcome::Pass,
        "{:#?}",
        by_name(&findings, "secure")
    );
    let diff = by_name(&findings, "diffsettings");
    assert_eq!(diff.outcome, Outcome::Fail);
    assert_eq!(
        diff.details.keys().collect::<Vec<_>>(),
        ["security.W018"],
        "only DEBUG = True is wrong"
    );
    assert_eq!(by_name(&findings, "silenced").outcome, Outcome::Pass);
}
