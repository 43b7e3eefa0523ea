//! `promote` and `approve`: the pipeline's gates before a deployment, the approval
//! decisions, and the watch window after it.

use std::path::Path;
use std::time::SystemTime;

use shipgate_cli::{Failure, ReportArgs};
use shipgate_deploy::{Artifact, DeployConfig, Promotion};
use shipgate_notify::{EventKind, Severity};
use shipgate_pipeline::gate::{GateVerdict, Gates, Promote};
use shipgate_pipeline::{Approvals, PipelineConfig, WatchSetup, layers};
use shipgate_report::{ExitCode as Code, Finding, Redactor, Report};
use shipgate_watch::SystemClock;
use tokio_util::sync::CancellationToken;

use crate::args::{Args, Command};
use crate::pipeline;

/// A promotion whose gates were checked.
pub(crate) struct Promoted {
    pub(crate) from: String,
    pub(crate) by: String,
    pub(crate) emergency: Option<String>,
    pub(crate) gates: Gates,
}

fn pipeline_config(doc: &shipgate_config::Document) -> Result<PipelineConfig, Failure> {
    doc.section("pipeline")
        .map_err(|e| Failure::usage(format!("{}: [pipeline]", doc.path().display()), e))?
        .ok_or_else(|| {
            Failure::usage_msg(format!(
                "{} has no [pipeline] section: promote needs [pipeline.environments.*]",
                doc.path().display()
            ))
        })
}

/// Who is acting: SHIPGATE_USER, else the CI's actor, else the login name.
pub(crate) fn actor() -> String {
    shipgate_deploy::actor()
}

/// Runs the gates of `promote`.
pub(crate) fn gates(
    args: &Args,
    doc: &shipgate_config::Document,
    config: &DeployConfig,
    runtime: &tokio::runtime::Runtime,
) -> Result<Promoted, Failure> {
    let Command::Promote {
        from,
        to,
        version,
        emergency,
        reason,
        ..
    } = &args.command
    else {
        unreachable!("gates are a promotion's");
    };
    let pipeline_config = pipeline_config(doc)?;
    let base = args.config.base_dir();
    let cancel = CancellationToken::new();
    let by = actor();
    let reason = reason.clone().filter(|_| *emergency);
    let promote = Promote {
        doc,
        base: &base,
        deploy: config,
        pipeline: &pipeline_config,
        from,
        to,
        version,
        by: &by,
        emergency: reason.as_deref(),
        github_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
        cancel: cancel.clone(),
        progress: Some(&|line: &str| eprintln!("shipgate-deploy: {line}")),
    };
    let gates = runtime
        .block_on(async {
            shipgate_cli::cancel_on_ctrl_c(cancel.clone(), "stopping the promotion");
            shipgate_pipeline::gate::check(&promote, &SystemClock).await
        })
        .map_err(pipeline)?;
    for f in gates.findings() {
        eprintln!("gate {}: {}", f.name.trim_start_matches("gate "), f.message);
    }
    Ok(Promoted {
        from: from.clone(),
        by,
        emergency: reason,
        gates,
    })
}

impl Promoted {
    /// What is deployed: the release, what it is, and the gates it passed.
    pub(crate) fn deployment(&self) -> (String, Artifact, Promotion) {
        let g = &self.gates;
        let promotion = g.promotion(&self.from, &self.by, self.emergency.as_deref());
        (g.release.clone(), g.artifact.clone(), promotion)
    }
}

/// A promotion a gate stopped: the report, exit 1.
pub(crate) fn refused(
    p: &Promoted,
    env: &str,
    outputs: &ReportArgs,
    redactor: &Redactor,
) -> Result<Code, Failure> {
    let stopped = p.gates.outcomes.last().map_or("?", |o| o.kind.as_str());
    let title = format!(
        "shipgate-deploy promote {} from {} to {env}: stopped at gate {stopped}",
        p.gates.artifact.version, p.from
    );
    let mut report = Report::new(title).with_redactor(redactor.clone());
    report.extend(p.gates.findings());
    outputs.emit(&report)?;
    Ok(Code::Failure)
}

