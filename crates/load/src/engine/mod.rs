//! Runs a plan: users (closed model) or scheduled iterations (open model), every
//! request recorded into sharded per-endpoint HDR histograms.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shipgate_http::{CookieJar, Failed, HttpClient, MakeSender, Mismatch, TemplateVars, exchange};
use shipgate_stats::{EndpointId, FailureKind, Recent, Recorder, Sample, Snapshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::ThinkConfig;
use crate::plan::{Action, Class, Plan, Shape, weighted_sequence};

/// How often the closed-model controller adjusts the user count.
const TICK: Duration = Duration::from_millis(100);

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    /// Every request, merged across shards.
    pub snapshot: Snapshot,
    /// Open model: iterations that could not start because every VU was busy.
    pub dropped: u64,
    /// Users (or iterations) still running when the graceful stop ran out, then aborted.
    pub hard_stopped: usize,
    /// Failure messages by `(request name, message)`.
    pub failures: BTreeMap<(String, String), u64>,
    /// Users started per class.
    pub users_per_class: BTreeMap<String, u64>,
    /// When the run started.
    pub started_at: std::time::SystemTime,
}

/// Live numbers while a run goes on.
pub struct Live<M: MakeSender = HttpClient> {
    shared: Arc<Shared<M>>,
}

impl<M: MakeSender> Clone for Live<M> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<M: MakeSender> Live<M> {
    /// Everything recorded so far (a copy of the whole run: for the end, not for a
    /// display refreshed every second; see [`Live::recent`]).
    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot()
    }

    /// Requests and failures so far and the latencies of the last `seconds` seconds,
    /// without copying the run's histories: as cheap in the tenth hour as in the first.
    pub fn recent(&self, seconds: usize) -> Recent {
        let mut all = Recent::default();
        for shard in &self.shared.shards {
            all.merge(
                &shard
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .recent(seconds),
            );
        }
        all
    }

    /// Time since the run started (zero before it starts).
    pub fn elapsed(&self) -> Duration {
        self.shared
            .start
            .get()
            .map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// Users running now (closed model) or iterations in flight (open model).
    pub fn users(&self) -> u64 {
        self.shared.active.load(Ordering::Relaxed)
    }
}

struct Shared<M: MakeSender> {
    /// Makes each user's sender.
    make: M,
    vars: TemplateVars,
    /// Set when the run starts.
    start: std::sync::OnceLock<Instant>,
    shards: Vec<Mutex<Recorder>>,
    /// Each class's actions' endpoints, identical on every shard (registered in the
    /// same order), looked up once here instead of by name per request.
    endpoints: Vec<ClassEndpoints>,
    /// Open model: sessions (connections) of finished iterations, for the next ones.
    idle_sessions: Mutex<Vec<M::Sender>>,
    failures: Mutex<BTreeMap<(String, String), u64>>,
    active: AtomicU64,
}

impl<M: MakeSender> Shared<M> {
    fn start(&self) -> Instant {
        *self.start.get_or_init(Instant::now)
    }

    fn snapshot(&self) -> Snapshot {
        let mut all = Snapshot::empty();
        for shard in &self.shards {
            all.merge(&shard.lock().unwrap_or_else(|p| p.into_inner()).snapshot());
        }
        all
    }

