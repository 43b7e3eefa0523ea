//! The CloudWatch alarms a release must not set off (`alarms` in `[deploy.driver]`),
//! read while the service stabilises and during a blue-green shift's bake times.

use aws_sdk_cloudwatch::types::StateValue;

use super::{Ecs, aws, driver_error};
use crate::Error;

/// Fails when one of the configured alarms is in ALARM, naming it and CloudWatch's
/// reason; an alarm that does not exist fails too (a misspelt name must not watch
/// nothing). INSUFFICIENT_DATA passes: a new alarm has no data yet.
pub(super) async fn none_firing(ecs: &Ecs) -> Result<(), Error> {
    let names = &ecs.config.alarms;
    if names.is_empty() {
        return Ok(());
    }
    let cloudwatch = &ecs.clients().await?.cloudwatch;
    let mut found = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = cloudwatch
            .describe_alarms()
            .set_alarm_names(Some(names.clone()))
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| {
                aws(
                    "cannot read the alarms",
                    shipgate_aws::call_failed("DescribeAlarms", e),
                )
            })?;
        for alarm in page.metric_alarms() {
            found.push((
                alarm.alarm_name().unwrap_or_default().to_owned(),
                alarm.state_value().cloned(),
                alarm.state_reason().unwrap_or_default().to_owned(),
            ));
        }
        for alarm in page.composite_alarms() {
            found.push((
                alarm.alarm_name().unwrap_or_default().to_owned(),
                alarm.state_value().cloned(),
                alarm.state_reason().unwrap_or_default().to_owned(),
            ));
        }
        next = page.next_token().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    for name in names {
        match found.iter().find(|(n, ..)| n == name) {
            None => {
                return Err(driver_error(format!(
                    "CloudWatch alarm {name:?} does not exist (check `alarms` in [deploy.driver])"
                )));
            }
            Some((_, Some(StateValue::Alarm), reason)) => {
                return Err(driver_error(format!(
                    "CloudWatch alarm {name} is in ALARM: {reason}"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}
