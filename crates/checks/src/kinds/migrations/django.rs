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
    /// Each migration's `dependencies`, as written (`__first__`, `__latest__` kept).
    pub(super) dependencies: BTreeMap<Key, Vec<Key>>,
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
/// `MIGRATION_MODULES = {`, with or without a type annotation.
static MIGRATION_MODULES: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r"(?m)^MIGRATION_MODULES\s*(?::[^=\n]+)?=\s*"));
/// `INSTALLED_APPS =` at the start of a line.
static INSTALLED_APPS: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r"(?m)^INSTALLED_APPS\s*(?::[^=\n]+)?=\s*"));
/// `INSTALLED_APPS` changed after its definition.
static INSTALLED_APPS_CHANGED: LazyLock<regex::Regex> = LazyLock::new(|| {
    pattern(
        r"INSTALLED_APPS\s*(\+=|\.(append|extend|insert|remove)\(|\[[^\]]*\]\s*=)|INSTALLED_APPS\s*=\s*INSTALLED_APPS",
    )
});
/// `"label": "dotted.module"` or `"label": None`.
static MODULE_ENTRY: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r#"['"](\w+)['"]\s*:\s*(None|['"]([\w.]+)['"])"#));
/// The start of `dependencies = [`.
static DEPENDENCIES: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r"(?m)^\s+dependencies\s*(?::[^=]+)?=\s*[\[(]"));
/// One `("app", "name")` pair.
static PAIR: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r#"[(\[]\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*,?\s*[)\]]"#));

/// Directories never searched for apps: hidden ones, caches, virtual environments
/// and installed packages (a venv in the project must not bring Django's own apps).
fn skipped(dir: &Path) -> bool {
    let name = file_name(dir);
    name.starts_with('.')
        || matches!(
            name,
            "__pycache__" | "node_modules" | "site-packages" | "migrations"
        )
        || dir.join("pyvenv.cfg").is_file()
}

/// `dir` and every directory below it that may hold apps or settings, at any depth
/// (`src/apps/orders` is an app three levels down), without [`skipped`] ones.
fn tree(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let mut out = vec![dir.to_owned()];
    let mut at = 0;
    while at < out.len() {
        let here = out[at].clone();
        at += 1;
        for sub in files(&here)? {
            if sub.is_dir() && !skipped(&sub) {
                out.push(sub);
            }
        }
    }
    Ok(out)
}

/// `MIGRATION_MODULES = {"label": "dotted.module" | None, ...}` in the project's
/// Python files (its settings), by label. A value this reader cannot take literally
/// is an error naming the file: it never guesses.
fn migration_modules(
    tree: &[std::path::PathBuf],
) -> Result<BTreeMap<String, Option<String>>, String> {
    let mut found: Option<(std::path::PathBuf, BTreeMap<String, Option<String>>)> = None;
    for dir in tree {
        for path in files(dir)? {
            if !file_name(&path).ends_with(".py") || file_name(&path).starts_with("._") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Some(m) = MIGRATION_MODULES.find(&text) else {
                continue;
            };
            let body = braced(&text[m.end()..]).ok_or_else(|| {
                format!(
                    "{}: MIGRATION_MODULES is not a dict literal this check can read",
                    path.display()
                )
            })?;
            let entries: BTreeMap<String, Option<String>> = MODULE_ENTRY
                .captures_iter(body)
                .map(|c| (c[1].to_owned(), c.get(3).map(|m| m.as_str().to_owned())))
                .collect();
            if entries.len() != body.matches(':').count() {
                return Err(format!(
                    "{}: MIGRATION_MODULES holds entries this check cannot read literally (only \"label\": \"dotted.module\" or None)",
                    path.display()
                ));
            }
            match &found {
                Some((other, seen)) if *seen != entries => {
                    return Err(format!(
                        "MIGRATION_MODULES differs between {} and {}: which one the settings use cannot be told from the files",
                        other.display(),
                        path.display()
                    ));
                }
                _ => found = Some((path, entries)),
            }
        }
    }
    Ok(found.map(|(_, e)| e).unwrap_or_default())
}

/// `INSTALLED_APPS` when the settings say it once, as a literal list of strings, and
/// change it nowhere else (`+=`, `.append(`, …); none when they do not: then every app
/// on disk counts (strict rather than lenient).
fn installed_apps(tree: &[std::path::PathBuf]) -> Result<Option<Vec<String>>, String> {
    let mut found = Vec::new();
    for dir in tree {
        for path in files(dir)? {
            let name = file_name(&path);
            if !name.ends_with(".py") || name.starts_with("._") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if !text.contains("INSTALLED_APPS") {
                continue;
            }
            let text = crate::kinds::pyliteral::without_comments(&text);
            for m in INSTALLED_APPS.find_iter(&text) {
                found.push(text[m.end()..].to_owned());
            }
            if INSTALLED_APPS_CHANGED.is_match(&text) {
                return Ok(None);
            }
        }
    }
    let [list] = found.as_slice() else {
        return Ok(None);
    };
    let Some(inner) = bracketed(list) else {
        return Ok(None);
    };
    match crate::kinds::pyliteral::parse(inner) {
        Ok(serde_json::Value::Array(items)) if items.iter().all(serde_json::Value::is_string) => {
            Ok(Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            ))
        }
        _ => Ok(None),
    }
}

