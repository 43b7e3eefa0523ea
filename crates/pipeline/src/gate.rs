//! The gates of a promotion, in the order the environment lists them; the first that
//! fails stops the promotion. What a gate trusts comes from the record (the source
//! environment's journals and watch records, the approvals' files), never a flag.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use shipgate_deploy::{Artifact, DeployConfig, Ending, GateRecord, State};
use shipgate_report::{Finding, Outcome, Phase};
use tokio_util::sync::CancellationToken;

use crate::approval::{Approvals, Request, Standing, remaining};
use crate::config::{ApprovalConfig, Approver, GateConfig, GateKind, PipelineConfig};
use crate::record::WatchRecord;
use crate::{Error, ErrorKind};

/// One promotion, as asked for.
pub struct Promote<'a> {
    /// The configuration file, loaded for the target environment.
    pub doc: &'a shipgate_config::Document,
    /// Its directory.
    pub base: &'a Path,
    /// `[deploy]`.
    pub deploy: &'a DeployConfig,
    /// `[pipeline]`.
    pub pipeline: &'a PipelineConfig,
    /// The source environment.
    pub from: &'a str,
    /// The target environment.
    pub to: &'a str,
    /// The version promoted.
    pub version: &'a str,
    /// Who asks (`SHIPGATE_USER`, the CI's actor, or the login name).
    pub by: &'a str,
    /// `--emergency --reason`: skip the stage's skippable gates, for this reason.
    pub emergency: Option<&'a str>,
    /// Whether this runs inside a GitHub Actions job (`GITHUB_ACTIONS=true`), where an
    /// approval gate with `by = "github"` is the environment's reviewers'.
    pub github_actions: bool,
    /// Stops a load test or an approval's wait early.
    pub cancel: CancellationToken,
    /// Told what a long wait is at (an approval's wait timer, every 30 s); none: quiet.
    pub progress: Option<&'a (dyn Fn(&str) + Send + Sync)>,
}

/// A gate's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateVerdict {
    /// It holds: what it saw.
    Passed(String),
    /// Skipped by an emergency deploy: the reason.
    Skipped(String),
    /// It does not hold: why, and what to do.
    Failed(String),
}

/// One gate's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateOutcome {
    /// Its kind.
    pub kind: GateKind,
    /// Its verdict.
    pub verdict: GateVerdict,
}

/// What the gates found.
#[derive(Debug, Clone)]
pub struct Gates {
    /// The release and artifact promoted (the source's deployment of the version).
    pub release: String,
    /// Its artifact, as the source environment recorded it.
    pub artifact: Artifact,
    /// Each gate reached, in order; the last one failed if any did.
    pub outcomes: Vec<GateOutcome>,
    /// The approval used, if an approval gate passed through shipgate.
    pub approval: Option<Request>,
    /// Where the load test's reports are, if one ran.
    pub reports: Vec<PathBuf>,
}

impl Gates {
    /// Whether every gate passed or was skipped.
    pub fn passed(&self) -> bool {
        !self
            .outcomes
            .iter()
            .any(|o| matches!(o.verdict, GateVerdict::Failed(_)))
    }

    /// The gates as the deployment's journal records them.
    pub fn promotion(
        &self,
        from: &str,
        by: &str,
        emergency: Option<&str>,
    ) -> shipgate_deploy::Promotion {
        shipgate_deploy::Promotion {
            from: from.to_owned(),
            requested_by: by.to_owned(),
            gates: self
                .outcomes
                .iter()
                .map(|o| {
                    let (result, detail) = match &o.verdict {
                        GateVerdict::Passed(d) => ("passed", d),
                        GateVerdict::Skipped(d) => ("skipped", d),
                        GateVerdict::Failed(d) => ("failed", d),
                    };
                    GateRecord {
                        gate: o.kind.as_str().to_owned(),
                        result: result.to_owned(),
                        detail: detail.clone(),
                    }
                })
                .collect(),
            approved_by: self
                .approval
                .as_ref()
                .and_then(|r| r.approved.as_ref().map(|(by, _)| by.clone())),
            emergency: emergency.map(str::to_owned),
        }
    }

    /// One finding per gate, for the report.
    pub fn findings(&self) -> Vec<Finding> {
        self.outcomes
            .iter()
            .map(|o| {
                let (outcome, message) = match &o.verdict {
                    GateVerdict::Passed(d) => (Outcome::Pass, d),
                    // Skipped only by an emergency: worth attention, not a "skip"
                    // that would read as the deployment's own outcome.
                    GateVerdict::Skipped(d) => (Outcome::Warn, d),
                    GateVerdict::Failed(d) => (Outcome::Fail, d),
                };
                let mut f = Finding::new(format!("gate {}", o.kind.as_str()), Phase::Pre, outcome);
                f.message.clone_from(message);
                f
            })
            .collect()
    }
}

