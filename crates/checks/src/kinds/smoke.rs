//! Ordered HTTP steps (login → authorised request → logout), retried until healthy.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use shipgate_config::Secret;
use shipgate_http::retry::{Attempt, Backoff, retry};
use shipgate_http::{CookieJar, Step, StepResult, TemplateVars, run_steps};

use crate::Context;
use crate::observation::{Observation, StepObservation};

fn one_second() -> Duration {
    Duration::from_secs(1)
}

/// `[checks.post.smoke]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeCheck {
    /// Variables for `{{name}}` placeholders (the shipgate.toml `${VAR}`s are already resolved).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Variables holding secrets (passwords, tokens): usable like `vars`, masked in reports.
    #[serde(default)]
    pub secrets: BTreeMap<String, Secret>,
    /// Keep re-running the whole scenario until it passes, for up to this long
    /// (a service that is still starting). Set the check's `timeout` above it.
    #[serde(default, with = "shipgate_config::duration::option")]
    pub retry_until_healthy: Option<Duration>,
    /// Pause between whole-scenario attempts.
    #[serde(default = "one_second", with = "shipgate_config::duration")]
    pub retry_interval: Duration,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

pub(crate) async fn observe(check: &SmokeCheck, ctx: &Context) -> Observation {
    let mut policy = Backoff::constant(check.retry_interval);
    if let Some(healthy_within) = check.retry_until_healthy {
        policy = policy.within(healthy_within);
    }
    let (outcomes, attempts) = retry(&policy, |_| async move {
        let mut vars: TemplateVars = check.vars.clone().into_iter().collect();
        vars.extend(
            check
                .secrets
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().to_owned())),
        );
        let outcomes = run_steps(&ctx.http, &check.steps, &mut vars, &mut CookieJar::new()).await;
        if outcomes.iter().all(|o| o.passed()) {
            Attempt::Done(outcomes)
        } else {
            Attempt::again(outcomes)
        }
    })
    .await;
    summarize(outcomes, attempts)
}

fn summarize(outcomes: Vec<shipgate_http::StepOutcome>, attempts: u32) -> Observation {
    let total = outcomes.len();
    let mut steps = Vec::with_capacity(total);
    let mut first_failure = None;
    for o in outcomes {
        let observation = match &o.result {
            StepResult::Passed => {
                let status = o.status.map(|s| s.as_u16().to_string()).unwrap_or_default();
                Observation::pass(format!("{status} in {:?}", o.latency.unwrap_or_default()))
            }
            StepResult::RequestFailed(e) => {
                Observation::unreachable(shipgate_report::error_line(e))
                    .recommend("is the service up and reachable?")
            }
            StepResult::AssertionsFailed(why) => {
                Observation::fail(shipgate_http::Mismatch::join(why))
                    .recommend("the response is not what clients expect")
            }
            StepResult::Skipped => Observation::skipped("an earlier step failed"),
        };
        if first_failure.is_none() && !o.passed() {
            first_failure = Some(format!("{}: {}", o.name, observation.message));
        }
        steps.push(StepObservation {
            name: o.name,
            observation,
            duration: o.duration,
        });
    }
    let tries = if attempts > 1 {
        format!(" (attempt {attempts})")
    } else {
        String::new()
    };
    let mut out = match first_failure {
        None => Observation::pass(format!("{total} steps passed{tries}")),
        Some(f) => Observation::fail(format!("{f}{tries}")).recommend("see the failed step"),
    };
    out.steps = steps;
    out
}
