//! Blue-green through an ALB: two services, each registered with its own target
//! group, behind one listener whose default action forwards to both with weights.
//!
//! - `prepare` deploys the release to the idle side (the one the listener sends
//!   nothing to): its task definition and the live side's task count, waited for
//!   until stable; then points the test listener at it and checks `test_url`.
//! - `switch` shifts production traffic to it, in `steps` with `bake` between them
//!   while the alarms are watched, then all of it.
//! - `switch_back` (a rollback) is one listener change back to the old side, which
//!   keeps running for `scale_down_delay` ([`super::Driver::gc`] scales it to zero
//!   after that; the due time is a tag on its service).
//!
//! While traffic is split, the driver's current release is a line naming both sides,
//! which is no release: so an interrupted shift is never taken for a finished one.

use std::time::Duration;

use aws_sdk_ecs::types::Service;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
};

use super::{Ecs, aws, driver_error, short};
use crate::Error;
use crate::config::{EcsBlueGreen, EcsSide};

/// The tag on a side's service that says when [`gc`] may scale it to zero (seconds
/// since the Unix epoch).
const SCALE_DOWN_AT: &str = "shipgate:scale-down-at";

/// Which side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Blue,
    Green,
}

impl Side {
    pub(super) fn name(self) -> &'static str {
        match self {
            Side::Blue => "blue",
            Side::Green => "green",
        }
    }
    pub(super) fn other_name(self) -> &'static str {
        self.other().name()
    }
    fn other(self) -> Self {
        match self {
            Side::Blue => Side::Green,
            Side::Green => Side::Blue,
        }
    }
}

/// The production listener's weights now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Weights {
    blue: i32,
    green: i32,
}

impl Weights {
    fn of(self, side: Side) -> i32 {
        match side {
            Side::Blue => self.blue,
            Side::Green => self.green,
        }
    }
    /// The side that takes all the traffic, if one does.
    fn all(self) -> Option<Side> {
        match (self.blue, self.green) {
            (b, 0) if b > 0 => Some(Side::Blue),
            (0, g) if g > 0 => Some(Side::Green),
            _ => None,
        }
    }
    /// As a share in percent.
    fn percent(self, side: Side) -> i32 {
        let total = self.blue + self.green;
        if total == 0 {
            0
        } else {
            self.of(side) * 100 / total
        }
    }
}

pub(super) fn bg(ecs: &Ecs) -> &EcsBlueGreen {
    ecs.config
        .blue_green
        .as_ref()
        .expect("alb functions run only in blue-green mode")
}

pub(super) fn side_config(ecs: &Ecs, side: Side) -> &EcsSide {
    match side {
        Side::Blue => &bg(ecs).blue,
        Side::Green => &bg(ecs).green,
    }
}

/// The listener's forward action and the weights it gives each side.
async fn read(ecs: &Ecs, listener: &str) -> Result<(Vec<Action>, Weights), Error> {
    let elb = &ecs.clients().await?.elb;
    let out = elb
        .describe_listeners()
        .listener_arns(listener)
        .send()
        .await
        .map_err(|e| {
            aws(
                format!("cannot describe listener {listener}"),
                shipgate_aws::call_failed("DescribeListeners", e),
            )
        })?;
    let actions = out
        .listeners()
        .first()
        .ok_or_else(|| driver_error(format!("listener {listener} not found")))?
        .default_actions()
        .to_vec();
    let forward = actions
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
        .ok_or_else(|| {
            driver_error(format!(
                "listener {listener}'s default action does not forward to target groups"
            ))
        })?;
    let groups: Vec<(String, i32)> = match forward.forward_config() {
        Some(f) if !f.target_groups().is_empty() => f
            .target_groups()
            .iter()
            .map(|t| {
                (
                    t.target_group_arn().unwrap_or_default().to_owned(),
                    t.weight().unwrap_or(1),
                )
            })
            .collect(),
        _ => forward
            .target_group_arn()
            .map(|arn| vec![(arn.to_owned(), 1)])
            .unwrap_or_default(),
    };
    let mut weights = Weights { blue: 0, green: 0 };
    for (arn, weight) in groups {
        if arn == bg(ecs).blue.target_group {
            weights.blue = weight;
        } else if arn == bg(ecs).green.target_group {
            weights.green = weight;
        } else if weight > 0 {
            return Err(driver_error(format!(
                "listener {listener} forwards to {arn}, which is neither side's target group"
            )));
        }
    }
    Ok((actions, weights))
}

