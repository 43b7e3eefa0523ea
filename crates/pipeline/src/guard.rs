//! Before an application rollback: does the database hold migrations the older release
//! does not know, and can they be undone? Read from both releases' migration files
//! (`[deploy.migrations]`) with shipgate-checks' per-framework readers.

use std::path::{Path, PathBuf};

use shipgate_checks::{Framework, MigrationFile, migration_files};
use shipgate_deploy::{DeployConfig, Driver};
use shipgate_report::{Finding, Outcome, Phase};

use crate::{Error, ErrorKind};

/// Before a deployment to a protected environment: proves that a rollback of it would
/// work: the release serving now is still in place to switch back to, and the
/// migrations the new release brings are each reversible, or a backup step covers
/// them. Refuses otherwise (unless `force`).
pub(crate) async fn release(
    config: &DeployConfig,
    base: &Path,
    driver: &dyn Driver,
    release: &str,
    backed_up: bool,
    force: bool,
) -> Result<Option<Finding>, Error> {
    let Some(current) = driver.current().await.map_err(unread)? else {
        return Ok(None);
    };
    let refuse = |why: String| {
        Error::new(
            ErrorKind::Refused,
            format!(
                "a rollback of {release} could not be proved: {why}; pass --force to deploy anyway. nothing was changed"
            ),
        )
    };
    if !force && !driver.releases().await.map_err(unread)?.contains(&current) {
        return Err(refuse(format!(
            "{current}, the release serving now, is not in place to switch back to"
        )));
    }
    let Some(m) = &config.migrations else {
        return Ok(None);
    };
    let framework = framework(&m.framework)?;
    let next = driver
        .candidate_dir(release)
        .or_else(|| m.release_files(driver, base, release));
    let (Some(now), Some(next)) = (m.release_files(driver, base, &current), next) else {
        if force {
            return Ok(None);
        }
        return Err(refuse(format!(
            "the migrations cannot be compared: the {} driver keeps no files of {current} or {release} here \
             (say where each release's files are with [deploy.migrations] releases = \"builds/{{release}}\")",
            driver.name()
        )));
    };
    let read = |dir: PathBuf| read_migrations(framework, &dir, &m.dir);
    let (known, incoming) = (read(now)?, read(next)?);
    let blocking: Vec<String> = incoming
        .iter()
        .filter(|n| !known.iter().any(|k| k.id == n.id))
        .filter(|n| n.irreversible.is_some() || !n.destructive.is_empty())
        .map(|n| n.id.clone())
        .collect();
    let mut f = Finding::new("rollback readiness", Phase::Deploy, Outcome::Pass);
    f.message = match (blocking.is_empty(), backed_up) {
        (true, _) => format!("{current} is in place and every new migration is reversible"),
        (false, true) => format!(
            "{current} is in place; new migrations {} cannot be undone, the backup step covers them",
            blocking.join(", ")
        ),
        (false, false) if force => {
            f.outcome = Outcome::Warn;
            format!(
                "--force: new migrations {} could not be undone and no backup covers them",
                blocking.join(", ")
            )
        }
        (false, false) => {
            return Err(refuse(format!(
                "new migrations {} cannot be undone and no [deploy.backup] covers them",
                blocking.join(", ")
            )));
        }
    };
    Ok(Some(f))
}

fn framework(name: &str) -> Result<Framework, Error> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|e| {
        Error::with_source(
            ErrorKind::Config,
            format!("[deploy.migrations] framework {name:?}"),
            e,
        )
    })
}

fn read_migrations(
    framework: Framework,
    release: &Path,
    dir: &Path,
) -> Result<Vec<MigrationFile>, Error> {
    let dir = release.join(dir);
    migration_files(framework, &dir).map_err(|e| {
        Error::with_source(
            ErrorKind::Refused,
            format!(
                "cannot read the migrations in {}; nothing was changed",
                dir.display()
            ),
            e,
        )
    })
}

/// The driver could not say what is in place: nothing was changed.
fn unread(e: shipgate_deploy::Error) -> Error {
    Error::with_source(
        ErrorKind::Refused,
        "cannot read the releases in place; nothing was changed",
        e,
    )
}

/// Who decides whether an application rollback may leave the schema ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// An operator: migrations that can be undone are reported, the others refuse.
    Attended,
    /// An operator with `--force`: nothing refuses; what stays ahead is reported.
    Forced,
    /// Nobody (a watch rule): any migration the target does not know refuses.
    Unattended,
}

