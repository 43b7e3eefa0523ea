//! Runs a plan: users (closed model) or scheduled iterations (open model), every
//! request recorded into sharded per-endpoint HDR histograms.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shipgate_http::{CookieJar, HttpClient, Session, Vars};
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
#[derive(Clone)]
pub struct Live {
    shared: Arc<Shared>,
}

impl Live {
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

struct Shared {
    client: HttpClient,
    vars: Vars,
    /// Set when the run starts.
    start: std::sync::OnceLock<Instant>,
    shards: Vec<Mutex<Recorder>>,
    /// Each class's actions' endpoints, identical on every shard (registered in the
    /// same order), looked up once here instead of by name per request.
    endpoints: Vec<ClassEndpoints>,
    /// Open model: sessions (connections) of finished iterations, for the next ones.
    idle_sessions: Mutex<Vec<Session>>,
    failures: Mutex<BTreeMap<(String, String), u64>>,
    active: AtomicU64,
}

impl Shared {
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

/// A run about to start.
pub struct Engine {
    plan: Arc<Plan>,
    shared: Arc<Shared>,
}

impl Engine {
    /// Prepares a run (the clock starts at [`Engine::run`]). Call it within the runtime
    /// that will run it (or after `Runtime::enter`), so that the recorders match its
    /// worker threads.
    pub fn new(mut plan: Plan, client: HttpClient) -> Self {
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
            client,
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
    pub fn live(&self) -> Live {
        Live {
            shared: self.shared.clone(),
        }
    }

    /// Runs until the shape ends (or `cancel`), then stops gracefully.
    pub async fn run(self, cancel: CancellationToken) -> RunResult {
        let shared = self.shared;
        let started_at = std::time::SystemTime::now();
        let start = shared.start();
        let (dropped, hard_stopped, users_per_class) = match &self.plan.shape {
            Shape::Closed(_) => closed(&self.plan, &shared, &cancel).await,
            Shape::Open { max_vus, .. } => open(&self.plan, &shared, &cancel, *max_vus).await,
        };
        let elapsed = start.elapsed();
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

/// The class of the `n`-th weighted user.
fn class_order(plan: &Plan) -> (Vec<usize>, Vec<usize>) {
    let fixed: Vec<usize> = plan
        .classes
        .iter()
        .enumerate()
        .flat_map(|(i, c)| std::iter::repeat_n(i, c.fixed_count.unwrap_or(0) as usize))
        .collect();
    let weights: Vec<u32> = plan.classes.iter().map(|c| c.weight).collect();
    (fixed, weighted_sequence(&weights))
}

struct UserHandle {
    cancel: CancellationToken,
    join: tokio::task::JoinHandle<()>,
}

async fn closed(
    plan: &Arc<Plan>,
    shared: &Arc<Shared>,
    cancel: &CancellationToken,
) -> (u64, usize, BTreeMap<String, u64>) {
    let (fixed, sequence) = class_order(plan);
    let mut users: Vec<UserHandle> = Vec::new();
    let mut per_class: BTreeMap<String, u64> = BTreeMap::new();
    let mut budget = 0.0f64;
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = cancel.cancelled() => break,
        }
        let t = shared.start().elapsed();
        let Some(stage) = plan.shape.stage_at(t) else {
            break;
        };
        let target = stage.users as usize;
        budget = (budget + stage.spawn_rate * TICK.as_secs_f64()).min(stage.spawn_rate.max(1.0));
        let mut allowed = budget.floor() as usize;
        while users.len() < target && allowed > 0 {
            let n = users.len();
            let class = if n < fixed.len() {
                fixed[n]
            } else {
                sequence[(n - fixed.len()) % sequence.len().max(1)]
            };
            *per_class
                .entry(plan.classes[class].name.clone())
                .or_default() += 1;
            let token = cancel.child_token();
            let fut = user(plan.clone(), shared.clone(), class, n, token.clone());
            let join = tokio::spawn(fut);
            users.push(UserHandle {
                cancel: token,
                join,
            });
            allowed -= 1;
            budget -= 1.0;
        }
        while users.len() > target && allowed > 0 {
            // The most recent first: the remaining users keep the weighted order's ratios.
            if let Some(u) = users.pop() {
                u.cancel.cancel();
                tokio::spawn(async move {
                    let _ = u.join.await;
                });
            }
            allowed -= 1;
            budget -= 1.0;
        }
        if let Ok(mut r) = shared.shards[0].lock() {
            r.set_users(t, users.len() as u64);
        }
    }
    let hard = stop_all(users, plan.graceful_stop).await;
    (0, hard, per_class)
}

/// Asks every user to stop, waits up to `grace`, then aborts the rest.
async fn stop_all(users: Vec<UserHandle>, grace: Duration) -> usize {
    for u in &users {
        u.cancel.cancel();
    }
    let deadline = Instant::now() + grace;
    let mut hard = 0;
    for u in users {
        let abort = u.join.abort_handle();
        if tokio::time::timeout_at(deadline, u.join).await.is_err() {
            abort.abort();
            hard += 1;
        }
    }
    hard
}

/// Sleeps, unless cancelled first. `false` when cancelled.
///
/// With no think time it still spends a unit of tokio's cooperative budget: an iteration
/// may await nothing that is pending (a request that cannot be built, a connection
/// refused at once by a loopback peer, a custom task that is ready at once), and a task
/// that never yields starves its worker's timers, I/O and the stop it is waiting for.
/// Once the budget is spent the task yields, so a user fails as fast as its target lets
/// it and still stops on time.
async fn pause(d: Duration, cancel: &CancellationToken) -> bool {
    if d.is_zero() {
        tokio::task::coop::consume_budget().await;
        return !cancel.is_cancelled();
    }
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        () = cancel.cancelled() => false,
    }
}

async fn user(
    plan: Arc<Plan>,
    shared: Arc<Shared>,
    class: usize,
    index: usize,
    cancel: CancellationToken,
) {
    shared.active.fetch_add(1, Ordering::Relaxed);
    let endpoints = &shared.endpoints[class];
    let class: &Class = &plan.classes[class];
    let mut me = User::new(&shared, None);
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (index as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    for (action, endpoint) in class.on_start.iter().zip(&endpoints.on_start) {
        execute(&shared, action, endpoint, &mut me, index, None).await;
    }
    let weights: Vec<u32> = class.tasks.iter().map(|(w, _)| *w).collect();
    let order = if class.sequential {
        (0..class.tasks.len()).collect()
    } else {
        weighted_sequence(&weights)
    };
    // Weighted users start at different points of the order, so short runs still mix
    // tasks; a sequence always starts at its first task (log in before anything else).
    let mut next = if class.sequential {
        0
    } else {
        index % order.len()
    };
    // With pacing or a throughput, tasks are due on a fixed schedule (wrk2's model): a
    // task that starts late records its latency from when it was due too, and the user
    // catches up instead of silently sending less (coordinated omission).
    let period = match class.think {
        ThinkConfig::Pacing(d) => Some(d),
        ThinkConfig::Throughput(per_second) if per_second > 0.0 => {
            Some(Duration::from_secs_f64(1.0 / per_second))
        }
        _ => None,
    };
    let mut due = Instant::now();
    while !cancel.is_cancelled() {
        let (_, action) = &class.tasks[order[next]];
        let endpoint = &endpoints.tasks[order[next]];
        next = (next + 1) % order.len();
        execute(
            &shared,
            action,
            endpoint,
            &mut me,
            index,
            period.map(|_| due),
        )
        .await;
        let wait = match (class.think, period) {
            (_, Some(p)) => {
                due += p;
                due.saturating_duration_since(Instant::now())
            }
            (ThinkConfig::Constant(d), None) => d,
            (ThinkConfig::Between((a, b)), None) => {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                a + (b - a).mul_f64((rng % 10_000) as f64 / 10_000.0)
            }
            _ => Duration::ZERO,
        };
        if !pause(wait, &cancel).await {
            break;
        }
    }
    for (action, endpoint) in class.on_stop.iter().zip(&endpoints.on_stop) {
        execute(&shared, action, endpoint, &mut me, index, None).await;
    }
    shared.active.fetch_sub(1, Ordering::Relaxed);
}

async fn open(
    plan: &Arc<Plan>,
    shared: &Arc<Shared>,
    cancel: &CancellationToken,
    max_vus: u32,
) -> (u64, usize, BTreeMap<String, u64>) {
    let (fixed, sequence) = class_order(plan);
    let order: Vec<usize> = if sequence.is_empty() { fixed } else { sequence };
    let per_class_tasks: Vec<Vec<usize>> = plan
        .classes
        .iter()
        .map(|c| weighted_sequence(&c.tasks.iter().map(|(w, _)| *w).collect::<Vec<_>>()))
        .collect();
    let task_counters: Vec<AtomicU64> = plan.classes.iter().map(|_| AtomicU64::new(0)).collect();
    let permits = Arc::new(tokio::sync::Semaphore::new(max_vus as usize));
    let end = plan.shape.duration();
    let mut dropped = 0u64;
    let mut in_flight = tokio::task::JoinSet::new();
    let mut per_class: BTreeMap<String, u64> = BTreeMap::new();
    let mut t = Duration::ZERO;
    let mut k: usize = 0;
    while t < end && !cancel.is_cancelled() {
        let intended = shared.start() + t;
        // Only sleep when ahead: the timer's resolution is a millisecond, and at high rates
        // several iterations are due within one.
        if intended > Instant::now() {
            tokio::select! {
                () = tokio::time::sleep_until(intended) => {}
                () = cancel.cancelled() => break,
            }
        } else if cancel.is_cancelled() {
            break;
        } else if k.is_multiple_of(64) {
            // Behind schedule: let the in-flight iterations run too.
            tokio::task::yield_now().await;
        }
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let class = order[k % order.len()];
                let tasks = &per_class_tasks[class];
                let task = tasks
                    [(task_counters[class].fetch_add(1, Ordering::Relaxed) as usize) % tasks.len()];
                *per_class
                    .entry(plan.classes[class].name.clone())
                    .or_default() += 1;
                let (plan, shared) = (plan.clone(), shared.clone());
                in_flight.spawn(async move {
                    shared.active.fetch_add(1, Ordering::Relaxed);
                    // A VU's connections outlive its iteration: the next one reuses them.
                    // Its variables and cookies start afresh.
                    let reused = shared
                        .idle_sessions
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .pop();
                    let mut me = User::new(&shared, reused);
                    let action = &plan.classes[class].tasks[task].1;
                    let endpoint = &shared.endpoints[class].tasks[task];
                    execute(&shared, action, endpoint, &mut me, k, Some(intended)).await;
                    shared
                        .idle_sessions
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(me.session);
                    shared.active.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
            Err(_) => dropped += 1,
        }
        // Reap finished iterations so the set stays small.
        while in_flight.try_join_next().is_some() {}
        k += 1;
        let rate = plan.shape.rate_at(t).max(1e-6);
        t += Duration::from_secs_f64(1.0 / rate);
    }
    let deadline = Instant::now() + plan.graceful_stop;
    let mut hard = 0;
    loop {
        match tokio::time::timeout_at(deadline, in_flight.join_next()).await {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => {
                hard = in_flight.len();
                in_flight.abort_all();
                break;
            }
        }
    }
    (dropped, hard, per_class)
}

/// A virtual user's state that actions read and change.
struct User {
    /// Its own connections, kept alive between its requests.
    session: Session,
    vars: Vars,
    jar: CookieJar,
}

impl User {
    fn new(shared: &Shared, session: Option<Session>) -> Self {
        Self {
            session: session.unwrap_or_else(|| Session::new(&shared.client)),
            vars: shared.vars.clone(),
            jar: CookieJar::new(),
        }
    }
}

/// How a custom task's error counts: by the first error in its chain that says.
fn task_failure_kind(error: &(dyn std::error::Error + 'static)) -> FailureKind {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<tower::timeout::error::Elapsed>() || e.is::<tokio::time::error::Elapsed>() {
            return FailureKind::Timeout;
        }
        if let Some(http) = e.downcast_ref::<shipgate_http::Error>() {
            return http_failure_kind(http.kind());
        }
        next = e.source();
    }
    FailureKind::Other
}

fn http_failure_kind(kind: shipgate_http::ErrorKind) -> FailureKind {
    match kind {
        shipgate_http::ErrorKind::Connect => FailureKind::Connect,
        shipgate_http::ErrorKind::Timeout => FailureKind::Timeout,
        shipgate_http::ErrorKind::Reset => FailureKind::Reset,
        shipgate_http::ErrorKind::Tls => FailureKind::Tls,
        _ => FailureKind::Other,
    }
}

/// Runs one action and records it; returns its failure message, if it failed.
async fn execute(
    shared: &Shared,
    action: &Action,
    endpoint: &Endpoint,
    user: &mut User,
    shard: usize,
    intended: Option<Instant>,
) -> Option<TaskFailed> {
    let User { session, vars, jar } = user;
    let sent = Instant::now();
    let (status, failure, error, bytes_sent, bytes_received) = match action {
        Action::Custom(_, f) => match f().await {
            Ok(()) => (None, None, None, 0, 0),
            Err(e) => (
                None,
                Some(task_failure_kind(&*e)),
                Some(shipgate_report::error_line(&*e)),
                0,
                0,
            ),
        },
        Action::Http(step) => match step.build(vars, jar) {
            Err(e) => (None, Some(FailureKind::Other), Some(e.to_string()), 0, 0),
            Ok(request) => {
                let sent_bytes = request.body().len() as u64;
                match session.send(&request).await {
                    Ok(response) => {
                        if response.sets_cookies() {
                            jar.store(request.uri(), response.headers());
                        }
                        let received = response.body.len() as u64;
                        let status = Some(response.status.as_u16());
                        match step.verify(&response) {
                            Ok(()) => {
                                let mut missing = None;
                                for (var, capture) in &step.capture {
                                    match capture.apply(&response) {
                                        Some(v) => {
                                            vars.insert(var.clone(), v);
                                        }
                                        None => {
                                            missing = Some(format!(
                                                "capture {var} ({capture}) found nothing"
                                            ));
                                        }
                                    }
                                }
                                match missing {
                                    None => (status, None, None, sent_bytes, received),
                                    Some(m) => (
                                        status,
                                        Some(FailureKind::Assertion),
                                        Some(m),
                                        sent_bytes,
                                        received,
                                    ),
                                }
                            }
                            Err(why) => {
                                let kind = if step.asserts.is_empty() {
                                    FailureKind::HttpStatus
                                } else {
                                    FailureKind::Assertion
                                };
                                (
                                    status,
                                    Some(kind),
                                    Some(shipgate_http::Mismatch::join(&why)),
                                    sent_bytes,
                                    received,
                                )
                            }
                        }
                    }
                    Err(e) => {
                        let kind = http_failure_kind(e.kind());
                        (
                            None,
                            Some(kind),
                            Some(format!("{kind:?}: {}", short(&e.to_string()))),
                            sent_bytes,
                            0,
                        )
                    }
                }
            }
        },
    };
    let done = Instant::now();
    let sample = Sample {
        at: done - shared.start(),
        latency: done - sent,
        from_intended: intended.map(|i| done.saturating_duration_since(i)),
        status,
        failure,
        bytes_sent,
        bytes_received,
    };
    shared.record(shard, endpoint, &sample, error.as_ref());
    failure
        .zip(error)
        .map(|(kind, message)| TaskFailed { kind, message })
}

/// The part of an error message worth grouping by (no per-request numbers).
fn short(message: &str) -> String {
    message
        .split(": ")
        .last()
        .unwrap_or(message)
        .chars()
        .take(120)
        .collect()
}

/// Why a task failed: its kind, as the statistics count it, and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TaskFailed {
    /// How it failed.
    pub kind: FailureKind,
    /// What failed, as the failures table shows it.
    pub message: String,
}

/// One task's result in a smoke pass.
#[derive(Debug)]
pub struct SmokeResult {
    /// `class / request name`.
    pub name: String,
    /// How long it took, or why it failed.
    pub result: Result<Duration, TaskFailed>,
}

/// Runs every class's `on_start`, each task once, then `on_stop`, in order with one user
/// per class, and stops at the first failure: the quick pass before the real load.
pub async fn smoke(plan: &Plan, client: HttpClient) -> Vec<SmokeResult> {
    let engine = Engine::new(plan.clone(), client);
    let shared = engine.shared;
    let mut out = Vec::new();
    for (i, class) in plan.classes.iter().enumerate() {
        let mut me = User::new(&shared, None);
        let endpoints = &shared.endpoints[i];
        let actions = class
            .on_start
            .iter()
            .zip(&endpoints.on_start)
            .chain(class.tasks.iter().map(|(_, a)| a).zip(&endpoints.tasks))
            .chain(class.on_stop.iter().zip(&endpoints.on_stop));
        for (action, endpoint) in actions {
            let start = Instant::now();
            let error = execute(&shared, action, endpoint, &mut me, i, None).await;
            let failed = error.is_some();
            out.push(SmokeResult {
                name: format!("{} / {}", class.name, action.name()),
                result: error.map_or(Ok(start.elapsed()), Err),
            });
            if failed {
                return out;
            }
        }
    }
    out
}
