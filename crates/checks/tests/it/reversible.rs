//! Which migrations can be gone back over, per framework, read from files written the
//! way each framework writes them.

use std::path::Path;

use shipgate_checks::{Framework, migration_files};

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `(id, reversible, destructive)` for each migration.
fn read(framework: Framework, dir: &Path) -> Vec<(String, bool, Vec<String>)> {
    migration_files(framework, dir)
        .unwrap()
        .into_iter()
        .map(|m| (m.id, m.irreversible.is_none(), m.destructive))
        .collect()
}

#[test]
fn sql_frameworks_by_their_down_files() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "0001_init.up.sql",
        "CREATE TABLE t (a int, b int);",
    );
    write(d.path(), "0001_init.down.sql", "DROP TABLE t;");
    write(
        d.path(),
        "0002_drop_b.up.sql",
        "-- drop table in a comment\nALTER TABLE t DROP COLUMN b;",
    );
    write(d.path(), "0003_simple.sql", "INSERT INTO t VALUES (1, 2);");
    assert_eq!(
        read(Framework::Sqlx, d.path()),
        [
            ("1".into(), true, vec![]),
            (
                "2".into(),
                false,
                vec!["ALTER TABLE T DROP COLUMN B".into()]
            ),
            ("3".into(), false, vec![]),
        ]
    );
    // golang-migrate has no simple form: 0003_simple.sql is not its migration.
    assert_eq!(read(Framework::GolangMigrate, d.path()).len(), 2);

    let f = tempfile::tempdir().unwrap();
    write(f.path(), "V1__init.sql", "CREATE TABLE t (a int);");
    write(f.path(), "U1__init.sql", "DROP TABLE t;");
    write(f.path(), "V1_1__more.sql", "TRUNCATE t;");
    assert_eq!(
        read(Framework::Flyway, f.path()),
        [
            ("1".into(), true, vec![]),
            ("1.1".into(), false, vec!["TRUNCATE".into()])
        ]
    );

    let g = tempfile::tempdir().unwrap();
    write(
        g.path(),
        "2026-01-01-000000_init/up.sql",
        "CREATE TABLE t (a int);",
    );
    write(g.path(), "2026-01-01-000000_init/down.sql", "DROP TABLE t;");
    write(
        g.path(),
        "2026-02-01-000000_more/up.sql",
        "ALTER TABLE t ALTER COLUMN a TYPE text;",
    );
    write(
        g.path(),
        "2026-02-01-000000_more/down.sql",
        "-- This file should undo anything in `up.sql`\n",
    );
    assert_eq!(
        read(Framework::Diesel, g.path()),
        [
            ("20260101000000".into(), true, vec![]),
            (
                "20260201000000".into(),
                false,
                vec!["ALTER COLUMN A TYPE".into()]
            ),
        ]
    );
}

#[test]
fn django_by_its_operations_reverses() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "shop/migrations/__init__.py", "");
    write(
        d.path(),
        "shop/migrations/0001_initial.py",
        "class Migration(migrations.Migration):\n    operations = [migrations.CreateModel(name='Order', fields=[])]\n",
    );
    write(
        d.path(),
        "shop/migrations/0002_backfill.py",
        "class Migration(migrations.Migration):\n    operations = [migrations.RunPython(forwards, backwards)]\n",
    );
    write(
        d.path(),
        "shop/migrations/0003_backfill_again.py",
        "class Migration(migrations.Migration):\n    operations = [\n        migrations.RunPython(\n            forwards,\n            elidable=True,\n        ),\n        migrations.RunSQL('UPDATE x SET y = 1', reverse_sql=migrations.RunSQL.noop),\n    ]\n",
    );
    write(
        d.path(),
        "shop/migrations/0004_drop_note.py",
        "class Migration(migrations.Migration):\n    operations = [migrations.RemoveField(model_name='order', name='note')]\n",
    );
    let found = migration_files(Framework::Django, d.path()).unwrap();
    let ids: Vec<&str> = found.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "shop.0001_initial",
            "shop.0002_backfill",
            "shop.0003_backfill_again",
            "shop.0004_drop_note"
        ]
    );
    assert_eq!(found[0].irreversible, None);
    assert_eq!(
        found[1].irreversible, None,
        "RunPython(forwards, backwards)"
    );
    assert_eq!(
        found[2].irreversible.as_deref(),
        Some("RunPython without reverse_code")
    );
    assert_eq!(found[3].irreversible, None);
    assert_eq!(found[3].destructive, ["RemoveField"]);
}

