//! A release's task definition revision: found in the family's history by its image
//! tag, or registered as a copy of the service's current one.

use aws_sdk_ecs::types::TaskDefinition;

use super::image::repository_of;
use super::{Ecs, HISTORY, arn_of, aws, driver_error, short};
use crate::Error;

impl Ecs {
    /// The family's ACTIVE revisions, newest first, at most [`HISTORY`].
    pub(super) async fn revisions(&self, family: &str) -> Result<Vec<String>, Error> {
        let ecs = &self.clients().await?.ecs;
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = ecs
                .list_task_definitions()
                .family_prefix(family)
                .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
                .sort(aws_sdk_ecs::types::SortOrder::Desc)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| {
                    aws(
                        format!("cannot list task definitions of {family}"),
                        shipgate_aws::call_failed("ListTaskDefinitions", e),
                    )
                })?;
            // The prefix also matches longer families (`shop` finds `shop-worker`).
            out.extend(
                page.task_definition_arns()
                    .iter()
                    .filter(|a| family_of_arn(a) == Some(family))
                    .cloned(),
            );
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        // Newest first, whatever order the API kept (emulators ignore `sort`).
        out.sort_by_key(|a| std::cmp::Reverse(revision_of_arn(a)));
        out.truncate(HISTORY);
        Ok(out)
    }

    /// The newest revision of the service's family that runs `release`.
    pub(super) async fn revision_of(
        &self,
        family: &str,
        release: &str,
    ) -> Result<Option<String>, Error> {
        for arn in self.revisions(family).await? {
            let t = self.task_definition(&arn).await?;
            if self.release_of(&t)?.as_deref() == Some(release) {
                return Ok(Some(arn));
            }
        }
        Ok(None)
    }

    /// The image `release` is: `repository` (or the current image's) and the tag.
    pub(super) fn image_for(&self, current: &str, release: &str) -> String {
        let repository = self
            .config
            .repository
            .clone()
            .unwrap_or_else(|| repository_of(current).to_owned());
        format!("{repository}:{release}")
    }

    /// Registers `release`'s revision: `base` with the image and environment changed.
    pub(super) async fn register(
        &self,
        base: &TaskDefinition,
        release: &str,
    ) -> Result<String, Error> {
        let container = self.container(base)?.name().unwrap_or_default().to_owned();
        let current_image = self.container(base)?.image().unwrap_or_default().to_owned();
        let image = self.image_for(&current_image, release);
        self.check_image(&image).await?;
        let containers: Vec<_> = base
            .container_definitions()
            .iter()
            .map(|c| {
                if c.name() != Some(container.as_str()) {
                    return c.clone();
                }
                let mut env: Vec<aws_sdk_ecs::types::KeyValuePair> = c
                    .environment()
                    .iter()
                    .filter(|kv| {
                        kv.name()
                            .is_none_or(|n| !self.config.environment.contains_key(n))
                    })
                    .cloned()
                    .collect();
                for (k, v) in &self.config.environment {
                    env.push(
                        aws_sdk_ecs::types::KeyValuePair::builder()
                            .name(k)
                            .value(v.replace("{release}", release))
                            .build(),
                    );
                }
                let mut c = c.clone();
                c.image = Some(image.clone());
                c.environment = (!env.is_empty()).then_some(env);
                c
            })
            .collect();
        let tags = vec![
            aws_sdk_ecs::types::Tag::builder()
                .key("shipgate:release")
                .value(release)
                .build(),
        ];
        let ecs = &self.clients().await?.ecs;
        let out = ecs
            .register_task_definition()
            .set_family(base.family().map(str::to_owned))
            .set_task_role_arn(base.task_role_arn().map(str::to_owned))
            .set_execution_role_arn(base.execution_role_arn().map(str::to_owned))
            .set_network_mode(base.network_mode().cloned())
            .set_container_definitions(Some(containers))
            .set_volumes(none_if_empty(base.volumes()))
            .set_placement_constraints(none_if_empty(base.placement_constraints()))
            .set_requires_compatibilities(none_if_empty(base.requires_compatibilities()))
            .set_cpu(base.cpu().map(str::to_owned))
            .set_memory(base.memory().map(str::to_owned))
            .set_pid_mode(base.pid_mode().cloned())
            .set_ipc_mode(base.ipc_mode().cloned())
            .set_proxy_configuration(base.proxy_configuration().cloned())
            .set_ephemeral_storage(base.ephemeral_storage().cloned())
            .set_runtime_platform(base.runtime_platform().cloned())
            .set_enable_fault_injection(base.enable_fault_injection())
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| {
                aws(
                    format!("cannot register a task definition for {release}"),
                    shipgate_aws::call_failed("RegisterTaskDefinition", e),
                )
            })?;
        let t = out
            .task_definition()
            .cloned()
            .ok_or_else(|| driver_error("RegisterTaskDefinition returned no task definition"))?;
        let arn = arn_of(&t).to_owned();
        tracing::info!(target: "shipgate_deploy::progress", "ecs: registered {arn} running {image}");
        self.images
            .lock()
            .expect("not poisoned")
            .insert(arn.clone(), t);
        Ok(arn)
    }

    /// The revision `release` runs, which [`Driver::prepare`] made sure of.
    pub(super) async fn prepared(&self, release: &str) -> Result<String, Error> {
        self.revision(release, false).await
    }

    /// The revision that runs `release`: the family's newest, else (`register`) a new
    /// one copied from the service's current revision.
    pub(super) async fn revision(&self, release: &str, register: bool) -> Result<String, Error> {
        let (_, current) = self.current_definition().await?;
        let family = current.family().unwrap_or_default().to_owned();
        match self.revision_of(&family, release).await? {
            Some(arn) => Ok(arn),
            None if register => self.register(&current, release).await,
            None => Err(driver_error(format!(
                "no task definition of {family} runs {release}: it was not prepared"
            ))),
        }
    }
}

/// A list the API takes as absent when empty.
fn none_if_empty<T: Clone>(v: &[T]) -> Option<Vec<T>> {
    (!v.is_empty()).then(|| v.to_vec())
}

fn revision_of_arn(arn: &str) -> u32 {
    short(arn)
        .rsplit_once(':')
        .and_then(|(_, r)| r.parse().ok())
        .unwrap_or(0)
}

pub(super) fn family_of_arn(arn: &str) -> Option<&str> {
    short(arn).rsplit_once(':').map(|(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::ecs::short;

    #[test]
    fn arns_name_their_family_and_revision() {
        let arn = "arn:aws:ecs:us-east-1:1:task-definition/shop:12";
        assert_eq!(family_of_arn(arn), Some("shop"));
        assert_eq!(revision_of_arn(arn), 12);
        assert_eq!(short(arn), "shop:12");
    }
}
