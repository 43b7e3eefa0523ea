//! One entry point for an operation, the same for `shipgate-deploy` and for a team's
//! own `cargo xtask`: [`plan`] does everything that changes nothing (the watch
//! window's queries checked, a promotion's gates, the release resolved, the guards),
//! then [`Ready::run`] runs it (an emergency announced, the deployment with its
//! notices, the approval marked used, the watch window the environment asks for) and
//! gives one [`Done`]: a title, whether it passed, and every finding in order.
//!
//! Between the two the caller may describe the plan (`--dry-run`) and ask a protected
//! environment's operator for [`Ready::phrase`]: the only things a binary adds.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use shipgate_config::Document;
use shipgate_deploy::{DeployConfig, Driver, Hooks};
use shipgate_notify::{EventKind, Severity};
use shipgate_report::{Finding, Redactor};
use shipgate_watch::SystemClock;
use tokio_util::sync::CancellationToken;

use crate::gate::{GateVerdict, Gates, Promote};
use crate::layers::Announcer;
use crate::operation::{Intent, Prepared, Target, prepare};
use crate::{Approvals, Error, ErrorKind, PipelineConfig, WatchSetup};

/// Who runs the operation, where, and with what.
pub struct Operator<'a> {
    /// The configuration file, loaded for the environment.
    pub doc: &'a Document,
    /// Its directory.
    pub base: &'a Path,
    /// The environment acted on.
    pub environment: &'a str,
    /// `[deploy]`.
    pub config: &'a DeployConfig,
    /// Its driver.
    pub driver: &'a dyn Driver,
    /// Who asks ([`shipgate_deploy::actor`]).
    pub by: String,
    /// Whether this runs in a GitHub Actions job (an approval `by = "github"`).
    pub github_actions: bool,
    /// Stops a promotion's load test or wait timer, and the watch window.
    pub cancel: CancellationToken,
    /// Told what a long wait is at (a wait timer, the watch window).
    pub progress: &'a (dyn Fn(&str) + Send + Sync),
    /// Called as a phase that an interruption should end gracefully begins (a
    /// promotion's gates, the watch window), with `cancel` and what stopping it means:
    /// a binary ties Ctrl-C to it there, and only there (the deployment's own steps
    /// are interrupted the hard way, and resumed).
    pub interruptible: &'a (dyn Fn(&CancellationToken, &'static str) + Send + Sync),
    /// The process's secret registry: the journal and the notices mask with it.
    pub redactor: Redactor,
}

/// What is asked for.
#[derive(Debug, Clone)]
pub enum Ask {
    /// Promote `version` from `from` through the environment's gates (`emergency`:
    /// skip the skippable ones, for this reason).
    Promote {
        /// The source environment.
        from: String,
        /// The version, as deployed there.
        version: String,
        /// Why the skippable gates are skipped.
        emergency: Option<String>,
    },
    /// A deployment, resume, abort or rollback.
    Operation(Intent),
}

/// What [`plan`] concluded.
pub enum Planned {
    /// A promotion's gate stopped it: nothing changed.
    Stopped {
        /// `shipgate-deploy promote V from F to E: stopped at gate G`.
        title: String,
        /// Each gate checked.
        findings: Vec<Finding>,
    },
    /// Ready to run.
    Ready(Box<Ready>),
}

/// An operation resolved and guarded, not yet begun.
pub struct Ready {
    /// The release, plan and guard findings.
    pub prepared: Prepared,
    promoted: Option<Promoted>,
    /// The watch window that follows a successful deployment, and its length.
    watch: Option<(WatchSetup, std::time::Duration)>,
}

/// A promotion whose gates passed.
struct Promoted {
    from: String,
    by: String,
    emergency: Option<String>,
    gates: Gates,
}

/// How an operation went.
#[derive(Debug)]
pub struct Done {
    /// `shipgate-deploy deploy v2 to staging: deployed; watch passed`.
    pub title: String,
    /// Whether it did what was asked (and its watch window passed).
    pub passed: bool,
    /// The gates, the guards, each step, each notice, the watch window's rules.
    pub findings: Vec<Finding>,
    /// The deployment's journal.
    pub journal: PathBuf,
}

