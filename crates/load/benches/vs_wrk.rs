//! `cargo xtask bench load`: shipgate-load against wrk, in one run, on one machine.
//!
//! nginx serves a small static file on loopback, pinned to core 1; each generator is
//! pinned to core 0 and sends to it for the same time over the same number of
//! keep-alive connections. Printed: requests per second and generator CPU-µs per
//! request for both, and their ratio; then resident memory for 100,000 virtual users
//! asleep in think time, and the open model's achieved rate at 20,000/s.

use std::process::Command;
use std::time::{Duration, Instant};

use shipgate_load::{Action, Class, Engine, Plan, Shape, Stage, ThinkConfig};
use shipgate_testkit::Nginx;
use tokio_util::sync::CancellationToken;

const CONNECTIONS: u32 = 50;
const SECONDS: u64 = 10;

fn cpu_seconds_self() -> f64 {
    // utime + stime of this process, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / 100.0
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb / 1024.0
}

fn pin_self(core: usize) {
    let _ = Command::new("taskset")
        .args([
            "-a",
            "-p",
            "-c",
            &core.to_string(),
            &std::process::id().to_string(),
        ])
        .output();
}

/// Runs `program args` pinned to core 0 under GNU time: (its output, CPU seconds).
fn timed(program: &std::ffi::OsStr, args: &[&std::ffi::OsStr]) -> (String, f64) {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "CPU %U %S", "taskset", "-c", "0"])
        .arg(program)
        .args(args)
        .output()
        .expect("GNU time and taskset: apt-get install -y time util-linux");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let cpu = text
        .lines()
        .find_map(|l| l.strip_prefix("CPU "))
        .map_or(0.0, |c| {
            c.split_whitespace()
                .filter_map(|x| x.parse::<f64>().ok())
                .sum()
        });
    (text, cpu)
}

/// wrk with one thread: (requests, CPU seconds).
fn wrk(url: &str) -> (f64, f64) {
    let (connections, duration) = (format!("-c{CONNECTIONS}"), format!("-d{SECONDS}s"));
    let args = ["-t1", &connections, &duration, url].map(std::ffi::OsStr::new);
    let (text, cpu) = timed("wrk".as_ref(), &args);
    let requests: f64 = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("wrk's report (apt-get install -y wrk)");
    (requests, cpu)
}

fn plan(classes: Vec<Class>, shape: Shape) -> Plan {
    Plan::new(classes, shape)
        .expect("a plan that runs")
        .with_graceful_stop(Duration::from_secs(5))
}

