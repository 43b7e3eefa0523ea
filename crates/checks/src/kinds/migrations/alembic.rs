//! Alembic's revision files as Alembic reads them: `revision`, `down_revision` and
//! `depends_on` are module-level assignments, with or without a type annotation
//! (`down_revision: Union[str, Sequence[str], None] = …`), a string, `None`, or a tuple
//! or list that may span lines (Alembic's `black`/`ruff` post-write hooks split a merge
//! of three heads over five). What is applied is everything at or below the revisions
//! `alembic_version` holds, through parents and dependencies; pending revisions are
//! listed in the order an upgrade applies them (parents first).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

use super::Status;
use super::disk::{file_name, files};
use super::reversible::{MigrationFile, named_in, read};
use crate::Error;

/// One revision file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Revision {
    /// `down_revision`: none for a base, several for a merge.
    pub(super) parents: Vec<String>,
    /// `depends_on`: revisions (of other branches) that must be applied first.
    pub(super) depends_on: Vec<String>,
}

/// Revision id → its revision.
pub(super) type Graph = BTreeMap<String, Revision>;

/// A module-level assignment (`revision = …`, `down_revision: Union[…] = …`), with or
/// without a type annotation.
static ASSIGNMENT: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?m)^(\w+)\s*(?::[^=\n]+)?=[ \t]*").expect("a valid pattern")
});

static QUOTED: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r#"['"]([^'"]+)['"]"#).expect("a valid pattern"));

