//! `type = "rds"`: a manual DB snapshot of an RDS instance, named after the
//! deployment and tagged as shipgate's, waited for until `available`. RDS cannot
//! restore a snapshot in place: a restore makes a new instance from it, like the
//! source in class, subnet group and security groups, waits until it is available,
//! and says how to point the service at it. Retention deletes only snapshots shipgate
//! tagged.

use std::time::Duration;

use aws_sdk_rds::types::{DbInstance, DbSnapshot, Tag};

use super::ItemConfig;
use crate::{Error, ErrorKind};

/// The tag every snapshot shipgate takes carries (its value: the deployment's id).
const TAG: &str = "shipgate:deployment";

fn rds_error(what: impl Into<String>, e: shipgate_aws::Error) -> Error {
    Error::with_source(ErrorKind::Backup, what, e)
}

fn backup_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Backup, message)
}

async fn client(item: &ItemConfig) -> Result<aws_sdk_rds::Client, Error> {
    let sdk = shipgate_aws::load(&shipgate_aws::AwsConfig {
        region: item.region.clone(),
        profile: item.profile.clone(),
        endpoint_url: item.endpoint_url.clone(),
    })
    .await
    .map_err(|e| rds_error(format!("backup {:?}", item.name), e))?;
    Ok(aws_sdk_rds::Client::new(&sdk))
}

fn instance(item: &ItemConfig) -> Result<&str, Error> {
    item.instance.as_deref().ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            format!(
                "backup {:?} (rds) needs `instance`, the DB instance identifier",
                item.name
            ),
        )
    })
}

/// An RDS identifier made of `parts`: lowercase letters, digits and single hyphens,
/// starting with a letter, at most `max` characters.
pub(super) fn identifier(parts: &[&str], max: usize) -> String {
    let mut out = String::new();
    for c in parts.join("-").chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "s-");
    }
    out.truncate(max);
    out.trim_end_matches('-').to_owned()
}

/// Takes (or, after an interruption, finds) the deployment's snapshot and waits until
/// it is available. Returns its identifier and size in bytes.
pub(super) async fn snapshot(
    item: &ItemConfig,
    id: &str,
    environment: &str,
    timeout: Duration,
) -> Result<(String, u64), Error> {
    let rds = client(item).await?;
    let db = instance(item)?;
    let name = identifier(&["shipgate", environment, db, id], 255);
    if describe(&rds, &name).await?.is_none() {
        let tags = [
            (TAG, id),
            ("shipgate:environment", environment),
            ("shipgate:item", &item.name),
        ];
        rds.create_db_snapshot()
            .db_snapshot_identifier(&name)
            .db_instance_identifier(db)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| {
                rds_error(
                    format!("cannot snapshot RDS instance {db}"),
                    shipgate_aws::call_failed("CreateDBSnapshot", e),
                )
            })?;
        tracing::info!(target: "shipgate_deploy::progress", "rds: taking snapshot {name} of {db}");
    }
    let snapshot = wait_snapshot(&rds, &name, timeout).await?;
    check(item, &snapshot)?;
    let gib = u64::try_from(snapshot.allocated_storage().unwrap_or(0)).unwrap_or(0);
    Ok((name, gib << 30))
}

/// Checks the snapshot a manifest names: there, available, of the configured instance.
pub(super) async fn verify(item: &ItemConfig, name: &str) -> Result<(), Error> {
    let rds = client(item).await?;
    let snapshot = describe(&rds, name)
        .await?
        .ok_or_else(|| backup_error(format!("RDS snapshot {name} no longer exists")))?;
    if snapshot.status() != Some("available") {
        return Err(backup_error(format!(
            "RDS snapshot {name} is {}, not available",
            snapshot.status().unwrap_or("in no state")
        )));
    }
    check(item, &snapshot)
}

