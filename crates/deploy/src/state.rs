//! What a journal says: its records replayed into where each step stands, how the
//! deployment ended, and what a crash cut short.

use crate::journal::{Artifact, Effect, Ending, Event, Journal, Promotion, Record};

/// Where a step stands, by its journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    /// Not started.
    Pending,
    /// Started, and neither done nor failed: the deployer died while it acted, so it
    /// may or may not have taken effect.
    InDoubt,
    /// Took effect.
    Done(Effect),
    /// Failed.
    Failed(String),
    /// Skipped by `--skip`.
    Skipped,
    /// Its change was undone.
    Undone,
}

impl std::fmt::Display for StepState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepState::Pending => f.write_str("pending"),
            StepState::InDoubt => f.write_str("in progress (interrupted)"),
            StepState::Done(_) => f.write_str("done"),
            StepState::Failed(e) => write!(f, "failed: {e}"),
            StepState::Skipped => f.write_str("skipped"),
            StepState::Undone => f.write_str("undone"),
        }
    }
}

/// A step, or its undo, that started and has not ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    /// The step's name.
    pub step: String,
    /// Whether it was its undo.
    pub undo: bool,
}

/// What a journal says about its deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The deployment's id.
    pub id: String,
    /// The environment.
    pub environment: String,
    /// The release it deploys.
    pub release: String,
    /// When it started.
    pub started_at: String,
    /// Who started it.
    pub by: String,
    /// Each step, in order, and where it stands.
    pub steps: Vec<(String, StepState)>,
    /// The release serving before the release step acted.
    pub previous: Option<String>,
    /// Whether a step failed or an undo began: an interrupted deployment in this
    /// state is finished by undoing, never by going on.
    pub undoing: bool,
    /// How it ended; none while it runs or after a crash.
    pub ending: Option<Ending>,
    /// When it ended (RFC 3339).
    pub ended_at: Option<String>,
    /// What it deployed.
    pub artifact: Artifact,
    /// The gates it passed, when it was promoted.
    pub promotion: Option<Promotion>,
    /// The step (or the undo of a step) that started and has not ended: what a crash
    /// cut short.
    pub acting: Option<Acting>,
    /// The sessions its deployers ran in (the first, and each that resumed it).
    pub sessions: Vec<i32>,
    /// Who asked for it (older journals: who held the lock).
    pub user: String,
    /// `deploy` or `rollback`.
    pub operation: String,
}

impl State {
    /// Replays records (the first must be `Started`).
    pub fn of(records: &[Record]) -> Self {
        let mut state = Self {
            id: String::new(),
            environment: String::new(),
            release: String::new(),
            started_at: String::new(),
            by: String::new(),
            steps: Vec::new(),
            previous: None,
            undoing: false,
            ending: None,
            ended_at: None,
            artifact: Artifact::version(""),
            promotion: None,
            acting: None,
            sessions: Vec::new(),
            user: String::new(),
            operation: "deploy".to_owned(),
        };
        for record in records {
            let set = |state: &mut Self, step: &str, to: StepState| {
                if let Some((_, s)) = state.steps.iter_mut().find(|(n, _)| n == step) {
                    *s = to;
                }
            };
            match &record.event {
                Event::Started {
                    id,
                    environment,
                    release,
                    steps,
                    by,
                    artifact,
                    session,
                    user,
                    operation,
                } => {
                    state.sessions.extend(*session);
                    state.user = user.clone().unwrap_or_else(|| by.clone());
                    if let Some(o) = operation {
                        state.operation.clone_from(o);
                    }
                    state.artifact = artifact
                        .clone()
                        .unwrap_or_else(|| Artifact::version(release.clone()));
                    state.id.clone_from(id);
                    state.environment.clone_from(environment);
                    state.release.clone_from(release);
                    state.started_at.clone_from(&record.at);
                    state.by.clone_from(by);
                    state.steps = steps
                        .iter()
                        .map(|s| (s.clone(), StepState::Pending))
                        .collect();
                }
                Event::StepStarting { step, previous } => {
                    set(&mut state, step, StepState::InDoubt);
                    state.acting = Some(Acting {
                        step: step.clone(),
                        undo: false,
                    });
                    if previous.is_some() {
                        state.previous.clone_from(previous);
                    }
                }
                Event::StepDone { step, effect } => {
                    set(&mut state, step, StepState::Done(effect.clone()));
                    state.acting = None;
                }
                Event::StepFailed { step, error } => {
                    set(&mut state, step, StepState::Failed(error.clone()));
                    state.undoing = true;
                    state.acting = None;
                }
                Event::StepSkipped { step } => set(&mut state, step, StepState::Skipped),
                Event::UndoDone { step } => {
                    set(&mut state, step, StepState::Undone);
                    state.acting = None;
                }
                Event::UndoStarting { step } => {
                    state.undoing = true;
                    state.acting = Some(Acting {
                        step: step.clone(),
                        undo: true,
                    });
                }
                Event::UndoFailed { .. } => {
                    state.undoing = true;
                    state.acting = None;
                }
                Event::Promoted(p) => state.promotion = Some(p.clone()),
                Event::Resumed { session, .. } => state.sessions.extend(*session),
                Event::Finished { ending } => {
                    state.ending = Some(*ending);
                    state.ended_at = Some(record.at.clone());
                }
            }
        }
        state
    }

    /// The step a crashed deployer was in, or the first it had not reached.
    pub fn current_step(&self) -> Option<&str> {
        self.steps
            .iter()
            .find(|(_, s)| matches!(s, StepState::InDoubt | StepState::Pending))
            .map(|(n, _)| n.as_str())
    }

    /// Whether it was interrupted: no ending written.
    pub fn interrupted(&self) -> bool {
        self.ending.is_none()
    }

    /// `ended deployed`, or `interrupted at step migrate`.
    pub fn where_it_stands(&self) -> String {
        match self.ending {
            Some(e) => format!("ended {}", e.as_str()),
            None => format!("interrupted at step {}", self.current_step().unwrap_or("-")),
        }
    }

    /// As `status --json` and `history --json` print it.
    pub fn to_json(&self) -> serde_json::Value {
        let steps: Vec<serde_json::Value> = self
            .steps
            .iter()
            .map(|(n, st)| serde_json::json!({ "step": n, "state": st.to_string() }))
            .collect();
        serde_json::json!({
            "id": self.id,
            "environment": self.environment,
            "release": self.release,
            "version": self.artifact.version,
            "commit": self.artifact.commit,
            "digest": self.artifact.digest,
            "promotion": self.promotion,
            "previous": self.previous,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "by": self.user,
            "operation": self.operation,
            "ending": self.ending.map(Ending::as_str),
            "steps": steps,
        })
    }
}

impl Journal {
    /// What the records say.
    pub fn state(&self) -> State {
        State::of(self.records())
    }
}
