//! The closed model: a controller that starts and stops users by stage, and each
//! user's loop of tasks and think time.

use super::*;

/// The class of the `n`-th weighted user.
pub(super) fn class_order(plan: &Plan) -> (Vec<usize>, Vec<usize>) {
    let fixed: Vec<usize> = plan
        .classes
        .iter()
        .enumerate()
        .flat_map(|(i, c)| std::iter::repeat_n(i, c.fixed_count.unwrap_or(0) as usize))
        .collect();
    let weights: Vec<u32> = plan.classes.iter().map(|c| c.weight).collect();
    (fixed, weighted_sequence(&weights))
}

pub(super) struct UserHandle {
    cancel: CancellationToken,
    join: tokio::task::JoinHandle<()>,
}

pub(super) async fn closed<M: MakeSender>(
    plan: &Arc<Plan>,
    shared: &Arc<Shared<M>>,
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
        // Validation refuses more users than classes can take; never index past them.
        let capacity = if sequence.is_empty() {
            fixed.len()
        } else {
            usize::MAX
        };
        while users.len() < target.min(capacity) && allowed > 0 {
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
pub(super) async fn stop_all(users: Vec<UserHandle>, grace: Duration) -> usize {
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
pub(super) async fn pause(d: Duration, cancel: &CancellationToken) -> bool {
    if d.is_zero() {
        tokio::task::coop::consume_budget().await;
        return !cancel.is_cancelled();
    }
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        () = cancel.cancelled() => false,
    }
}

pub(super) async fn user<M: MakeSender>(
    plan: Arc<Plan>,
    shared: Arc<Shared<M>>,
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
        // A rate so low that its period overflows a Duration paces nothing.
        ThinkConfig::Throughput(per_second) if per_second > 0.0 => {
            Duration::try_from_secs_f64(1.0 / per_second).ok()
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