/// Runs the gates of `p.to` in order, stopping at the first that fails. An approval
/// that is granted but still in its wait is waited for (until `p.cancel`).
pub async fn check(p: &Promote<'_>, clock: &dyn shipgate_watch::Clock) -> Result<Gates, Error> {
    let stage = p.pipeline.stage(p.from, p.to)?;
    let source_dir = p.deploy.state_dir_for(p.base, p.from);
    let history = shipgate_deploy::history(&source_dir)?;
    let candidate = history
        .iter()
        .rev()
        .find(|s| s.artifact.version == p.version && s.ending == Some(Ending::Deployed));
    let mut gates = Gates {
        release: candidate.map_or_else(|| p.version.to_owned(), |s| s.release.clone()),
        artifact: candidate.map_or_else(|| Artifact::version(p.version), |s| s.artifact.clone()),
        outcomes: Vec::new(),
        approval: None,
        reports: Vec::new(),
    };
    if p.emergency.is_some_and(|r| r.trim().is_empty()) {
        return Err(Error::new(
            ErrorKind::Config,
            "--emergency needs --reason \"…\": the reason is recorded and announced",
        ));
    }
    for gate in &stage.gates {
        let kind = gate.kind();
        let verdict = match p.emergency {
            Some(reason) if stage.skippable.contains(&kind) => {
                GateVerdict::Skipped(format!("emergency deploy: {reason}"))
            }
            _ => match gate {
                GateConfig::Promoted { watched } => promoted(p, &source_dir, &history, *watched)?,
                GateConfig::Soak { min } => soak(p, &history, *min, clock.now()),
                GateConfig::Checks { phase } => checks(p, phase).await?,
                GateConfig::Load { config } => load(p, config.as_deref(), &mut gates).await?,
                GateConfig::Approval(a) => approval(p, a, clock, &mut gates).await?,
            },
        };
        let failed = matches!(verdict, GateVerdict::Failed(_));
        gates.outcomes.push(GateOutcome { kind, verdict });
        if failed {
            break;
        }
    }
    Ok(gates)
}

/// The newest deployment of the source environment, if it is of `version` and ended
/// deployed: that the version still serves there.
fn serving<'h>(history: &'h [State], version: &str) -> Result<&'h State, String> {
    let newest = history
        .iter()
        .rev()
        .find(|s| s.ending == Some(Ending::Deployed));
    match newest {
        Some(s) if s.artifact.version == version => Ok(s),
        Some(s) => Err(format!(
            "{} serves {} now (deployment {}), not {version}",
            s.environment, s.artifact.version, s.id
        )),
        None => Err("it has no successful deployment".to_owned()),
    }
}

fn promoted(
    p: &Promote<'_>,
    source_dir: &Path,
    history: &[State],
    watched: bool,
) -> Result<GateVerdict, Error> {
    let Some(last) = history
        .iter()
        .rev()
        .find(|s| s.artifact.version == p.version)
    else {
        return Ok(GateVerdict::Failed(format!(
            "{} has never deployed {}: deploy it there first",
            p.from, p.version
        )));
    };
    if last.ending != Some(Ending::Deployed) {
        return Ok(GateVerdict::Failed(format!(
            "{}'s last deployment of {} ({}) {}",
            p.from,
            p.version,
            last.id,
            last.where_it_stands()
        )));
    }
    if let Err(why) = serving(history, p.version) {
        return Ok(GateVerdict::Failed(format!("{}: {why}", p.from)));
    }
    if !watched {
        return Ok(GateVerdict::Passed(format!(
            "{} deployed {} ({})",
            p.from, p.version, last.id
        )));
    }
    Ok(match WatchRecord::read(source_dir, &last.id)? {
        Some(r) if r.verdict == "passed" => GateVerdict::Passed(format!(
            "{} deployed {} ({}) and its watch window passed ({} to {})",
            p.from, p.version, last.id, r.started, r.ended
        )),
        Some(r) => GateVerdict::Failed(format!(
            "{}'s watch window over {} ({}) ended {}{}",
            p.from,
            p.version,
            last.id,
            r.verdict,
            if r.without_data.is_empty() {
                String::new()
            } else {
                format!(" (no data: {})", r.without_data.join(", "))
            }
        )),
        None => GateVerdict::Failed(format!(
            "no watch window over {}'s deployment {} of {} is on record: \
             run `shipgate-watch --env {} deployment` (or give [pipeline.environments.{}] watch)",
            p.from, last.id, p.version, p.from, p.from
        )),
    })
}

