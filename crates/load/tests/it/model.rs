use std::time::Duration;

use shipgate_load::{Action, Class, Engine, Plan, Shape, Stage, ThinkConfig};
use tokio_util::sync::CancellationToken;

/// Five classes weighted like our users' locustfile, two tasks each weighted 3:1.
fn classes() -> Vec<Class> {
    [
        ("browsing", 50),
        ("auth", 20),
        ("search", 15),
        ("dashboard", 10),
        ("api", 5),
    ]
    .into_iter()
    .map(|(name, weight)| {
        Class::new(name)
            .weight(weight)
            .task(
                3,
                Action::custom(format!("{name}/main"), || async { Ok(()) }),
            )
            .task(
                1,
                Action::custom(format!("{name}/side"), || async { Ok(()) }),
            )
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn open_model_class_and_task_weights_hold_over_10000_iterations() {
    let plan = Plan::new(
        classes(),
        Shape::Open {
            points: vec![(Duration::ZERO, 5000.0), (Duration::from_secs(2), 5000.0)],
            max_vus: 500,
        },
    )
    .unwrap()
    .with_graceful_stop(Duration::from_secs(5));
    let result = Engine::new(plan, crate::client(Duration::from_secs(1)))
        .run(CancellationToken::new())
        .await;
    let total: u64 = result
        .snapshot
        .endpoints()
        .values()
        .map(|e| e.requests())
        .sum();
    assert!(
        (9_990..=10_000).contains(&(total + result.dropped)),
        "{total} + {} dropped",
        result.dropped
    );
    assert_eq!(result.dropped, 0);
    for (class, weight) in [
        ("browsing", 50.0),
        ("auth", 20.0),
        ("search", 15.0),
        ("dashboard", 10.0),
        ("api", 5.0),
    ] {
        let main = result.snapshot.endpoints()[&format!("{class}/main")].requests() as f64;
        let side = result.snapshot.endpoints()[&format!("{class}/side")].requests() as f64;
        let share = (main + side) / total as f64 * 100.0;
        assert!(
            (share - weight).abs() < 1.0,
            "{class}: {share:.2}% of iterations, weight {weight}%"
        );
        assert!(
            (main / (main + side) - 0.75).abs() < 0.01,
            "{class}: task ratio {}",
            main / (main + side)
        );
    }
}

// On a paused clock the run takes virtual time: the samples below land exactly where
// they say, however loaded the machine.
#[tokio::test(start_paused = true)]
async fn stages_reach_each_user_count_with_exact_class_ratios() {
    let plan = Plan::new(
        classes(),
        Shape::Closed(vec![
            Stage {
                users: 20,
                until: Duration::from_secs(1),
                spawn_rate: 1000.0,
            },
            Stage {
                users: 40,
                until: Duration::from_secs(2),
                spawn_rate: 1000.0,
            },
            Stage {
                users: 10,
                until: Duration::from_secs(3),
                spawn_rate: 1000.0,
            },
        ]),
    )
    .unwrap()
    .with_graceful_stop(Duration::from_secs(2))
    .with_think(ThinkConfig::Constant(Duration::from_millis(20)));
    let engine = Engine::new(plan, crate::client(Duration::from_secs(1)));
    let live = engine.live();
    let samples = tokio::spawn(async move {
        let mut seen = Vec::new();
        for at in [800u64, 1800, 2800] {
            // tidy: on a paused clock, a point in virtual time, not synchronisation.
            tokio::time::sleep(Duration::from_millis(if seen.is_empty() {
                at
            } else {
                1000
            }))
            .await;
            seen.push(live.users());
        }
        seen
    });
    let result = engine.run(CancellationToken::new()).await;
    assert_eq!(
        samples.await.unwrap(),
        [20, 40, 10],
        "users at 0.8 s, 1.8 s and 2.8 s"
    );
    // 40 users were started in all: the weighted order gives exactly 20/8/6/4/2.
    let started: Vec<u64> = ["browsing", "auth", "search", "dashboard", "api"]
        .iter()
        .map(|c| result.users_per_class[*c])
        .collect();
    assert_eq!(started, [20, 8, 6, 4, 2]);
    let series = result.snapshot.series().intervals();
    assert_eq!(series[0].users, 20);
    assert_eq!(series[1].users, 40);
    assert_eq!(result.hard_stopped, 0, "users in think time stop at once");
}

#[test]
fn plans_are_validated() {
    // A plan that could not run cannot be made.
    let no_tasks = Plan::new(
        vec![Class::new("empty")],
        Shape::Closed(vec![Stage {
            users: 1,
            until: Duration::from_secs(1),
            spawn_rate: 1.0,
        }]),
    );
    assert_eq!(no_tasks.unwrap_err().kind(), shipgate_load::ErrorKind::Plan);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_can_be_a_tower_service() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = calls.clone();
    let svc = tower::service_fn(move |()| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            if n % 4 == 3 {
                Err("every fourth call fails")
            } else {
                Ok(())
            }
        }
    });
    let plan = Plan::new(
        vec![Class::new("svc").task(1, Action::service("tower service", svc))],
        Shape::Open {
            points: vec![(Duration::ZERO, 400.0), (Duration::from_millis(500), 400.0)],
            max_vus: 10,
        },
    )
    .unwrap()
    .with_graceful_stop(Duration::from_secs(1));
    let result = Engine::new(plan, crate::client(Duration::from_secs(1)))
        .run(CancellationToken::new())
        .await;
    let e = &result.snapshot.endpoints()["tower service"];
    assert_eq!(
        e.requests(),
        calls.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert_eq!(e.failed(), e.requests() / 4);
    assert!(
        result
            .failures
            .keys()
            .any(|(_, m)| m == "every fourth call fails")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_under_a_tower_timeout_fails_as_a_timeout_not_other() {
    // A service that never answers, under a 20 ms `.timeout()` layer.
    let svc = tower::ServiceBuilder::new()
        .timeout(Duration::from_millis(20))
        .service(tower::service_fn(|()| {
            std::future::pending::<Result<(), std::io::Error>>()
        }));
    let plan = Plan::new(
        vec![Class::new("slow").task(1, Action::service("never answers", svc))],
        Shape::Open {
            points: vec![(Duration::ZERO, 50.0), (Duration::from_millis(300), 50.0)],
            max_vus: 20,
        },
    )
    .unwrap()
    .with_graceful_stop(Duration::from_secs(1));
    let result = Engine::new(plan, crate::client(Duration::from_secs(1)))
        .run(CancellationToken::new())
        .await;
    let e = &result.snapshot.endpoints()["never answers"];
    assert!(e.requests() > 0);
    assert_eq!(
        e.failures_of(shipgate_stats::FailureKind::Timeout),
        e.requests()
    );
    assert_eq!(e.failures_of(shipgate_stats::FailureKind::Other), 0);
    assert!(
        result
            .failures
            .keys()
            .any(|(_, m)| m == "request timed out"),
        "{:?}",
        result.failures
    );
}
