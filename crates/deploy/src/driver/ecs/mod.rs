//! The `ecs` driver: an ECS service (Fargate or EC2) whose task definition is
//! updated. A release is an image tag; its task definition revision is the newest one
//! of the service's family whose container runs `REPOSITORY:RELEASE`, registered by
//! [`Driver::prepare`] when there is none (a copy of the service's current revision
//! with only the image and the release's environment changed). So a resumed
//! deployment registers nothing twice, and a rollback to a version reuses the
//! revision that ran it.
//!
//! Two ways to roll it out: a rolling update of one service (ECS's own), or
//! blue-green through an ALB (`alb`): two services behind one listener.

mod alarms;
mod alb;
mod dry_run;
mod image;
mod revision;
mod rollout;
mod task;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_ecs::types::{Service, TaskDefinition};

pub use rollout::{ReadRollout, Rollout};

use super::{Driver, DriverFuture, valid_release_id};
use crate::config::{EcsBlueGreen, EcsConfig, RolloutReading};
use crate::{Error, ErrorKind};
use image::tag_of;

/// How many of the family's newest revisions [`Driver::releases`] and a rollback
/// look through.
const HISTORY: usize = 50;

/// An ECS service, deployed by task definition revisions.
pub struct Ecs {
    config: EcsConfig,
    wait: Duration,
    reader: Box<dyn ReadRollout>,
    /// The rolling update's service; none in blue-green.
    rolling: Option<String>,
    clients: tokio::sync::OnceCell<Clients>,
    /// Task definitions never change once registered: what each ARN runs.
    images: Mutex<HashMap<String, TaskDefinition>>,
}

#[derive(Clone)]
struct Clients {
    ecs: aws_sdk_ecs::Client,
    ecr: aws_sdk_ecr::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

fn aws(what: impl Into<String>, e: shipgate_aws::Error) -> Error {
    Error::with_source(ErrorKind::Driver, what, e)
}

fn driver_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Driver, message)
}

impl Ecs {
    /// The driver `config` describes; `timeout` is `[deploy] timeout`, the release
    /// step's time limit. Nothing is called until the driver is used; a
    /// configuration that names no service, or blue-green steps out of order, is
    /// refused.
    pub fn new(config: &EcsConfig, timeout: Duration) -> Result<Self, Error> {
        let reader: Box<dyn ReadRollout> = match config.rollout {
            RolloutReading::Deployment => Box::new(rollout::FromDeployments),
            RolloutReading::Counts => Box::new(rollout::FromCounts),
        };
        Self::with_reader(config, timeout, reader)
    }

    fn validate(config: &EcsConfig) -> Result<Option<String>, Error> {
        let bad = |m: String| Error::new(ErrorKind::Config, format!("[deploy.driver] (ecs): {m}"));
        match (&config.service, &config.blue_green) {
            (Some(s), None) => Ok(Some(s.clone())),
            (None, Some(bg)) => {
                check_blue_green(bg).map_err(bad)?;
                Ok(None)
            }
            (Some(_), Some(_)) => Err(bad(
                "`service` and [deploy.driver.blue_green] both name services: keep one \
                 (blue-green names its two sides' services)"
                    .into(),
            )),
            (None, None) => Err(bad(
                "name the `service` to update, or set [deploy.driver.blue_green]".into(),
            )),
        }
    }

    /// The driver with another way to read a rollout's progress: the seam tests use
    /// to play what an emulator cannot (a rollout that never completes).
    pub fn with_reader(
        config: &EcsConfig,
        timeout: Duration,
        reader: Box<dyn ReadRollout>,
    ) -> Result<Self, Error> {
        Ok(Self {
            rolling: Self::validate(config)?,
            config: config.clone(),
            wait: config.wait.unwrap_or(timeout * 9 / 10),
            reader,
            clients: tokio::sync::OnceCell::new(),
            images: Mutex::new(HashMap::new()),
        })
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
                    elb: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
                    cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
                })
            })
            .await
    }

    /// The service that serves: the rolling update's, or the blue-green side
    /// production traffic goes to.
    pub(crate) async fn service(&self) -> Result<Service, Error> {
        match &self.rolling {
            Some(name) => self.service_named(name).await,
            None => alb::live_service(self).await,
        }
    }

    /// A service of the cluster, as ECS describes it now.
    async fn service_named(&self, name: &str) -> Result<Service, Error> {
        let ecs = &self.clients().await?.ecs;
        let out = ecs
            .describe_services()
            .cluster(&self.config.cluster)
            .services(name)
            .send()
            .await
            .map_err(|e| {
                aws(
                    format!("cannot describe service {name}"),
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
                "service {name} in cluster {}: {why}",
                self.config.cluster
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
                service.service_name().unwrap_or_default()
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

    /// Waits until service `name` runs `arn` stably, or the driver's `wait` is up,
    /// failing at once when an alarm fires; a line each time what is seen changes.
    async fn wait_stable(&self, name: &str, arn: &str) -> Result<String, Error> {
        let deadline = tokio::time::Instant::now() + self.wait;
        let mut last = String::new();
        loop {
            let service = self.service_named(name).await?;
            let seen = self.reader.read(&service, arn);
            let line = seen.line().to_owned();
            if line != last {
                tracing::info!(target: "shipgate_deploy::progress", "ecs: {name}: {line}");
                last = line;
            }
            alarms::none_firing(self).await?;
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
                    "service {name} was not stable on {} within {}: {last}",
                    short(arn),
                    humantime::format_duration(self.wait)
                )));
            }
            // tidy: polling ECS, which has no way to wait for a change
            tokio::time::sleep(self.config.poll.min(deadline - tokio::time::Instant::now())).await;
        }
    }
}

