use std::time::Duration;

use shipgate_report::{
    Console, Finding, JSON_SCHEMA, Json, Junit, Markdown, Outcome, Phase, REDACTED, Redactor,
    Render, Report,
};

const SECRET: &str = "tr0ub4dor&3-horse";

fn sample() -> Report {
    let mut report =
        Report::new("pre-deployment checks: staging").with_redactor(Redactor::new([SECRET]));
    report.push(
        Finding::new("env: SECRET_KEY", Phase::Pre, Outcome::Pass)
            .with_duration(Duration::from_micros(40)),
    );
    report.push(
        Finding::new("database: primary", Phase::Pre, Outcome::Fail)
            .with_duration(Duration::from_millis(1200))
            .with_message(format!(
                "password authentication failed for postgres://app:{SECRET}@db/app"
            ))
            .with_detail("url", format!("postgres://app:{SECRET}@db/app"))
            .with_recommendation("check DATABASE_URL's password <and> the role's pg_hba entry"),
    );
    report.push(
        Finding::new("redis: cache", Phase::Pre, Outcome::Warn)
            .with_duration(Duration::from_millis(3))
            .with_message("used_memory is 81% of maxmemory")
            .with_recommendation("raise maxmemory or set an eviction policy"),
    );
    report.push(
        Finding::new("migrations: django", Phase::Pre, Outcome::Skip)
            .with_message("skipped: database: primary failed"),
    );
    report.push(
        Finding::new(
            "GET /health | \"quoted\" & <tag>",
            Phase::Post,
            Outcome::Error,
        )
        .with_message("line one\nline two\u{1}"),
    );
    report
}

fn all_renderers() -> Vec<(&'static str, Box<dyn Render>)> {
    vec![
        ("console", Box::new(Console::plain())),
        ("console-color", Box::new(Console::colored())),
        ("json", Box::new(Json)),
        ("junit", Box::new(Junit)),
        ("markdown", Box::new(Markdown)),
    ]
}

#[test]
fn no_renderer_prints_a_planted_secret() {
    let report = sample();
    for (name, renderer) in all_renderers() {
        let text = renderer.render_to_string(&report).unwrap();
        assert!(!text.contains(SECRET), "{name} printed the secret:\n{text}");
        assert!(
            !text.contains("tr0ub4dor%263"),
            "{name} printed the encoded secret"
        );
        assert!(
            text.contains(REDACTED) || name.starts_with("console") || name == "markdown",
            "{name}: {text}"
        );
    }
}

#[test]
fn redactor_added_after_findings_masks_them_too() {
    let mut report = Report::new("t");
    report.push(
        Finding::new("x", Phase::Pre, Outcome::Fail).with_message(format!("leaked {SECRET}")),
    );
    let report = report.with_redactor(Redactor::new([SECRET]));
    assert_eq!(report.findings()[0].message, format!("leaked {REDACTED}"));
}

#[test]
fn junit_is_valid_against_the_xunit_schema() {
    // Every outcome, names with quotes, `&`, `<`, a control character and a secret.
    let xml = Junit.render_to_string(&sample()).unwrap();
    shipgate_testkit::junit::validate_text(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    // The validation can fail: the attribute that made every file invalid before.
    let broken = xml.replacen("<testsuites ", "<testsuites skipped=\"1\" ", 1);
    assert!(shipgate_testkit::junit::validate_text(&broken).is_err());
}

#[test]
fn junit_parses_with_a_real_xml_parser_and_counts_match() {
    let xml = Junit.render_to_string(&sample()).unwrap();
    let doc =
        roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("invalid XML: {e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("5"));
    assert_eq!(root.attribute("failures"), Some("1"));
    assert_eq!(root.attribute("errors"), Some("1"));
    assert_eq!(
        root.attribute("skipped"),
        None,
        "not allowed there by junit-10.xsd"
    );

    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    let names: Vec<_> = suites
        .iter()
        .map(|s| s.attribute("name").unwrap())
        .collect();
    assert_eq!(names, ["pre", "post"]);

    let cases: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 5, "one testcase per finding");
    let case = |name: &str| {
        *cases
            .iter()
            .find(|c| c.attribute("name") == Some(name))
            .unwrap()
    };

    let db = case("database: primary");
    let failure = db
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("failure element");
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .contains("password authentication failed")
    );
    assert!(
        failure
            .text()
            .unwrap()
            .contains("recommendation: check DATABASE_URL's password <and>")
    );
    assert_eq!(db.attribute("time"), Some("1.200"));

    assert!(
        case("migrations: django")
            .children()
            .any(|n| n.has_tag_name("skipped"))
    );
    assert!(
        case("redis: cache")
            .children()
            .all(|n| !n.has_tag_name("failure"))
    );

    // Markup and control characters in names and messages survive the round trip, escaped.
    let odd = case("GET /health | \"quoted\" & <tag>");
    let error = odd.children().find(|n| n.has_tag_name("error")).unwrap();
    assert_eq!(error.attribute("message"), Some("line one\nline two"));
}