/// Everything that changes nothing: the watch window's queries (when a deployment to
/// the environment ends with one), a promotion's gates, the release, the plan and its
/// guards (`hooks`: the pre and post checks).
pub async fn plan(op: &Operator<'_>, ask: Ask, hooks: Hooks) -> Result<Planned, Error> {
    let deploys = matches!(
        ask,
        Ask::Promote { .. } | Ask::Operation(Intent::Deploy { .. })
    );
    let watch = match watch_length(op.doc, op.environment)? {
        Some(length) if deploys => {
            let setup = WatchSetup::from_document(op.doc, op.base, op.environment)?;
            for unchecked in setup.check_queries().await? {
                (op.progress)(&unchecked);
            }
            Some((setup, length))
        }
        _ => None,
    };
    let (intent, promoted) = match ask {
        Ask::Operation(intent) => (intent, None),
        Ask::Promote {
            from,
            version,
            emergency,
        } => {
            let gates = gates(op, &from, &version, emergency.as_deref()).await?;
            if !gates.passed() {
                let stopped = gates.outcomes.last().map_or("?", |o| o.kind.as_str());
                return Ok(Planned::Stopped {
                    title: format!(
                        "shipgate-deploy promote {} from {from} to {}: stopped at gate {stopped}",
                        gates.artifact.version, op.environment
                    ),
                    findings: gates.findings(),
                });
            }
            let promoted = Promoted {
                from,
                by: op.by.clone(),
                emergency,
                gates,
            };
            let g = &promoted.gates;
            let intent = Intent::Deploy {
                release: g.release.clone(),
                artifact: g.artifact.clone(),
                promotion: Some(g.promotion(
                    &promoted.from,
                    &promoted.by,
                    promoted.emergency.as_deref(),
                )),
                skip: Vec::new(),
                force: false,
            };
            (intent, Some(promoted))
        }
    };
    let target = Target {
        config: op.config,
        base: op.base,
        environment: op.environment,
        driver: op.driver,
    };
    let prepared = prepare(&target, &intent, hooks).await?;
    Ok(Planned::Ready(Box::new(Ready {
        prepared,
        promoted,
        watch,
    })))
}

impl Ready {
    /// What `--dry-run` prints.
    pub async fn describe(&self, driver: &dyn Driver) -> Result<Vec<String>, Error> {
        self.prepared.describe(driver).await
    }

    /// The phrase a protected environment's operator must give (`deploy production`),
    /// none for an environment that is not protected.
    pub fn phrase(&self, environment: &str) -> Option<String> {
        self.prepared
            .plan
            .protected
            .then(|| format!("{} {environment}", self.prepared.operation.verb()))
    }

    /// Runs it (confirmation given): an emergency's critical notice, the operation
    /// with its notices, the approval used, then the watch window the environment asks
    /// for after a deployment that succeeded.
    pub async fn run(self, op: &Operator<'_>, announcer: &mut Announcer) -> Result<Done, Error> {
        let env = op.environment;
        let (verb, release) = (self.prepared.operation, self.prepared.release.clone());
        let http = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig::default())
            .map_err(|e| {
                Error::with_source(ErrorKind::Config, "cannot build the HTTP client", e)
            })?;
        let mut ctx = self.prepared.context(op.driver, http, true);
        ctx.redactor = op.redactor.clone();
        let mut findings = Vec::new();
        if let Some(p) = &self.promoted {
            findings.extend(p.gates.findings());
            findings.extend(announce_emergency(p, announcer, &release, env).await);
        }
        let (outcome, notified) = announcer.around(verb, &ctx, &release, env).await?;
        if let Some(p) = &self.promoted
            && let Some(r) = &p.gates.approval
        {
            Approvals::new(&op.config.state_dir_for(op.base, env), env).mark_used(
                &r.id,
                &outcome.id,
                SystemTime::now(),
            )?;
        }
        let mut passed = verb.succeeded(outcome.ending);
        let mut title = format!(
            "shipgate-deploy {} {release} to {env}: {}",
            verb.verb(),
            outcome.ending.as_str()
        );
        findings.extend(self.prepared.findings.iter().cloned());
        findings.extend(outcome.findings);
        findings.extend(notified);
        if passed && let Some((setup, length)) = &self.watch {
            // The deployment's last step: the watch window the pipeline asks for.
            let (verdict, watched) = watch_after(op, setup, *length).await?;
            title = format!("{title}; watch {verdict}");
            passed = verdict == "passed";
            findings.extend(watched);
        }
        Ok(Done {
            title,
            passed,
            findings,
            journal: outcome.journal,
        })
    }
}

