//! The watch layer's hooks, implemented with shipgate-deploy: a rollback that switches
//! back to the previous release, and a mute held while a deployment is under way.

use std::path::PathBuf;

use shipgate_deploy::{DeployConfig, Ending, Hooks, LockState};
use shipgate_watch::{BoxError, BoxFuture, Mute, Rollback};

use crate::{Intent, RollbackOf, Target};

/// `shipgate-deploy rollback application --to previous`, as a hook.
#[derive(Debug, Clone)]
pub struct DeployRollback {
    /// `[deploy]`.
    pub config: DeployConfig,
    /// The configuration file's directory.
    pub base: PathBuf,
    /// The environment watched.
    pub environment: String,
}

impl Rollback for DeployRollback {
    fn rollback<'a>(&'a self, _reason: &'a str) -> BoxFuture<'a, Result<String, BoxError>> {
        Box::pin(async move {
            let driver = shipgate_deploy::driver_for(&self.config, &self.base)?;
            let target = Target {
                config: &self.config,
                base: &self.base,
                environment: &self.environment,
                driver: &*driver,
            };
            // With [deploy.migrations], it goes ahead only when the database holds no
            // migration the previous release lacks: anything else needs an operator.
            let intent = Intent::Rollback {
                of: RollbackOf::Application,
                to: "previous".to_owned(),
                backup: None,
                force: false,
                unattended: true,
            };
            let prepared = crate::prepare(&target, &intent, Hooks::default()).await?;
            let http = shipgate_http::HttpClient::new(&Default::default())?;
            // A rule with action = "rollback" is the team's standing confirmation.
            let ctx = prepared.context(&*driver, http, true);
            let target = &prepared.release;
            let outcome = shipgate_deploy::deploy(&ctx).await?;
            if outcome.ending == Ending::Deployed {
                Ok(format!(
                    "switched back to {target} (deployment {})",
                    outcome.id
                ))
            } else {
                Err(format!(
                    "the rollback to {target} ended {}; journal {}",
                    outcome.ending.as_str(),
                    outcome.journal.display()
                )
                .into())
            }
        })
    }
}

/// Alerts are held while the environment's latest deployment has no ending and its
/// lock is held by a live process (a crashed one does not mute forever).
#[derive(Debug, Clone)]
pub struct DeployMute {
    /// The environment's deploy state directory.
    pub state_dir: PathBuf,
}

impl Mute for DeployMute {
    fn muted(&self) -> Option<String> {
        let (_, state) = shipgate_deploy::latest(&self.state_dir).ok()??;
        if state.ending.is_some() {
            return None;
        }
        match shipgate_deploy::Lock::inspect(&self.state_dir) {
            Ok(LockState::Held(holder)) => Some(format!(
                "deployment {} of {} is under way ({})",
                state.id,
                state.release,
                holder.describe()
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use shipgate_deploy::{Ending, Event, Holder, Journal, Lock};

    use super::*;

    #[test]
    fn alerts_are_held_while_a_live_deployment_holds_the_lock_and_has_no_ending() {
        let dir = tempfile::tempdir().unwrap();
        let mute = DeployMute {
            state_dir: dir.path().to_owned(),
        };
        assert_eq!(mute.muted(), None, "no deployment yet");
        let (mut lock, _) = Lock::acquire(dir.path()).unwrap();
        lock.claim(&Holder::me("d1")).unwrap();
        let mut journal = Journal::create(
            &dir.path().join("deployments/d1.jsonl"),
            Event::Started {
                id: "d1".into(),
                environment: "staging".into(),
                release: "v2".into(),
                steps: vec!["release".into()],
                by: "test".into(),
                artifact: None,
                session: None,
                user: None,
                operation: None,
            },
        )
        .unwrap();
        let held = mute.muted().expect("held during the deployment");
        assert!(held.contains("deployment d1 of v2 is under way"), "{held}");
        journal
            .append(Event::Finished {
                ending: Ending::Deployed,
            })
            .unwrap();
        assert_eq!(mute.muted(), None, "its journal entry ends the mute");
        lock.release().unwrap();
    }

    #[test]
    fn a_crashed_deployment_does_not_mute_forever() {
        let dir = tempfile::tempdir().unwrap();
        Journal::create(
            &dir.path().join("deployments/d1.jsonl"),
            Event::Started {
                id: "d1".into(),
                environment: "staging".into(),
                release: "v2".into(),
                steps: vec!["release".into()],
                by: "test".into(),
                artifact: None,
                session: None,
                user: None,
                operation: None,
            },
        )
        .unwrap();
        let mute = DeployMute {
            state_dir: dir.path().to_owned(),
        };
        assert_eq!(mute.muted(), None, "nobody holds the lock");
    }
}
