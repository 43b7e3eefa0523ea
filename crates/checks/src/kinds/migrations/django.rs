//! Django's migrations as Django's loader sees them (django/db/migrations/loader.py):
//! every module of an app's `migrations` package whose name does not start with `_` or
//! `~` is a migration, keyed by the app's *label* (its `AppConfig.label`, else the
//! directory's name); a squashed migration (`replaces = [...]`) stands for the
//! migrations it replaces, which leave the graph when all or none of them are applied,
//! and stays out of it when only some are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

use super::Status;
use super::disk::{file_name, files};
use super::reversible::{MigrationFile, invalid, listed, read};
use crate::Error;

/// `(app label, migration name)`.
pub(super) type Key = (String, String);

/// A project's migrations on disk.
#[derive(Debug, Default)]
pub(super) struct Project {
    /// Every migration module found.
    pub(super) nodes: BTreeSet<Key>,
    /// Squashed migrations and what each replaces.
    pub(super) squashes: BTreeMap<Key, Vec<Key>>,
    /// The labels of the apps found.
    pub(super) labels: BTreeSet<String>,
}

fn pattern(text: &str) -> regex::Regex {
    regex::Regex::new(text).expect("a valid pattern")
}
/// `label = "payments"` in an `AppConfig` subclass.
static LABEL: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r#"(?m)^\s+label\s*(?::\s*\w+\s*)?=\s*['"]([A-Za-z_][\w]*)['"]"#));
/// The start of `replaces = [` (the list may span many lines).
static REPLACES: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r"(?m)^\s+replaces\s*(?::[^=]+)?=\s*[\[(]"));
/// One `("app", "name")` pair.
static PAIR: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r#"[(\[]\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*,?\s*[)\]]"#));

/// The app directories below `dir` (it, its children and grandchildren) that hold a
/// `migrations` package.
fn app_dirs(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let mut dirs = vec![dir.to_owned()];
    for sub in files(dir)? {
        if sub.is_dir() && !file_name(&sub).starts_with('.') {
            dirs.push(sub.clone());
            dirs.extend(files(&sub)?.into_iter().filter(|p| p.is_dir()));
        }
    }
    Ok(dirs
        .into_iter()
        .filter(|d| d.join("migrations").join("__init__.py").is_file())
        .collect())
}

/// The app's label: `AppConfig.label` in its `apps.py`, else its directory's name.
fn label(app: &Path) -> String {
    std::fs::read_to_string(app.join("apps.py"))
        .ok()
        .and_then(|t| LABEL.captures(&t).map(|c| c[1].to_owned()))
        .unwrap_or_else(|| file_name(app).to_owned())
}

/// The pairs of a migration's `replaces`, or none.
fn replaces(source: &str) -> Option<Vec<Key>> {
    let start = REPLACES.find(source)?.end();
    // The list ends at the bracket that closes the one the match ended with.
    let mut depth = 1usize;
    let mut end = source.len();
    for (i, c) in source[start..].char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => {
                depth -= 1;
                if depth == 0 {
                    end = start + i;
                    break;
                }
            }
            _ => {}
        }
    }
    let list = &source[start.saturating_sub(1)..=end.min(source.len() - 1)];
    Some(
        PAIR.captures_iter(list)
            .map(|c| (c[1].to_owned(), c[2].to_owned()))
            .collect(),
    )
}

/// Reads the project below `dir`.
pub(super) fn project(dir: &Path) -> Result<Project, String> {
    let mut p = Project::default();
    for app in app_dirs(dir)? {
        let label = label(&app);
        p.labels.insert(label.clone());
        for path in files(&app.join("migrations"))? {
            let name = file_name(&path);
            let Some(stem) = name.strip_suffix(".py") else {
                continue;
            };
            if stem.starts_with(['_', '~']) {
                continue;
            }
            let key = (label.clone(), stem.to_owned());
            let source =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if let Some(replaced) = replaces(&source) {
                p.squashes.insert(key.clone(), replaced);
            }
            p.nodes.insert(key);
        }
    }
    Ok(p)
}