/// `[pipeline.environments.ENV] watch`, when the file has a `[pipeline]`.
fn watch_length(doc: &Document, env: &str) -> Result<Option<std::time::Duration>, Error> {
    let pipeline: Option<PipelineConfig> = doc.section("pipeline").map_err(|e| {
        Error::with_source(
            ErrorKind::Config,
            format!("{}: [pipeline]", doc.path().display()),
            e,
        )
    })?;
    Ok(pipeline.and_then(|p| p.watch_for(env)))
}

async fn gates(
    op: &Operator<'_>,
    from: &str,
    version: &str,
    emergency: Option<&str>,
) -> Result<Gates, Error> {
    let pipeline: PipelineConfig = op
        .doc
        .section("pipeline")
        .map_err(|e| {
            Error::with_source(
                ErrorKind::Config,
                format!("{}: [pipeline]", op.doc.path().display()),
                e,
            )
        })?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "{} has no [pipeline] section: promote needs [pipeline.environments.*]",
                    op.doc.path().display()
                ),
            )
        })?;
    let promote = Promote {
        doc: op.doc,
        base: op.base,
        deploy: op.config,
        pipeline: &pipeline,
        from,
        to: op.environment,
        version,
        by: &op.by,
        emergency,
        github_actions: op.github_actions,
        cancel: op.cancel.clone(),
        progress: Some(op.progress),
    };
    (op.interruptible)(&op.cancel, "stopping the promotion");
    let gates = crate::gate::check(&promote, &SystemClock).await?;
    for f in gates.findings() {
        (op.progress)(&format!(
            "gate {}: {}",
            f.name.trim_start_matches("gate "),
            f.message
        ));
    }
    Ok(gates)
}

/// An emergency promotion is announced at critical severity before it starts.
async fn announce_emergency(
    p: &Promoted,
    announcer: &mut Announcer,
    release: &str,
    env: &str,
) -> Vec<Finding> {
    let Some(reason) = &p.emergency else {
        return Vec::new();
    };
    let skipped: Vec<&str> = p
        .gates
        .outcomes
        .iter()
        .filter(|o| matches!(o.verdict, GateVerdict::Skipped(_)))
        .map(|o| o.kind.as_str())
        .collect();
    let summary = format!(
        "EMERGENCY deployment of {} to {env}, gates skipped: {} — reason: {reason}",
        p.gates.artifact.version,
        if skipped.is_empty() {
            "none".to_owned()
        } else {
            skipped.join(", ")
        }
    );
    eprintln!("{summary}");
    let details = [("reason", reason.clone()), ("skipped", skipped.join(", "))];
    announcer
        .send(
            EventKind::DeploymentStarted,
            Severity::Critical,
            release,
            summary,
            &details,
        )
        .await
}

/// The watch window after a deployment: its verdict and the window's findings; the
/// verdict is recorded for the next environment's `promoted` gate.
async fn watch_after(
    op: &Operator<'_>,
    setup: &WatchSetup,
    length: std::time::Duration,
) -> Result<(String, Vec<Finding>), Error> {
    let env = op.environment;
    (op.progress)(&format!(
        "watching {env} for {} ([pipeline.environments.{env}] watch)",
        humantime::format_duration(length)
    ));
    (op.interruptible)(&op.cancel, "ending the watch window");
    let window = setup
        .run(Some(length), true, op.cancel.clone(), None)
        .await?;
    let verdict = window.verdict().as_str().to_owned();
    if let Some((record, path)) = setup.record(&window)? {
        (op.progress)(&format!(
            "watch verdict on deployment {}: {} ({})",
            record.deployment,
            record.verdict,
            path.display()
        ));
    }
    Ok((verdict, window.report("watch").findings().to_vec()))
}