/// Sets the listener's forward action to `weights`, keeping its other actions and
/// its stickiness.
async fn write(
    ecs: &Ecs,
    listener: &str,
    actions: Vec<Action>,
    weights: Weights,
) -> Result<(), Error> {
    let tuple = |side: Side| {
        TargetGroupTuple::builder()
            .target_group_arn(&side_config(ecs, side).target_group)
            .weight(weights.of(side))
            .build()
    };
    let actions: Vec<Action> = actions
        .into_iter()
        .map(|mut a| {
            if a.r#type() == Some(&ActionTypeEnum::Forward) {
                let stickiness = a
                    .forward_config()
                    .and_then(|f| f.target_group_stickiness_config())
                    .cloned();
                a.target_group_arn = None;
                a.forward_config = Some(
                    ForwardActionConfig::builder()
                        .target_groups(tuple(Side::Blue))
                        .target_groups(tuple(Side::Green))
                        .set_target_group_stickiness_config(stickiness)
                        .build(),
                );
            }
            a
        })
        .collect();
    let elb = &ecs.clients().await?.elb;
    elb.modify_listener()
        .listener_arn(listener)
        .set_default_actions(Some(actions))
        .send()
        .await
        .map_err(|e| {
            aws(
                format!("cannot change listener {listener}"),
                shipgate_aws::call_failed("ModifyListener", e),
            )
        })?;
    Ok(())
}

/// Sends all of `listener`'s traffic to `side`, unless it already does.
async fn point(ecs: &Ecs, listener: &str, side: Side) -> Result<bool, Error> {
    let (actions, weights) = read(ecs, listener).await?;
    if weights.all() == Some(side) {
        return Ok(false);
    }
    let all = match side {
        Side::Blue => Weights { blue: 1, green: 0 },
        Side::Green => Weights { blue: 0, green: 1 },
    };
    write(ecs, listener, actions, all).await?;
    Ok(true)
}

/// The side production traffic all goes to, or why none does.
async fn live(ecs: &Ecs) -> Result<Result<Side, Weights>, Error> {
    let (_, weights) = read(ecs, &bg(ecs).listener).await?;
    Ok(weights.all().ok_or(weights))
}

/// The live side's service; while traffic is split, the side with more of it.
pub(super) async fn live_service(ecs: &Ecs) -> Result<Service, Error> {
    let side = match live(ecs).await? {
        Ok(side) => side,
        Err(w) if w.green > w.blue => Side::Green,
        Err(_) => Side::Blue,
    };
    ecs.service_named(&side_config(ecs, side).service).await
}

/// The release serving all production traffic, or, while it is split, a line naming
/// both sides' releases and shares (no release is named so).
pub(super) async fn current(ecs: &Ecs) -> Result<Option<String>, Error> {
    match live(ecs).await? {
        Ok(side) => release_of_side(ecs, side).await.map(Some),
        Err(w) if w.blue + w.green == 0 => Ok(None),
        Err(w) => {
            let blue = release_of_side(ecs, Side::Blue).await?;
            let green = release_of_side(ecs, Side::Green).await?;
            Ok(Some(format!(
                "{blue} ({}%) + {green} ({}%)",
                w.percent(Side::Blue),
                w.percent(Side::Green)
            )))
        }
    }
}

async fn release_of_side(ecs: &Ecs, side: Side) -> Result<String, Error> {
    let service = ecs.service_named(&side_config(ecs, side).service).await?;
    let arn = service.task_definition().unwrap_or_default();
    let t = ecs.task_definition(arn).await?;
    Ok(ecs.release_of(&t)?.unwrap_or_else(|| short(arn).to_owned()))
}

/// The side that runs (or is to run) `arn`: a side whose service runs it with tasks,
/// else the side production traffic does not reach.
pub(super) async fn side_for(ecs: &Ecs, arn: &str) -> Result<(Side, Service, Service), Error> {
    let blue = ecs.service_named(&bg(ecs).blue.service).await?;
    let green = ecs.service_named(&bg(ecs).green.service).await?;
    let (_, weights) = read(ecs, &bg(ecs).listener).await?;
    let runs = |s: &Service| s.task_definition() == Some(arn) && s.desired_count() > 0;
    // A side already serving it (all of the traffic, or part of it mid-shift).
    let side = if weights.of(Side::Green) > 0 && runs(&green) {
        Side::Green
    } else if weights.of(Side::Blue) > 0 && runs(&blue) {
        Side::Blue
    } else if let Some(live) = weights.all() {
        live.other()
    } else {
        return Err(driver_error(format!(
            "production traffic is split (blue {}%, green {}%) and neither side runs {}: \
             finish or undo the deployment that split it (shipgate-deploy resume or abort)",
            weights.percent(Side::Blue),
            weights.percent(Side::Green),
            short(arn)
        )));
    };
    let (this, that) = match side {
        Side::Blue => (blue, green),
        Side::Green => (green, blue),
    };
    Ok((side, this, that))
}

