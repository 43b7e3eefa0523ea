//! A load generator must stop on time whatever the target does. These runs meet every way
//! a request can fail at once or never answer, with no think time, many at a time, while
//! other threads keep every core busy; each run must end by itself within its shape and
//! graceful stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use shipgate_load::Engine;
use shipgate_stats::FailureKind;
use shipgate_testkit::{BlackHole, RefusingPort};
use tokio_util::sync::CancellationToken;

use crate::{client, plan};

/// Threads that spin until dropped, so that the runs below compete for the cores as they
/// do on a busy CI machine.
struct CpuBurn {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuBurn {
    fn start(threads: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for CpuBurn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Two classes with no think time: one whose requests fail without a byte sent (its login
/// never captures the token the next request needs: nothing in the failure path awaits),
/// one that sends to `host`.
fn failing_config(host: &str) -> String {
    format!(
        r#"
[load]
host = "{host}"
graceful_stop = "1s"
shape = {{ type = "constant", users = 4, duration = "1s", spawn_rate = 100 }}

[[load.users]]
name = "plain"
think = "none"
[[load.users.tasks]]
request = {{ name = "GET /health", url = "{{{{host}}}}/health" }}

[[load.users]]
name = "auth"
think = "none"
on_start = [{{ name = "login", method = "POST", url = "{{{{host}}}}/login", capture = {{ token = "json $.token" }} }}]
[[load.users.tasks]]
request = {{ name = "GET /dashboard", url = "{{{{host}}}}/dashboard", headers = {{ Authorization = "Bearer {{{{token}}}}" }} }}
"#
    )
}

/// What one run reports back to the watchdog.
struct Ran {
    elapsed: Duration,
    requests: u64,
    unbuildable: u64,
}

/// Runs the plan on its own runtime (`workers == 0`: a single-threaded one, as
/// `shipgate-load --threads 1` builds) on its own thread, and sends back what happened.
fn spawn_run(host: String, workers: usize, done: mpsc::Sender<(String, Ran)>) {
    std::thread::spawn(move || {
        let rt = if workers == 0 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(workers);
            b
        }
        .enable_all()
        .build()
        .unwrap();
        let ran = rt.block_on(async {
            let p = plan(&failing_config(&host));
            let start = Instant::now();
            let result = Engine::new(p, client(Duration::from_millis(300)))
                .run(CancellationToken::new())
                .await;
            let all = result.snapshot.aggregate();
            Ran {
                elapsed: start.elapsed(),
                requests: all.requests(),
                unbuildable: all.failures_of(FailureKind::Other),
            }
        });
        let _ = done.send((format!("{host} on {workers} workers"), ran));
    });
}

#[test]
fn users_whose_requests_fail_at_once_or_never_answer_stop_on_time_under_cpu_load() {
    let hole = BlackHole::start().unwrap();
    let refused = RefusingPort::new();
    let _burn = CpuBurn::start(2);
    let (tx, rx) = mpsc::channel();
    let targets = [
        format!("http://{}", hole.addr()),
        format!("http://{}", refused.addr()),
    ];
    let mut runs = 0;
    for round in 0..3 {
        for target in &targets {
            // Single-threaded and multi-threaded runtimes alike.
            spawn_run(target.clone(), round % 2 * 2, tx.clone());
            runs += 1;
        }
    }
    drop(tx);
    // Shape (1 s) plus graceful stop (1 s) is the longest a run may take; beyond that
    // the hard stop aborts what is left. The watchdog allows for six runtimes and two
    // spinning threads sharing the machine's cores, and names the run that did not stop.
    let bound = Duration::from_secs(2);
    let watchdog = Instant::now() + Duration::from_secs(30);
    let mut finished = Vec::new();
    while finished.len() < runs {
        match rx.recv_timeout(watchdog.saturating_duration_since(Instant::now())) {
            Ok(done) => finished.push(done),
            Err(_) => panic!(
                "{} of {runs} runs did not stop within 30 s; finished: {:?}",
                runs - finished.len(),
                finished.iter().map(|(n, _)| n).collect::<Vec<_>>()
            ),
        }
    }
    for (name, ran) in &finished {
        assert!(
            ran.elapsed < bound + Duration::from_secs(3),
            "{name}: ran {:?}, beyond the shape and graceful stop",
            ran.elapsed
        );
        assert!(ran.requests > 0, "{name}: nothing was recorded");
        assert!(
            ran.unbuildable > 0,
            "{name}: the requests that cannot be built were tried and counted"
        );
    }
}
