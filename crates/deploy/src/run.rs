//! Running a plan under the lock, journaling every step: deploy, resume after a crash,
//! abort (undo what was done, newest first), roll back to an earlier release.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use shipgate_report::{Finding, Outcome as Verdict, Phase};
use tracing::Instrument as _;

use crate::context::Context;
use crate::driver::Driver;
use crate::history::{latest, remove_unbegun};
use crate::journal::{Effect, Ending, Event, Journal};
use crate::lock::{Holder, Lock};
use crate::plan::StepKind;
use crate::state::{State, StepState};
use crate::step::{act, failed};
use crate::undo::{Undone, rolled_back, undo_all};
use crate::{Error, ErrorKind};

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    /// The deployment's id.
    pub id: String,
    /// How it ended.
    pub ending: Ending,
    /// One finding per step run or undone, in order.
    pub findings: Vec<Finding>,
    /// Its journal.
    pub journal: PathBuf,
}

/// What an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// [`deploy`] the plan's release.
    Deploy,
    /// [`resume`] the interrupted deployment.
    Resume,
    /// [`abort`] the interrupted deployment.
    Abort,
    /// Switch back to an earlier release: [`deploy`] of a [`crate::Plan::rollback_to`] plan.
    Rollback,
}

impl Operation {
    /// `deploy`, `resume`, `abort`, `rollback`: the phrase's first word too.
    pub fn verb(self) -> &'static str {
        match self {
            Operation::Deploy => "deploy",
            Operation::Resume => "resume",
            Operation::Abort => "abort",
            Operation::Rollback => "rollback",
        }
    }

    /// Runs it.
    pub async fn run(self, ctx: &Context<'_>) -> Result<Outcome, Error> {
        match self {
            Operation::Deploy | Operation::Rollback => deploy(ctx).await,
            Operation::Resume => resume(ctx).await,
            Operation::Abort => abort(ctx).await,
        }
    }

    /// Whether `ending` is what was asked for: deployed (or rolled back to the
    /// target, healthy), or, for abort, everything undone.
    pub fn succeeded(self, ending: Ending) -> bool {
        match self {
            Operation::Abort => ending == Ending::Aborted,
            _ => ending == Ending::Deployed,
        }
    }
}

impl Error {
    /// Whether the operation was refused before anything changed (a configuration
    /// error, a lock, an interrupted deployment, no confirmation).
    pub fn changed_nothing(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Config
                | ErrorKind::Locked
                | ErrorKind::Interrupted
                | ErrorKind::NothingToDo
                | ErrorKind::Unconfirmed
        )
    }
}

fn refuse_unconfirmed(ctx: &Context<'_>, what: &str) -> Result<(), Error> {
    if ctx.plan.protected && !ctx.confirmed {
        return Err(Error::new(
            ErrorKind::Unconfirmed,
            format!(
                "{} is protected: {what} needs confirmation (type the phrase on a terminal, \
                 or pass --confirm {}); nothing was changed",
                ctx.plan.environment, ctx.plan.environment
            ),
        ));
    }
    Ok(())
}

/// Deploys the plan's release: refuses while another deployment holds the lock or an
/// interrupted one waits for `resume`/`abort`; on a failure after something changed,
/// undoes it (newest first) and ends `rolled_back`.
pub async fn deploy(ctx: &Context<'_>) -> Result<Outcome, Error> {
    refuse_unconfirmed(ctx, "a deployment")?;
    ctx.plan.check_skips(&ctx.skip, ctx.force)?;
    if ctx.plan.protected && !ctx.force {
        ctx.plan.check_rollback_ready(&ctx.skip)?;
    }
    let id = new_id(&ctx.plan.release);
    let (mut lock, _stale) = Lock::acquire(&ctx.plan.state_dir)?;
    // Nobody runs now (the lock is ours): an unfinished journal is an interrupted
    // deployment, and nothing starts over it. A stale record whose deployment
    // finished (killed after its last line) is harmless, and so is a journal its
    // deployer was killed creating (it did nothing).
    remove_unbegun(&ctx.plan.state_dir)?;
    if let Some((_, state)) = latest(&ctx.plan.state_dir)?
        && state.interrupted()
    {
        return Err(interrupted(&state));
    }
    lock.claim(&Holder::me(&id))?;
    let path = ctx
        .plan
        .state_dir
        .join("deployments")
        .join(format!("{id}.jsonl"));
    let journal = Journal::create(
        &path,
        Event::Started {
            id: id.clone(),
            environment: ctx.plan.environment.clone(),
            release: ctx.plan.release.clone(),
            steps: ctx.plan.steps.iter().map(|s| s.name.clone()).collect(),
            by: Holder::me(&id).to_string(),
            artifact: Some(ctx.plan.artifact.clone()),
            session: session(),
            user: Some(crate::actor()),
            operation: Some(ctx.plan.operation.verb().to_owned()),
        },
    )?;
    let mut journal = journal.masking(ctx.redactor.clone());
    if let Some(p) = &ctx.plan.promotion {
        journal.append(Event::Promoted(p.clone()))?;
    }
    let mut findings = Vec::new();
    // What an earlier deployment kept for an instant rollback and whose time is up.
    match ctx.driver.gc().await {
        Ok(stopped) if !stopped.is_empty() => {
            let mut f = Finding::new("scale down", Phase::Deploy, Verdict::Pass);
            f.message = format!(
                "stopped what was kept for a rollback: {}",
                stopped.join(", ")
            );
            findings.push(f);
        }
        Ok(_) => {}
        Err(e) => findings.push(failed(
            "scale down",
            Duration::ZERO,
            &shipgate_report::error_line(&e),
        )),
    }
    let ending = forward(ctx, &mut journal, &mut findings).await?;
    finish(ctx, journal, lock, ending, findings).await
}

