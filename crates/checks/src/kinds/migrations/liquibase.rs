//! Liquibase: formatted SQL (`--changeset author:id`, undone by its `--rollback`
//! lines) or XML changelogs (`<changeSet id author>`, undone by its `<rollback>` or,
//! when every change in it is one Liquibase reverses by itself, automatically);
//! `databasechangelog` records `author:id`.

use std::path::Path;
use std::sync::LazyLock;

use super::disk::{OnDisk, file_name, files};
use super::reversible::{MigrationFile, destructive_sql, invalid, listed, read};
use crate::Error;

/// `--changeset author:id` at the start of a line of formatted SQL.
static CHANGESET: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?m)^\s*--\s*changeset\s+([^:\s]+):(\S+)").expect("a valid pattern")
});

/// The changes Liquibase rolls back without being told how (its "automatic rollback"):
/// each has an obvious inverse. A `dropTable`, `sql`, `insert` or `modifyDataType` has
/// none.
const AUTO_ROLLBACK: &[&str] = &[
    "addColumn",
    "addDefaultValue",
    "addForeignKeyConstraint",
    "addLookupTable",
    "addNotNullConstraint",
    "addPrimaryKey",
    "addUniqueConstraint",
    "createIndex",
    "createSequence",
    "createTable",
    "createView",
    "renameColumn",
    "renameSequence",
    "renameTable",
    "renameView",
    "tagDatabase",
];

/// Changes that destroy data: reversing them brings the schema back, not the rows.
const DESTRUCTIVE: &[&str] = &["dropTable", "dropColumn", "modifyDataType", "delete"];

/// One changeset of an XML changelog.
struct XmlChangeSet {
    id: String,
    /// The change elements' names, in order (not `comment`, `preConditions`, …).
    changes: Vec<String>,
    rollback: bool,
    /// The text of its `<sql>` changes.
    sql: String,
}

/// The changesets of an XML changelog, as Liquibase's parser finds them (attributes in
/// any order, comments and CDATA as XML has them).
fn xml_changesets(path: &Path, text: &str) -> Result<Vec<XmlChangeSet>, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(doc
        .descendants()
        .filter(|n| n.has_tag_name("changeSet"))
        .filter_map(|set| {
            let id = format!("{}:{}", set.attribute("author")?, set.attribute("id")?);
            let children: Vec<_> = set.children().filter(roxmltree::Node::is_element).collect();
            let name = |n: &roxmltree::Node<'_, '_>| n.tag_name().name().to_owned();
            Some(XmlChangeSet {
                id,
                changes: children
                    .iter()
                    .map(name)
                    .filter(|n| {
                        !matches!(
                            n.as_str(),
                            "comment" | "preConditions" | "validCheckSum" | "rollback"
                        )
                    })
                    .collect(),
                rollback: children.iter().any(|c| c.has_tag_name("rollback")),
                sql: children
                    .iter()
                    .filter(|c| c.has_tag_name("sql"))
                    .filter_map(|c| c.text())
                    .collect::<Vec<_>>()
                    .join("\n"),
            })
        })
        .collect())
}

/// `--changeset author:id` in formatted SQL, `<changeSet id=".." author="..">` in XML.
pub(super) fn disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
    let mut out = Vec::new();
    for path in files(dir)? {
        let name = file_name(&path);
        if !name.ends_with(".sql") && !name.ends_with(".xml") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let ids: Vec<String> = if name.ends_with(".sql") {
            CHANGESET
                .captures_iter(&text)
                .map(|c| format!("{}:{}", &c[1], &c[2]))
                .collect()
        } else {
            xml_changesets(&path, &text)?
                .into_iter()
                .map(|c| c.id)
                .collect()
        };
        out.extend(ids.into_iter().map(|id| OnDisk { id, checksum: None }));
    }
    Ok(out)
}

/// Each changeset: a formatted SQL one is reversible when it has `--rollback` lines;
/// an XML one when it has a `<rollback>` (an empty one says there is nothing to undo)
/// or each of its changes is one Liquibase rolls back by itself.
pub(super) fn reversibility(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    let mut out = Vec::new();
    for path in listed(dir)? {
        let name = file_name(&path);
        if name.ends_with(".xml") {
            let text = read(&path)?;
            for set in xml_changesets(&path, &text).map_err(invalid)? {
                let manual: Vec<&str> = set
                    .changes
                    .iter()
                    .map(String::as_str)
                    .filter(|c| !AUTO_ROLLBACK.contains(c))
                    .collect();
                let irreversible = (!set.rollback && !manual.is_empty()).then(|| {
                    format!(
                        "no <rollback>, and Liquibase cannot undo {} by itself",
                        manual.join(", ")
                    )
                });
                let mut destructive: Vec<String> = set
                    .changes
                    .iter()
                    .filter(|c| DESTRUCTIVE.contains(&c.as_str()))
                    .cloned()
                    .collect();
                destructive.extend(destructive_sql(&set.sql));
                out.push(MigrationFile {
                    id: set.id,
                    path: path.clone(),
                    irreversible,
                    destructive,
                });
            }
            continue;
        }
        if !name.ends_with(".sql") {
            continue;
        }
        let text = read(&path)?;
        let starts: Vec<(usize, String)> = CHANGESET
            .captures_iter(&text)
            .map(|c| {
                (
                    c.get(0).map_or(0, |m| m.start()),
                    format!("{}:{}", &c[1], &c[2]),
                )
            })
            .collect();
        for (i, (start, id)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(text.len(), |(s, _)| *s);
            let part = &text[*start..end];
            let irreversible =
                (!part.contains("--rollback")).then(|| "no --rollback in its changeset".to_owned());
            out.push(MigrationFile {
                id: id.clone(),
                path: path.clone(),
                irreversible,
                destructive: destructive_sql(part),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::migrations::reversible::testing::{fixture, summary};

    #[test]
    fn the_fixture_project_as_liquibase_reads_it() {
        let dir = fixture("liquibase");
        let mut ids: Vec<String> = disk(&dir).unwrap().into_iter().map(|d| d.id).collect();
        ids.sort();
        assert_eq!(ids, ["alice:1", "alice:2", "bob:3"]);
        let found = summary(reversibility(&dir).unwrap());
        let ids: Vec<(&str, bool)> = found.iter().map(|f| (f.0.as_str(), f.1)).collect();
        assert_eq!(
            ids,
            [("alice:1", false), ("alice:2", false), ("bob:3", true)]
        );
    }
}
