//! `type = "rds"` backups against moto_server: a manual snapshot before the
//! migration, recorded in the manifest; retention that deletes only shipgate's own;
//! `rollback database` restoring it to a new instance. What moto holds is read through
//! its own API.

use serde_json::Value;
use shipgate_testkit::xml_values;

use super::{Site, text};

const RDS: &str = "2014-10-31";

const BACKUP: &str = r#"
[deploy.backup]
keep = 1
[[deploy.backup.items]]
name = "db"
type = "rds"
instance = "shop-db"
"#;

fn rds(site: &Site, action: &str, params: &[(&str, &str)]) -> String {
    site.moto.query("rds", RDS, action, params).unwrap()
}

/// A site whose service's database is an RDS instance `shop-db`, and a snapshot of it
/// someone else took.
fn site() -> Site {
    let site = Site::new(2, 2, &["v1", "v2", "v3"], BACKUP);
    shipgate_testkit::moto_shop::rds_instance(&site.moto, "shop-db", "not-a-secret-1").unwrap();
    rds(
        &site,
        "CreateDBSnapshot",
        &[
            ("DBSnapshotIdentifier", "nightly-by-hand"),
            ("DBInstanceIdentifier", "shop-db"),
        ],
    );
    // The endpoint comes from the configuration, for the backup as for the driver.
    let config = site.dir.path().join("shipgate.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "instance = \"shop-db\"",
        &format!(
            "instance = \"shop-db\"\nendpoint_url = \"{}\"\nregion = \"us-east-1\"",
            site.moto.url()
        ),
    );
    std::fs::write(&config, text).unwrap();
    site
}

fn snapshots(site: &Site) -> Vec<String> {
    let mut all = xml_values(
        &rds(site, "DescribeDBSnapshots", &[("SnapshotType", "manual")]),
        "DBSnapshotIdentifier",
    );
    all.sort();
    all
}

fn manifests(site: &Site) -> Vec<Value> {
    let root = site.dir.path().join("backups");
    let mut all: Vec<Value> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path().join("manifest.json")).ok())
        .map(|t| serde_json::from_str(&t).unwrap())
        .collect();
    all.sort_by_key(|m| m["id"].as_str().unwrap().to_owned());
    all
}

#[test]
fn a_snapshot_before_each_deploy_only_shipgates_pruned_and_restored_to_a_new_instance() {
    let site = site();
    let out = site.run(&["deploy", "--release", "v2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let first = manifests(&site);
    assert_eq!(first.len(), 1);
    let snapshot = first[0]["items"][0]["file"].as_str().unwrap().to_owned();
    assert!(
        snapshot.starts_with("shipgate-staging-shop-db-"),
        "{snapshot}"
    );
    assert_eq!(first[0]["items"][0]["kind"], "rds");
    assert!(
        text(&out).contains(&format!("RDS snapshot {snapshot}")),
        "{}",
        text(&out)
    );
    let journal = std::fs::read_dir(site.dir.path().join("state/staging/deployments"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect::<String>();
    assert!(
        journal.contains(&format!("\"snapshots\":[\"{snapshot}\"]")),
        "the journal records the snapshot: {journal}"
    );
    let status = xml_values(
        &rds(
            &site,
            "DescribeDBSnapshots",
            &[("DBSnapshotIdentifier", &snapshot)],
        ),
        "Status",
    );
    assert_eq!(status, ["available"]);

    // The next deployment's backup replaces it (keep = 1): its snapshot is deleted,
    // the one taken by hand is not.
    let out = site.run(&["deploy", "--release", "v3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let second = manifests(&site);
    assert_eq!(second.len(), 1, "{second:?}");
    let latest = second[0]["items"][0]["file"].as_str().unwrap().to_owned();
    assert_ne!(latest, snapshot);
    assert_eq!(
        snapshots(&site),
        ["nightly-by-hand".to_owned(), latest.clone()]
    );

    // rollback database: the snapshot verified, restored to a new instance, which the
    // report says how to use; the old instance untouched.
    let out = site.run(&["rollback", "database"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("WARN  restore"), "{all}");
    assert!(all.contains("the service still uses shop-db"), "{all}");
    let id: String = second[0]["id"]
        .as_str()
        .unwrap()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let restored = format!("shop-db-restored-{id}");
    let instances = xml_values(
        &rds(&site, "DescribeDBInstances", &[]),
        "DBInstanceIdentifier",
    );
    assert!(
        instances.contains(&restored),
        "{restored} among {instances:?}: {all}"
    );
    assert!(instances.contains(&"shop-db".to_owned()));
    let of = xml_values(
        &rds(
            &site,
            "DescribeDBInstances",
            &[("DBInstanceIdentifier", &restored)],
        ),
        "DBInstanceStatus",
    );
    assert_eq!(of, ["available"]);
    assert!(
        all.contains(restored.as_str()),
        "the report names it: {all}"
    );
}

#[test]
fn a_snapshot_of_an_instance_that_does_not_exist_fails_before_anything_changes() {
    let site = site();
    let config = site.dir.path().join("shipgate.toml");
    let text_before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text_before.replace("\"shop-db\"", "\"shop-dbx\"")).unwrap();
    let out = site.run(&["deploy", "--release", "v2"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("cannot snapshot RDS instance shop-dbx"),
        "{all}"
    );
    assert_eq!(site.serving(), "shop:1", "{all}");
    assert_eq!(snapshots(&site), ["nightly-by-hand"]);
    assert!(manifests_dir_empty(&site), "no half-written backup");
}

fn manifests_dir_empty(site: &Site) -> bool {
    std::fs::read_dir(site.dir.path().join("backups")).map_or(true, |mut d| d.next().is_none())
}
