//! Runs a phase's checks: concurrently (bounded), each a tower service under a timeout,
//! each waiting only for the checks it depends on.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shipgate_http::HttpClient;
use shipgate_report::{Finding, Outcome, Phase};
use tokio::sync::{Semaphore, watch};
use tower::util::BoxCloneService;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tracing::Instrument as _;

use crate::config::{CheckSeverity, CheckSpec};
use crate::kinds::CheckKind;
use crate::observation::{Observation, Verdict};
use crate::{Error, ErrorKind};

/// What checks run with: variables (for env checks), an HTTP client, and the directory
/// relative paths start from (the configuration file's).
#[derive(Debug, Clone)]
pub struct Context {
    /// Where env checks read variables.
    pub vars: shipgate_config::Vars,
    /// The HTTP client for http, file-manifest and smoke checks.
    pub http: HttpClient,
    /// Base of relative paths.
    pub base_dir: PathBuf,
}

/// How a phase runs.
#[derive(Debug, Clone, Copy)]
pub struct RunConfig {
    /// Timeout of a check that sets none.
    pub timeout: Duration,
    /// Checks running at once.
    pub concurrency: usize,
}

/// One check as a tower service: call it with `()` to get its [`Observation`]. Layer
/// `.timeout()`, `.retry()` or `.concurrency_limit()` on it as needed.
pub fn check_service(
    kind: CheckKind,
    ctx: Context,
    timeout: Duration,
) -> BoxCloneService<(), Observation, Infallible> {
    let kind = Arc::new(kind);
    BoxCloneService::new(tower::service_fn(move |()| {
        let (kind, ctx) = (kind.clone(), ctx.clone());
        async move { Ok(crate::kinds::observe(&kind, &ctx, timeout).await) }
    }))
}

/// The timeout a check runs under.
fn budget(spec: &CheckSpec, default: Duration) -> Duration {
    match (spec.timeout, &spec.kind) {
        (Some(t), _) => t,
        // A scenario retried until healthy needs its retry window plus one run.
        (None, CheckKind::Smoke(s)) => s.retry_until_healthy.map_or(default, |r| r + default),
        (None, _) => default,
    }
}

/// Checks names and dependencies before anything runs.
pub fn validate(specs: &[CheckSpec]) -> Result<(), Error> {
    match inconsistency(specs) {
        Some((e, _)) => Err(e),
        None => Ok(()),
    }
}

/// Where an inconsistency is: the check's index, and the field (`name`, or
/// `depends_on` with the entry's index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    /// The check's index in its phase.
    pub(crate) check: usize,
    /// `None`: its `name`; `Some(j)`: its `depends_on[j]`.
    pub(crate) depends_on: Option<usize>,
}

/// The first inconsistency among `specs` (two checks with one name, a dependency that
/// does not exist, a cycle), and where it is.
pub(crate) fn inconsistency(specs: &[CheckSpec]) -> Option<(Error, Place)> {
    let mut seen = BTreeMap::new();
    for (i, spec) in specs.iter().enumerate() {
        if let Some(first) = seen.insert(spec.name.as_str(), i) {
            return Some((
                Error::new(
                    ErrorKind::DuplicateName,
                    format!(
                        "two checks are named {:?} (checks {} and {} of the phase): names must be unique",
                        spec.name,
                        first + 1,
                        i + 1
                    ),
                ),
                Place {
                    check: i,
                    depends_on: None,
                },
            ));
        }
    }
    for (i, spec) in specs.iter().enumerate() {
        for (j, dep) in spec.depends_on.iter().enumerate() {
            if !seen.contains_key(dep.as_str()) {
                let hint =
                    shipgate_config::did_you_mean(dep, specs.iter().map(|s| s.name.as_str()))
                        .map(|h| format!(": {h}"))
                        .unwrap_or_default();
                return Some((
                    Error::new(
                        ErrorKind::Dependency,
                        format!(
                            "check {:?} depends on {dep:?}, which does not exist{hint}",
                            spec.name
                        ),
                    ),
                    Place {
                        check: i,
                        depends_on: Some(j),
                    },
                ));
            }
        }
    }
    // Depth-first search for a cycle; it is reported at the dependency that closes it.
    fn visit<'a>(
        i: usize,
        specs: &'a [CheckSpec],
        seen: &BTreeMap<&str, usize>,
        state: &mut [u8],
        path: &mut Vec<&'a str>,
    ) -> Option<(Error, Place)> {
        state[i] = 1;
        path.push(&specs[i].name);
        for (j, dep) in specs[i].depends_on.iter().enumerate() {
            let d = seen[dep.as_str()];
            match state[d] {
                2 => {}
                1 => {
                    path.push(&specs[d].name);
                    return Some((
                        Error::new(
                            ErrorKind::Dependency,
                            format!("dependency cycle: {}", path.join(" -> ")),
                        ),
                        Place {
                            check: i,
                            depends_on: Some(j),
                        },
                    ));
                }
                _ => {
                    if let Some(found) = visit(d, specs, seen, state, path) {
                        return Some(found);
                    }
                }
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    let mut state = vec![0u8; specs.len()];
    for i in 0..specs.len() {
        if state[i] == 0
            && let Some(found) = visit(i, specs, &seen, &mut state, &mut Vec::new())
        {
            return Some(found);
        }
    }
    None
}

/// Runs every check of a phase and returns the findings in configuration order (a
/// smoke check adds one finding per step after its own).
pub async fn run(
    specs: &[CheckSpec],
    phase: Phase,
    config: RunConfig,
    ctx: &Context,
) -> Result<Vec<Finding>, Error> {
    validate(specs)?;
    let index: BTreeMap<&str, usize> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let (senders, receivers): (Vec<_>, Vec<_>) = specs
        .iter()
        .map(|_| watch::channel(None::<Outcome>))
        .unzip();
    let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (spec, done)) in specs.iter().cloned().zip(senders).enumerate() {
        let deps: Vec<(String, watch::Receiver<Option<Outcome>>)> = spec
            .depends_on
            .iter()
            .map(|d| (d.clone(), receivers[index[d.as_str()]].clone()))
            .collect();
        let (ctx, permits) = (ctx.clone(), permits.clone());
        let span = tracing::info_span!("check", check = %spec.name, phase = %phase);
        tasks.spawn(
            async move {
                let findings = run_one(spec, phase, config, ctx, deps, permits).await;
                let f = &findings[0];
                tracing::debug!(outcome = f.outcome.as_str(), took = ?f.duration, "{}", f.message);
                let _ = done.send(Some(f.outcome));
                (i, findings)
            }
            .instrument(span),
        );
    }
    let mut results: Vec<Vec<Finding>> = vec![Vec::new(); specs.len()];
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, findings)) => results[i] = findings,
            Err(e) => {
                return Err(Error::with_source(
                    ErrorKind::Invalid,
                    "a check panicked",
                    e,
                ));
            }
        }
    }
    Ok(results.into_iter().flatten().collect())
}

