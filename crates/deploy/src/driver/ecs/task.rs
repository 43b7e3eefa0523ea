//! A release's command as a one-off ECS task: the release's task definition, the
//! container's command overridden, the service's network configuration, waited for
//! until STOPPED, the container's exit code read.

use std::time::Duration;

use aws_sdk_ecs::types::{ContainerOverride, DesiredStatus, Task, TaskOverride};

use super::{Ecs, aws, driver_error, short};
use crate::Error;

/// `startedBy` on every task this driver runs, so that a resumed deployment finds
/// the one an interrupted step left running.
const STARTED_BY: &str = "shipgate-deploy";

/// Runs `command` (split into words as a shell would, without a shell) in the
/// release's container of `arn`; its line for the report, or why it failed.
pub(super) async fn run(
    ecs: &Ecs,
    arn: &str,
    command: &str,
    timeout: Duration,
) -> Result<String, Error> {
    let words = split(command).ok_or_else(|| {
        Error::new(
            crate::ErrorKind::Config,
            format!("cannot split `{command}` into words: an unclosed quote"),
        )
    })?;
    let client = &ecs.clients().await?.ecs;
    let service = ecs.service().await?;
    let t = ecs.task_definition(arn).await?;
    let container = ecs.container(&t)?.name().unwrap_or_default().to_owned();
    stop_leftovers(ecs, arn).await?;
    let out = client
        .run_task()
        .cluster(&ecs.config.cluster)
        .task_definition(arn)
        .count(1)
        .started_by(STARTED_BY)
        .set_launch_type(if service.capacity_provider_strategy().is_empty() {
            service.launch_type().cloned()
        } else {
            None
        })
        .set_capacity_provider_strategy(
            (!service.capacity_provider_strategy().is_empty())
                .then(|| service.capacity_provider_strategy().to_vec()),
        )
        .set_platform_version(service.platform_version().map(str::to_owned))
        .set_network_configuration(service.network_configuration().cloned())
        .overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name(&container)
                        .set_command(Some(words))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            aws(
                format!("cannot run `{command}` as a task of {}", short(arn)),
                shipgate_aws::call_failed("RunTask", e),
            )
        })?;
    let Some(task_arn) = out
        .tasks()
        .first()
        .and_then(|t| t.task_arn())
        .map(str::to_owned)
    else {
        let why = out
            .failures()
            .iter()
            .map(|f| f.reason().unwrap_or("no reason"))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(driver_error(format!(
            "ECS started no task for `{command}`: {why}"
        )));
    };
    tracing::info!(target: "shipgate_deploy::progress", "ecs: running `{command}` as task {}", short(&task_arn));
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = String::new();
    let task = loop {
        let task = describe(ecs, &task_arn).await?;
        let status = task.last_status().unwrap_or("UNKNOWN").to_owned();
        if status != last {
            tracing::info!(target: "shipgate_deploy::progress", "ecs: task {}: {status}", short(&task_arn));
            last = status;
        }
        if last == "STOPPED" {
            break task;
        }
        if tokio::time::Instant::now() >= deadline {
            stop(ecs, &task_arn, "shipgate-deploy: the step's time is up").await?;
            return Err(driver_error(format!(
                "`{command}` (task {}) did not stop within {}: stopped it",
                short(&task_arn),
                humantime::format_duration(timeout)
            )));
        }
        // tidy: polling ECS, which has no way to wait for a task to stop
        tokio::time::sleep(ecs.config.poll.min(deadline - tokio::time::Instant::now())).await;
    };
    outcome(&task, &container, command)
}

/// The exit code of `container` in a stopped task: 0 passes; anything else, or no
/// exit code at all (the task never started), fails.
pub(super) fn outcome(task: &Task, container: &str, command: &str) -> Result<String, Error> {
    let arn = short(task.task_arn().unwrap_or("task"));
    let found = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(container));
    let reason = task.stopped_reason().unwrap_or("no reason given");
    match found.and_then(|c| c.exit_code()) {
        Some(0) => Ok(format!("`{command}`: task {arn} exited 0")),
        Some(code) => Err(driver_error(format!(
            "`{command}`: task {arn} exited {code} ({reason})"
        ))),
        None => Err(driver_error(format!(
            "`{command}`: task {arn} stopped without an exit code from {container}: {}",
            found.and_then(|c| c.reason()).unwrap_or(reason)
        ))),
    }
}