/// Stops, under the lock, what earlier deployments kept for an instant rollback and
/// whose time is up ([`Driver::gc`]); what was stopped. Refused while a deployment
/// runs or waits for `resume`/`abort`.
pub async fn gc(driver: &dyn Driver, state_dir: &Path) -> Result<Vec<String>, Error> {
    let (lock, _stale) = Lock::acquire(state_dir)?;
    if let Some((_, state)) = latest(state_dir)?
        && state.interrupted()
    {
        return Err(interrupted(&state));
    }
    let stopped = driver.gc().await;
    lock.release()?;
    stopped
}

/// Finishes an interrupted deployment: steps that took effect are not run again (a
/// release the driver already serves is not switched again); the step the deployer
/// died in runs again; one that was being undone is undone to the end.
pub async fn resume(ctx: &Context<'_>) -> Result<Outcome, Error> {
    let (mut journal, state, lock, mut findings) = take_over(ctx)?;
    let ending = if state.undoing {
        // It had failed and was being rolled back: finish the rollback.
        match undo_all(ctx, &mut journal, &mut findings).await? {
            Undone::Failed => Ending::Failed,
            _ => Ending::RolledBack,
        }
    } else {
        forward(ctx, &mut journal, &mut findings).await?
    };
    finish(ctx, journal, lock, ending, findings).await
}

/// Ends an interrupted deployment by undoing what it did, newest first.
pub async fn abort(ctx: &Context<'_>) -> Result<Outcome, Error> {
    let (mut journal, _, lock, mut findings) = take_over(ctx)?;
    let ending = match undo_all(ctx, &mut journal, &mut findings).await? {
        Undone::Failed => Ending::Failed,
        Undone::Nothing | Undone::All => Ending::Aborted,
    };
    finish(ctx, journal, lock, ending, findings).await
}

/// Releases an interrupted deployment by hand: what its interrupted step left
/// running is stopped, its lock record goes and its journal ends `abandoned`; what it
/// changed stays as it is.
pub fn unlock(state_dir: &Path) -> Result<Option<State>, Error> {
    let (lock, _stale) = Lock::acquire(state_dir)?;
    let mut ended = None;
    if let Some((path, state)) = latest(state_dir)?
        && state.interrupted()
    {
        stop_leftovers(&state)?;
        Journal::open(&path)?.append(Event::Finished {
            ending: Ending::Abandoned,
        })?;
        ended = Some(state);
    }
    lock.release()?;
    Ok(ended)
}

/// The deployer's session id, which its steps' processes share.
fn session() -> Option<i32> {
    nix::unistd::getsid(None).ok().map(nix::unistd::Pid::as_raw)
}

/// Stops what the interrupted deployment's last step left running; a finding saying
/// what, when there was anything.
fn stop_leftovers(state: &State) -> Result<Option<Finding>, Error> {
    let Some(crate::Acting { step, .. }) = &state.acting else {
        return Ok(None);
    };
    let stopped = crate::leftovers::stop(&state.id, step, &state.sessions)?;
    if stopped.is_empty() {
        return Ok(None);
    }
    let list: Vec<String> = stopped
        .iter()
        .map(|l| format!("{} `{}`", l.pid, l.command))
        .collect();
    tracing::warn!(step = %step, "stopped what the interrupted step left running: {}", list.join(", "));
    let mut f = Finding::new(
        format!("{step} (interrupted)"),
        Phase::Deploy,
        Verdict::Warn,
    );
    f.message = format!(
        "stopped {} process(es) the interrupted run's step left running: {}",
        stopped.len(),
        list.join(", ")
    );
    Ok(Some(f))
}

