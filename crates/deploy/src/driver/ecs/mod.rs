//! The `ecs` driver: an ECS service (Fargate or EC2) whose task definition is
//! updated. A release is an image tag; its task definition revision is the newest one
//! of the service's family whose container runs `REPOSITORY:RELEASE`, registered by
//! [`Driver::prepare`] when there is none (a copy of the service's current revision
//! with only the image and the release's environment changed). So a resumed
//! deployment registers nothing twice, and a rollback to a version reuses the
//! revision that ran it.

mod image;
mod rollout;
mod task;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_ecs::types::{Service, TaskDefinition};

pub use rollout::{ReadRollout, Rollout};

use super::{Driver, DriverFuture, valid_release_id};
use crate::config::{EcsConfig, RolloutReading};
use crate::{Error, ErrorKind};
use image::{repository_of, tag_of};

/// How many of the family's newest revisions [`Driver::releases`] and a rollback
/// look through.
const HISTORY: usize = 50;

/// An ECS service, deployed by task definition revisions.
pub struct Ecs {
    config: EcsConfig,
    wait: Duration,
    reader: Box<dyn ReadRollout>,
    clients: tokio::sync::OnceCell<Clients>,
    /// Task definitions never change once registered: what each ARN runs.
    images: Mutex<HashMap<String, TaskDefinition>>,
}

#[derive(Clone)]
struct Clients {
    ecs: aws_sdk_ecs::Client,
    ecr: aws_sdk_ecr::Client,
}

fn aws(what: impl Into<String>, e: shipgate_aws::Error) -> Error {
    Error::with_source(ErrorKind::Driver, what, e)
}

fn driver_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Driver, message)
}

impl Ecs {
    /// The driver `config` describes; `timeout` is `[deploy] timeout`, the release
    /// step's time limit. Nothing is called until the driver is used.
    pub fn new(config: &EcsConfig, timeout: Duration) -> Self {
        let reader: Box<dyn ReadRollout> = match config.rollout {
            RolloutReading::Deployment => Box::new(rollout::FromDeployments),
            RolloutReading::Counts => Box::new(rollout::FromCounts),
        };
        Self::with_reader(config, timeout, reader)
    }

    /// The driver with another way to read a rollout's progress: the seam tests use
    /// to play what an emulator cannot (a rollout that never completes).
    pub fn with_reader(
        config: &EcsConfig,
        timeout: Duration,
        reader: Box<dyn ReadRollout>,
    ) -> Self {
        Self {
            config: config.clone(),
            wait: config.wait.unwrap_or(timeout * 9 / 10),
            reader,
            clients: tokio::sync::OnceCell::new(),
            images: Mutex::new(HashMap::new()),
        }
    }

    async fn clients(&self) -> Result<&Clients, Error> {
        self.clients
            .get_or_try_init(|| async {
                let sdk = shipgate_aws::load(&shipgate_aws::AwsConfig {
                    region: self.config.region.clone(),
                    profile: self.config.profile.clone(),
                    endpoint_url: self.config.endpoint_url.clone(),
                })
                .await
                .map_err(|e| aws("ecs driver", e))?;
                Ok(Clients {
                    ecs: aws_sdk_ecs::Client::new(&sdk),
                    ecr: aws_sdk_ecr::Client::new(&sdk),
                })
            })
            .await
    }

    /// The service, as ECS describes it now.
    pub(crate) async fn service(&self) -> Result<Service, Error> {
        let ecs = &self.clients().await?.ecs;
        let out = ecs
            .describe_services()
            .cluster(&self.config.cluster)
            .services(&self.config.service)
            .send()
            .await
            .map_err(|e| {
                aws(
                    format!("cannot describe service {}", self.config.service),
                    shipgate_aws::call_failed("DescribeServices", e),
                )
            })?;
        let found = out
            .services()
            .iter()
            .find(|s| s.status() != Some("INACTIVE"))
            .cloned();
        found.ok_or_else(|| {
            let why = out
                .failures()
                .first()
                .and_then(|f| f.reason())
                .unwrap_or("not found");
            driver_error(format!(
                "service {} in cluster {}: {why}",
                self.config.service, self.config.cluster
            ))
        })
    }

