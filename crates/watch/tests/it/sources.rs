//! The host, database and Redis sources against the real thing: values in their
//! units, and a server that goes away is no data, never a value.

use std::time::Duration;

use shipgate_testkit::{MariaDb, Postgres, Redis};
use shipgate_watch::source::Source;
use shipgate_watch::{History, Missing, Reading, Sample, SystemClock, WatchConfig};

fn source(kind: &str) -> (WatchConfig, Source) {
    let text = format!(
        "timeout = \"10s\"\nsources.s = {kind}\n[[rules]]\nname = \"r\"\nsource = \"s\"\nwhen = \"{} > 0\"",
        if kind.contains("host") {
            "cpu"
        } else if kind.contains("redis") {
            "clients"
        } else {
            "connections"
        }
    );
    let config: WatchConfig = toml::from_str(&text).unwrap();
    config.validate().unwrap();
    let s = Source::new("s", &config.sources["s"], &config);
    (config, s)
}

async fn sample(s: &Source) -> Sample {
    s.sample(&crate::support::client(), &SystemClock).await
}

fn value(sample: &Sample, field: &str) -> f64 {
    match &sample.readings[field] {
        Reading::Value(v) => *v,
        other => panic!("{field}: {other:?} in {sample:?}"),
    }
}

#[tokio::test]
async fn the_host_gives_ratios_and_load() {
    let (_, s) = source("{ type = \"host\", disk = \"/\" }");
    let first = sample(&s).await;
    for field in ["cpu", "memory", "disk"] {
        let v = value(&first, field);
        assert!((0.0..=1.0).contains(&v), "{field} = {v}");
    }
    assert!(value(&first, "memory") > 0.0);
    assert!(value(&first, "load1") >= 0.0);
    let (_, nowhere) = source("{ type = \"host\", disk = \"relative/path\" }");
    assert!(matches!(
        sample(&nowhere).await.readings["disk"],
        Reading::NoData {
            missing: Missing::Error,
            ..
        }
    ));
}

#[tokio::test]
async fn postgres_and_mariadb_count_connections_against_their_limit() {
    let pg = Postgres::start().expect("start PostgreSQL");
    let maria = MariaDb::start().expect("start MariaDB");
    for url in [pg.url(), maria.url()] {
        let kind = if url.starts_with("postgres") {
            "postgres"
        } else {
            "mariadb"
        };
        let (_, s) = source(&format!("{{ type = \"{kind}\", url = \"{url}\" }}"));
        let got = sample(&s).await;
        let (used, max) = (value(&got, "connections"), value(&got, "max_connections"));
        assert!(used >= 1.0 && max >= 10.0, "{kind}: {used} of {max}");
        assert!((value(&got, "connections_ratio") - used / max).abs() < 1e-9);
        assert_eq!(value(&got, "slow_queries"), 0.0, "{kind}");
    }
    let url = pg.url();
    drop(pg);
    let (_, s) = source(&format!("{{ type = \"postgres\", url = \"{url}\" }}"));
    let gone = sample(&s).await;
    match &gone.readings["connections"] {
        Reading::NoData {
            missing: Missing::Error,
            message,
        } => {
            assert!(
                !message.contains(&url),
                "the URL is not repeated: {message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn redis_memory_is_a_ratio_only_under_a_limit() {
    let redis = Redis::start().expect("start redis-server");
    let (_, s) = source(&format!(
        "{{ type = \"redis\", url = \"{}\" }}",
        redis.url()
    ));
    let unlimited = sample(&s).await;
    assert!(value(&unlimited, "memory") > 0.0);
    assert!(value(&unlimited, "clients") >= 1.0);
    assert!(matches!(
        unlimited.readings["memory_ratio"],
        Reading::NoData {
            missing: Missing::Empty,
            ..
        }
    ));
    // Set a limit, then read the ratio against it.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", redis.port())).unwrap();
    use std::io::{Read, Write};
    stream
        .write_all(b"CONFIG SET maxmemory 100000000\r\n")
        .unwrap();
    let mut ok = [0u8; 5];
    stream.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"+OK\r\n");
    let limited = sample(&s).await;
    let ratio = value(&limited, "memory_ratio");
    assert!(ratio > 0.0 && ratio < 1.0, "{ratio}");
    assert_eq!(value(&limited, "maxmemory"), 100_000_000.0);
}

#[test]
fn the_history_rotates_by_size_and_keeps_three() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    let mut h = History::open(&path, 2048).unwrap();
    let sample = Sample {
        source: "s".into(),
        at: std::time::SystemTime::now(),
        took: Duration::from_millis(1),
        readings: [("x".to_owned(), Reading::Value(1.0))].into(),
    };
    for _ in 0..200 {
        h.sample(&sample, false).unwrap();
    }
    for n in 1..=3 {
        let rotated = dir.path().join(format!("h.jsonl.{n}"));
        let len = std::fs::metadata(&rotated).unwrap().len();
        assert!(len <= 2048 && len > 1500, "{n}: {len}");
    }
    assert!(!dir.path().join("h.jsonl.4").exists());
    let live = std::fs::read_to_string(&path).unwrap();
    assert!(
        live.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
}