/// Deploys `arn` to its side: the task definition and the other side's task count,
/// waited for; then the test listener and `test_url`.
pub(super) async fn prepare(ecs: &Ecs, arn: &str) -> Result<(), Error> {
    let (side, this, that) = side_for(ecs, arn).await?;
    let name = side_config(ecs, side).service.clone();
    untag(ecs, &this).await?;
    let desired = this.desired_count().max(that.desired_count()).max(1);
    if this.task_definition() != Some(arn) || this.desired_count() != desired {
        ecs.clients()
            .await?
            .ecs
            .update_service()
            .cluster(&ecs.config.cluster)
            .service(&name)
            .task_definition(arn)
            .desired_count(desired)
            .send()
            .await
            .map_err(|e| {
                aws(
                    format!("cannot update service {name}"),
                    shipgate_aws::call_failed("UpdateService", e),
                )
            })?;
        tracing::info!(target: "shipgate_deploy::progress",
            "ecs: the {} side ({name}) now runs {} with {desired} tasks", side.name(), short(arn));
    }
    ecs.wait_stable(&name, arn).await?;
    if let Some(test) = &bg(ecs).test_listener
        && point(ecs, test, side).await?
    {
        tracing::info!(target: "shipgate_deploy::progress",
            "ecs: the test listener forwards to the {} side", side.name());
    }
    if let Some(url) = &bg(ecs).test_url {
        check(url, bg(ecs).test_timeout).await?;
    }
    Ok(())
}

/// Shifts production traffic to `arn`'s side: each step not reached yet, with its
/// bake time, then all of it.
pub(super) async fn shift(ecs: &Ecs, arn: &str) -> Result<(), Error> {
    let (side, this, _) = side_for(ecs, arn).await?;
    if this.task_definition() != Some(arn) || this.desired_count() == 0 {
        return Err(driver_error(format!(
            "the {} side does not run {}: it was not prepared",
            side.name(),
            short(arn)
        )));
    }
    let listener = bg(ecs).listener.clone();
    for &step in &bg(ecs).steps {
        let (actions, weights) = read(ecs, &listener).await?;
        if weights.percent(side) >= i32::from(step) {
            continue;
        }
        let step = i32::from(step);
        let to = match side {
            Side::Blue => Weights {
                blue: step,
                green: 100 - step,
            },
            Side::Green => Weights {
                blue: 100 - step,
                green: step,
            },
        };
        write(ecs, &listener, actions, to).await?;
        tracing::info!(target: "shipgate_deploy::progress",
            "ecs: {step}% of production traffic to the {} side; baking for {}",
            side.name(), humantime::format_duration(bg(ecs).bake));
        bake(ecs, bg(ecs).bake).await?;
    }
    if point(ecs, &listener, side).await? {
        tracing::info!(target: "shipgate_deploy::progress",
            "ecs: all production traffic to the {} side ({})", side.name(), short(arn));
    }
    Ok(())
}

/// Sends all production traffic back to `arn`'s side in one listener change
/// (preparing it first if it was scaled down).
pub(super) async fn shift_back(ecs: &Ecs, arn: &str) -> Result<(), Error> {
    let (side, this, _) = side_for(ecs, arn).await?;
    if this.task_definition() != Some(arn) || this.desired_count() == 0 {
        tracing::info!(target: "shipgate_deploy::progress",
            "ecs: the {} side no longer runs {}: starting it again", side.name(), short(arn));
        prepare(ecs, arn).await?;
    }
    if point(ecs, &bg(ecs).listener, side).await? {
        tracing::info!(target: "shipgate_deploy::progress",
            "ecs: all production traffic back to the {} side ({})", side.name(), short(arn));
    }
    Ok(())
}

/// After a shift: the shift finished, and the other side due to be scaled down.
pub(super) async fn activate(ecs: &Ecs, arn: &str) -> Result<(), Error> {
    shift(ecs, arn).await?;
    let (_, _, that) = side_for(ecs, arn).await?;
    if let Some(delay) = bg(ecs).scale_down_delay
        && that.desired_count() > 0
    {
        let due = super::super::unix_now() + delay.as_secs();
        tag(ecs, &that, Some(due)).await?;
    }
    Ok(())
}