    /// A task definition, from the cache or ECS (with its tags).
    async fn task_definition(&self, arn: &str) -> Result<TaskDefinition, Error> {
        if let Some(t) = self.images.lock().expect("not poisoned").get(arn) {
            return Ok(t.clone());
        }
        let ecs = &self.clients().await?.ecs;
        let out = ecs
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| {
                aws(
                    format!("cannot describe task definition {arn}"),
                    shipgate_aws::call_failed("DescribeTaskDefinition", e),
                )
            })?;
        let t = out
            .task_definition()
            .cloned()
            .ok_or_else(|| driver_error(format!("task definition {arn} has no body")))?;
        self.images
            .lock()
            .expect("not poisoned")
            .insert(arn.to_owned(), t.clone());
        Ok(t)
    }

    /// The service's task definition now.
    async fn current_definition(&self) -> Result<(Service, TaskDefinition), Error> {
        let service = self.service().await?;
        let arn = service.task_definition().ok_or_else(|| {
            driver_error(format!(
                "service {} has no task definition",
                self.config.service
            ))
        })?;
        let t = self.task_definition(arn).await?;
        Ok((service, t))
    }

    /// The container a release changes: `container`, else the only one.
    fn container<'t>(
        &self,
        t: &'t TaskDefinition,
    ) -> Result<&'t aws_sdk_ecs::types::ContainerDefinition, Error> {
        let all = t.container_definitions();
        let names: Vec<&str> = all.iter().filter_map(|c| c.name()).collect();
        match &self.config.container {
            Some(name) => all.iter().find(|c| c.name() == Some(name)).ok_or_else(|| {
                driver_error(format!(
                    "task definition {} has no container {name:?} (it has {})",
                    arn_of(t),
                    names.join(", ")
                ))
            }),
            None if all.len() == 1 => Ok(&all[0]),
            None => Err(driver_error(format!(
                "task definition {} has {} containers ({}): set `container` in [deploy.driver]",
                arn_of(t),
                all.len(),
                names.join(", ")
            ))),
        }
    }

    /// The release a task definition runs: its container's image tag.
    fn release_of(&self, t: &TaskDefinition) -> Result<Option<String>, Error> {
        let image = self.container(t)?.image().unwrap_or_default();
        Ok(tag_of(image).map(str::to_owned))
    }

    /// The family's ACTIVE revisions, newest first, at most [`HISTORY`].
    async fn revisions(&self, family: &str) -> Result<Vec<String>, Error> {
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
    async fn revision_of(&self, family: &str, release: &str) -> Result<Option<String>, Error> {
        for arn in self.revisions(family).await? {
            let t = self.task_definition(&arn).await?;
            if self.release_of(&t)?.as_deref() == Some(release) {
                return Ok(Some(arn));
            }
        }
        Ok(None)
    }

    /// The image `release` is: `repository` (or the current image's) and the tag.
    fn image_for(&self, current: &str, release: &str) -> String {
        let repository = self
            .config
            .repository
            .clone()
            .unwrap_or_else(|| repository_of(current).to_owned());
        format!("{repository}:{release}")
    }

    /// Registers `release`'s revision: `base` with the image and environment changed.
    async fn register(&self, base: &TaskDefinition, release: &str) -> Result<String, Error> {
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
    async fn prepared(&self, release: &str) -> Result<String, Error> {
        self.revision(release, false).await
    }

    /// The revision that runs `release`: the family's newest, else (`register`) a new
    /// one copied from the service's current revision.
    async fn revision(&self, release: &str, register: bool) -> Result<String, Error> {
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

    /// Waits until the service runs `arn` stably, or the driver's `wait` is up; a
    /// line each time what is seen changes.
    async fn wait_stable(&self, arn: &str) -> Result<String, Error> {
        let deadline = tokio::time::Instant::now() + self.wait;
        let mut last = String::new();
        loop {
            let service = self.service().await?;
            let seen = self.reader.read(&service, arn);
            let line = seen.line().to_owned();
            if line != last {
                tracing::info!(target: "shipgate_deploy::progress", "ecs: {}: {line}", self.config.service);
                last = line;
            }
            match seen {
                Rollout::Stable(line) => return Ok(line),
                Rollout::Failed(why) => {
                    return Err(driver_error(format!(
                        "the rollout of {} failed: {why}",
                        short(arn)
                    )));
                }
                Rollout::Progress(_) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(driver_error(format!(
                    "service {} was not stable on {} within {}: {last}",
                    self.config.service,
                    short(arn),
                    humantime::format_duration(self.wait)
                )));
            }
            // tidy: polling ECS, which has no way to wait for a change
            tokio::time::sleep(self.config.poll.min(deadline - tokio::time::Instant::now())).await;
        }
    }
}

impl Driver for Ecs {
    fn name(&self) -> &'static str {
        "ecs"
    }

    fn current(&self) -> DriverFuture<'_, Option<String>> {
        Box::pin(async move {
            let (_, t) = self.current_definition().await?;
            Ok(Some(self.release_of(&t)?.unwrap_or_else(|| {
                format!("{}-{}", t.family().unwrap_or("task"), t.revision())
            })))
        })
    }

    fn releases(&self) -> DriverFuture<'_, Vec<String>> {
        Box::pin(async move {
            let (_, current) = self.current_definition().await?;
            let family = current.family().unwrap_or_default().to_owned();
            let mut out: Vec<String> = Vec::new();
            for arn in self.revisions(&family).await? {
                let t = self.task_definition(&arn).await?;
                if let Some(r) = self.release_of(&t)?
                    && !out.contains(&r)
                {
                    out.push(r);
                }
            }
            out.reverse();
            Ok(out)
        })
    }

    fn prepare<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            if !valid_release_id(release) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "{release:?} cannot be an image tag here: use letters, digits, '.', '_' and '-'"
                    ),
                ));
            }
            self.revision(release, true).await.map(drop)
        })
    }

    fn switch<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            let arn = self.prepared(release).await?;
            let service = self.service().await?;
            if service.task_definition() == Some(arn.as_str()) {
                return Ok(());
            }
            let mut update = self
                .clients()
                .await?
                .ecs
                .update_service()
                .cluster(&self.config.cluster)
                .service(&self.config.service)
                .task_definition(&arn);
            if let Some(cb) = self.config.circuit_breaker {
                let base = service
                    .deployment_configuration()
                    .cloned()
                    .unwrap_or_else(|| {
                        aws_sdk_ecs::types::DeploymentConfiguration::builder().build()
                    });
                let mut config = base;
                config.deployment_circuit_breaker = Some(
                    aws_sdk_ecs::types::DeploymentCircuitBreaker::builder()
                        .enable(cb.enable)
                        .rollback(cb.rollback)
                        .build(),
                );
                update = update.deployment_configuration(config);
            }
            update.send().await.map_err(|e| {
                aws(
                    format!("cannot update service {} to {release}", self.config.service),
                    shipgate_aws::call_failed("UpdateService", e),
                )
            })?;
            tracing::info!(target: "shipgate_deploy::progress", "ecs: {} now runs {}", self.config.service, short(&arn));
            Ok(())
        })
    }

    fn activate<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            let arn = self.prepared(release).await?;
            self.wait_stable(&arn).await.map(drop)
        })
    }

    fn prune<'a>(&'a self, _keep: &'a [String]) -> DriverFuture<'a, Vec<String>> {
        // Revisions are kept: ECS keeps inactive ones too, and a rollback to a version
        // reuses its revision.
        Box::pin(async { Ok(Vec::new()) })
    }

    fn run_task<'a>(
        &'a self,
        release: &'a str,
        command: &'a str,
        timeout: Duration,
    ) -> Option<DriverFuture<'a, String>> {
        Some(Box::pin(async move {
            self.prepare(release).await?;
            let arn = self.revision(release, false).await?;
            task::run(self, &arn, command, timeout).await
        }))
    }
}

/// A list the API takes as absent when empty.
fn none_if_empty<T: Clone>(v: &[T]) -> Option<Vec<T>> {
    (!v.is_empty()).then(|| v.to_vec())
}

fn arn_of(t: &TaskDefinition) -> &str {
    t.task_definition_arn().unwrap_or("(no arn)")
}

/// `family:revision` of a task definition ARN.
fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn revision_of_arn(arn: &str) -> u32 {
    short(arn)
        .rsplit_once(':')
        .and_then(|(_, r)| r.parse().ok())
        .unwrap_or(0)
}

fn family_of_arn(arn: &str) -> Option<&str> {
    short(arn).rsplit_once(':').map(|(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_their_family_and_revision() {
        let arn = "arn:aws:ecs:us-east-1:1:task-definition/shop:12";
        assert_eq!(family_of_arn(arn), Some("shop"));
        assert_eq!(revision_of_arn(arn), 12);
        assert_eq!(short(arn), "shop:12");
    }
}