fn soak(p: &Promote<'_>, history: &[State], min: Duration, now: SystemTime) -> GateVerdict {
    let state = match serving(history, p.version) {
        Ok(s) => s,
        Err(why) => return GateVerdict::Failed(format!("{}: {why}", p.from)),
    };
    let Some(since) = state
        .ended_at
        .as_deref()
        .and_then(|t| humantime::parse_rfc3339(t).ok())
    else {
        return GateVerdict::Failed(format!("deployment {} has no end time", state.id));
    };
    let served = now.duration_since(since).unwrap_or_default();
    let served_s = humantime::format_duration(Duration::from_secs(served.as_secs()));
    if served >= min {
        GateVerdict::Passed(format!(
            "{} has served {} for {served_s} (at least {})",
            p.version,
            p.from,
            humantime::format_duration(min)
        ))
    } else {
        GateVerdict::Failed(format!(
            "{} has served {} for {served_s}, less than {}: try again in {}",
            p.version,
            p.from,
            humantime::format_duration(min),
            humantime::format_duration(Duration::from_secs((min - served).as_secs() + 1))
        ))
    }
}

async fn checks(p: &Promote<'_>, phase: &str) -> Result<GateVerdict, Error> {
    let hooks = crate::layers::checks(p.doc, p.base, &p.doc.redactor())?;
    let hook = if phase == "post" {
        hooks.post
    } else {
        hooks.pre
    };
    let Some(hook) = hook else {
        return Ok(GateVerdict::Failed(format!(
            "the checks gate needs [checks.{phase}] in {}",
            p.doc.path().display()
        )));
    };
    Ok(match (hook.0)().await {
        Ok(line) => GateVerdict::Passed(format!("[checks.{phase}]: {line}")),
        Err(why) => GateVerdict::Failed(why),
    })
}

async fn load(
    p: &Promote<'_>,
    config: Option<&Path>,
    gates: &mut Gates,
) -> Result<GateVerdict, Error> {
    // The load test aims at the source environment: its file is read with that
    // environment's variables.
    let path = config.map_or_else(|| p.doc.path().to_owned(), |c| p.base.join(c));
    let doc =
        shipgate_config::Document::load(&path, Some(p.from), shipgate_config::Vars::process())
            .map_err(|e| {
                Error::with_source(ErrorKind::Config, "the load gate's configuration", e)
            })?;
    let config_error = |e: Box<dyn std::error::Error + Send + Sync>| {
        Error::with_source(ErrorKind::Config, format!("{}: [load]", path.display()), e)
    };
    let Some(cfg): Option<shipgate_load::LoadConfig> =
        doc.section("load").map_err(|e| config_error(e.into()))?
    else {
        return Ok(GateVerdict::Failed(format!(
            "the load gate needs [load] in {}",
            path.display()
        )));
    };
    let plan = shipgate_load::Plan::from_config(&cfg).map_err(|e| config_error(e.into()))?;
    let client = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        request_timeout: cfg.timeout,
        ..Default::default()
    })
    .map_err(|e| Error::with_source(ErrorKind::Load, "cannot build the HTTP client", e))?;
    let engine = shipgate_load::Engine::new(plan.clone(), client);
    let result = engine.run(p.cancel.clone()).await;
    let report = shipgate_load::LoadReport::new(&plan, &result);
    let dir = p
        .deploy
        .state_dir_for(p.base, p.to)
        .join("promotions")
        .join(crate::stamp_id(SystemTime::now(), p.version));
    let files = shipgate_load::Files {
        json: Some(dir.join("load.json")),
        html: Some(dir.join("load.html")),
        ..Default::default()
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    let context = [
        ("configuration".to_owned(), path.display().to_string()),
        ("environment".to_owned(), p.from.to_owned()),
    ];
    report
        .write_files(&files, &context, &doc.redactor())
        .map_err(|e| Error::with_source(ErrorKind::Load, "the load test's reports", e))?;
    gates
        .reports
        .extend(files.json.iter().chain(&files.html).cloned());
    let judged: Vec<String> = report
        .evaluations
        .iter()
        .map(|e| {
            let actual = e
                .actual
                .as_ref()
                .map_or_else(|| "no value".to_owned(), ToString::to_string);
            format!(
                "{} ({actual}{})",
                e.threshold,
                if e.passed { "" } else { ", FAILED" }
            )
        })
        .collect();
    let summary = if judged.is_empty() {
        "no thresholds".to_owned()
    } else {
        judged.join("; ")
    };
    let kept = dir.join("load.html");
    Ok(
        if report.exit_code() == shipgate_report::ExitCode::Success {
            GateVerdict::Passed(format!(
                "load on {}: {summary}; report {}",
                p.from,
                kept.display()
            ))
        } else {
            GateVerdict::Failed(format!(
                "load on {}: thresholds do not hold: {summary}; report {}",
                p.from,
                kept.display()
            ))
        },
    )
}