/// Takes over the environment's interrupted deployment: what its last step left
/// running stopped, its lock claimed, its journal open with a `resumed` record saying
/// by whom.
fn take_over(ctx: &Context<'_>) -> Result<(Journal, State, Lock, Vec<Finding>), Error> {
    refuse_unconfirmed(ctx, "taking over an interrupted deployment")?;
    let Some((path, state)) = latest(&ctx.plan.state_dir)? else {
        return Err(Error::new(
            ErrorKind::NothingToDo,
            format!("{} has no deployment to take over", ctx.plan.environment),
        ));
    };
    if !state.interrupted() {
        return Err(Error::new(
            ErrorKind::NothingToDo,
            format!(
                "the last deployment of {} ({}) was not interrupted: it ended {}",
                ctx.plan.environment,
                state.id,
                state.ending.map_or("?", Ending::as_str)
            ),
        ));
    }
    let (mut lock, _stale) = Lock::acquire(&ctx.plan.state_dir)?;
    // Read again under the lock: another operator may have finished it meanwhile.
    let state = State::of(&crate::journal::read(&path)?);
    if !state.interrupted() {
        return Err(Error::new(
            ErrorKind::NothingToDo,
            format!("deployment {} was finished meanwhile", state.id),
        ));
    }
    // Nothing acts while the dead run's step may still be acting.
    let findings: Vec<Finding> = stop_leftovers(&state)?.into_iter().collect();
    lock.claim(&Holder::me(&state.id))?;
    let mut journal = Journal::open(&path)?.masking(ctx.redactor.clone());
    journal.append(Event::Resumed {
        by: Holder::me(&state.id).to_string(),
        session: session(),
    })?;
    Ok((journal, state, lock, findings))
}

fn interrupted(state: &State) -> Error {
    Error::new(
        ErrorKind::Interrupted,
        format!(
            "deployment {} of {} was interrupted at step {} ({}); \
             run `shipgate-deploy resume` to finish it or `shipgate-deploy abort` to undo it",
            state.id,
            state.release,
            state.current_step().unwrap_or("-"),
            state.by
        ),
    )
}

async fn finish(
    ctx: &Context<'_>,
    mut journal: Journal,
    lock: Lock,
    ending: Ending,
    mut findings: Vec<Finding>,
) -> Result<Outcome, Error> {
    if ending == Ending::Deployed {
        let mut keep = vec![ctx.plan.release.clone()];
        keep.extend(journal.state().previous);
        match ctx.driver.prune(&keep).await {
            Ok(removed) if !removed.is_empty() => {
                let mut f = Finding::new("prune", Phase::Deploy, Verdict::Pass);
                f.message = format!("removed old releases: {}", removed.join(", "));
                findings.push(f);
            }
            Ok(_) => {}
            Err(e) => findings.push(failed("prune", Duration::ZERO, &e.to_string())),
        }
        // Backups beyond retention go; never this deployment's, which a rollback of
        // it would restore.
        let id = journal.state().id;
        for step in &ctx.plan.steps {
            if let StepKind::Backup(b) = &step.kind {
                match crate::backup::prune(b, &ctx.plan.base_dir, &[id.as_str()]).await {
                    Ok(removed) if !removed.is_empty() => {
                        let mut f = Finding::new("prune backups", Phase::Deploy, Verdict::Pass);
                        f.message = format!("removed old backups: {}", removed.join(", "));
                        findings.push(f);
                    }
                    Ok(_) => {}
                    Err(e) => findings.push(failed(
                        "prune backups",
                        Duration::ZERO,
                        &shipgate_report::error_line(&e),
                    )),
                }
            }
        }
    }
    journal.append(Event::Finished { ending })?;
    lock.release()?;
    Ok(Outcome {
        id: journal.state().id,
        ending,
        findings,
        journal: journal.path().to_owned(),
    })
}