/// Scales to zero a side that nothing reaches and whose time is up.
pub(super) async fn gc(ecs: &Ecs) -> Result<Vec<String>, Error> {
    let (_, weights) = read(ecs, &bg(ecs).listener).await?;
    let mut stopped = Vec::new();
    for side in [Side::Blue, Side::Green] {
        let service = ecs.service_named(&side_config(ecs, side).service).await?;
        let Some(due) = due_of(ecs, &service).await? else {
            continue;
        };
        if weights.of(side) > 0 {
            // Rolled back onto since: it serves, and stays.
            untag(ecs, &service).await?;
            continue;
        }
        if due > super::super::unix_now() {
            continue;
        }
        let name = &side_config(ecs, side).service;
        ecs.clients()
            .await?
            .ecs
            .update_service()
            .cluster(&ecs.config.cluster)
            .service(name)
            .desired_count(0)
            .send()
            .await
            .map_err(|e| {
                aws(
                    format!("cannot scale service {name} down"),
                    shipgate_aws::call_failed("UpdateService", e),
                )
            })?;
        untag(ecs, &service).await?;
        stopped.push(format!("{} side ({name})", side.name()));
    }
    Ok(stopped)
}

/// Holds for `bake`, failing as soon as an alarm fires.
async fn bake(ecs: &Ecs, bake: Duration) -> Result<(), Error> {
    let until = tokio::time::Instant::now() + bake;
    loop {
        super::alarms::none_firing(ecs).await?;
        let now = tokio::time::Instant::now();
        if now >= until {
            return Ok(());
        }
        // tidy: a bake time is a wait by definition; the alarms are read between
        tokio::time::sleep(ecs.config.poll.min(until - now)).await;
    }
}

/// GETs `url` until it answers below 400, for at most `timeout` (the deployment's
/// own health step, pointed at the test listener).
async fn check(url: &str, timeout: Duration) -> Result<(), Error> {
    let http = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        ..Default::default()
    })
    .map_err(|e| Error::with_source(crate::ErrorKind::Driver, "cannot build an HTTP client", e))?;
    let config = crate::config::HealthConfig {
        url: url.to_owned(),
        asserts: Vec::new(),
        timeout,
        interval: Duration::from_millis(500),
    };
    let line = crate::step::health(&http, &config, "")
        .await
        .map_err(|why| {
            driver_error(format!(
                "the new side did not answer well through the test listener ({url}): {why}"
            ))
        })?;
    tracing::info!(target: "shipgate_deploy::progress", "ecs: {url} answers well: {line}");
    Ok(())
}

async fn due_of(ecs: &Ecs, service: &Service) -> Result<Option<u64>, Error> {
    let Some(arn) = service.service_arn() else {
        return Ok(None);
    };
    let out = ecs
        .clients()
        .await?
        .ecs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| {
            aws(
                format!("cannot read the tags of {arn}"),
                shipgate_aws::call_failed("ListTagsForResource", e),
            )
        })?;
    Ok(out
        .tags()
        .iter()
        .find(|t| t.key() == Some(SCALE_DOWN_AT))
        .and_then(|t| t.value()?.parse().ok()))
}

async fn tag(ecs: &Ecs, service: &Service, due: Option<u64>) -> Result<(), Error> {
    let (Some(arn), Some(due)) = (service.service_arn(), due) else {
        return Ok(());
    };
    ecs.clients()
        .await?
        .ecs
        .tag_resource()
        .resource_arn(arn)
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key(SCALE_DOWN_AT)
                .value(due.to_string())
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            aws(
                format!("cannot tag {arn}"),
                shipgate_aws::call_failed("TagResource", e),
            )
        })?;
    Ok(())
}

async fn untag(ecs: &Ecs, service: &Service) -> Result<(), Error> {
    if due_of(ecs, service).await?.is_none() {
        return Ok(());
    }
    let arn = service.service_arn().unwrap_or_default();
    ecs.clients()
        .await?
        .ecs
        .untag_resource()
        .resource_arn(arn)
        .tag_keys(SCALE_DOWN_AT)
        .send()
        .await
        .map_err(|e| {
            aws(
                format!("cannot untag {arn}"),
                shipgate_aws::call_failed("UntagResource", e),
            )
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_side_is_live_only_with_all_the_traffic() {
        let w = |blue, green| Weights { blue, green };
        assert_eq!(w(1, 0).all(), Some(Side::Blue));
        assert_eq!(w(0, 100).all(), Some(Side::Green));
        assert_eq!(w(90, 10).all(), None);
        assert_eq!(w(0, 0).all(), None);
        assert_eq!(w(90, 10).percent(Side::Green), 10);
        assert_eq!(w(1, 1).percent(Side::Blue), 50);
    }
}