/// A finding saying the rollback is safe for the schema, or a refusal listing the
/// migrations that stand in its way and the choices there are.
pub(crate) async fn rollback(
    config: &DeployConfig,
    base: &Path,
    env: &str,
    driver: &dyn Driver,
    target: &str,
    policy: Policy,
) -> Result<Option<Finding>, Error> {
    let Some(m) = &config.migrations else {
        return Ok(None);
    };
    let framework = framework(&m.framework)?;
    let Some(current) = driver.current().await.map_err(unread)? else {
        return Ok(None);
    };
    let now = m.release_files(driver, base, &current);
    let then = m.release_files(driver, base, target);
    // Without the target's files nothing says what it knows; without the serving
    // release's, nothing says what it brought (unless the tracking table does). A
    // guard that cannot compare refuses; only --force goes on.
    let missing: Vec<&str> = [
        (target, then.is_none()),
        (current.as_str(), now.is_none() && m.url.is_none()),
    ]
    .into_iter()
    .filter(|(_, gone)| *gone)
    .map(|(r, _)| r)
    .collect();
    if !missing.is_empty() {
        let why = format!(
            "the migrations cannot be compared: the {} driver keeps no files of {} here{}",
            driver.name(),
            missing.join(" or "),
            match &m.releases {
                Some(t) => format!(" and [deploy.migrations] releases = {t:?} names no directory for it"),
                None => " (say where each release's files are with [deploy.migrations] releases = \"builds/{release}\")".to_owned(),
            }
        );
        if policy == Policy::Forced {
            let mut f = Finding::new("migrations", Phase::Deploy, Outcome::Warn);
            f.message = format!("--force: {why}");
            return Ok(Some(f));
        }
        return Err(Error::new(
            ErrorKind::Refused,
            format!(
                "rollback to {target}: {why}; pass --force to roll back without comparing. nothing was changed"
            ),
        ));
    }
    let then = then.expect("checked above");
    let read = |dir: PathBuf| read_migrations(framework, &dir, &m.dir);
    let serving = match now {
        Some(now) => read(now)?,
        None => Vec::new(),
    };
    let known = read(then.clone())?;
    // What the database has that the target does not know: its tracking table, when
    // `url` is given; else the serving release's files the target lacks.
    let ahead: Vec<String> = match &m.url {
        Some(url) => shipgate_checks::applied_unknown(
            &shipgate_config::resolve_sqlite(url.expose(), base),
            framework,
            &then.join(&m.dir),
            m.table.as_deref(),
        )
        .await
        .map_err(|e| {
            Error::with_source(
                ErrorKind::Refused,
                "cannot read the applied migrations; nothing was changed",
                e,
            )
        })?,
        None => serving
            .iter()
            .filter(|n| !known.iter().any(|k| k.id == n.id))
            .map(|n| n.id.clone())
            .collect(),
    };
    let unknown_file = |id: &str| MigrationFile {
        id: id.to_owned(),
        path: "(no release here has its file)".into(),
        irreversible: Some(
            "applied, but no release here has its file: whether it can be undone is unknown".into(),
        ),
        destructive: Vec::new(),
    };
    let newer: Vec<MigrationFile> = ahead
        .iter()
        .map(|id| {
            serving
                .iter()
                .find(|s| s.id == *id)
                .cloned()
                .unwrap_or_else(|| unknown_file(id))
        })
        .collect();
    let blocking: Vec<String> = newer
        .iter()
        .filter(|n| n.irreversible.is_some() || !n.destructive.is_empty())
        .map(|n| {
            let mut why = Vec::new();
            if let Some(i) = &n.irreversible {
                why.push(format!("irreversible: {i}"));
            }
            if !n.destructive.is_empty() {
                why.push(format!("destroys data: {}", n.destructive.join(", ")));
            }
            format!("  {} ({}): {}", n.id, n.path.display(), why.join("; "))
        })
        .collect();
    let reversible: Vec<&str> = newer
        .iter()
        .filter(|n| n.irreversible.is_none() && n.destructive.is_empty())
        .map(|n| n.id.as_str())
        .collect();
    if policy == Policy::Unattended && !newer.is_empty() {
        let ids: Vec<&str> = newer.iter().map(|n| n.id.as_str()).collect();
        return Err(Error::new(
            ErrorKind::Refused,
            format!(
                "{current} brought migrations {target} does not have ({}); not rolling back unattended: \
                 run `shipgate-deploy rollback`, whose guard weighs them. nothing was changed",
                ids.join(", ")
            ),
        ));
    }
    if blocking.is_empty() || policy == Policy::Forced {
        let mut f = Finding::new(
            "migrations",
            Phase::Deploy,
            if newer.is_empty() {
                Outcome::Pass
            } else {
                Outcome::Warn
            },
        );
        f.message = match (newer.is_empty(), blocking.is_empty()) {
            (true, _) => format!("{target} knows every migration {current} has"),
            (false, true) => format!(
                "{current} has migrations {target} does not know, all reversible ({}): run their down migrations if {target} needs the older schema",
                reversible.join(", ")
            ),
            (false, false) => format!(
                "--force: the schema stays as {current} left it, ahead of {target}:\n{}",
                blocking.join("\n")
            ),
        };
        return Ok(Some(f));
    }
    let backup = config
        .backup
        .as_ref()
        .and_then(|b| shipgate_deploy::backup::list(b, base).ok())
        .and_then(|all| all.into_iter().rev().find(|(_, m)| m.environment == env))
        .map_or_else(
            || "there is no backup to restore".to_owned(),
            |(_, m)| {
                format!(
                    "restores backup {} taken at {}, and every write since is lost",
                    m.id, m.created_at
                )
            },
        );
    let reversible = if reversible.is_empty() {
        String::new()
    } else {
        format!(" (reversible: {})", reversible.join(", "))
    };
    Err(Error::new(
        ErrorKind::Refused,
        format!(
            "rollback to {target}: the database has migrations {target} does not know that cannot be undone:\n{}\n\
         choices:\n  - run the down migrations where they exist{reversible}, then roll back;\n  \
         - `shipgate-deploy rollback full --to {target}`: {backup};\n  \
         - `--force`: roll the application back and leave the schema as it is.\n\
         nothing was changed",
            blocking.join("\n")
        ),
    ))
}

