//! The open model: iterations dispatched on a schedule, dropped when no VU is idle.

use super::*;

pub(super) async fn open<M: MakeSender>(
    plan: &Arc<Plan>,
    shared: &Arc<Shared<M>>,
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