async fn run_one(
    spec: CheckSpec,
    phase: Phase,
    config: RunConfig,
    ctx: Context,
    deps: Vec<(String, watch::Receiver<Option<Outcome>>)>,
    permits: Arc<Semaphore>,
) -> Vec<Finding> {
    for (name, mut rx) in deps {
        let outcome = match rx.wait_for(Option::is_some).await {
            Ok(v) => *v,
            Err(_) => Some(Outcome::Error),
        };
        if !matches!(outcome, Some(Outcome::Pass | Outcome::Warn)) {
            return vec![
                Finding::new(&spec.name, phase, Outcome::Skip)
                    .with_message(format!("skipped: {name} did not pass"))
                    .with_recommendation(format!("fix {name} first")),
            ];
        }
    }
    let _permit = permits.acquire_owned().await;
    let timeout = budget(&spec, config.timeout);
    tracing::trace!(?timeout, "running");
    let service = ServiceBuilder::new()
        .timeout(timeout)
        .service(check_service(spec.kind.clone(), ctx, timeout));
    let start = Instant::now();
    let result: Result<Observation, BoxError> = service.oneshot(()).await;
    let duration = start.elapsed();
    let observation = match result {
        Ok(o) => o,
        Err(_) => Observation::unreachable(format!("no result within {timeout:?}"))
            .recommend("the target may be down or black-holed: check connectivity, or raise this check's timeout"),
    };
    to_findings(&spec, phase, observation, duration)
}

/// A check's verdict as a report outcome: `severity = "warn"` turns a failure into a
/// warning, and so does `optional` when the target could not be reached.
fn outcome(verdict: Verdict, severity: CheckSeverity, optional_unreachable: bool) -> Outcome {
    match verdict {
        Verdict::Pass => Outcome::Pass,
        Verdict::Skip => Outcome::Skip,
        Verdict::Warn => Outcome::Warn,
        Verdict::Fail if severity == CheckSeverity::Warn || optional_unreachable => Outcome::Warn,
        Verdict::Fail => Outcome::Fail,
    }
}

fn to_findings(
    spec: &CheckSpec,
    phase: Phase,
    obs: Observation,
    duration: Duration,
) -> Vec<Finding> {
    let outcome = outcome(obs.verdict, spec.severity, spec.optional && obs.unreachable);
    let mut finding = Finding::new(&spec.name, phase, outcome)
        .with_duration(duration)
        .with_message(&obs.message);
    finding.details = obs.details;
    if outcome != Outcome::Pass {
        finding.recommendation = spec.recommendation.clone().or(obs.recommendation);
    }
    let mut out = vec![finding];
    for step in obs.steps {
        let outcome = self::outcome(step.observation.verdict, spec.severity, false);
        let mut f = Finding::new(format!("{} / {}", spec.name, step.name), phase, outcome)
            .with_duration(step.duration)
            .with_message(step.observation.message);
        if outcome != Outcome::Pass {
            f.recommendation = step.observation.recommendation;
        }
        out.push(f);
    }
    out
}