/// An emergency promotion is announced at critical severity before it starts.
pub(crate) async fn announce_emergency(
    p: &Promoted,
    announcer: &mut layers::Announcer,
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

/// Marks the approval a promotion used, so that it cannot be used twice.
pub(crate) fn used(
    p: &Promoted,
    state_dir: &Path,
    env: &str,
    deployment: &str,
) -> Result<(), Failure> {
    if let Some(r) = &p.gates.approval {
        Approvals::new(state_dir, env)
            .mark_used(&r.id, deployment, SystemTime::now())
            .map_err(pipeline)?;
    }
    Ok(())
}

/// `approve ID`.
pub(crate) fn approve(
    doc: &shipgate_config::Document,
    state_dir: &Path,
    env: &str,
    id: &str,
) -> Result<Code, Failure> {
    let pipeline_config = pipeline_config(doc)?;
    let Some(config) = pipeline_config.approval(env).cloned() else {
        return Err(Failure::usage_msg(format!(
            "[pipeline.environments.{env}] has no approval gate"
        )));
    };
    let by = actor();
    let request = Approvals::new(state_dir, env)
        .approve(id, &by, &config, SystemTime::now())
        .map_err(pipeline)?;
    println!(
        "approved {} ({} from {} to {env}, asked by {}) as {by}{}",
        request.id,
        request.version,
        request.from,
        request.requested_by,
        if config.wait.is_zero() {
            String::new()
        } else {
            format!(
                "; the promotion may go ahead after {}",
                humantime::format_duration(config.wait)
            )
        }
    );
    Ok(Code::Success)
}

/// The watch window `[pipeline.environments.ENV] watch` asks for after a deployment:
/// its verdict and findings; none when the pipeline asks for none.
/// Before a deployment whose environment ends with a watch window: the window's
/// queries are checked first, so that a typo is a configuration error (exit 2, nothing
/// changed), not a window that cannot judge.
pub(crate) fn watch_ready(
    doc: &shipgate_config::Document,
    base: &Path,
    env: &str,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), Failure> {
    let pipeline_config: Option<PipelineConfig> = doc
        .section("pipeline")
        .map_err(|e| Failure::usage("[pipeline]", e))?;
    if pipeline_config.and_then(|p| p.watch_for(env)).is_none() {
        return Ok(());
    }
    let setup = WatchSetup::from_document(doc, base, env).map_err(pipeline)?;
    for unchecked in runtime.block_on(setup.check_queries()).map_err(pipeline)? {
        eprintln!("shipgate-deploy: {unchecked}");
    }
    Ok(())
}

pub(crate) fn watch_after(
    doc: &shipgate_config::Document,
    base: &Path,
    env: &str,
    runtime: &tokio::runtime::Runtime,
) -> Result<Option<(String, Vec<Finding>)>, Failure> {
    let pipeline_config: Option<PipelineConfig> = doc
        .section("pipeline")
        .map_err(|e| Failure::usage("[pipeline]", e))?;
    let Some(length) = pipeline_config.and_then(|p| p.watch_for(env)) else {
        return Ok(None);
    };
    let setup = WatchSetup::from_document(doc, base, env).map_err(pipeline)?;
    eprintln!(
        "watching {env} for {} ([pipeline.environments.{env}] watch)",
        humantime::format_duration(length)
    );
    let cancel = CancellationToken::new();
    let window = runtime
        .block_on(async {
            shipgate_cli::cancel_on_ctrl_c(cancel.clone(), "ending the watch window");
            setup.run(Some(length), true, cancel, None).await
        })
        .map_err(pipeline)?;
    let verdict = window.verdict().as_str().to_owned();
    if let Some((record, path)) = setup.record(&window).map_err(pipeline)? {
        eprintln!(
            "watch verdict on deployment {}: {} ({})",
            record.deployment,
            record.verdict,
            path.display()
        );
    }
    let findings = window.report("watch").findings().to_vec();
    Ok(Some((verdict, findings)))
}
