//! `[watch]` over one environment, wired to the deployment layer: a rollback rule
//! switches back with shipgate-deploy, alerts are held while a deployment of the
//! environment is under way, and a window over a deployment leaves a
//! [`WatchRecord`] for the next environment's `promoted` gate.

use std::path::{Path, PathBuf};
use std::time::Duration;

use shipgate_deploy::{DeployConfig, Ending};
use shipgate_notify::{Notifier, NotifyConfig};
use shipgate_watch::source::QueryCheck;
use shipgate_watch::{History, SystemClock, Watch, WatchConfig, Window};
use tokio_util::sync::CancellationToken;

use crate::record::WatchRecord;
use crate::watch_hooks::{DeployMute, DeployRollback};
use crate::{Error, ErrorKind};

/// What a watch needs, read from one shipgate.toml.
#[derive(Debug)]
pub struct WatchSetup {
    /// The validated `[watch]`.
    pub config: WatchConfig,
    /// `[deploy]`, when the file has one (rollback, mute, version, records).
    pub deploy: Option<DeployConfig>,
    /// `[notify]`, when the file has one.
    pub notify: Option<NotifyConfig>,
    /// The environment.
    pub environment: String,
    /// The configuration file's directory.
    pub base: PathBuf,
}

impl WatchSetup {
    /// Reads `[watch]` (required), `[deploy]` and `[notify]` from `doc`.
    pub fn from_document(
        doc: &shipgate_config::Document,
        base: &Path,
        environment: &str,
    ) -> Result<Self, Error> {
        let config_error = |what: &str, e: Box<dyn std::error::Error + Send + Sync>| {
            Error::with_source(
                ErrorKind::Config,
                format!("{}: [{what}]", doc.path().display()),
                e,
            )
        };
        let mut config: WatchConfig = doc
            .section("watch")
            .map_err(|e| config_error("watch", e.into()))?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!("{} has no [watch] section", doc.path().display()),
                )
            })?;
        config
            .validate()
            .map_err(|e| config_error("watch", e.into()))?;
        config.resolve_paths(base);
        let deploy = doc
            .section("deploy")
            .map_err(|e| config_error("deploy", e.into()))?;
        let notify = doc
            .section("notify")
            .map_err(|e| config_error("notify", e.into()))?;
        Ok(Self {
            config,
            deploy,
            notify,
            environment: environment.to_owned(),
            base: base.to_owned(),
        })
    }

    /// Where the status file is (`[watch] state_file`, or `.shipgate/watch-ENV.json`).
    pub fn state_file(&self) -> PathBuf {
        self.config.state_file.as_deref().map_or_else(
            || {
                self.base
                    .join(format!(".shipgate/watch-{}.json", self.environment))
            },
            |p| self.base.join(p),
        )
    }

    /// When the environment's latest deployment (or rollback) ended, as its journal
    /// says.
    pub fn deployed_at(&self) -> Option<std::time::SystemTime> {
        let d = self.deploy.as_ref()?;
        let (_, latest) =
            shipgate_deploy::latest(&d.state_dir_for(&self.base, &self.environment)).ok()??;
        humantime::parse_rfc3339_weak(latest.ended_at.as_deref()?).ok()
    }

    /// The release serving now, as `[deploy]`'s driver says.
    pub async fn serving(&self) -> Option<String> {
        let d = self.deploy.as_ref()?;
        let driver = shipgate_deploy::driver_for(d, &self.base).ok()?;
        driver.current().await.ok().flatten()
    }

    /// Listens on `[watch] metrics`, when it is set: before the watch starts, so that
    /// an address in use is a configuration error, not a watch that stops.
    pub fn bind_metrics(&self) -> Result<Option<std::net::TcpListener>, Error> {
        let Some(addr) = self.config.metrics.as_deref() else {
            return Ok(None);
        };
        let cannot = |e| {
            Error::with_source(
                ErrorKind::Config,
                format!("[watch] metrics: cannot listen on {addr}"),
                e,
            )
        };
        let listener = std::net::TcpListener::bind(addr).map_err(cannot)?;
        listener.set_nonblocking(true).map_err(cannot)?;
        Ok(Some(listener))
    }

    /// Asks each Prometheus source to evaluate its queries once, before a window
    /// starts: a query Prometheus rejects as invalid is a configuration error (found
    /// now, not as a rule's first sample). Returns what could not be checked (a
    /// server down now), to be said.
    pub async fn check_queries(&self) -> Result<Vec<String>, Error> {
        let mut unchecked = Vec::new();
        let client = http()?;
        for (name, source) in &self.config.sources {
            let shipgate_watch::SourceConfig::Prometheus { queries, .. } = source else {
                continue;
            };
            let sampler = shipgate_watch::source::Source::new(name, source, &self.config);
            for (field, promql) in queries {
                match sampler.check(&client, promql).await {
                    QueryCheck::Accepted => {}
                    QueryCheck::Unchecked(why) => unchecked.push(format!(
                        "[watch.sources.{name}] queries.{field} not checked: {why}"
                    )),
                    QueryCheck::Rejected(why) => {
                        return Err(Error::new(
                            ErrorKind::Config,
                            format!("[watch.sources.{name}] queries.{field} = {promql:?}: {why}"),
                        ));
                    }
                }
            }
        }
        Ok(unchecked)
    }

    /// Sends a test notice to every `[notify]` channel: what each said.
    pub async fn test_alerts(&self) -> Result<Vec<shipgate_notify::Delivery>, Error> {
        let Some(notify) = self.notify.clone() else {
            return Err(Error::new(
                ErrorKind::Config,
                "test-alerts needs a [notify] section with channels",
            ));
        };
        let notifier = Notifier::new(notify, http()?, self.base.clone())
            .map_err(|e| Error::with_source(ErrorKind::Config, "[notify]", e))?;
        Ok(notifier.test(&self.environment).await)
    }

    /// Runs the watch for `length` (none: until `cancel`), rolling back with
    /// `[deploy]` when `rollback` and a rollback rule fires.
    pub async fn run(
        &self,
        length: Option<Duration>,
        rollback: bool,
        cancel: CancellationToken,
        metrics: Option<std::net::TcpListener>,
    ) -> Result<Window, Error> {
        let metrics = metrics
            .map(tokio::net::TcpListener::from_std)
            .transpose()
            .map_err(|e| Error::with_source(ErrorKind::Io, "[watch] metrics", e))?;
        let http = http()?;
        let notifier = self
            .notify
            .clone()
            .map(|n| Notifier::new(n, http.clone(), self.base.clone()))
            .transpose()
            .map_err(|e| Error::with_source(ErrorKind::Config, "[notify]", e))?;
        let undo = self
            .deploy
            .clone()
            .filter(|_| rollback)
            .map(|d| DeployRollback {
                config: d,
                base: self.base.clone(),
                environment: self.environment.clone(),
            });
        let mute = self.deploy.as_ref().map(|d| DeployMute {
            state_dir: d.state_dir_for(&self.base, &self.environment),
        });
        let history = self
            .config
            .history
            .as_deref()
            .map(|p| History::open(&self.base.join(p), self.config.history_max_bytes))
            .transpose()
            .map_err(|e| Error::with_source(ErrorKind::Config, "[watch] history", e))?;
        let watch = Watch {
            config: &self.config,
            environment: self.environment.clone(),
            version: self.serving().await,
            http,
            clock: &SystemClock,
            notifier,
            rollback: undo.as_ref().map(|r| r as &dyn shipgate_watch::Rollback),
            mute: mute.as_ref().map(|m| m as &dyn shipgate_watch::Mute),
            history,
            state_file: Some(self.state_file()),
            deployed_at: self.deployed_at(),
            cancel,
            metrics,
        };
        watch
            .run(length)
            .await
            .map_err(|e| Error::with_source(ErrorKind::Watch, "the watch stopped", e))
    }

    /// Records `window` as the verdict on the environment's latest deployment, when
    /// that deployment ended deployed and started before the window did. Returns the
    /// record and where it was written.
    pub fn record(&self, window: &Window) -> Result<Option<(WatchRecord, PathBuf)>, Error> {
        let Some(d) = &self.deploy else {
            return Ok(None);
        };
        let state_dir = d.state_dir_for(&self.base, &self.environment);
        // The deployment watched: the newest that ended deployed before the window
        // began; a rollback the window itself made is newer and is not it.
        let began = humantime::format_rfc3339_millis(window.started).to_string();
        let history = shipgate_deploy::history(&state_dir)?;
        let Some(watched) = history
            .iter()
            .rev()
            .find(|s| s.ending == Some(Ending::Deployed) && s.started_at <= began)
        else {
            return Ok(None);
        };
        let record = WatchRecord::of(window, &watched.id, &watched.artifact.version);
        let path = record.write(&state_dir)?;
        Ok(Some((record, path)))
    }
}

fn http() -> Result<shipgate_http::HttpClient, Error> {
    shipgate_http::HttpClient::new(&Default::default())
        .map_err(|e| Error::with_source(ErrorKind::Config, "cannot build the HTTP client", e))
}
