//! The pieces the deployment borrows from the other layers: `[checks.pre]` and
//! `[checks.post]` as its pre and post steps, and `[notify]` for its announcements.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use shipgate_checks::{Context, PhaseError, RunConfig};
use shipgate_deploy::{Ending, Hook, HookFuture, Hooks, Operation};
use shipgate_notify::{Event, EventKind, Notifier, NotifyConfig, Severity};
use shipgate_report::{Finding, Outcome, Phase};

use crate::{Error, ErrorKind};

/// The pre and post steps `[checks]` gives (none for a phase it does not configure);
/// the secrets its env checks read are added to the registry `secrets`.
pub fn checks(
    doc: &shipgate_config::Document,
    base_dir: &std::path::Path,
    secrets: &shipgate_report::Redactor,
) -> Result<Hooks, Error> {
    let mut hooks = Hooks::default();
    for (name, phase) in [("pre", Phase::Pre), ("post", Phase::Post)] {
        let (settings, specs) = match shipgate_checks::phase_specs(doc, name, &[]) {
            Ok(found) => found,
            Err(PhaseError::NoSection { .. } | PhaseError::NoChecks { .. }) => continue,
            Err(e) => {
                return Err(Error::with_source(
                    ErrorKind::Config,
                    format!("[checks.{name}]"),
                    e,
                ));
            }
        };
        let vars = shipgate_config::Vars::process();
        secrets.add(shipgate_checks::env_secrets(&specs, &vars));
        let http = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
            connect_timeout: settings.timeout.min(Duration::from_secs(10)),
            request_timeout: settings.timeout.max(Duration::from_secs(1)),
            ..Default::default()
        })
        .map_err(http_client)?;
        let ctx = Arc::new(Context {
            vars,
            http,
            base_dir: base_dir.to_owned(),
        });
        let run = RunConfig {
            timeout: settings.timeout,
            concurrency: settings.concurrency,
        };
        let specs = Arc::new(specs);
        let hook = Hook(Arc::new(move || -> HookFuture {
            let (ctx, specs) = (ctx.clone(), specs.clone());
            Box::pin(async move {
                let findings = shipgate_checks::run(&specs, phase, run, &ctx)
                    .await
                    .map_err(|e| shipgate_report::error_line(&e))?;
                summarize(name, &findings)
            })
        }));
        match phase {
            Phase::Pre => hooks.pre = Some(hook),
            _ => hooks.post = Some(hook),
        }
    }
    Ok(hooks)
}

/// `7 checks passed (1 warned)`, or the failing checks and why.
fn summarize(phase: &str, findings: &[Finding]) -> Result<String, String> {
    let failed: Vec<String> = findings
        .iter()
        .filter(|f| f.outcome.is_blocking())
        .map(|f| format!("{}: {}", f.name, f.message))
        .collect();
    if !failed.is_empty() {
        return Err(format!("[checks.{phase}] failed: {}", failed.join("; ")));
    }
    let warned = findings
        .iter()
        .filter(|f| f.outcome == Outcome::Warn)
        .count();
    Ok(format!(
        "{} checks passed ({warned} warned)",
        findings.len() - warned
    ))
}

/// Announces a deployment through `[notify]`, if the file has one.
pub struct Announcer {
    notifier: Option<Notifier>,
    environment: String,
    /// Whether this deployment's start was announced already (an emergency's own,
    /// critical notice), so that it is not announced twice.
    started: bool,
}

impl Announcer {
    /// The announcer `[notify]` in `doc` gives (silent without one).
    pub fn new(
        doc: &shipgate_config::Document,
        base_dir: &std::path::Path,
        environment: &str,
    ) -> Result<Self, Error> {
        let config: Option<NotifyConfig> = doc
            .section("notify")
            .map_err(|e| Error::with_source(ErrorKind::Config, "[notify]", e))?;
        let notifier = match config {
            Some(c) if !c.channels.is_empty() => {
                let client =
                    shipgate_http::HttpClient::new(&shipgate_http::ClientConfig::default())
                        .map_err(http_client)?;
                Some(
                    Notifier::new(c, client, base_dir.to_owned())
                        .map_err(|e| Error::with_source(ErrorKind::Config, "[notify]", e))?,
                )
            }
            _ => None,
        };
        Ok(Self {
            notifier,
            environment: environment.to_owned(),
            started: false,
        })
    }

