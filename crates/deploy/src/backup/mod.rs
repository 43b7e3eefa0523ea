//! Backups before a deployment changes anything: databases (PostgreSQL, MariaDB,
//! SQLite, and RDS instances as manual snapshots) and directories, each into `<dir>/<deployment id>/` with a manifest (what,
//! when, sizes, the SHA-256 of every file, the git commit and the releases it sits
//! between). A backup is verified as soon as it is written (the archive reads back,
//! the expected tables are in it) and again before it is restored, so a truncated or
//! corrupt one is found at backup time, not at restore time.
//!
//! The manifest is written last, atomically: a directory without one is a backup that
//! did not finish, and is never restored.

mod db;
// Its calls are boxed where they are awaited here: the AWS SDK's futures are deep
// types, and inlined into a deployment's future they overflow the compiler's query
// depth in programs that await a whole operation (examples/xtask_promote.rs).
#[cfg(feature = "rds")]
mod rds;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shipgate_config::Secret;

use crate::{Error, ErrorKind};

/// The schema name of a manifest.
pub const MANIFEST_SCHEMA: &str = "shipgate.backup/v1";

fn default_dir() -> PathBuf {
    PathBuf::from("backups")
}
fn five() -> usize {
    5
}

/// `[deploy.backup]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// Where backups go (relative to the configuration's directory).
    #[serde(default = "default_dir")]
    pub dir: PathBuf,
    /// Backups kept: the newest N.
    #[serde(default = "five")]
    pub keep: usize,
    /// And none older than this (the newest `keep` are kept whatever their age).
    #[serde(default, with = "shipgate_config::duration::option")]
    pub max_age: Option<Duration>,
    /// What to back up.
    pub items: Vec<ItemConfig>,
}

/// What kind of thing an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// `pg_dump --format=custom`, restored with `pg_restore --clean`.
    Postgres,
    /// `mariadb-dump --single-transaction`, restored into a recreated database.
    Mariadb,
    /// `VACUUM INTO` (online, consistent), restored by an atomic file swap.
    Sqlite,
    /// A directory (static/, media/) as a `.tar.gz`.
    Files,
    /// An RDS instance, as a manual DB snapshot; restored to a new instance (RDS
    /// cannot restore in place). Needs shipgate-deploy's `rds` feature.
    Rds,
}

/// One thing to back up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemConfig {
    /// Its name (the dump's file name).
    pub name: String,
    /// What it is.
    #[serde(rename = "type")]
    pub kind: ItemKind,
    /// PostgreSQL or MariaDB: the database URL (a secret: never printed).
    #[serde(default)]
    pub url: Option<Secret>,
    /// SQLite: the database file; files: the directory.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Tables (or, for files, entries) the backup must hold to count as verified.
    #[serde(default)]
    pub tables: Vec<String>,
    /// RDS: the DB instance identifier.
    #[serde(default)]
    pub instance: Option<String>,
    /// RDS: the region (default: `AWS_REGION`, then the profile's).
    #[serde(default)]
    pub region: Option<String>,
    /// RDS: a profile of `~/.aws/config`.
    #[serde(default)]
    pub profile: Option<String>,
    /// RDS: another endpoint (LocalStack, moto_server).
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestItem {
    /// The item's name.
    pub name: String,
    /// What it is.
    pub kind: ItemKind,
    /// The file, in the backup's directory; RDS: the snapshot's identifier.
    pub file: String,
    /// Its size in bytes (RDS: the snapshot's allocated storage).
    pub size: u64,
    /// Its SHA-256, hex (RDS: empty; AWS keeps the snapshot).
    pub sha256: String,
    /// The tables (or entries) verification found in it.
    pub tables: Vec<String>,
}

/// What a backup is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_SCHEMA`].
    pub schema: String,
    /// The backup's id: the deployment's.
    pub id: String,
    /// When it was taken (RFC 3339).
    pub created_at: String,
    /// The environment.
    pub environment: String,
    /// The release being deployed when it was taken.
    pub release: String,
    /// The release serving when it was taken (what a database restore goes with).
    pub previous_release: Option<String>,
    /// `git rev-parse HEAD` of the configuration's directory, if it is a repository.
    pub git_commit: Option<String>,
    /// Every file.
    pub items: Vec<ManifestItem>,
}