fn check(item: &ItemConfig, snapshot: &DbSnapshot) -> Result<(), Error> {
    let db = instance(item)?;
    match snapshot.db_instance_identifier() {
        Some(of) if of == db => Ok(()),
        other => Err(backup_error(format!(
            "RDS snapshot {} is of {}, not of {db}",
            snapshot.db_snapshot_identifier().unwrap_or_default(),
            other.unwrap_or("no instance")
        ))),
    }
}

/// Restores snapshot `name` to a new instance like the configured one (or finds the
/// one an interrupted restore made) and waits until it is available. Returns what to
/// do next: how to point the service at it.
pub(super) async fn restore(
    item: &ItemConfig,
    name: &str,
    backup_id: &str,
    timeout: Duration,
) -> Result<Vec<String>, Error> {
    let rds = client(item).await?;
    let db = instance(item)?;
    let target = identifier(&[db, "restored", backup_id], 63);
    if instance_of(&rds, &target).await?.is_none() {
        let source = instance_of(&rds, db)
            .await?
            .ok_or_else(|| backup_error(format!("RDS instance {db} not found")))?;
        let groups: Vec<String> = source
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id().map(str::to_owned))
            .collect();
        rds.restore_db_instance_from_db_snapshot()
            .db_instance_identifier(&target)
            .db_snapshot_identifier(name)
            .set_db_instance_class(source.db_instance_class().map(str::to_owned))
            .set_db_subnet_group_name(
                source
                    .db_subnet_group()
                    .and_then(|g| g.db_subnet_group_name())
                    .map(str::to_owned),
            )
            .set_vpc_security_group_ids((!groups.is_empty()).then_some(groups))
            .set_multi_az(source.multi_az())
            .publicly_accessible(source.publicly_accessible().unwrap_or(false))
            .tags(
                Tag::builder()
                    .key("shipgate:restored-from")
                    .value(name)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                rds_error(
                    format!("cannot restore RDS snapshot {name}"),
                    shipgate_aws::call_failed("RestoreDBInstanceFromDBSnapshot", e),
                )
            })?;
        tracing::info!(target: "shipgate_deploy::progress", "rds: restoring {name} to a new instance {target}");
    }
    let restored = wait_instance(&rds, &target, timeout).await?;
    let endpoint = restored
        .endpoint()
        .map(|e| {
            format!(
                "{}:{}",
                e.address().unwrap_or("?"),
                e.port().map_or("?".to_owned(), |p| p.to_string())
            )
        })
        .unwrap_or_else(|| "(no endpoint yet)".to_owned());
    Ok(vec![
        format!("snapshot {name} restored to a new RDS instance {target} at {endpoint}"),
        format!(
            "the service still uses {db}: point its database URL at {endpoint} (the task \
             definition's environment or secret) and deploy, or swap the names: \
             aws rds modify-db-instance --db-instance-identifier {db} --new-db-instance-identifier {db}-old --apply-immediately, \
             then the same from {target} to {db}"
        ),
    ])
}

/// Deletes snapshot `name` if shipgate took it (it carries shipgate's tag); one
/// that is gone already is no error.
pub(super) async fn delete(item: &ItemConfig, name: &str) -> Result<(), Error> {
    let rds = client(item).await?;
    let Some(snapshot) = describe(&rds, name).await? else {
        return Ok(());
    };
    // Only shipgate's own: a snapshot someone else took under this name stays.
    let tags = rds
        .list_tags_for_resource()
        .resource_name(snapshot.db_snapshot_arn().unwrap_or_default())
        .send()
        .await
        .map_err(|e| {
            rds_error(
                format!("cannot read the tags of RDS snapshot {name}"),
                shipgate_aws::call_failed("ListTagsForResource", e),
            )
        })?;
    if !tags.tag_list().iter().any(|t| t.key() == Some(TAG)) {
        return Err(backup_error(format!(
            "RDS snapshot {name} has no {TAG} tag: shipgate did not take it, and leaves it"
        )));
    }
    rds.delete_db_snapshot()
        .db_snapshot_identifier(name)
        .send()
        .await
        .map_err(|e| {
            rds_error(
                format!("cannot delete RDS snapshot {name}"),
                shipgate_aws::call_failed("DeleteDBSnapshot", e),
            )
        })?;
    Ok(())
}