#[test]
fn alembic_and_rails_by_their_way_down() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a1.py",
        "revision = 'a1'\ndown_revision = None\n\ndef upgrade():\n    op.create_table('t')\n\ndef downgrade():\n    op.drop_table('t')\n",
    );
    write(
        d.path(),
        "b2.py",
        "revision: str = 'b2'\ndown_revision = 'a1'\n\ndef upgrade() -> None:\n    op.drop_column('t', 'note')\n\ndef downgrade() -> None:\n    \"\"\"Nothing.\"\"\"\n    pass\n",
    );
    write(
        d.path(),
        "c3.py",
        "revision = 'c3'\ndown_revision = 'b2'\n\ndef upgrade():\n    op.add_column('t', sa.Column('x'))\n\ndef downgrade():\n    raise NotImplementedError()\n",
    );
    assert_eq!(
        read(Framework::Alembic, d.path()),
        [
            ("a1".into(), true, vec![]),
            ("b2".into(), false, vec!["op.drop_column".into()]),
            ("c3".into(), false, vec![]),
        ]
    );

    let r = tempfile::tempdir().unwrap();
    write(
        r.path(),
        "20260101000000_create_orders.rb",
        "class CreateOrders < ActiveRecord::Migration[7.1]\n  def change\n    create_table :orders\n  end\nend\n",
    );
    write(
        r.path(),
        "20260201000000_drop_notes.rb",
        "class DropNotes < ActiveRecord::Migration[7.1]\n  def up\n    remove_column :orders, :note\n  end\n  def down\n    raise ActiveRecord::IrreversibleMigration\n  end\nend\n",
    );
    assert_eq!(
        read(Framework::Rails, r.path()),
        [
            ("20260101000000".into(), true, vec![]),
            ("20260201000000".into(), false, vec!["remove_column".into()]),
        ]
    );
}

/// The ids are the ones the tracking tables hold, read the way the status reads them:
/// a Django app's `AppConfig.label` (not its directory), an Alembic revision however
/// it is annotated. A rollback guard compares these with the table's rows.
#[test]
fn ids_are_read_as_the_status_reads_them() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "billing/apps.py",
        "class BillingConfig(AppConfig):\n    name = 'billing'\n    label = 'payments'\n",
    );
    write(d.path(), "billing/migrations/__init__.py", "");
    write(
        d.path(),
        "billing/migrations/0001_initial.py",
        "class Migration(migrations.Migration):\n    operations = []\n",
    );
    // A namespace package (no __init__.py) is an app without migrations to Django.
    write(
        d.path(),
        "loose/migrations/0001_initial.py",
        "class Migration(migrations.Migration):\n    operations = []\n",
    );
    let ids: Vec<String> = read(Framework::Django, d.path())
        .into_iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(ids, ["payments.0001_initial"]);

    let a = tempfile::tempdir().unwrap();
    write(
        a.path(),
        "ae1027a6acf_init.py",
        "revision: Union[str, None] = 'ae1027a6acf'\ndown_revision: Union[str, Sequence[str], None] = None\n\ndef upgrade() -> None:\n    op.create_table('t')\n\ndef downgrade() -> None:\n    op.drop_table('t')\n",
    );
    assert_eq!(
        read(Framework::Alembic, a.path()),
        [("ae1027a6acf".into(), true, vec![])]
    );
}

#[test]
fn liquibase_xml_by_its_rollback_or_liquibases_own() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "changelog.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<databaseChangeLog xmlns="http://www.liquibase.org/xml/ns/dbchangelog">
    <!-- <changeSet id="0" author="nobody"> in a comment is not one -->
    <changeSet author="ann" id="1">
        <createTable tableName="t"><column name="a" type="int"/></createTable>
    </changeSet>
    <changeSet id="2" author="ann">
        <dropColumn tableName="t" columnName="a"/>
    </changeSet>
    <changeSet id="3" author="ann">
        <sql>UPDATE t SET a = 1</sql>
        <rollback><sql>UPDATE t SET a = 0</sql></rollback>
    </changeSet>
</databaseChangeLog>
"#,
    );
    assert_eq!(
        read(Framework::Liquibase, d.path()),
        [
            ("ann:1".into(), true, vec![]),
            ("ann:2".into(), false, vec!["dropColumn".into()]),
            ("ann:3".into(), true, vec![]),
        ]
    );
}
