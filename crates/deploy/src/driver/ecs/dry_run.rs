//! `--dry-run`: the API calls a release and its migration task would make, with their
//! request bodies, found by reading (Describe and List calls) and changing nothing.
//! Environment values are masked: a task definition's environment often holds what
//! should have been a secret.

use serde_json::{Value, json};

use super::alb::{Side, bg, side_config, side_for};
use super::image::ecr_parts;
use super::{Ecs, short};
use crate::Error;

/// The calls `prepare`, `switch` and `activate` of `release` would make.
pub(super) async fn release(ecs: &Ecs, release: &str) -> Result<Vec<String>, Error> {
    let (service, current) = ecs.current_definition().await?;
    let family = current.family().unwrap_or_default().to_owned();
    let mut lines = Vec::new();
    let (arn, label) = match ecs.revision_of(&family, release).await? {
        Some(arn) => {
            lines.push(format!(
                "(task definition {} already runs {release}: nothing to register)",
                short(&arn)
            ));
            let label = short(&arn).to_owned();
            (arn, label)
        }
        None => {
            let container = ecs.container(&current)?;
            let image = ecs.image_for(container.image().unwrap_or_default(), release);
            if ecs.config.check_image
                && let Some((registry, repository, tag)) = ecr_parts(&image)
            {
                lines.push(call(
                    "ecr:DescribeImages",
                    &json!({"registryId": registry, "repositoryName": repository, "imageIds": [{"imageTag": tag}]}),
                ));
            }
            let environment: serde_json::Map<String, Value> = container
                .environment()
                .iter()
                .filter_map(|kv| Some((kv.name()?.to_owned(), json!("***"))))
                .chain(ecs.config.environment.iter().map(|(k, v)| {
                    let value = if v.contains("{release}") {
                        json!(v.replace("{release}", release))
                    } else {
                        json!("***")
                    };
                    (k.clone(), value)
                }))
                .collect();
            lines.push(call(
                "ecs:RegisterTaskDefinition",
                &json!({
                    "family": family,
                    "copiedFrom": short(super::arn_of(&current)),
                    "containerDefinitions": [{
                        "name": container.name(),
                        "image": image,
                        "environment": environment,
                        "(every other field and container)": "as in the current revision",
                    }],
                    "tags": [{"key": "shipgate:release", "value": release}],
                }),
            ));
            (String::new(), format!("{family}:<the new revision>"))
        }
    };
    match &ecs.rolling {
        Some(name) => {
            let mut body =
                json!({"cluster": ecs.config.cluster, "service": name, "taskDefinition": label});
            if let Some(cb) = ecs.config.circuit_breaker {
                body["deploymentConfiguration"] = json!({"deploymentCircuitBreaker": {"enable": cb.enable, "rollback": cb.rollback}});
            }
            if service.task_definition() != Some(arn.as_str()) {
                lines.push(call("ecs:UpdateService", &body));
            }
            lines.push(wait(ecs, name));
        }
        None => lines.extend(blue_green(ecs, &arn, &label).await?),
    }
    Ok(lines)
}

async fn blue_green(ecs: &Ecs, arn: &str, label: &str) -> Result<Vec<String>, Error> {
    let config = bg(ecs);
    let (side, this, that) = side_for(ecs, if arn.is_empty() { "(new)" } else { arn }).await?;
    let name = &side_config(ecs, side).service;
    let mut lines = Vec::new();
    let desired = this.desired_count().max(that.desired_count()).max(1);
    if this.task_definition() != Some(arn) || this.desired_count() != desired {
        lines.push(call(
            "ecs:UpdateService",
            &json!({"cluster": ecs.config.cluster, "service": name, "taskDefinition": label, "desiredCount": desired}),
        ));
    }
    lines.push(wait(ecs, name));
    let forward = |weights: (i32, i32)| {
        let (blue, green) = weights;
        json!([{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": config.blue.target_group, "Weight": blue},
            {"TargetGroupArn": config.green.target_group, "Weight": green},
        ]}}])
    };
    let all = match side {
        Side::Blue => (1, 0),
        Side::Green => (0, 1),
    };
    if let Some(test) = &config.test_listener {
        lines.push(call(
            "elbv2:ModifyListener",
            &json!({"ListenerArn": test, "DefaultActions": forward(all)}),
        ));
    }
    if let Some(url) = &config.test_url {
        lines.push(format!(
            "GET {url} until it answers below 400, for at most {}",
            humantime::format_duration(config.test_timeout)
        ));
    }
    for &step in &config.steps {
        let step = i32::from(step);
        let weights = match side {
            Side::Blue => (step, 100 - step),
            Side::Green => (100 - step, step),
        };
        lines.push(call(
            "elbv2:ModifyListener",
            &json!({"ListenerArn": config.listener, "DefaultActions": forward(weights)}),
        ));
        lines.push(format!(
            "bake {}{}",
            humantime::format_duration(config.bake),
            alarms(ecs)
        ));
    }
    lines.push(call(
        "elbv2:ModifyListener",
        &json!({"ListenerArn": config.listener, "DefaultActions": forward(all)}),
    ));
    if let Some(delay) = config.scale_down_delay {
        lines.push(format!(
            "the {} side is scaled to zero {} later (ecs:TagResource now, ecs:UpdateService desiredCount 0 by gc)",
            side.other_name(),
            humantime::format_duration(delay)
        ));
    }
    Ok(lines)
}

/// The one-off task `[deploy.migrate]` would run.
pub(super) async fn task(ecs: &Ecs, release: &str, command: &str) -> Result<Vec<String>, Error> {
    let (service, current) = ecs.current_definition().await?;
    let family = current.family().unwrap_or_default().to_owned();
    let label = match ecs.revision_of(&family, release).await? {
        Some(arn) => short(&arn).to_owned(),
        None => format!("{family}:<the new revision>"),
    };
    let container = ecs
        .container(&current)?
        .name()
        .unwrap_or_default()
        .to_owned();
    let network = service
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .map(|a| json!({"awsvpcConfiguration": {"subnets": a.subnets(), "securityGroups": a.security_groups()}}));
    Ok(vec![
        call(
            "ecs:RunTask",
            &json!({
                "cluster": ecs.config.cluster,
                "taskDefinition": label,
                "count": 1,
                "startedBy": "shipgate-deploy",
                "launchType": service.launch_type().map(|l| l.as_str()),
                "networkConfiguration": network,
                "overrides": {"containerOverrides": [{"name": container, "command": super::task::split(command)}]},
            }),
        ),
        "then ecs:DescribeTasks until STOPPED; the container's exit code decides".to_owned(),
    ])
}

fn call(operation: &str, body: &Value) -> String {
    format!("{operation} {body}")
}

fn wait(ecs: &Ecs, service: &str) -> String {
    format!(
        "ecs:DescribeServices {service} every {} until stable, for at most {}{}",
        humantime::format_duration(ecs.config.poll),
        humantime::format_duration(ecs.wait),
        alarms(ecs)
    )
}

fn alarms(ecs: &Ecs) -> String {
    if ecs.config.alarms.is_empty() {
        String::new()
    } else {
        format!(
            ", failing on an alarm in ALARM (cloudwatch:DescribeAlarms {})",
            json!({"AlarmNames": ecs.config.alarms})
        )
    }
}
