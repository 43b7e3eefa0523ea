//! What each kind of step does.

use std::time::{Duration, Instant};

use shipgate_http::HttpClient;
use shipgate_http::retry::{Attempt, Backoff, retry};
use shipgate_report::{Finding, Outcome as Verdict, Phase};

use crate::Error;
use crate::context::Context;
use crate::driver::Driver;
use crate::journal::Effect;
use crate::plan::{Step, StepKind};

/// Does one step; its effect and a line for the report, or why it failed.
pub(crate) async fn act(
    ctx: &Context<'_>,
    id: &str,
    step: &Step,
    previous: Option<String>,
) -> Result<(Effect, String), String> {
    let line = |e: Error| shipgate_report::error_line(&e);
    match &step.kind {
        StepKind::Backup(config) => {
            let meta = crate::backup::Meta {
                id,
                environment: &ctx.plan.environment,
                release: &ctx.plan.release,
                previous_release: previous.as_deref(),
            };
            let m = crate::backup::take(config, &ctx.plan.base_dir, &meta, step.timeout)
                .await
                .map_err(line)?;
            let sizes: Vec<String> = m
                .items
                .iter()
                .map(|i| match i.kind {
                    crate::backup::ItemKind::Rds => {
                        format!("{} as RDS snapshot {}", i.name, i.file)
                    }
                    _ => format!("{} {} B", i.name, i.size),
                })
                .collect();
            let message = format!("verified backup {}: {}", m.id, sizes.join(", "));
            let snapshots = m
                .items
                .iter()
                .filter(|i| i.kind == crate::backup::ItemKind::Rds)
                .map(|i| i.file.clone())
                .collect();
            Ok((
                Effect::BackedUp {
                    id: m.id,
                    snapshots,
                },
                message,
            ))
        }
        StepKind::Restore { config, id: chosen } => {
            let all = crate::backup::list(config, &ctx.plan.base_dir).map_err(line)?;
            let found = all.iter().rev().find(|(_, m)| {
                m.environment == ctx.plan.environment && chosen.as_deref().is_none_or(|c| c == m.id)
            });
            let Some((dir, m)) = found else {
                return Err(format!(
                    "no backup {} of {} in {}",
                    chosen.as_deref().unwrap_or("at all"),
                    ctx.plan.environment,
                    ctx.plan.base_dir.join(&config.dir).display()
                ));
            };
            let (_, pending) =
                crate::backup::restore(config, &ctx.plan.base_dir, dir, step.timeout)
                    .await
                    .map_err(line)?;
            let mut message = format!(
                "restored backup {} taken at {} (before {}): writes since then are lost",
                m.id, m.created_at, m.release
            );
            for p in &pending {
                message.push_str("; ");
                message.push_str(p);
            }
            Ok((
                Effect::Restored {
                    id: m.id.clone(),
                    pending,
                },
                message,
            ))
        }
        StepKind::Command {
            run,
            undo,
            in_release,
        } => run_command(ctx, run, step.timeout, *in_release)
            .await
            .map(|m| (Effect::Ran { undo: undo.clone() }, m)),
        StepKind::Release => {
            ctx.driver.prepare(&ctx.plan.release).await.map_err(line)?;
            if ctx.plan.operation == crate::Operation::Rollback {
                switch_back(ctx.driver, &ctx.plan.release).await
            } else {
                switch(ctx.driver, &ctx.plan.release).await
            }
            .map_err(line)?;
            let message = match &previous {
                Some(p) => format!("{} → {}", p, ctx.plan.release),
                None => format!("{} (the first release)", ctx.plan.release),
            };
            Ok((
                Effect::Switched {
                    from: previous,
                    to: ctx.plan.release.clone(),
                },
                message,
            ))
        }
        StepKind::Health(h) => health(&ctx.http, h, &ctx.plan.release)
            .await
            .map(|m| (Effect::None, m)),
        StepKind::Hook(hook) => (hook.0)().await.map(|m| (Effect::None, m)),
    }
}

/// A health or post step run after an undo, against `restored`, the release switched
/// back to.
pub(crate) async fn check_restored(
    ctx: &Context<'_>,
    step: &Step,
    restored: &str,
) -> Result<(Effect, String), String> {
    match &step.kind {
        StepKind::Health(h) => health(&ctx.http, h, restored)
            .await
            .map(|m| (Effect::None, format!("{restored}: {m}"))),
        _ => act(ctx, "", step, None).await,
    }
}