impl Ecs {
    /// `release`'s revision, registered when there is none (a valid tag only).
    async fn registered(&self, release: &str) -> Result<String, Error> {
        if !valid_release_id(release) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{release:?} cannot be an image tag here: use letters, digits, '.', '_' and '-'"
                ),
            ));
        }
        self.revision(release, true).await
    }
}

impl Driver for Ecs {
    fn name(&self) -> &'static str {
        "ecs"
    }

    fn current(&self) -> DriverFuture<'_, Option<String>> {
        Box::pin(async move {
            if self.rolling.is_none() {
                return alb::current(self).await;
            }
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
            let arn = self.registered(release).await?;
            if self.rolling.is_none() {
                return alb::prepare(self, &arn).await;
            }
            Ok(())
        })
    }

    fn switch<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            let arn = self.prepared(release).await?;
            let Some(name) = &self.rolling else {
                return alb::shift(self, &arn).await;
            };
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
                .service(name)
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
                    format!("cannot update service {name} to {release}"),
                    shipgate_aws::call_failed("UpdateService", e),
                )
            })?;
            tracing::info!(target: "shipgate_deploy::progress", "ecs: {name} now runs {}", short(&arn));
            Ok(())
        })
    }

    fn switch_back<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            if self.rolling.is_none() {
                let arn = self.revision(release, false).await?;
                return alb::shift_back(self, &arn).await;
            }
            self.switch(release).await
        })
    }

    fn activate<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            let arn = self.prepared(release).await?;
            match &self.rolling {
                Some(name) => self.wait_stable(name, &arn).await.map(drop),
                None => alb::activate(self, &arn).await,
            }
        })
    }

    fn gc<'a>(&'a self) -> DriverFuture<'a, Vec<String>> {
        Box::pin(async move {
            if self.rolling.is_some() {
                return Ok(Vec::new());
            }
            alb::gc(self).await
        })
    }

    fn dry_run<'a>(&'a self, release: &'a str) -> DriverFuture<'a, Vec<String>> {
        Box::pin(dry_run::release(self, release))
    }

    fn dry_run_task<'a>(
        &'a self,
        release: &'a str,
        command: &'a str,
    ) -> Option<DriverFuture<'a, Vec<String>>> {
        Some(Box::pin(dry_run::task(self, release, command)))
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
        // The revision only: a blue-green's idle side starts the release after the
        // migration, never before it.
        Some(Box::pin(async move {
            let arn = self.registered(release).await?;
            task::run(self, &arn, command, timeout).await
        }))
    }
}

/// Blue-green steps: increasing percentages, each in 1..=99.
fn check_blue_green(bg: &EcsBlueGreen) -> Result<(), String> {
    if bg.blue.service == bg.green.service || bg.blue.target_group == bg.green.target_group {
        return Err(
            "the blue and green sides must name different services and target groups".into(),
        );
    }
    let mut last = 0;
    for &step in &bg.steps {
        if step == 0 || step >= 100 || step <= last {
            return Err(format!(
                "blue_green.steps {:?}: percentages of traffic, increasing, each from 1 to 99 (all of it follows the last)",
                bg.steps
            ));
        }
        last = step;
    }
    Ok(())
}

fn arn_of(t: &TaskDefinition) -> &str {
    t.task_definition_arn().unwrap_or("(no arn)")
}

/// `family:revision` of a task definition ARN.
fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
