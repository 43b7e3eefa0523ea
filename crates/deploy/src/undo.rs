//! Undoing what a deployment did, newest first, and showing the restored release
//! healthy.

use std::time::{Duration, Instant};

use shipgate_report::{Finding, Outcome as Verdict, Phase};

use crate::Error;
use crate::context::Context;
use crate::journal::{Effect, Ending, Event, Journal};
use crate::plan::StepKind;
use crate::state::StepState;
use crate::step::{check_restored, failed, run_command, switch_back};

/// After a failed step: `RolledBack` when what had changed was undone and the restored
/// release is healthy, `Failed` when nothing had changed or an undo failed.
pub(crate) async fn rolled_back(
    ctx: &Context<'_>,
    journal: &mut Journal,
    findings: &mut Vec<Finding>,
) -> Result<Ending, Error> {
    Ok(match undo_all(ctx, journal, findings).await? {
        Undone::All => Ending::RolledBack,
        Undone::Nothing | Undone::Failed => Ending::Failed,
    })
}

/// How an undo went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Undone {
    /// Nothing had taken effect.
    Nothing,
    /// Every change was undone (and the restored release is healthy).
    All,
    /// An undo failed, or the restored release is not healthy.
    Failed,
}

/// Undoes every step that took effect (or may have), newest first; then, if the
/// release was switched back, waits for health again.
pub(crate) async fn undo_all(
    ctx: &Context<'_>,
    journal: &mut Journal,
    findings: &mut Vec<Finding>,
) -> Result<Undone, Error> {
    let state = journal.state();
    let mut undone_any = false;
    let mut all_ok = true;
    // The release switched back to, whose health the undo must show.
    let mut restored: Option<String> = None;
    for (name, step_state) in state.steps.iter().rev() {
        let Some(step) = ctx.plan.steps.iter().find(|s| &s.name == name) else {
            continue;
        };
        let undo = match (step_state, &step.kind) {
            // The journal keeps the undo masked: what runs is the configured one.
            (
                StepState::Done(Effect::Ran { undo: Some(_) }),
                StepKind::Command {
                    undo: Some(cmd), ..
                },
            ) => Undo::Run(cmd.clone()),
            (
                StepState::Done(Effect::Ran {
                    undo: Some(recorded),
                }),
                _,
            ) => {
                findings.push(failed(
                    &format!("undo {name}"),
                    Duration::ZERO,
                    &format!(
                        "the step ran with the undo `{recorded}`, which the configuration no longer has: undo it by hand"
                    ),
                ));
                all_ok = false;
                continue;
            }
            (
                StepState::InDoubt,
                StepKind::Command {
                    undo: Some(cmd), ..
                },
            ) => Undo::Run(cmd.clone()),
            (StepState::Done(Effect::Switched { from: Some(p), .. }), _) => Undo::Switch(p.clone()),
            // A release step that failed (its restart after the switch, say) or was
            // cut short may have switched: whatever the driver serves now that is not
            // the previous release is switched back, as a done one is.
            (StepState::InDoubt | StepState::Failed(_), StepKind::Release) => {
                let current = ctx.driver.current().await?;
                // An undo of it that was cut short switched back, but may not have
                // ended the activation (the restart) after: it is done again.
                let cut_short = state
                    .acting
                    .as_ref()
                    .is_some_and(|a| a.undo && a.step == *name);
                match &state.previous {
                    Some(p) if current.as_deref() != Some(p.as_str()) || cut_short => {
                        Undo::Switch(p.clone())
                    }
                    None if current.as_deref() == Some(ctx.plan.release.as_str()) => {
                        findings.push(failed(
                            &format!("undo {name}"),
                            Duration::ZERO,
                            &format!(
                                "{} serves, and it is the first release: there is no previous release to switch back to",
                                ctx.plan.release
                            ),
                        ));
                        all_ok = false;
                        continue;
                    }
                    _ => continue,
                }
            }
            (StepState::Done(Effect::Switched { from: None, .. }), _) => {
                findings.push(failed(
                    &format!("undo {name}"),
                    Duration::ZERO,
                    "the first release has no previous release to switch back to",
                ));
                all_ok = false;
                continue;
            }
            (StepState::Done(Effect::Ran { undo: None }), _) => {
                let mut f = Finding::new(format!("undo {name}"), Phase::Deploy, Verdict::Warn);
                f.message = "not reversed: the step has no `undo`".into();
                findings.push(f);
                continue;
            }
            _ => continue,
        };
        journal.append(Event::UndoStarting { step: name.clone() })?;
        let start = Instant::now();
        let undoing = async {
            match &undo {
                Undo::Run(cmd) => {
                    let in_release = matches!(
                        step.kind,
                        StepKind::Command {
                            in_release: true,
                            ..
                        }
                    );
                    run_command(ctx, cmd, step.timeout, in_release).await
                }
                Undo::Switch(to) => switch_back(ctx.driver, to)
                    .await
                    .map(|()| format!("switched back to {to}"))
                    .map_err(|e| shipgate_report::error_line(&e)),
            }
        };
        let result = crate::command::tagged(&state.id, name, undoing).await;
        match result {
            Ok(message) => {
                journal.append(Event::UndoDone { step: name.clone() })?;
                let mut f = Finding::new(format!("undo {name}"), Phase::Deploy, Verdict::Pass);
                f.duration = start.elapsed();
                f.message = message;
                findings.push(f);
                undone_any = true;
                if let Undo::Switch(to) = &undo {
                    restored = Some(to.clone());
                }
            }
            Err(error) => {
                journal.append(Event::UndoFailed {
                    step: name.clone(),
                    error: error.clone(),
                })?;
                findings.push(failed(&format!("undo {name}"), start.elapsed(), &error));
                all_ok = false;
            }
        }
    }
    if let Some(restored) = &restored {
        // After any rollback, the restored release must be shown healthy, and pass
        // the post checks: checked as the restored release (`{{release}}` is it, not
        // the release that was abandoned).
        for step in &ctx.plan.steps {
            if matches!(step.kind, StepKind::Health(_))
                || (matches!(step.kind, StepKind::Hook(_)) && step.name == "post")
            {
                let start = Instant::now();
                let name = format!("{} after undo", step.name);
                match check_restored(ctx, step, restored).await {
                    Ok((_, message)) => {
                        let mut f = Finding::new(name, Phase::Deploy, Verdict::Pass);
                        f.duration = start.elapsed();
                        f.message = message;
                        findings.push(f);
                    }
                    Err(error) => {
                        findings.push(failed(&name, start.elapsed(), &error));
                        all_ok = false;
                    }
                }
            }
        }
    }
    Ok(match (all_ok, undone_any) {
        (false, _) => Undone::Failed,
        (true, true) => Undone::All,
        (true, false) => Undone::Nothing,
    })
}

enum Undo {
    Run(String),
    Switch(String),
}