async fn describe(ecs: &Ecs, task_arn: &str) -> Result<Task, Error> {
    let out = ecs
        .clients()
        .await?
        .ecs
        .describe_tasks()
        .cluster(&ecs.config.cluster)
        .tasks(task_arn)
        .send()
        .await
        .map_err(|e| {
            aws(
                format!("cannot describe task {}", short(task_arn)),
                shipgate_aws::call_failed("DescribeTasks", e),
            )
        })?;
    out.tasks()
        .first()
        .cloned()
        .ok_or_else(|| driver_error(format!("task {} is gone", short(task_arn))))
}

async fn stop(ecs: &Ecs, task_arn: &str, reason: &str) -> Result<(), Error> {
    ecs.clients()
        .await?
        .ecs
        .stop_task()
        .cluster(&ecs.config.cluster)
        .task(task_arn)
        .reason(reason)
        .send()
        .await
        .map_err(|e| {
            aws(
                format!("cannot stop task {}", short(task_arn)),
                shipgate_aws::call_failed("StopTask", e),
            )
        })
        .map(drop)
}

/// Stops the tasks of this family an interrupted step left running, before a new one
/// starts (a migration must not run twice at once).
async fn stop_leftovers(ecs: &Ecs, arn: &str) -> Result<(), Error> {
    let family = super::revision::family_of_arn(arn).unwrap_or_default();
    let listed = ecs
        .clients()
        .await?
        .ecs
        .list_tasks()
        .cluster(&ecs.config.cluster)
        .started_by(STARTED_BY)
        .family(family)
        .desired_status(DesiredStatus::Running)
        .send()
        .await
        .map_err(|e| {
            aws(
                "cannot list the tasks an earlier step started",
                shipgate_aws::call_failed("ListTasks", e),
            )
        })?;
    for task_arn in listed.task_arns() {
        // Only those still running: the list's filter is on the desired status, and
        // emulators ignore it.
        let task = describe(ecs, task_arn).await?;
        if task.last_status() == Some("STOPPED") || task.desired_status() == Some("STOPPED") {
            continue;
        }
        tracing::warn!(
            "stopping task {}, which an interrupted step started",
            short(task_arn)
        );
        stop(ecs, task_arn, "shipgate-deploy: an interrupted step's task").await?;
    }
    Ok(())
}

/// Words as a shell splits them: whitespace between, single quotes literal, double
/// quotes with `\"` and `\\`, a backslash outside quotes escaping the next character.
/// None on an unclosed quote.
pub(super) fn split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::Container;

    use super::*;

    #[test]
    fn commands_split_as_a_shell_would() {
        assert_eq!(
            split("python manage.py migrate --noinput").unwrap(),
            ["python", "manage.py", "migrate", "--noinput"]
        );
        assert_eq!(
            split(r#"sh -c 'alembic upgrade head && echo "ok"'"#).unwrap(),
            ["sh", "-c", r#"alembic upgrade head && echo "ok""#]
        );
        assert_eq!(
            split(r#"a "b \"c\"" d\ e ''"#).unwrap(),
            ["a", r#"b "c""#, "d e", ""]
        );
        assert_eq!(split("echo 'unclosed"), None);
    }

    fn stopped(code: Option<i32>) -> Task {
        Task::builder()
            .task_arn("arn:aws:ecs:us-east-1:1:task/shop/abc")
            .last_status("STOPPED")
            .stopped_reason("Essential container in task exited")
            .containers(Container::builder().name("web").set_exit_code(code).build())
            .build()
    }

    #[test]
    fn only_exit_code_zero_passes() {
        assert!(outcome(&stopped(Some(0)), "web", "migrate").is_ok());
        let e = outcome(&stopped(Some(3)), "web", "migrate").unwrap_err();
        assert!(e.to_string().contains("exited 3"), "{e}");
        // No exit code: the container never ran (image pull failed, no capacity).
        assert!(outcome(&stopped(None), "web", "migrate").is_err());
        // Another container's exit code says nothing about ours.
        assert!(outcome(&stopped(Some(0)), "worker", "migrate").is_err());
    }
}