    fn record(&self, shard: usize, endpoint: &Endpoint, sample: &Sample, error: Option<&String>) {
        self.shards[shard % self.shards.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(endpoint.id, sample);
        if let Some(message) = error {
            *self
                .failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry((endpoint.name.clone(), message.clone()))
                .or_default() += 1;
        }
    }
}

/// An action's name and its id in every shard's recorder.
struct Endpoint {
    id: EndpointId,
    name: String,
}

/// A class's endpoints, parallel to its `on_start`, `tasks` and `on_stop`.
struct ClassEndpoints {
    on_start: Vec<Endpoint>,
    tasks: Vec<Endpoint>,
    on_stop: Vec<Endpoint>,
}

/// A run about to start, sending through `M`'s senders: [`HttpClient`] makes each
/// virtual user a [`Session`](shipgate_http::Session) of its own; a test may pass a
/// fake that answers without a network.
pub struct Engine<M: MakeSender = HttpClient> {
    plan: Arc<Plan>,
    shared: Arc<Shared<M>>,
}

impl<M: MakeSender> Engine<M> {
    /// Prepares a run (the clock starts at [`Engine::run`]). Call it within the runtime
    /// that will run it (or after `Runtime::enter`), so that the recorders match its
    /// worker threads.
    pub fn new(mut plan: Plan, make: M) -> Self {
        // Variables no step captures keep their configured values for the whole run:
        // substitute them once here rather than in every request.
        let captured: std::collections::BTreeSet<String> = plan
            .classes
            .iter()
            .flat_map(Class::actions)
            .filter_map(|a| match a {
                Action::Http(step) => Some(step.capture.keys().cloned()),
                Action::Custom(..) => None,
            })
            .flatten()
            .collect();
        let vars = plan.vars.clone();
        for class in &mut plan.classes {
            let actions = class
                .on_start
                .iter_mut()
                .chain(class.tasks.iter_mut().map(|(_, a)| a))
                .chain(class.on_stop.iter_mut());
            for action in actions {
                if let Action::Http(step) = action {
                    step.bind(&vars, &|name| captured.contains(name));
                }
            }
        }
        // Two recorders per worker thread, so workers rarely meet on a lock; on a
        // single-threaded runtime one, so the per-second history is kept once.
        let shards = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread => 1,
            Ok(h) => h.metrics().num_workers().max(1) * 2,
            Err(_) => {
                std::thread::available_parallelism()
                    .map_or(2, |n| n.get())
                    .max(2)
                    * 2
            }
        };
        let mut recorders: Vec<Recorder> = (0..shards).map(|_| Recorder::new()).collect();
        let mut register = |action: &Action| {
            let name = action.name();
            let mut id = None;
            for r in &mut recorders {
                id = Some(r.endpoint(&name));
            }
            Endpoint {
                id: id.expect("at least one shard"),
                name,
            }
        };
        let endpoints = plan
            .classes
            .iter()
            .map(|c| ClassEndpoints {
                on_start: c.on_start.iter().map(&mut register).collect(),
                tasks: c.tasks.iter().map(|(_, a)| register(a)).collect(),
                on_stop: c.on_stop.iter().map(&mut register).collect(),
            })
            .collect();
        let shared = Shared {
            make,
            vars: plan.vars.clone(),
            start: std::sync::OnceLock::new(),
            shards: recorders.into_iter().map(Mutex::new).collect(),
            endpoints,
            idle_sessions: Mutex::new(Vec::new()),
            failures: Mutex::new(BTreeMap::new()),
            active: AtomicU64::new(0),
        };
        Self {
            plan: Arc::new(plan),
            shared: Arc::new(shared),
        }
    }

    /// A handle for progress reporting.
    pub fn live(&self) -> Live<M> {
        Live {
            shared: self.shared.clone(),
        }
    }

    /// Runs until the shape ends (or `cancel`), then stops gracefully.
    pub async fn run(self, cancel: CancellationToken) -> RunResult {
        let shared = self.shared;
        let started_at = std::time::SystemTime::now();
        let start = shared.start();
        tracing::info!(shape = %self.plan.shape, classes = self.plan.classes.len(), "load run starting");
        let (dropped, hard_stopped, users_per_class) = match &self.plan.shape {
            Shape::Closed(_) => closed(&self.plan, &shared, &cancel).await,
            Shape::Open { max_vus, .. } => open(&self.plan, &shared, &cancel, *max_vus).await,
        };
        let elapsed = start.elapsed();
        tracing::info!(?elapsed, dropped, hard_stopped, users = ?users_per_class, "load run ended");
        if let Ok(mut first) = shared.shards[0].lock() {
            first.set_elapsed(elapsed);
        }
        let failures = shared
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        RunResult {
            snapshot: shared.snapshot(),
            dropped,
            hard_stopped,
            failures,
            users_per_class,
            started_at,
        }
    }
}

mod closed;
mod iteration;
mod open;
mod smoke;

use closed::*;
pub use iteration::TaskFailed;
use iteration::*;
use open::*;
pub use smoke::{SmokeResult, smoke};