async fn describe(rds: &aws_sdk_rds::Client, name: &str) -> Result<Option<DbSnapshot>, Error> {
    match rds
        .describe_db_snapshots()
        .db_snapshot_identifier(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_snapshots().first().cloned()),
        Err(e) => {
            let e = shipgate_aws::call_failed("DescribeDBSnapshots", e);
            if e.code() == Some("DBSnapshotNotFound") {
                Ok(None)
            } else {
                Err(rds_error(format!("cannot read RDS snapshot {name}"), e))
            }
        }
    }
}

async fn instance_of(rds: &aws_sdk_rds::Client, name: &str) -> Result<Option<DbInstance>, Error> {
    match rds
        .describe_db_instances()
        .db_instance_identifier(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_instances().first().cloned()),
        Err(e) => {
            let e = shipgate_aws::call_failed("DescribeDBInstances", e);
            if e.code() == Some("DBInstanceNotFound") {
                Ok(None)
            } else {
                Err(rds_error(format!("cannot read RDS instance {name}"), e))
            }
        }
    }
}

/// Polls every `POLL` until `done` says the thing is ready, for at most `timeout`.
const POLL: Duration = Duration::from_secs(5);

async fn wait_snapshot(
    rds: &aws_sdk_rds::Client,
    name: &str,
    timeout: Duration,
) -> Result<DbSnapshot, Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let snapshot = describe(rds, name)
            .await?
            .ok_or_else(|| backup_error(format!("RDS snapshot {name} disappeared")))?;
        match snapshot.status() {
            Some("available") => return Ok(snapshot),
            Some(s @ ("failed" | "deleted" | "deleting")) => {
                return Err(backup_error(format!("RDS snapshot {name} is {s}")));
            }
            s => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(backup_error(format!(
                        "RDS snapshot {name} was not available within {} ({}, {}% done)",
                        humantime::format_duration(timeout),
                        s.unwrap_or("no status"),
                        snapshot.percent_progress().unwrap_or(0)
                    )));
                }
            }
        }
        // tidy: polling RDS, which has no way to wait for a change
        tokio::time::sleep(POLL.min(deadline - tokio::time::Instant::now())).await;
    }
}

async fn wait_instance(
    rds: &aws_sdk_rds::Client,
    name: &str,
    timeout: Duration,
) -> Result<DbInstance, Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let db = instance_of(rds, name)
            .await?
            .ok_or_else(|| backup_error(format!("RDS instance {name} disappeared")))?;
        match db.db_instance_status() {
            Some("available") => return Ok(db),
            Some(s @ ("failed" | "deleting" | "incompatible-restore")) => {
                return Err(backup_error(format!("RDS instance {name} is {s}")));
            }
            s => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(backup_error(format!(
                        "RDS instance {name} was not available within {} ({}); it goes on: \
                         watch it with aws rds describe-db-instances --db-instance-identifier {name}",
                        humantime::format_duration(timeout),
                        s.unwrap_or("no status")
                    )));
                }
            }
        }
        // tidy: polling RDS, which has no way to wait for a change
        tokio::time::sleep(POLL.min(deadline - tokio::time::Instant::now())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::identifier;

    #[test]
    fn identifiers_are_what_rds_accepts() {
        assert_eq!(
            identifier(
                &["shipgate", "prod", "shop-db", "20261208T002903508Z-v1.2_3"],
                255
            ),
            "shipgate-prod-shop-db-20261208t002903508z-v1-2-3"
        );
        assert_eq!(identifier(&["1db", "x"], 63), "s-1db-x");
        let long = identifier(&["a"; 40], 63);
        assert!(long.len() <= 63 && !long.ends_with('-'), "{long}");
    }
}