#[test]
fn json_follows_the_documented_schema() {
    let text = Json.render_to_string(&sample()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema"], JSON_SCHEMA);
    assert_eq!(v["title"], "pre-deployment checks: staging");
    assert_eq!(v["outcome"], "error");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["summary"]["total"], 5);
    assert_eq!(v["summary"]["warned"], 1);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 5);
    assert_eq!(findings[1]["phase"], "pre");
    assert_eq!(findings[1]["outcome"], "fail");
    assert_eq!(findings[1]["duration_ms"], 1200.0);
    assert_eq!(
        findings[1]["details"]["url"],
        format!("postgres://app:{REDACTED}@db/app")
    );
    assert!(findings[0]["recommendation"].is_null());
    assert!(v["started_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn console_aligns_columns_and_colours_only_when_asked() {
    let report = sample();
    let plain = Console::plain().render_to_string(&report).unwrap();
    assert!(!plain.contains('\x1b'));
    let rows: Vec<&str> = plain
        .lines()
        .filter(|l| l.starts_with("  "))
        .filter(|l| !l.contains("->"))
        .collect();
    assert_eq!(rows.len(), 5);
    // The message column starts at the same place on every row that has one.
    let pos = |l: &str| l.find("ms  ").or_else(|| l.find("µs  "));
    let starts: Vec<_> = rows.iter().filter_map(|l| pos(l)).collect();
    assert!(starts.windows(2).all(|w| w[0] == w[1]), "{plain}");
    assert!(plain.contains("        -> check DATABASE_URL"));
    assert!(
        plain
            .lines()
            .last()
            .unwrap()
            .contains("1 passed, 1 warned, 1 failed, 1 errored, 1 skipped")
    );

    let colored = Console::colored().render_to_string(&report).unwrap();
    assert!(colored.contains("\x1b[31mFAIL\x1b[0m"));
}

#[test]
fn markdown_escapes_table_cells() {
    let md = Markdown.render_to_string(&sample()).unwrap();
    let row = md.lines().find(|l| l.contains("GET /health")).unwrap();
    // Six unescaped pipes: the row's own borders and separators, none from the name.
    let unescaped = row
        .match_indices('|')
        .filter(|(i, _)| *i == 0 || &row[i - 1..*i] != "\\")
        .count();
    assert_eq!(unescaped, 6, "{row}");
    assert!(row.contains("\\<tag\\>"));
    assert!(md.contains("### What to do"));
    assert!(md.contains("**database: primary**"));
}

#[test]
fn reports_are_written_whole_into_new_directories() {
    let dir = std::env::temp_dir().join(format!("shipgate-report-test-{}", std::process::id()));
    let path = dir.join("nested/out/report.json");
    shipgate_report::write_atomic(&path, "first").unwrap();
    shipgate_report::write_atomic(&path, "second").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        [std::ffi::OsString::from("report.json")],
        "no temporary file is left behind"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// What a hostile command prints: a screen clear, a coloured fake PASS line, a carriage
/// return over the real line, a line break into a fake line, a right-to-left override,
/// and an HTML entity.
fn hostile() -> Report {
    let mut report = Report::new("checks\x1b]0;pwned\x07");
    report.push(
        Finding::new("deploy\n  PASS  everything", Phase::Pre, Outcome::Fail)
            .with_message("\x1b[2J\x1b[1;32m  PASS  all good\x1b[0m\rok \u{202e}txt.exe &lt;b&gt;")
            .with_recommendation("\x1b[8mhidden\x1b[0m"),
    );
    report
}

#[test]
fn console_and_markdown_show_control_bytes_instead_of_obeying_them() {
    let console = Console::colored().render_to_string(&hostile()).unwrap();
    // The only ESC bytes are the renderer's own colours, one pair per tag.
    let escapes = console.matches('\x1b').count();
    assert_eq!(escapes, 4, "{console:?}");
    assert!(
        !console.contains('\r') && !console.contains('\x07'),
        "{console:?}"
    );
    assert!(!console.contains('\u{202e}'), "{console:?}");
    assert!(
        console.contains(r"\x1b[2J") && console.contains(r"\u{202e}"),
        "{console:?}"
    );
    let lines: Vec<&str> = console.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "title, the finding, its recommendation, the tally: {console}"
    );
    assert!(
        lines[1].contains(r"deploy\n  PASS  everything"),
        "{console}"
    );
    let plain = Console::plain().render_to_string(&hostile()).unwrap();
    assert!(!plain.contains('\x1b'), "{plain:?}");

    let md = Markdown.render_to_string(&hostile()).unwrap();
    assert!(
        !md.contains('\x1b') && !md.contains('\r') && !md.contains('\u{202e}'),
        "{md:?}"
    );
    assert!(
        md.contains("&amp;lt;b&amp;gt;"),
        "an entity is shown as written: {md}"
    );
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| ")).count(),
        2,
        "the header and one row: {md}"
    );
}