/// The value of the module-level assignment to `name`, as the strings it holds: a
/// string is one, `None` none, a tuple or list (over any number of lines) its items.
/// `None` when there is no such assignment.
fn assigned(source: &str, name: &str) -> Option<Vec<String>> {
    let start = ASSIGNMENT
        .captures_iter(source)
        .find(|c| &c[1] == name)?
        .get(0)?
        .end();
    let rest = &source[start..];
    let value = match rest.chars().next() {
        Some(open @ ('(' | '[')) => {
            let close = if open == '(' { ')' } else { ']' };
            let mut quote: Option<char> = None;
            let mut comment = false;
            let mut end = rest.len();
            for (i, c) in rest.char_indices().skip(1) {
                match (quote, c) {
                    // A comment runs to the end of its line (`# don't` holds no quote).
                    _ if comment => comment = c != '\n',
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '#') => comment = true,
                    (None, '\'' | '"') => quote = Some(c),
                    (None, c) if c == close => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            &rest[..end]
        }
        _ => rest.lines().next().unwrap_or_default(),
    };
    // Comments are not part of the value (`# don't` inside a tuple included).
    let value = crate::kinds::pyliteral::without_comments(value);
    Some(
        QUOTED
            .captures_iter(&value)
            .map(|c| c[1].to_owned())
            .collect(),
    )
}

/// Whether the project's Alembic configuration (`alembic.ini`, or `[tool.alembic]` in
/// `pyproject.toml`, in the versions directory's parents) says
/// `recursive_version_locations = true`: then Alembic reads revision files in
/// subdirectories too (the date-based layout its own template offers).
fn recursive(dir: &Path) -> bool {
    let truthy = |v: &str| {
        matches!(
            v.trim().trim_matches('"').to_ascii_lowercase().as_str(),
            "true" | "yes" | "on" | "y" | "t" | "1"
        )
    };
    for parent in dir.ancestors().skip(1).take(3) {
        for file in ["alembic.ini", "pyproject.toml"] {
            let Ok(text) = std::fs::read_to_string(parent.join(file)) else {
                continue;
            };
            let setting = text.lines().find_map(|l| {
                let (key, value) = l.split_once('=')?;
                (key.trim() == "recursive_version_locations").then_some(value)
            });
            if let Some(value) = setting {
                return truthy(value);
            }
        }
    }
    false
}

/// The revision files Alembic reads: `dir`'s `.py` files, and with
/// `recursive_version_locations` those of its subdirectories (not caches, not hidden).
pub(super) fn revision_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let deep = recursive(dir);
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(here) = dirs.pop() {
        for path in files(&here)? {
            let name = file_name(&path);
            if path.is_dir() {
                if deep && !name.starts_with(['.', '_']) {
                    dirs.push(path);
                }
            } else if name.ends_with(".py") && !name.starts_with("._") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Every revision file in `dir`. A `depends_on` naming a branch label stands for the
/// revision that declares it (`branch_labels`), as Alembic's revision map resolves it.
pub(super) fn graph(dir: &Path) -> Result<Graph, String> {
    let mut graph = Graph::new();
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for path in revision_files(dir)? {
        if !file_name(&path).ends_with(".py") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let Some(id) = assigned(&text, "revision").and_then(|v| v.into_iter().next()) else {
            continue;
        };
        for label in assigned(&text, "branch_labels").unwrap_or_default() {
            labels.insert(label, id.clone());
        }
        graph.insert(
            id,
            Revision {
                parents: assigned(&text, "down_revision").unwrap_or_default(),
                depends_on: assigned(&text, "depends_on").unwrap_or_default(),
            },
        );
    }
    for rev in graph.values_mut() {
        for dep in &mut rev.depends_on {
            if let Some(id) = labels.get(dep) {
                dep.clone_from(id);
            }
        }
    }
    Ok(graph)
}

/// Against the revisions `alembic_version` holds.
pub(super) fn status(graph: &Graph, current: &[String]) -> Status {
    let mut status = Status {
        on_disk: graph.len(),
        ..Status::default()
    };
    status.unknown = current
        .iter()
        .filter(|c| !graph.contains_key(*c))
        .cloned()
        .collect();
    // Everything at or below a current revision is applied.
    let mut applied = BTreeSet::new();
    let mut stack: Vec<&String> = current.iter().collect();
    while let Some(r) = stack.pop() {
        if applied.insert(r.clone())
            && let Some(rev) = graph.get(r)
        {
            stack.extend(rev.parents.iter().chain(&rev.depends_on));
        }
    }
    status.pending = upgrade_order(graph, &applied);
    status
}

/// The revisions not in `applied`, parents and dependencies first; among those ready
/// at once, by id (Alembic's own order between independent branches is its own).
fn upgrade_order(graph: &Graph, applied: &BTreeSet<String>) -> Vec<String> {
    let mut done: BTreeSet<&str> = applied.iter().map(String::as_str).collect();
    let mut left: BTreeSet<&str> = graph
        .keys()
        .map(String::as_str)
        .filter(|r| !done.contains(r))
        .collect();
    let mut order = Vec::new();
    while !left.is_empty() {
        let ready: Vec<&str> = left
            .iter()
            .copied()
            .filter(|r| {
                let rev = &graph[*r];
                rev.parents
                    .iter()
                    .chain(&rev.depends_on)
                    // A parent the files do not have cannot be waited for.
                    .all(|p| done.contains(p.as_str()) || !graph.contains_key(p))
            })
            .collect();
        if ready.is_empty() {
            // A cycle in the files: list the rest as they are rather than loop.
            order.extend(left.iter().map(|r| (*r).to_owned()));
            break;
        }
        for r in ready {
            left.remove(r);
            done.insert(r);
            order.push(r.to_owned());
        }
    }
    order
}

/// The body of `def name(` up to the next top-level statement.
fn body<'a>(text: &'a str, def: &str) -> Option<Vec<&'a str>> {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with(&format!("def {def}(")));
    lines.next()?;
    Some(
        lines
            .take_while(|l| l.is_empty() || l.starts_with(char::is_whitespace))
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect(),
    )
}

/// Each revision file, by the `revision` the graph reads: irreversible when its
/// `downgrade()` raises `NotImplementedError` or does nothing; destructive when its
/// `upgrade()` drops a column or a table, or alters a column.
pub(super) fn reversibility(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    let mut out = Vec::new();
    for path in revision_files(dir).map_err(super::reversible::invalid)? {
        let text = read(&path)?;
        let Some(revision) = assigned(&text, "revision").and_then(|v| v.into_iter().next()) else {
            continue;
        };
        let down = body(&text, "downgrade").unwrap_or_default();
        let meaningful: Vec<&&str> = down
            .iter()
            .filter(|l| !l.starts_with("\"\"\"") && !l.starts_with("'''"))
            .collect();
        let irreversible = if meaningful.iter().any(|l| l.contains("NotImplementedError")) {
            Some("downgrade() raises NotImplementedError".to_owned())
        } else if meaningful
            .iter()
            .all(|l| **l == "pass" || l.starts_with("\""))
        {
            Some("downgrade() does nothing".to_owned())
        } else {
            None
        };
        let up = body(&text, "upgrade").unwrap_or_default().join("\n");
        let destructive = named_in(&up, &["op.drop_column", "op.drop_table", "op.alter_column"]);
        out.push(MigrationFile {
            id: revision,
            path,
            irreversible,
            destructive,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_are_read_whatever_their_shape() {
        let merge = "revision: str = \"61ce3fe4fbd5\"\ndown_revision: Union[str, Sequence[str], None] = (\n    \"23253e1a5895\",\n    \"379d03af7c61\",\n    \"9138f080242a\",\n)\nbranch_labels = None\n";
        assert_eq!(assigned(merge, "revision").unwrap(), ["61ce3fe4fbd5"]);
        assert_eq!(
            assigned(merge, "down_revision").unwrap(),
            ["23253e1a5895", "379d03af7c61", "9138f080242a"]
        );
        assert_eq!(
            assigned(merge, "branch_labels").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(assigned(merge, "depends_on"), None);
        let old = "revision = 'a1'\ndown_revision = 'b2'  # the one before\n";
        assert_eq!(assigned(old, "down_revision").unwrap(), ["b2"]);
        let list = "down_revision = ['x', \"y\"]\n";
        assert_eq!(assigned(list, "down_revision").unwrap(), ["x", "y"]);
        let commented =
            "down_revision = (\n    'a1',  # don't drop: it's the audit branch\n    'b2',\n)\n";
        assert_eq!(assigned(commented, "down_revision").unwrap(), ["a1", "b2"]);
    }

    #[test]
    fn pending_revisions_come_parents_first() {
        let rev = |parents: &[&str], deps: &[&str]| Revision {
            parents: parents.iter().map(|s| (*s).to_owned()).collect(),
            depends_on: deps.iter().map(|s| (*s).to_owned()).collect(),
        };
        let graph: Graph = [
            ("a".to_owned(), rev(&[], &[])),
            ("z".to_owned(), rev(&["a"], &[])),
            ("b".to_owned(), rev(&["z"], &[])),
            ("m".to_owned(), rev(&["b", "c"], &[])),
            ("c".to_owned(), rev(&["a"], &["z"])),
        ]
        .into_iter()
        .collect();
        let s = status(&graph, &["a".to_owned()]);
        assert_eq!(s.pending, ["z", "b", "c", "m"]);
        let s = status(&graph, &["c".to_owned()]);
        assert_eq!(s.pending, ["b", "m"], "c's dependency z is applied with it");
    }
}
