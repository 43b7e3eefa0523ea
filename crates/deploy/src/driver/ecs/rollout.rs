//! Reading a rollout's progress from a described service.

use aws_sdk_ecs::types::{DeploymentRolloutState, Service};

/// What a service's rollout of a task definition looks like now, with a line for the
/// operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// It runs the revision, all of it, and nothing else.
    Stable(String),
    /// Not yet.
    Progress(String),
    /// ECS gave up (the circuit breaker, or a deployment that failed).
    Failed(String),
}

impl Rollout {
    /// The line for the operator.
    pub fn line(&self) -> &str {
        match self {
            Self::Stable(l) | Self::Progress(l) | Self::Failed(l) => l,
        }
    }
}

/// Reads a rollout from a described service: ECS's own deployments, or (for
/// emulators that do not model them) the service's counts. Tests implement it to
/// play what an emulator cannot.
pub trait ReadRollout: Send + Sync {
    /// How `service`'s rollout of the task definition `arn` stands.
    fn read(&self, service: &Service, arn: &str) -> Rollout;
}

/// ECS's deployments: stable when the PRIMARY deployment runs `arn`, its
/// rolloutState is COMPLETED (or, for a service without rollout states, all its
/// tasks run) and no other deployment is left draining.
pub(crate) struct FromDeployments;

impl ReadRollout for FromDeployments {
    fn read(&self, service: &Service, arn: &str) -> Rollout {
        let deployments = service.deployments();
        let Some(primary) = deployments.iter().find(|d| d.status() == Some("PRIMARY")) else {
            return Rollout::Progress("no PRIMARY deployment yet".into());
        };
        let counts = format!(
            "{} of {} running, {} pending, {} failed",
            primary.running_count(),
            primary.desired_count(),
            primary.pending_count(),
            primary.failed_tasks()
        );
        if primary.task_definition() != Some(arn) {
            let runs = primary.task_definition().unwrap_or("nothing");
            return match primary.rollout_state() {
                // The circuit breaker rolled back: the PRIMARY is the older revision.
                Some(DeploymentRolloutState::Completed) | Some(DeploymentRolloutState::Failed)
                    if deployments.len() == 1 =>
                {
                    Rollout::Failed(format!(
                        "the service went back to {} ({})",
                        super::short(runs),
                        primary.rollout_state_reason().unwrap_or("no reason given")
                    ))
                }
                _ => Rollout::Progress(format!(
                    "waiting for a deployment of {} (PRIMARY runs {})",
                    super::short(arn),
                    super::short(runs)
                )),
            };
        }
        let draining = deployments.len() - 1;
        match primary.rollout_state() {
            Some(DeploymentRolloutState::Failed) => Rollout::Failed(format!(
                "{}: {counts}",
                primary
                    .rollout_state_reason()
                    .unwrap_or("rolloutState FAILED")
            )),
            Some(DeploymentRolloutState::Completed) if draining == 0 => {
                Rollout::Stable(format!("COMPLETED: {counts}"))
            }
            None if draining == 0
                && primary.running_count() == primary.desired_count()
                && primary.pending_count() == 0 =>
            {
                Rollout::Stable(counts)
            }
            state => Rollout::Progress(format!(
                "{}: {counts}{}",
                state.map_or("in progress", |s| s.as_str()),
                if draining > 0 {
                    format!(", {draining} older deployment(s) draining")
                } else {
                    String::new()
                }
            )),
        }
    }
}

/// The service's counts: stable when it runs `arn` with running = desired and
/// nothing pending. For emulators (moto, LocalStack) whose deployments do not follow
/// an update; a real ECS service should use [`FromDeployments`].
pub(crate) struct FromCounts;