async fn approval(
    p: &Promote<'_>,
    config: &ApprovalConfig,
    clock: &dyn shipgate_watch::Clock,
    gates: &mut Gates,
) -> Result<GateVerdict, Error> {
    if config.by == Approver::Github {
        return Ok(if p.github_actions {
            GateVerdict::Passed(format!(
                "approved through the GitHub environment {}'s protection rules (job run by {})",
                p.to, p.by
            ))
        } else {
            GateVerdict::Failed(
                "this approval comes from a GitHub environment's required reviewers, \
                 and this is not a GitHub Actions job (GITHUB_ACTIONS is not true)"
                    .to_owned(),
            )
        });
    }
    let approvals = Approvals::new(&p.deploy.state_dir_for(p.base, p.to), p.to);
    let now = clock.now();
    let Some(request) = approvals.open_for(p.from, p.version, config, now)? else {
        // A request of this promotion that expired is said, not silently replaced.
        let expired = approvals
            .list()?
            .into_iter()
            .rev()
            .filter(|r| r.from == p.from && r.version == p.version)
            .find_map(|r| match r.standing(config, now) {
                crate::approval::Standing::Expired { at } => Some(format!(
                    "request {} expired at {}; ",
                    r.id,
                    humantime::format_rfc3339_seconds(at)
                )),
                _ => None,
            })
            .unwrap_or_default();
        let r = approvals.request(p.from, p.version, p.by, now)?;
        let who = if config.four_eyes {
            format!("someone other than {}", p.by)
        } else {
            "an approver".to_owned()
        };
        return Ok(GateVerdict::Failed(format!(
            "{expired}approval requested as {id}: {who} runs `shipgate-deploy --env {to} approve {id}`, then promote again (expires in {})",
            humantime::format_duration(config.expires),
            id = r.id,
            to = p.to,
        )));
    };
    match request.standing(config, now) {
        Standing::Pending { expires } => Ok(GateVerdict::Failed(format!(
            "waiting for approval of {} (asked by {}; expires {})",
            request.id,
            request.requested_by,
            humantime::format_rfc3339_seconds(expires)
        ))),
        Standing::Waiting { until, by } => {
            // The wait timer counts from the approval: sit it out, unless stopped,
            // saying how long is left every 30 s.
            loop {
                let left = remaining(until, clock.now());
                if left.is_zero() {
                    break;
                }
                if let Some(say) = p.progress {
                    say(&format!(
                        "approval {} by {by}: wait timer, {} left (until {})",
                        request.id,
                        humantime::format_duration(Duration::from_secs(
                            left.as_secs_f64().ceil() as u64
                        )),
                        humantime::format_rfc3339_seconds(until)
                    ));
                }
                tokio::select! {
                    () = tokio::time::sleep(left.min(Duration::from_secs(30))) => {}
                    () = p.cancel.cancelled() => {
                        return Ok(GateVerdict::Failed(format!(
                            "stopped during the wait timer of {}", request.id
                        )));
                    }
                }
            }
            Ok(ready(&request, config, clock.now(), gates))
        }
        _ => Ok(ready(&request, config, now, gates)),
    }
}

fn ready(
    request: &Request,
    config: &ApprovalConfig,
    now: SystemTime,
    gates: &mut Gates,
) -> GateVerdict {
    match request.standing(config, now) {
        Standing::Ready { by } => {
            gates.approval = Some(request.clone());
            let at = request
                .approved
                .as_ref()
                .map(|(_, t)| humantime::format_rfc3339_seconds(*t).to_string())
                .unwrap_or_default();
            GateVerdict::Passed(format!(
                "{} approved by {by} at {at} (asked by {})",
                request.id, request.requested_by
            ))
        }
        other => GateVerdict::Failed(format!("approval {}: {other:?}", request.id)),
    }
}