/// Runs the steps not yet done; on a failure, undoes.
async fn forward(
    ctx: &Context<'_>,
    journal: &mut Journal,
    findings: &mut Vec<Finding>,
) -> Result<Ending, Error> {
    for step in &ctx.plan.steps {
        let state = journal.state();
        let now = state
            .steps
            .iter()
            .find(|(n, _)| *n == step.name)
            .map(|(_, s)| s.clone())
            .unwrap_or(StepState::Pending);
        match now {
            StepState::Done(_) | StepState::Skipped | StepState::Undone => {
                let mut f = Finding::new(&step.name, Phase::Deploy, Verdict::Pass);
                f.message = "done before the interruption".into();
                findings.push(f);
                continue;
            }
            StepState::Failed(_) => return rolled_back(ctx, journal, findings).await,
            StepState::InDoubt if matches!(step.kind, StepKind::Release) => {
                // The deployer died while switching: if the driver serves the release,
                // the switch took effect; record it rather than switch again (only
                // what follows a switch, a restart, runs again: it may not have ended).
                if ctx.driver.current().await?.as_deref() == Some(ctx.plan.release.as_str()) {
                    journal.append(Event::StepStarting {
                        step: step.name.clone(),
                        previous: state.previous.clone(),
                    })?;
                    let activated = crate::command::tagged(
                        &state.id,
                        &step.name,
                        ctx.driver.activate(&ctx.plan.release),
                    );
                    if let Err(e) = activated.await {
                        let error = shipgate_report::error_line(&e);
                        journal.append(Event::StepFailed {
                            step: step.name.clone(),
                            error: error.clone(),
                        })?;
                        findings.push(failed(&step.name, Duration::ZERO, &error));
                        return rolled_back(ctx, journal, findings).await;
                    }
                    journal.append(Event::StepDone {
                        step: step.name.clone(),
                        effect: Effect::Switched {
                            from: state.previous.clone(),
                            to: ctx.plan.release.clone(),
                        },
                    })?;
                    let mut f = Finding::new(&step.name, Phase::Deploy, Verdict::Pass);
                    f.message = format!(
                        "{} was already serving (switched before the interruption; activated again)",
                        ctx.plan.release
                    );
                    findings.push(f);
                    continue;
                }
            }
            StepState::InDoubt | StepState::Pending => {}
        }
        if ctx.skip.contains(&step.name) {
            journal.append(Event::StepSkipped {
                step: step.name.clone(),
            })?;
            let mut f = Finding::new(&step.name, Phase::Deploy, Verdict::Skip);
            f.message = "skipped (--skip)".into();
            findings.push(f);
            continue;
        }
        let previous = match step.kind {
            StepKind::Release | StepKind::Backup(_) => match &state.previous {
                Some(p) => Some(p.clone()),
                None => ctx.driver.current().await?,
            },
            _ => None,
        };
        journal.append(Event::StepStarting {
            step: step.name.clone(),
            previous: previous.clone(),
        })?;
        let span = tracing::info_span!("step", step = %step.name, deployment = %state.id);
        span.in_scope(|| tracing::info!(release = %ctx.plan.release, "starting"));
        let start = Instant::now();
        let acting =
            crate::command::tagged(&state.id, &step.name, act(ctx, &state.id, step, previous))
                .instrument(span.clone());
        let result = match tokio::time::timeout(step.timeout, acting).await {
            Ok(r) => r,
            Err(_) => Err(format!("did not finish within {:?}", step.timeout)),
        };
        span.in_scope(|| match &result {
            Ok((_, message)) => tracing::info!(took = ?start.elapsed(), "done: {message}"),
            Err(error) => tracing::warn!(took = ?start.elapsed(), "failed: {error}"),
        });
        match result {
            Ok((effect, message)) => {
                let verdict = match &effect {
                    Effect::Restored { pending, .. } if !pending.is_empty() => Verdict::Warn,
                    _ => Verdict::Pass,
                };
                journal.append(Event::StepDone {
                    step: step.name.clone(),
                    effect,
                })?;
                let mut f = Finding::new(&step.name, Phase::Deploy, verdict);
                f.duration = start.elapsed();
                f.message = message;
                findings.push(f);
            }
            Err(error) => {
                journal.append(Event::StepFailed {
                    step: step.name.clone(),
                    error: error.clone(),
                })?;
                findings.push(failed(&step.name, start.elapsed(), &error));
                return rolled_back(ctx, journal, findings).await;
            }
        }
    }
    Ok(Ending::Deployed)
}

/// `20261202T153000Z-v42`: sortable by time, naming its release.
fn new_id(release: &str) -> String {
    let t = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    let compact: String = t.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{compact}-{release}")
}
