//! Ordered HTTP steps: build a request from templates, send it, capture values for
//! later steps, assert on the response; retry a step, or the whole scenario until
//! healthy. The same steps serve smoke tests and load-test tasks.

use std::time::{Duration, Instant};

use http::StatusCode;

use crate::client::HttpClient;
use crate::cookies::CookieJar;
use crate::exchange::exchange;
use crate::expr::Mismatch;
use crate::retry::Backoff;
use crate::step::Step;
use crate::template::TemplateVars;
use crate::{Error, ErrorKind};

/// How one step ended.
#[derive(Debug)]
pub enum StepResult {
    /// Every assertion held and every capture was found.
    Passed,
    /// The request could not be sent or answered.
    RequestFailed(Error),
    /// The response did not meet the assertions (or a capture was missing).
    AssertionsFailed(Vec<Mismatch>),
    /// Not run: an earlier step failed.
    Skipped,
}

/// One step's outcome.
#[derive(Debug)]
pub struct StepOutcome {
    /// The step's display name.
    pub name: String,
    /// How it ended.
    pub result: StepResult,
    /// The final attempt's status.
    pub status: Option<StatusCode>,
    /// The final attempt's latency.
    pub latency: Option<Duration>,
    /// Total time, retries included.
    pub duration: Duration,
    /// Attempts made.
    pub attempts: u32,
}

impl StepOutcome {
    /// Whether the step passed.
    pub fn passed(&self) -> bool {
        matches!(self.result, StepResult::Passed)
    }
}

/// Runs `steps` in order, capturing into `vars` and keeping cookies in `jar`; after a
/// failed step, the rest are skipped (they may need its captures).
pub async fn run_steps(
    client: &HttpClient,
    steps: &[Step],
    vars: &mut TemplateVars,
    jar: &mut CookieJar,
) -> Vec<StepOutcome> {
    let mut out = Vec::with_capacity(steps.len());
    let mut failed = false;
    for step in steps {
        if failed {
            out.push(StepOutcome {
                name: step.display_name(),
                result: StepResult::Skipped,
                status: None,
                latency: None,
                duration: Duration::ZERO,
                attempts: 0,
            });
            continue;
        }
        let outcome = run_step(client, step, vars, jar).await;
        failed = !outcome.passed();
        out.push(outcome);
    }
    out
}

/// Runs one step with its retries.
pub async fn run_step(
    client: &HttpClient,
    step: &Step,
    vars: &mut TemplateVars,
    jar: &mut CookieJar,
) -> StepOutcome {
    let start = Instant::now();
    let mut schedule = Backoff::exponential(step.retry_delay)
        .attempts(step.retries.saturating_add(1))
        .schedule();
    loop {
        let (result, status, latency) = attempt(client, step, vars, jar).await;
        let worth_retrying = match &result {
            StepResult::RequestFailed(e) => e.kind() != ErrorKind::InvalidRequest,
            StepResult::AssertionsFailed(_) => true,
            _ => false,
        };
        if worth_retrying && let Some(wait) = schedule.next_wait(None) {
            tokio::time::sleep(wait).await;
            continue;
        }
        return StepOutcome {
            name: step.display_name(),
            result,
            status,
            latency,
            duration: start.elapsed(),
            attempts: schedule.attempts(),
        };
    }
}

async fn attempt(
    client: &HttpClient,
    step: &Step,
    vars: &mut TemplateVars,
    jar: &mut CookieJar,
) -> (StepResult, Option<StatusCode>, Option<Duration>) {
    let done = exchange(&mut client.clone(), step, vars, jar).await;
    let result = match done.result {
        Ok(()) => StepResult::Passed,
        Err(failed) => match failed.mismatches() {
            Ok(mismatches) => StepResult::AssertionsFailed(mismatches),
            Err(e) => StepResult::RequestFailed(e),
        },
    };
    (result, done.status, done.latency)
}