/// The `shipgate-load` binary (release; `cargo xtask bench load` builds it first), as
/// ops people run it, against `url`: (requests, CPU seconds).
fn binary(url: &str) -> Option<(f64, f64)> {
    let bin =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/shipgate-load");
    if !bin.exists() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shipgate.toml");
    std::fs::write(
        &config,
        format!(
            "[load]\nhost = \"{url}\"\n\
             shape = {{ type = \"stages\", stages = [{{ users = {CONNECTIONS}, duration = \"{SECONDS}s\", spawn_rate = 1000 }}] }}\n\
             [[load.users]]\nname = \"bench\"\n\
             [[load.users.tasks]]\nrequest = {{ name = \"GET /hello.txt\", url = \"{{{{host}}}}\" }}\n"
        ),
    )
    .unwrap();
    let (text, cpu) = timed(bin.as_os_str(), &["--config".as_ref(), config.as_os_str()]);
    let requests: f64 = text
        .lines()
        .find(|l| l.starts_with("Aggregated"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())?;
    Some((requests, cpu))
}

/// One closed-model run of shipgate-load on this thread's runtime: (requests, CPU
/// seconds, failures, RSS samples in MiB taken every second).
fn ours(
    runtime: &tokio::runtime::Runtime,
    step: &shipgate_http::Step,
    client: &shipgate_http::HttpClient,
) -> (f64, f64, u64, Vec<f64>) {
    let closed = plan(
        vec![Class::new("bench").task(1, Action::Http(Box::new(step.clone())))],
        Shape::Closed(vec![Stage {
            users: CONNECTIONS,
            until: Duration::from_secs(SECONDS),
            spawn_rate: 1e6,
        }]),
    );
    let cpu_before = cpu_seconds_self();
    let (result, rss) = runtime.block_on(async {
        let probe = tokio::spawn(async {
            let mut rss = Vec::new();
            for _ in 0..SECONDS {
                // tidy: pacing, not synchronisation (one memory sample per second).
                tokio::time::sleep(Duration::from_secs(1)).await;
                rss.push(rss_mib());
            }
            rss
        });
        let result = Engine::new(closed, client.clone())
            .run(CancellationToken::new())
            .await;
        (result, probe.await.unwrap())
    });
    let cpu = cpu_seconds_self() - cpu_before;
    let all = result.snapshot.aggregate();
    (all.requests() as f64, cpu, all.failed(), rss)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench --bench vs_wrk -- ours` runs one part (for a profiler): wrk, ours
    // (the engine in this process), binary, sleepers or open. With no argument, all.
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let part = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let rounds = if only.is_some() { 1 } else { 3 };
    let nginx = Nginx::builder()
        .file("hello.txt", "hello, world\n")
        .server_config("keepalive_requests 1000000;")
        .start()
        .expect("nginx");
    let _ = Command::new("taskset")
        .args(["-a", "-p", "-c", "1", &nginx.pid().to_string()])
        .output();
    let url = format!("{}/hello.txt", nginx.url());

    pin_self(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let step: shipgate_http::Step =
        toml::from_str(&format!("url = \"{url}\"\nname = \"GET /hello.txt\"")).unwrap();
    let client = shipgate_http::HttpClient::new(&Default::default()).unwrap();

    let per = |cpu: f64, n: f64| if n > 0.0 { cpu * 1e6 / n } else { f64::NAN };
    if part("wrk") || part("ours") || part("binary") {
        println!(
            "generator on core 0, nginx on core 1, {CONNECTIONS} keep-alive connections, \
             {rounds} × {SECONDS} s each, alternating; medians"
        );
        let (mut wrk_rate, mut wrk_cost, mut our_rate, mut our_cost) =
            (vec![], vec![], vec![], vec![]);
        let (mut bin_rate, mut bin_cost) = (vec![], vec![]);
        let mut rss_growth = vec![];
        let mut failures = 0;
        for _ in 0..rounds {
            if part("wrk") {
                let (n, cpu) = wrk(&url);
                wrk_rate.push(n / SECONDS as f64);
                wrk_cost.push(per(cpu, n));
            }
            if part("binary")
                && let Some((n, cpu)) = binary(&format!("{}/hello.txt", nginx.url()))
            {
                bin_rate.push(n / SECONDS as f64);
                bin_cost.push(per(cpu, n));
            }
            if part("ours") {
                let (n, cpu, failed, rss) = ours(&runtime, &step, &client);
                our_rate.push(n / SECONDS as f64);
                our_cost.push(per(cpu, n));
                failures += failed;
                // Flat memory: the last second's RSS against the second second's.
                if rss.len() >= 2 {
                    rss_growth.push(rss[rss.len() - 1] - rss[1]);
                }
            }
        }
        if !wrk_rate.is_empty() {
            println!(
                "wrk           {:>9.0} req/s  {:>6.2} CPU-µs/request  (runs: {wrk_cost:.2?})",
                median(wrk_rate),
                median(wrk_cost.clone()),
            );
        }
        if !our_rate.is_empty() {
            println!(
                "shipgate-load {:>9.0} req/s  {:>6.2} CPU-µs/request  (runs: {our_cost:.2?}; \
                 failures {failures}; every request in HDR histograms; \
                 RSS growth from second 2 to {SECONDS}: {rss_growth:.1?} MiB)",
                median(our_rate),
                median(our_cost.clone()),
            );
        }
        if !bin_rate.is_empty() {
            println!(
                "shipgate-load {:>9.0} req/s  {:>6.2} CPU-µs/request  (the release binary, \
                 a single-threaded runtime on one CPU; runs: {bin_cost:.2?})",
                median(bin_rate),
                median(bin_cost.clone()),
            );
        }
        if !wrk_cost.is_empty() && !our_cost.is_empty() {
            println!(
                "ratio shipgate/wrk CPU per request: {:.2} (engine in this process)",
                median(our_cost) / median(wrk_cost.clone())
            );
        }
        if !wrk_cost.is_empty() && !bin_cost.is_empty() {
            println!(
                "ratio shipgate/wrk CPU per request: {:.2} (the binary)",
                median(bin_cost) / median(wrk_cost)
            );
        }
    }

    if part("sleepers") {
        // 100,000 users asleep in think time (a no-op task, then a long sleep).
        let rss_before = rss_mib();
        let sleepers = plan(
            vec![
                Class::new("sleeper")
                    .task(1, Action::custom("noop", || async { Ok(()) }))
                    .think(ThinkConfig::Constant(Duration::from_secs(600))),
            ],
            Shape::Closed(vec![Stage {
                users: 100_000,
                until: Duration::from_secs(3),
                spawn_rate: 1e9,
            }]),
        );
        let engine = Engine::new(sleepers, client.clone());
        let live = engine.live();
        let peak = runtime.block_on(async {
            let probe = tokio::spawn(async move {
                // tidy: pacing, not synchronisation (memory measured mid-run).
                tokio::time::sleep(Duration::from_millis(2500)).await;
                (live.users(), rss_mib())
            });
            let _ = engine.run(CancellationToken::new()).await;
            probe.await.unwrap()
        });
        println!(
            "100,000 sleeping users: {} running, RSS {:.0} MiB ({:.0} MiB over the start)",
            peak.0,
            peak.1,
            peak.1 - rss_before
        );
    }

    if part("open") {
        // The open model at 20,000 iterations per second for 10 s.
        let open = plan(
            vec![Class::new("open").task(1, Action::Http(Box::new(step)))],
            Shape::Open {
                points: vec![
                    (Duration::ZERO, 20_000.0),
                    (Duration::from_secs(SECONDS), 20_000.0),
                ],
                max_vus: 2_000,
            },
        );
        let start = Instant::now();
        let result = runtime.block_on(Engine::new(open, client).run(CancellationToken::new()));
        let done = result.snapshot.aggregate().requests();
        let achieved = done as f64 / SECONDS as f64;
        println!(
            "open model at 20,000/s for {SECONDS} s: {done} iterations ({achieved:.0}/s, {:+.2}% of target), {} dropped, finished in {:.1} s",
            (achieved / 20_000.0 - 1.0) * 100.0,
            result.dropped,
            start.elapsed().as_secs_f64()
        );
    }
}