/// The list or tuple literal `text` starts with (after spaces), brackets included.
fn bracketed(text: &str) -> Option<&str> {
    let text = text.trim_start();
    let close = match text.chars().next()? {
        '[' => ']',
        '(' => ')',
        _ => return None,
    };
    let (mut depth, mut quote) = (0usize, None::<char>);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']' | ')') => {
                depth -= 1;
                if depth == 0 {
                    return (c == close).then(|| &text[..=i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether the app in directory `app` is one of `installed` (a module path, or an
/// `AppConfig` class path below it: `billing.apps.BillingConfig`).
fn is_installed(dir: &Path, app: &Path, installed: &[String]) -> bool {
    let Ok(rel) = app.strip_prefix(dir) else {
        return true;
    };
    let module: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
    let module = module.join(".");
    installed.iter().any(|entry| {
        entry == &module
            || entry
                .strip_prefix(&format!("{module}."))
                .is_some_and(|rest| {
                    rest.rsplit('.')
                        .next()
                        .is_some_and(|class| class.starts_with(|c: char| c.is_ascii_uppercase()))
                })
    })
}

/// The text inside the braces that `text` opens with (after optional spaces).
fn braced(text: &str) -> Option<&str> {
    let text = text.trim_start();
    let inner = text.strip_prefix('{')?;
    let mut depth = 1usize;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&inner[..i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Each app's label and the directory of its migrations package, as Django's loader
/// finds them: every app below `dir` with a `migrations` package, then
/// `MIGRATION_MODULES` moving an app's migrations elsewhere (a dotted module below
/// `dir`) or removing them (`None`).
fn packages(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, String> {
    let tree = tree(dir)?;
    let installed = installed_apps(&tree)?;
    let mut out: Vec<(String, std::path::PathBuf)> = tree
        .iter()
        .filter(|d| d.join("migrations").join("__init__.py").is_file())
        .filter(|app| {
            installed
                .as_ref()
                .is_none_or(|apps| is_installed(dir, app, apps))
        })
        .map(|app| (label(app), app.join("migrations")))
        .collect();
    for (label, module) in migration_modules(&tree)? {
        out.retain(|(l, _)| *l != label);
        let Some(module) = module else { continue };
        let path = dir.join(module.replace('.', "/"));
        if !path.join("__init__.py").is_file() {
            return Err(format!(
                "MIGRATION_MODULES puts {label}'s migrations in {module}, which is not a package below {} (Django would fail to import it)",
                dir.display()
            ));
        }
        out.push((label, path));
    }
    Ok(out)
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
    pairs_after(source, &REPLACES)
}

/// The pairs of the list `start` opens in `source` (a migration's `replaces` or
/// `dependencies`), or none when there is no such list.
fn pairs_after(source: &str, start: &regex::Regex) -> Option<Vec<Key>> {
    let start = start.find(source)?.end();
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
    for (label, migrations) in packages(dir)? {
        p.labels.insert(label.clone());
        for path in files(&migrations)? {
            let name = file_name(&path);
            let Some(stem) = name.strip_suffix(".py") else {
                continue;
            };
            // pkgutil, which Django's loader uses, skips `_`/`~` names and any
            // with a dot (macOS's `._0003_x.py`).
            if stem.starts_with(['_', '~']) || stem.contains('.') {
                continue;
            }
            let key = (label.clone(), stem.to_owned());
            let source =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if let Some(replaced) = replaces(&source) {
                p.squashes.insert(key.clone(), replaced);
            }
            if let Some(deps) = pairs_after(&source, &DEPENDENCIES) {
                p.dependencies.insert(key.clone(), deps);
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
    status.inconsistent = inconsistent(project, &nodes, &done, &ours);
    status.unreadable = only
        .iter()
        .filter(|o| !project.labels.contains(*o))
        .map(|o| format!("app {o} (in `apps`) has no migrations package below `dir`"))
        .collect();
    status
}

/// Django's `check_consistent_history`: an applied migration whose dependency (in the
/// apps this check answers for) is not applied makes `migrate` refuse with
/// InconsistentMigrationHistory, whatever is pending. `__first__` and `__latest__`
/// are resolved as Django's loader does: the app's root and its leaf.
fn inconsistent(
    project: &Project,
    nodes: &BTreeSet<Key>,
    done: &BTreeSet<Key>,
    ours: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    // As Django's graph has them while it resolves dependencies: every module (a
    // squash included), a leaf having no child and a root no parent in its own app;
    // the first of each, sorted, is the one taken.
    let same_app = |k: &Key| -> Vec<&Key> {
        project
            .dependencies
            .get(k)
            .map(|d| d.iter().filter(|p| p.0 == k.0).collect())
            .unwrap_or_default()
    };
    let with_children: BTreeSet<&Key> = project.nodes.iter().flat_map(same_app).collect();
    let resolve = |dep: &Key| -> Option<Key> {
        let mut of_app = project.nodes.iter().filter(|(a, _)| *a == dep.0);
        match dep.1.as_str() {
            "__first__" => of_app.find(|k| same_app(k).is_empty()).cloned(),
            "__latest__" => of_app.find(|k| !with_children.contains(k)).cloned(),
            _ => Some(dep.clone()),
        }
    };
    let mut out = Vec::new();
    for (key, deps) in &project.dependencies {
        if !done.contains(key) || !nodes.contains(key) || !ours(&key.0) {
            continue;
        }
        for dep in deps.iter().filter_map(resolve) {
            if ours(&dep.0) && nodes.contains(&dep) && !done.contains(&dep) {
                out.push(format!(
                    "Migration {}.{} is applied before its dependency {}.{}",
                    key.0, key.1, dep.0, dep.1
                ));
            }
        }
    }
    out
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
    for (label, migrations) in packages(dir).map_err(invalid)? {
        for path in listed(&migrations)? {
            let Some(stem) = file_name(&path).strip_suffix(".py") else {
                continue;
            };
            // pkgutil, which Django's loader uses, skips `_`/`~` names and any
            // with a dot (macOS's `._0003_x.py`).
            if stem.starts_with(['_', '~']) || stem.contains('.') {
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
