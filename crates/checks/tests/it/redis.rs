use shipgate_report::Outcome;
use shipgate_testkit::{Redis, RefusingPort};

use crate::{by_name, run_checks};

#[tokio::test]
async fn round_trip_memory_pressure_and_refusal() {
    let redis = Redis::start().expect("Redis");
    let full = Redis::start().expect("Redis");
    // Give the second one a 20 MiB limit and fill it one value at a time until it is
    // 80% used: a warning (75% warns, 95% fails).
    let mut raw = tokio::net::TcpStream::connect(("127.0.0.1", full.port()))
        .await
        .unwrap();
    assert!(
        command(
            &mut raw,
            &["CONFIG", "SET", "maxmemory", &(20u64 << 20).to_string()]
        )
        .await
        .starts_with("+OK")
    );
    let value = "x".repeat(256 << 10);
    for i in 0.. {
        let info = command(&mut raw, &["INFO", "memory"]).await;
        let used: f64 = info
            .lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        if used / f64::from(20u32 << 20) >= 0.80 {
            break;
        }
        assert!(
            command(&mut raw, &["SET", &format!("fill{i}"), &value])
                .await
                .starts_with("+OK")
        );
    }
    drop(raw);

    let refused = RefusingPort::new().addr();
    let text = format!(
        r#"
[[checks.pre]]
name = "cache"
redis = {{ url = "{}" }}
[[checks.pre]]
name = "full"
redis = {{ url = "{}" }}
[[checks.pre]]
name = "down"
redis = {{ url = "redis://{refused}" }}
"#,
        redis.url(),
        full.url()
    );
    let findings = run_checks(&text).await;
    let cache = by_name(&findings, "cache");
    assert_eq!(cache.outcome, Outcome::Pass, "{cache:#?}");
    assert!(cache.message.contains("SET/GET/DEL"), "{}", cache.message);
    let f = by_name(&findings, "full");
    assert_eq!(f.outcome, Outcome::Warn, "{f:#?}");
    assert!(
        f.message.contains("% )") || f.message.contains('%'),
        "{}",
        f.message
    );
    let down = by_name(&findings, "down");
    assert_eq!(down.outcome, Outcome::Fail);
    assert!(down.message.contains("cannot connect"), "{}", down.message);
}

/// Sends one command in RESP and reads one reply (a status line or a bulk string).
async fn command(conn: &mut tokio::net::TcpStream, args: &[&str]) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    conn.write_all(out.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    if let Some(len) = line.strip_prefix('$') {
        let len: usize = len.trim().parse().unwrap();
        let mut body = vec![0u8; len + 2];
        reader.read_exact(&mut body).await.unwrap();
        return String::from_utf8_lossy(&body).into_owned();
    }
    line
}