/// What `showmigrations` would show unapplied, for the apps `only` names (none: every
/// app found on disk), against the `applied` rows of `django_migrations`. Rows of
/// other apps (Django's own, site-packages) are not this check's to judge; rows of its
/// apps that no file on disk knows (a deleted migration) are named as unknown.
pub(super) fn status(project: &Project, applied: &[Key], only: &[String]) -> Status {
    let ours = |label: &str| {
        if only.is_empty() {
            project.labels.contains(label)
        } else {
            only.iter().any(|o| o == label)
        }
    };
    let mut done: BTreeSet<Key> = applied.iter().cloned().collect();
    let mut nodes = project.nodes.clone();
    for (squash, replaced) in &project.squashes {
        let applied_count = replaced.iter().filter(|r| done.contains(*r)).count();
        if applied_count == replaced.len() {
            done.insert(squash.clone());
        }
        if applied_count == replaced.len() || applied_count == 0 {
            for r in replaced {
                nodes.remove(r);
            }
        } else {
            nodes.remove(squash);
        }
    }
    let replaced: BTreeSet<&Key> = project.squashes.values().flatten().collect();
    let id = |(app, name): &Key| format!("{app}.{name}");
    let mut status = Status {
        on_disk: nodes.iter().filter(|(l, _)| ours(l)).count(),
        ..Status::default()
    };
    status.pending = nodes
        .iter()
        .filter(|k| ours(&k.0) && !done.contains(*k))
        .map(id)
        .collect();
    status.unknown = applied
        .iter()
        .filter(|k| ours(&k.0) && !project.nodes.contains(*k) && !replaced.contains(k))
        .map(id)
        .collect();
    status
}

/// The argument text of each `name(` call in `text` (parentheses balanced).
fn calls<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let needle = format!("{name}(");
    let mut from = 0;
    while let Some(at) = text[from..].find(&needle) {
        let start = from + at + needle.len();
        let mut depth = 1usize;
        let mut end = start;
        for (i, c) in text[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = start + i;
                break;
            }
        }
        out.push(&text[start..end.max(start)]);
        from = start;
    }
    out
}

/// Top-level arguments of a call's argument text.
fn arguments(args: &str) -> Vec<&str> {
    let (mut depth, mut last, mut out) = (0i32, 0, Vec::new());
    for (i, c) in args.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(args[last..i].trim());
                last = i + 1;
            }
            _ => {}
        }
    }
    out.push(args[last..].trim());
    out.retain(|a| !a.is_empty());
    out
}

/// Each migration module as `label.name`, the id `django_migrations` records: read
/// with the same app discovery, labels and module rule as the status. Irreversible
/// where a `RunPython` or `RunSQL` has no reverse (Django raises `IrreversibleError`);
/// destructive where it removes a field or a model, or alters a field.
pub(super) fn reversibility(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    let mut out = Vec::new();
    for app in app_dirs(dir).map_err(invalid)? {
        let label = label(&app);
        for path in listed(&app.join("migrations"))? {
            let Some(stem) = file_name(&path).strip_suffix(".py") else {
                continue;
            };
            if stem.starts_with(['_', '~']) {
                continue;
            }
            let text = read(&path)?;
            let mut why = Vec::new();
            for (call, reverse) in [("RunPython", "reverse_code"), ("RunSQL", "reverse_sql")] {
                for args in calls(&text, call) {
                    let positional = arguments(args).iter().filter(|a| !a.contains('=')).count();
                    let named = args.contains(&format!("{reverse}="))
                        && !args.contains(&format!("{reverse}=None"));
                    if positional < 2 && !named {
                        why.push(format!("{call} without {reverse}"));
                    }
                }
            }
            let destructive = ["RemoveField", "DeleteModel", "AlterField"]
                .into_iter()
                .filter(|op| {
                    text.contains(&format!("migrations.{op}(")) || text.contains(&format!(" {op}("))
                })
                .map(str::to_owned)
                .collect();
            why.dedup();
            out.push(MigrationFile {
                id: format!("{label}.{stem}"),
                path,
                irreversible: (!why.is_empty()).then(|| why.join(", ")),
                destructive,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_squash_formatted_over_many_lines_lists_what_it_replaces() {
        let source = "class Migration(migrations.Migration):\n\n    replaces = [\n        (\"shop\", \"0001_initial\"),\n        ('shop', '0002_product_price'),\n    ]\n\n    dependencies = [('auth', '0012_x')]\n";
        assert_eq!(
            replaces(source).unwrap(),
            [
                ("shop".to_owned(), "0001_initial".to_owned()),
                ("shop".to_owned(), "0002_product_price".to_owned())
            ]
        );
        assert_eq!(replaces("    dependencies = []\n"), None);
    }
}