pub(crate) async fn switch(driver: &dyn Driver, release: &str) -> Result<(), Error> {
    driver.switch(release).await?;
    driver.activate(release).await
}

/// Switches back to `release`, which served before, at once (a rollback), then
/// activates it.
pub(crate) async fn switch_back(driver: &dyn Driver, release: &str) -> Result<(), Error> {
    driver.switch_back(release).await?;
    driver.activate(release).await
}

/// Runs `command` here through `sh -c`, or, `in_release`, where the release runs when
/// the driver has such a place.
pub(crate) async fn run_command(
    ctx: &Context<'_>,
    command: &str,
    timeout: Duration,
    in_release: bool,
) -> Result<String, String> {
    if in_release && let Some(task) = ctx.driver.run_task(&ctx.plan.release, command, timeout) {
        return task.await.map_err(|e| shipgate_report::error_line(&e));
    }
    let env = [
        ("SHIPGATE_RELEASE", ctx.plan.release.as_str()),
        ("SHIPGATE_ENVIRONMENT", ctx.plan.environment.as_str()),
    ];
    let done = crate::command::run(command, &ctx.plan.base_dir, &env, timeout)
        .await
        .map_err(|e| shipgate_report::error_line(&e))?;
    if done.success {
        Ok(format!("`{command}`: {}", done.status))
    } else if done.tail.is_empty() {
        Err(format!("`{command}`: {}", done.status))
    } else {
        Err(format!("`{command}`: {}: {}", done.status, done.tail))
    }
}

pub(crate) async fn health(
    http: &HttpClient,
    config: &crate::config::HealthConfig,
    release: &str,
) -> Result<String, String> {
    let fill = |s: &str| s.replace("{{release}}", release);
    let mut step = shipgate_http::Step::get(&fill(&config.url)).map_err(|e| e.to_string())?;
    for a in &config.asserts {
        let parsed = shipgate_http::Assertion::parse(&fill(a))
            .map_err(|e| format!("health assertion {a:?}: {e}"))?;
        step.asserts.push(parsed);
    }
    // Assertions add to "it answers", never replace it: a 503 whose header happens to
    // match is not healthy. One that speaks of the status decides it.
    if !step.asserts.is_empty()
        && !config
            .asserts
            .iter()
            .any(|a| a.trim_start().starts_with("status"))
    {
        step.asserts
            .push(shipgate_http::Assertion::parse("status < 400").expect("a valid assertion"));
    }
    let policy = Backoff::constant(config.interval).within(config.timeout);
    let start = Instant::now();
    let (last, attempts) = retry(&policy, |_| {
        let (http, step) = (http.clone(), &step);
        async move {
            let mut vars = shipgate_http::TemplateVars::new();
            let mut jar = shipgate_http::CookieJar::new();
            let outcome = shipgate_http::run_step(&http, step, &mut vars, &mut jar).await;
            if outcome.passed() {
                Attempt::Done(Ok(outcome.status))
            } else {
                Attempt::again(Err(why(&outcome)))
            }
        }
    })
    .await;
    match last {
        Ok(status) => Ok(format!(
            "healthy after {attempts} attempt(s) in {:.1?} (status {})",
            start.elapsed(),
            status.map_or("-".to_owned(), |s| s.as_u16().to_string())
        )),
        Err(why) => Err(format!(
            "not healthy after {attempts} attempt(s) in {:.1?}: {why}",
            start.elapsed()
        )),
    }
}

/// Why an HTTP step did not pass, as one line.
pub(crate) fn why(outcome: &shipgate_http::StepOutcome) -> String {
    match &outcome.result {
        shipgate_http::StepResult::RequestFailed(e) => shipgate_report::error_line(e),
        shipgate_http::StepResult::AssertionsFailed(m) => shipgate_http::Mismatch::join(m),
        other => format!("{other:?}"),
    }
}

/// A failing finding of the deployment phase.
pub(crate) fn failed(name: &str, duration: Duration, message: &str) -> Finding {
    let mut f = Finding::new(name, Phase::Deploy, Verdict::Fail);
    f.duration = duration;
    f.message = message.to_owned();
    f
}