impl ReadRollout for FromCounts {
    fn read(&self, service: &Service, arn: &str) -> Rollout {
        let counts = format!(
            "{} of {} running, {} pending",
            service.running_count(),
            service.desired_count(),
            service.pending_count()
        );
        if service.task_definition() != Some(arn) {
            return Rollout::Progress(format!(
                "the service runs {}, not {}",
                super::short(service.task_definition().unwrap_or("nothing")),
                super::short(arn)
            ));
        }
        if service.running_count() == service.desired_count() && service.pending_count() == 0 {
            Rollout::Stable(counts)
        } else {
            Rollout::Progress(counts)
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::Deployment;

    use super::*;

    const NEW: &str = "arn:aws:ecs:us-east-1:1:task-definition/shop:8";
    const OLD: &str = "arn:aws:ecs:us-east-1:1:task-definition/shop:7";

    fn deployment(
        status: &str,
        arn: &str,
        state: Option<DeploymentRolloutState>,
        running: i32,
    ) -> Deployment {
        Deployment::builder()
            .status(status)
            .task_definition(arn)
            .desired_count(3)
            .running_count(running)
            .pending_count(3 - running)
            .failed_tasks(0)
            .set_rollout_state(state)
            .build()
    }

    fn service(deployments: Vec<Deployment>) -> Service {
        Service::builder()
            .set_deployments(Some(deployments))
            .build()
    }

    #[test]
    fn stable_only_when_the_primary_completed_and_nothing_drains() {
        let r = FromDeployments;
        let rolling = service(vec![
            deployment("PRIMARY", NEW, Some(DeploymentRolloutState::InProgress), 2),
            deployment("ACTIVE", OLD, Some(DeploymentRolloutState::Completed), 1),
        ]);
        assert!(
            matches!(r.read(&rolling, NEW), Rollout::Progress(l) if l.contains("2 of 3 running") && l.contains("1 older"))
        );
        let completed_but_draining = service(vec![
            deployment("PRIMARY", NEW, Some(DeploymentRolloutState::Completed), 3),
            deployment("ACTIVE", OLD, Some(DeploymentRolloutState::Completed), 0),
        ]);
        assert!(matches!(
            r.read(&completed_but_draining, NEW),
            Rollout::Progress(_)
        ));
        let done = service(vec![deployment(
            "PRIMARY",
            NEW,
            Some(DeploymentRolloutState::Completed),
            3,
        )]);
        assert!(matches!(r.read(&done, NEW), Rollout::Stable(_)));
    }

    #[test]
    fn a_failed_rollout_or_a_circuit_breaker_rollback_is_a_failure() {
        let r = FromDeployments;
        let failed = service(vec![deployment(
            "PRIMARY",
            NEW,
            Some(DeploymentRolloutState::Failed),
            0,
        )]);
        assert!(matches!(r.read(&failed, NEW), Rollout::Failed(_)));
        // The circuit breaker rolled back: only the old revision is left, completed.
        let went_back = service(vec![deployment(
            "PRIMARY",
            OLD,
            Some(DeploymentRolloutState::Completed),
            3,
        )]);
        assert!(matches!(r.read(&went_back, NEW), Rollout::Failed(l) if l.contains("shop:7")));
        // Before ECS has started the new deployment, it is waiting, not failed.
        let not_yet = service(vec![
            deployment("PRIMARY", OLD, Some(DeploymentRolloutState::InProgress), 1),
            deployment("ACTIVE", NEW, None, 0),
        ]);
        assert!(matches!(r.read(&not_yet, NEW), Rollout::Progress(_)));
    }

    #[test]
    fn without_rollout_states_all_tasks_must_run() {
        let r = FromDeployments;
        let partial = service(vec![deployment("PRIMARY", NEW, None, 2)]);
        assert!(matches!(r.read(&partial, NEW), Rollout::Progress(_)));
        let full = service(vec![deployment("PRIMARY", NEW, None, 3)]);
        assert!(matches!(r.read(&full, NEW), Rollout::Stable(_)));
    }

    #[test]
    fn counts_need_the_revision_and_every_task() {
        let r = FromCounts;
        let s = |arn: &str, running| {
            Service::builder()
                .task_definition(arn)
                .desired_count(3)
                .running_count(running)
                .pending_count(0)
                .build()
        };
        assert!(matches!(r.read(&s(NEW, 3), NEW), Rollout::Stable(_)));
        assert!(matches!(r.read(&s(NEW, 2), NEW), Rollout::Progress(_)));
        assert!(matches!(r.read(&s(OLD, 3), NEW), Rollout::Progress(_)));
    }
}