/// What a backup belongs to.
#[derive(Debug, Clone)]
pub struct Meta<'a> {
    /// The deployment's id.
    pub id: &'a str,
    /// The environment.
    pub environment: &'a str,
    /// The release being deployed.
    pub release: &'a str,
    /// The release serving now.
    pub previous_release: Option<&'a str>,
}

/// Takes a backup of every item into `root/<id>/`, verifies each, and writes the
/// manifest last. A failure leaves no manifest (the directory is removed).
pub async fn take(
    config: &BackupConfig,
    base: &Path,
    meta: &Meta<'_>,
    timeout: Duration,
) -> Result<Manifest, Error> {
    let dir = base.join(&config.dir).join(meta.id);
    let result = take_into(config, base, meta, &dir, timeout).await;
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
        // A snapshot taken before the failure belongs to no backup: deleted (best
        // effort; it carries shipgate's tag for whoever finds it).
        #[cfg(feature = "rds")]
        for item in config.items.iter().filter(|i| i.kind == ItemKind::Rds) {
            let name = rds_name(item, meta);
            if let Err(e) = Box::pin(rds::delete(item, &name)).await {
                tracing::warn!("cannot delete RDS snapshot {name} of a failed backup: {e}");
            }
        }
    }
    result
}

#[cfg(feature = "rds")]
fn rds_name(item: &ItemConfig, meta: &Meta<'_>) -> String {
    rds::identifier(
        &[
            "shipgate",
            meta.environment,
            item.instance.as_deref().unwrap_or_default(),
            meta.id,
        ],
        255,
    )
}

/// Without the `rds` feature, an RDS item is a configuration error naming it.
#[cfg(not(feature = "rds"))]
fn no_rds(item: &ItemConfig) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "backup {:?}: type = \"rds\" needs a shipgate built with the `rds` feature (cargo build --features ecs)",
            item.name
        ),
    )
}

async fn take_into(
    config: &BackupConfig,
    base: &Path,
    meta: &Meta<'_>,
    dir: &Path,
    timeout: Duration,
) -> Result<Manifest, Error> {
    std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
    let mut items = Vec::new();
    for item in &config.items {
        if item.kind == ItemKind::Rds {
            #[cfg(feature = "rds")]
            {
                let (name, size) =
                    Box::pin(rds::snapshot(item, meta.id, meta.environment, timeout)).await?;
                debug_assert_eq!(name, rds_name(item, meta));
                items.push(ManifestItem {
                    name: item.name.clone(),
                    kind: item.kind,
                    file: name,
                    size,
                    sha256: String::new(),
                    tables: Vec::new(),
                });
                continue;
            }
            #[cfg(not(feature = "rds"))]
            return Err(no_rds(item));
        }
        let file = db::file_name(item);
        let path = dir.join(&file);
        db::dump(item, base, &path, timeout).await?;
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("sync", &path, e))?;
        let first = meta.previous_release.is_none();
        let tables = db::verify(item, &path, timeout, first).await?;
        let (size, sha256) = digest(&path)?;
        items.push(ManifestItem {
            name: item.name.clone(),
            kind: item.kind,
            file,
            size,
            sha256,
            tables,
        });
    }
    let manifest = Manifest {
        schema: MANIFEST_SCHEMA.to_owned(),
        id: meta.id.to_owned(),
        created_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        environment: meta.environment.to_owned(),
        release: meta.release.to_owned(),
        previous_release: meta.previous_release.map(str::to_owned),
        git_commit: git_commit(base),
        items,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("a manifest serializes");
    let path = dir.join("manifest.json");
    shipgate_report::write_atomic(&path, &text)
        .map_err(|e| Error::with_source(ErrorKind::Backup, "cannot write the manifest", e))?;
    crate::journal::sync_directory(dir)?;
    Ok(manifest)
}

/// Reads a backup's manifest.
pub fn manifest(dir: &Path) -> Result<Manifest, Error> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| io("read", &path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::with_source(
            ErrorKind::Backup,
            format!("{} is not a backup manifest", path.display()),
            e,
        )
    })
}

