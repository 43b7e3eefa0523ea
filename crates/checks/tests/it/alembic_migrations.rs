//! The migrations check against the real Alembic (pinned in the testkit's NEEDS): a
//! project made by `alembic init`, its revisions by `alembic revision` and `alembic
//! merge` with the `black` post-write hook on (so a three-way merge's `down_revision`
//! spans five lines, as it does in teams' repositories), branches spliced off an old
//! revision, a `depends_on` across branches. In each state `alembic upgrade` leaves
//! the database in, shipgate's pending revisions must be exactly those the real
//! `alembic upgrade heads` then runs, parents first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

use shipgate_report::Outcome;

use crate::django_migrations::require;
use crate::{context, run_with};

fn alembic(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("python3")
        .args(["-m", "alembic"])
        .args(args)
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "alembic {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `alembic revision …` (or `merge`): the id of the revision it generated.
fn generated(dir: &Path, args: &[&str]) -> String {
    let out = alembic(dir, args);
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text.find("versions/").expect("a generated file") + "versions/".len();
    text[at..].split('_').next().unwrap().to_owned()
}

/// Points alembic.ini at `url`.
fn aim(dir: &Path, url: &str) {
    let ini = dir.join("alembic.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("sqlalchemy.url") {
                format!("sqlalchemy.url = {url}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(ini, text).unwrap();
}

/// What `alembic upgrade heads` runs, in order: the revision each "Running upgrade
/// … -> R" line names.
fn upgrade_heads(dir: &Path) -> Vec<String> {
    let out = alembic(dir, &["upgrade", "heads"]);
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.split_once("Running upgrade ").map(|(_, r)| r))
        .map(|r| {
            let (_, to) = r.split_once("-> ").unwrap();
            to.split(',').next().unwrap().trim().to_owned()
        })
        .collect()
}

async fn shipgate(url: &str, versions: &Path) -> (Outcome, Vec<String>, String) {
    let toml = format!(
        "[[checks.pre]]\nname = \"alembic\"\n[checks.pre.database]\nurl = \"{url}\"\nmigrations = {{ framework = \"alembic\", dir = \"{}\" }}\n",
        versions.display()
    );
    let findings = run_with(&toml, &context(&[])).await;
    crate::migration_verdict(&findings, "alembic")
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_revisions_are_what_alembic_upgrade_runs() {
    require("alembic");
    require("black");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    alembic(root, &["init", "migrations"]);
    let ini = root.join("alembic.ini");
    let text = std::fs::read_to_string(&ini).unwrap().replacen(
        "[post_write_hooks]\n",
        "[post_write_hooks]\nhooks = black\nblack.type = console_scripts\nblack.entrypoint = black\nblack.options = REVISION_SCRIPT_FILENAME\n",
        1,
    );
    std::fs::write(&ini, text).unwrap();
    let versions = root.join("migrations/versions");

    // The history, made by alembic; parents recorded as we make it.
    let mut parents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut rev = |args: &[&str], of: &[&str]| {
        let id = generated(root, args);
        parents.insert(id.clone(), of.iter().map(|s| (*s).to_owned()).collect());
        id
    };
    let r1 = rev(&["revision", "-m", "first"], &[]);
    let r2 = rev(&["revision", "-m", "second"], &[&r1]);
    let r3 = rev(&["revision", "-m", "third"], &[&r2]);
    let b1 = rev(
        &["revision", "-m", "branch b", "--head", &r1, "--splice"],
        &[&r1],
    );
    let b2 = rev(&["revision", "-m", "branch b two", "--head", &b1], &[&b1]);
    let c1 = rev(
        &["revision", "-m", "branch c", "--head", &r1, "--splice"],
        &[&r1],
    );
    let m = rev(&["merge", "-m", "merge all", "heads"], &[&r3, &b2, &c1]);
    let r4 = rev(&["revision", "-m", "after the merge", "--head", &m], &[&m]);
    let d1 = rev(
        &[
            "revision",
            "-m",
            "needs b",
            "--head",
            &r1,
            "--splice",
            "--depends-on",
            &b1,
        ],
        &[&r1, &b1],
    );
    let _ = r4;
    let merge_file = std::fs::read_dir(&versions)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&m))
        .unwrap();
    let merge_text = std::fs::read_to_string(merge_file).unwrap();
    assert!(
        merge_text.contains("= (\n"),
        "black split the merge's down_revision over lines:\n{merge_text}"
    );

    let states: Vec<(&str, Vec<&str>)> = vec![
        ("nothing applied", vec![]),
        ("the base", vec![&r1]),
        ("the main line half way", vec![&r2]),
        ("one branch", vec![&b2]),
        ("two heads", vec![&r3, &c1]),
        ("the three-way merge", vec![&m]),
        ("a dependency across branches", vec![&d1]),
        ("everything", vec!["heads"]),
    ];
    for (n, (state, targets)) in states.iter().enumerate() {
        let db = root.join(format!("state{n}.sqlite3"));
        aim(root, &format!("sqlite:///{}", db.display()));
        for t in targets {
            alembic(root, &["upgrade", t]);
        }
        let url = format!("sqlite://{}?mode=rwc", db.display());
        let (outcome, pending, message) = shipgate(&url, &versions).await;
        let ran = upgrade_heads(root);
        assert_eq!(
            pending.iter().collect::<BTreeSet<_>>(),
            ran.iter().collect::<BTreeSet<_>>(),
            "{state}: shipgate's pending vs what `alembic upgrade heads` ran ({message})"
        );
        assert_eq!(
            outcome == Outcome::Fail,
            !ran.is_empty(),
            "{state}: {message}"
        );
        for (i, r) in pending.iter().enumerate() {
            for p in &parents[r] {
                if let Some(at) = pending.iter().position(|x| x == p) {
                    assert!(at < i, "{state}: {p} must come before {r}: {pending:?}");
                }
            }
        }
        let (after, left, message) = shipgate(&url, &versions).await;
        assert!(left.is_empty(), "{state}: after upgrade heads: {message}");
        assert_eq!(after, Outcome::Pass, "{state}: {message}");
    }
}

/// `alembic.ini` with `recursive_version_locations` and the date-subdirectory file
/// template Alembic's own template offers: revisions live in `versions/YYYY/MM/`.
/// With the setting off, Alembic does not read them, and neither may shipgate.
#[tokio::test(flavor = "multi_thread")]
async fn revisions_in_date_subdirectories_are_read_when_alembic_reads_them() {
    require("alembic");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    alembic(root, &["init", "migrations"]);
    let ini = root.join("alembic.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    let text = text
        .replace(
            "# recursive_version_locations = false",
            "recursive_version_locations = true",
        )
        .replace(
            "# file_template = %%(year)d/%%(month)",
            "file_template = %%(year)d/%%(month)",
        );
    std::fs::write(&ini, &text).unwrap();
    let versions = root.join("migrations/versions");
    let first = generated_deep(root, "first");
    let second = generated_deep(root, "second");
    let db = root.join("app.sqlite3");
    aim(root, &format!("sqlite:///{}", db.display()));
    alembic(root, &["upgrade", &first]);
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let (outcome, pending, message) = shipgate(&url, &versions).await;
    let ran = upgrade_heads(root);
    assert_eq!(ran, [second], "alembic reads the subdirectories");
    assert_eq!(outcome, Outcome::Fail, "{message}");
    assert_eq!(pending, ran, "{message}");

    // The setting off: Alembic sees no revision at all (they are all in
    // subdirectories), so it has nothing to run; shipgate must not invent any.
    let off = root.join("off.sqlite3");
    std::fs::write(
        &ini,
        text.replace(
            "recursive_version_locations = true",
            "recursive_version_locations = false",
        ),
    )
    .unwrap();
    aim(root, &format!("sqlite:///{}", off.display()));
    let heads = alembic(root, &["heads"]);
    assert!(
        String::from_utf8_lossy(&heads.stdout).trim().is_empty(),
        "alembic sees no revision: {}",
        String::from_utf8_lossy(&heads.stdout)
    );
    let url = format!("sqlite://{}?mode=rwc", off.display());
    let (outcome, pending, message) = shipgate(&url, &versions).await;
    assert!(pending.is_empty(), "{message}");
    assert_eq!(outcome, Outcome::Pass, "{message}");
}

/// `alembic revision -m MESSAGE` with a date-subdirectory template: the new id.
fn generated_deep(dir: &Path, message: &str) -> String {
    let out = alembic(dir, &["revision", "-m", message]);
    let text = String::from_utf8_lossy(&out.stdout);
    let file = text
        .split_whitespace()
        .find(|w| w.ends_with(&format!("_{message}.py")))
        .expect("a generated file");
    let name = Path::new(file).file_name().unwrap().to_string_lossy();
    // dd_HHMM_SS_<rev>_<slug>.py
    name.split('_').nth(3).unwrap().to_owned()
}

/// A `depends_on` that names a branch label (`--depends-on audit`): Alembic resolves
/// it to the revision declaring the label, and once the dependent revision is applied
/// the labelled one is too, though `alembic_version` holds only the former.
#[tokio::test(flavor = "multi_thread")]
async fn a_dependency_on_a_branch_label_is_resolved_as_alembic_does() {
    require("alembic");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    alembic(root, &["init", "migrations"]);
    let versions = root.join("migrations/versions");
    let r1 = generated(root, &["revision", "-m", "first"]);
    let audit = generated(
        root,
        &[
            "revision",
            "-m",
            "audit",
            "--head",
            "base",
            "--branch-label",
            "audit",
        ],
    );
    let r2 = generated(
        root,
        &[
            "revision",
            "-m",
            "needs audit",
            "--head",
            &r1,
            "--depends-on",
            "audit",
        ],
    );
    let db = root.join("app.sqlite3");
    aim(root, &format!("sqlite:///{}", db.display()));
    let url = format!("sqlite://{}?mode=rwc", db.display());
    // Only the main line's base: the labelled branch and r2 are pending.
    alembic(root, &["upgrade", &r1]);
    let (outcome, pending, message) = shipgate(&url, &versions).await;
    assert_eq!(outcome, Outcome::Fail, "{message}");
    assert_eq!(
        pending.iter().collect::<BTreeSet<_>>(),
        [&audit, &r2].into_iter().collect::<BTreeSet<_>>(),
        "{message}"
    );
    let ran = upgrade_heads(root);
    assert_eq!(
        ran.iter().collect::<BTreeSet<_>>(),
        [&audit, &r2].into_iter().collect::<BTreeSet<_>>()
    );
    // Everything applied: nothing pending, whatever alembic_version holds.
    let (outcome, pending, message) = shipgate(&url, &versions).await;
    assert!(pending.is_empty(), "{message}");
    assert_eq!(outcome, Outcome::Pass, "{message}");
}
