use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use fred::prelude::*;
use shipgate_testkit::{DEFAULT_INDEX, MariaDb, Nginx, Postgres, Redis};
use sqlx::{Connection, Row};

/// Asserts nothing listens on `port` any more.
fn assert_stopped(port: u16) {
    let err =
        TcpStream::connect(("127.0.0.1", port)).expect_err("the server should be gone after drop");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn postgres_runs_real_queries_and_stops_on_drop() {
    let pg = Postgres::start().expect("start PostgreSQL");
    let mut conn = sqlx::PgConnection::connect(&pg.url()).await.unwrap();
    let version: String = sqlx::query("SELECT version()")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert!(version.starts_with("PostgreSQL"), "{version}");
    sqlx::query("CREATE TABLE t (id int PRIMARY KEY, name text)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
        .execute(&mut conn)
        .await
        .unwrap();
    let n: i64 = sqlx::query("SELECT count(*) FROM t")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
    sqlx::query("CREATE DATABASE other")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    sqlx::PgConnection::connect(&pg.url_for("other"))
        .await
        .unwrap()
        .close()
        .await
        .unwrap();

    let port = pg.port();
    drop(pg);
    assert_stopped(port);
}

#[tokio::test]
async fn mariadb_runs_real_queries_over_tcp_as_root() {
    let db = MariaDb::start().expect("start MariaDB");
    let mut conn = sqlx::MySqlConnection::connect(&db.url()).await.unwrap();
    let version: String = sqlx::query("SELECT VERSION()")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert!(version.contains("MariaDB"), "{version}");
    sqlx::query("CREATE TABLE t (id INT PRIMARY KEY)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO t VALUES (7)")
        .execute(&mut conn)
        .await
        .unwrap();
    let id: i32 = sqlx::query("SELECT id FROM t")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(id, 7);
    conn.close().await.unwrap();

    let port = db.port();
    drop(db);
    assert_stopped(port);
}

#[tokio::test]
async fn redis_answers_commands() {
    let redis = Redis::start().expect("start Redis");
    let client = Builder::from_config(Config::from_url(&redis.url()).unwrap())
        .build()
        .unwrap();
    client.init().await.unwrap();
    let pong: String = client.ping(None).await.unwrap();
    assert_eq!(pong, "PONG");
    let _: () = client
        .set("shipgate:testkit", "v1", None, None, false)
        .await
        .unwrap();
    let value: String = client.get("shipgate:testkit").await.unwrap();
    assert_eq!(value, "v1");
    client.quit().await.unwrap();

    let port = redis.port();
    drop(redis);
    assert_stopped(port);
}

fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn nginx_serves_files_and_extra_directives() {
    let nginx = Nginx::builder()
        .file("static/app.css", "body { color: black }\n")
        .server_config("add_header X-Frame-Options DENY always;")
        .server_config("location = /teapot { return 418 'short and stout'; }")
        .start()
        .expect("start nginx");

    let index = http_get(nginx.port(), "/");
    assert!(index.starts_with("HTTP/1.1 200 OK"), "{index}");
    assert!(index.ends_with(DEFAULT_INDEX), "{index}");
    assert!(index.contains("X-Frame-Options: DENY"), "{index}");

    let css = http_get(nginx.port(), "/static/app.css");
    assert!(css.contains("Content-Type: text/css"), "{css}");

    std::fs::write(nginx.root().join("late.txt"), "added after start").unwrap();
    assert!(http_get(nginx.port(), "/late.txt").ends_with("added after start"));
    assert!(http_get(nginx.port(), "/teapot").starts_with("HTTP/1.1 418"));
    assert!(http_get(nginx.port(), "/missing").starts_with("HTTP/1.1 404"));

    let port = nginx.port();
    drop(nginx);
    assert_stopped(port);
}

#[test]
fn servers_started_together_get_different_ports() {
    let a = Redis::start().unwrap();
    let b = Redis::start().unwrap();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.pid(), b.pid());
}

#[test]
fn prometheus_scrapes_its_target_and_alertmanager_takes_alerts() {
    let target = Nginx::builder()
        .file("metrics", "# TYPE up_test gauge\nup_test 7\n")
        .start()
        .expect("start nginx");
    let prom = shipgate_testkit::Prometheus::builder()
        .scrape(format!("127.0.0.1:{}", target.port()))
        .interval(Duration::from_millis(200))
        .start()
        .expect("start prometheus (apt-get install prometheus)");
    let port = prom.port();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let body = http_get(port, "/api/v1/query?query=up_test");
        if body.contains("\"7\"") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never scraped: {body}"
        );
        // tidy: polling a real server's scrape loop, which runs on its own clock
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(prom);
    assert_stopped(port);

    let am = shipgate_testkit::Alertmanager::start()
        .expect("start alertmanager (apt-get install prometheus-alertmanager)");
    let am_port: u16 = am.url().rsplit(':').next().unwrap().parse().unwrap();
    let body = r#"[{"labels":{"alertname":"TestkitProbe"}}]"#;
    let mut stream = TcpStream::connect(("127.0.0.1", am_port)).unwrap();
    write!(
        stream,
        "POST /api/v2/alerts HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
    let alerts = http_get(am_port, "/api/v2/alerts");
    assert!(alerts.contains("TestkitProbe"), "{alerts}");
}