/// Checks a backup against its manifest (every file's size and SHA-256) and reads each
/// back as [`take`] did.
pub async fn verify(
    config: &BackupConfig,
    dir: &Path,
    timeout: Duration,
) -> Result<Manifest, Error> {
    let manifest = manifest(dir)?;
    for entry in &manifest.items {
        if entry.kind == ItemKind::Rds {
            let item = item_for(config, entry)?;
            #[cfg(feature = "rds")]
            {
                Box::pin(rds::verify(item, &entry.file)).await?;
                continue;
            }
            #[cfg(not(feature = "rds"))]
            return Err(no_rds(item));
        }
        let path = dir.join(&entry.file);
        let (size, sha256) = digest(&path)?;
        if (size, sha256.as_str()) != (entry.size, entry.sha256.as_str()) {
            return Err(Error::new(
                ErrorKind::Backup,
                format!(
                    "{} does not match its manifest ({size} bytes, SHA-256 {sha256}; the manifest says {} bytes, {})",
                    path.display(),
                    entry.size,
                    entry.sha256
                ),
            ));
        }
        let item = item_for(config, entry)?;
        db::verify(item, &path, timeout, manifest.previous_release.is_none()).await?;
    }
    Ok(manifest)
}

/// Restores every item of a backup, after verifying it. Returns its manifest and
/// what is left for a person to do (an RDS snapshot is restored to a new instance,
/// which the service must be pointed at).
pub async fn restore(
    config: &BackupConfig,
    base: &Path,
    dir: &Path,
    timeout: Duration,
) -> Result<(Manifest, Vec<String>), Error> {
    let manifest = verify(config, dir, timeout).await?;
    #[cfg_attr(not(feature = "rds"), expect(unused_mut))]
    let mut pending = Vec::new();
    for entry in &manifest.items {
        let item = item_for(config, entry)?;
        if entry.kind == ItemKind::Rds {
            // Without the feature, `verify` has refused it.
            #[cfg(feature = "rds")]
            pending.extend(Box::pin(rds::restore(item, &entry.file, &manifest.id, timeout)).await?);
            continue;
        }
        db::restore(item, base, &dir.join(&entry.file), timeout).await?;
    }
    Ok((manifest, pending))
}

/// The complete backups (those with a manifest), oldest first.
pub fn list(config: &BackupConfig, base: &Path) -> Result<Vec<(PathBuf, Manifest)>, Error> {
    let root = base.join(&config.dir);
    let entries = match std::fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("list", &root, e)),
    };
    let mut out = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let dir = entry.path();
        if let Ok(m) = manifest(&dir) {
            out.push((dir, m));
        }
    }
    out.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    Ok(out)
}

/// Deletes backups beyond retention: all but the newest `keep`, and among those any
/// older than `max_age`; never one of `protect` (the backup a rollback needs). An RDS
/// snapshot goes with its backup, and only one shipgate took.
pub async fn prune(
    config: &BackupConfig,
    base: &Path,
    protect: &[&str],
) -> Result<Vec<String>, Error> {
    let all = list(config, base)?;
    let now = SystemTime::now();
    let excess = all.len().saturating_sub(config.keep.max(1));
    let mut removed = Vec::new();
    for (i, (dir, m)) in all.iter().enumerate() {
        let too_many = i < excess;
        let too_old = config.max_age.is_some_and(|age| {
            i < all.len().saturating_sub(1)
                && humantime::parse_rfc3339(&m.created_at)
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|d| d > age)
        });
        if (too_many || too_old) && !protect.contains(&m.id.as_str()) {
            #[cfg(feature = "rds")]
            for entry in m.items.iter().filter(|e| e.kind == ItemKind::Rds) {
                Box::pin(rds::delete(item_for(config, entry)?, &entry.file)).await?;
            }
            std::fs::remove_dir_all(dir).map_err(|e| io("remove", dir, e))?;
            removed.push(m.id.clone());
        }
    }
    Ok(removed)
}

fn item_for<'a>(config: &'a BackupConfig, entry: &ManifestItem) -> Result<&'a ItemConfig, Error> {
    config
        .items
        .iter()
        .find(|i| i.name == entry.name && i.kind == entry.kind)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "the backup holds {:?} ({:?}), which [deploy.backup] no longer configures",
                    entry.name, entry.kind
                ),
            )
        })
}

fn digest(path: &Path) -> Result<(u64, String), Error> {
    let mut file = std::fs::File::open(path).map_err(|e| io("read", path, e))?;
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut file, &mut hasher).map_err(|e| io("read", path, e))?;
    Ok((size, hex::encode(hasher.finalize())))
}

fn git_commit(base: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(base)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::with_source(
        ErrorKind::Backup,
        format!("cannot {what} {}", path.display()),
        e,
    )
}