/// Before a database rollback: a backup holds the schema of the release that served
/// when it was taken. When another release serves now, and it brought migrations that
/// one lacks ([`DeployConfig::migrations`]), restoring the database alone would leave
/// it on an older schema than its code needs: refused (unless `force`), offering
/// `rollback full`. When that cannot be told, the report says so.
pub(crate) async fn database(
    config: &DeployConfig,
    base: &Path,
    env: &str,
    driver: &dyn Driver,
    chosen: Option<&str>,
    force: bool,
) -> Result<Option<Finding>, Error> {
    let Some(b) = &config.backup else {
        return Ok(None);
    };
    let all = shipgate_deploy::backup::list(b, base).map_err(|e| {
        Error::with_source(
            ErrorKind::Refused,
            "cannot list the backups; nothing was changed",
            e,
        )
    })?;
    let Some((_, m)) = all
        .iter()
        .rev()
        .find(|(_, m)| m.environment == env && chosen.is_none_or(|c| c == m.id))
    else {
        // The restore step says there is none.
        return Ok(None);
    };
    let Some(current) = driver.current().await.map_err(unread)? else {
        return Ok(None);
    };
    let schema_of = m.previous_release.as_deref();
    let mut f = Finding::new("schema", Phase::Deploy, Outcome::Pass);
    if schema_of == Some(current.as_str()) {
        f.message = format!(
            "backup {} was taken while {current} served: its schema is the one {current} runs on",
            m.id
        );
        return Ok(Some(f));
    }
    let then = schema_of.unwrap_or("no release");
    let full = match schema_of {
        Some(r) => format!("`shipgate-deploy rollback full --to {r} --backup {}`", m.id),
        None => "a deployment of a release that runs on it".to_owned(),
    };
    let newer: Option<Vec<String>> = config.migrations.as_ref().and_then(|mc| {
        let framework = framework(&mc.framework).ok()?;
        let read = |r: &str| {
            mc.release_files(driver, base, r)
                .and_then(|dir| read_migrations(framework, &dir, &mc.dir).ok())
        };
        let serving = read(&current)?;
        let known = match schema_of {
            Some(r) => read(r)?,
            None => Vec::new(),
        };
        Some(
            serving
                .into_iter()
                .filter(|n| !known.iter().any(|k| k.id == n.id))
                .map(|n| n.id)
                .collect(),
        )
    });
    match newer {
        Some(newer) if newer.is_empty() => {
            f.message = format!(
                "backup {} holds {then}'s schema, and {current}, serving now, brought no migration {then} lacks",
                m.id
            );
            Ok(Some(f))
        }
        Some(newer) if !force => Err(Error::new(
            ErrorKind::Refused,
            format!(
                "rollback database: backup {} holds the schema of {then} (it was taken before {} was deployed), \
                 but {current} serves now and needs migrations it lacks ({}): restored alone, {current} would run on \
                 an older schema than its code expects.\nchoices:\n  - {full}: the application goes back with the database;\n  \
                 - `--force`: restore the database and leave {current} serving.\nnothing was changed",
                m.id,
                m.release,
                newer.join(", ")
            ),
        )),
        Some(newer) => {
            f.outcome = Outcome::Warn;
            f.message = format!(
                "--force: {current} keeps serving on backup {}'s older schema ({then}'s), without migrations {}",
                m.id,
                newer.join(", ")
            );
            Ok(Some(f))
        }
        None => {
            f.outcome = Outcome::Warn;
            f.message = format!(
                "backup {} holds the schema of {then} (it was taken before {} was deployed), and {current} serves: \
                 if {current} changed the schema since, it will fail on the restored database; {full} returns \
                 the application with it ([deploy.migrations] lets this be checked before anything changes)",
                m.id, m.release
            );
            Ok(Some(f))
        }
    }
}