    /// Runs `op`, announcing its start (a deployment's) and its end; the findings of
    /// channels that failed come back beside the outcome.
    pub async fn around(
        &mut self,
        op: Operation,
        ctx: &shipgate_deploy::Context<'_>,
        release: &str,
        env: &str,
    ) -> Result<(shipgate_deploy::Outcome, Vec<Finding>), shipgate_deploy::Error> {
        let mut notified = Vec::new();
        if op == Operation::Deploy && !self.started {
            let summary = format!("deploying {release} to {env}");
            let sent = self.send(
                EventKind::DeploymentStarted,
                Severity::Info,
                release,
                summary,
                &[],
            );
            notified.extend(sent.await);
        }
        let outcome = op.run(ctx).await?;
        let (kind, severity, summary) = announcement(op, &outcome, release, env);
        let details = [
            ("deployment", outcome.id.clone()),
            ("journal", outcome.journal.display().to_string()),
        ];
        notified.extend(self.send(kind, severity, release, summary, &details).await);
        Ok((outcome, notified))
    }

    /// Sends one event; a channel that fails is a warning in the report, never a
    /// reason to stop a deployment.
    pub async fn send(
        &mut self,
        kind: EventKind,
        severity: Severity,
        release: &str,
        summary: String,
        details: &[(&str, String)],
    ) -> Vec<Finding> {
        self.started |= kind == EventKind::DeploymentStarted;
        let Some(notifier) = &mut self.notifier else {
            return Vec::new();
        };
        let mut event = Event::new(kind, severity, self.environment.clone(), summary);
        event.version = Some(release.to_owned());
        event.details = details
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let now = SystemTime::now();
        notifier.submit(event, now);
        notifier
            .flush_all(now)
            .await
            .into_iter()
            .filter_map(|d| {
                let e = d.result.err()?;
                let mut f = Finding::new(
                    format!("notify {}", d.channel),
                    Phase::Notify,
                    Outcome::Warn,
                );
                f.message = format!("{kind} not delivered: {}", shipgate_report::error_line(&e));
                Some(f)
            })
            .collect()
    }
}

/// What to announce when an operation ends: the event, how urgent, one line (naming
/// the step that failed, if one did).
pub fn announcement(
    op: Operation,
    outcome: &shipgate_deploy::Outcome,
    release: &str,
    env: &str,
) -> (EventKind, Severity, String) {
    let failed = outcome
        .findings
        .iter()
        .find(|f| f.outcome.is_blocking())
        .map(|f| format!(" at step {}: {}", f.name, f.message))
        .unwrap_or_default();
    match (op, outcome.ending) {
        (Operation::Rollback, Ending::Deployed) => (
            EventKind::RolledBack,
            Severity::Warning,
            format!("{env} rolled back to {release}"),
        ),
        (_, Ending::Deployed) => (
            EventKind::DeploymentSucceeded,
            Severity::Info,
            format!("{release} is live on {env}"),
        ),
        (_, Ending::RolledBack | Ending::Aborted) => (
            EventKind::RolledBack,
            Severity::Warning,
            format!("{release} on {env} was rolled back{failed}"),
        ),
        _ => (
            EventKind::DeploymentFailed,
            Severity::Critical,
            format!("{} of {release} on {env} failed{failed}", op.verb()),
        ),
    }
}

fn http_client(e: shipgate_http::Error) -> Error {
    Error::with_source(ErrorKind::Config, "cannot build the HTTP client", e)
}
