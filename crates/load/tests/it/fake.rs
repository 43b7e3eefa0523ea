//! The engine against a fake sender under tokio's paused clock: no network, no sleeps
//! in real time, and exact numbers (every latency is the fake's, to the microsecond).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode, Version};
use shipgate_http::{Error, ErrorKind, MakeSender, Response, Sender};
use shipgate_load::Engine;
use shipgate_stats::FailureKind;
use tokio_util::sync::CancellationToken;

use crate::plan;

/// A site in memory: `POST /login` hands out a token and a session cookie;
/// `GET /items/TOKEN` answers 200 only with that token's cookie, 401 otherwise;
/// `/slow` takes ten times the usual latency; anything else is refused at once.
#[derive(Clone)]
struct FakeSite {
    latency: Duration,
    /// Every request, as `METHOD path cookie`.
    log: Arc<Mutex<Vec<String>>>,
    logins: Arc<Mutex<u32>>,
}

impl FakeSite {
    fn new(latency: Duration) -> Self {
        Self {
            latency,
            log: Arc::default(),
            logins: Arc::default(),
        }
    }
}

impl MakeSender for FakeSite {
    type Sender = Self;
    fn make_sender(&self) -> Self {
        self.clone()
    }
}

impl Sender for FakeSite {
    async fn send(&mut self, request: &Request<Bytes>) -> Result<Response, Error> {
        let path = request.uri().path().to_owned();
        let cookie = request
            .headers()
            .get(http::header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        self.log
            .lock()
            .unwrap()
            .push(format!("{} {path} {cookie}", request.method()));
        let mut headers = HeaderMap::new();
        let (status, body, latency) = if path == "/login" {
            let n = {
                let mut logins = self.logins.lock().unwrap();
                *logins += 1;
                *logins
            };
            headers.insert(
                http::header::SET_COOKIE,
                HeaderValue::from_str(&format!("sid=s{n}; Path=/")).unwrap(),
            );
            (
                StatusCode::OK,
                format!(r#"{{"token":"t{n}"}}"#),
                self.latency,
            )
        } else if let Some(token) = path.strip_prefix("/items/") {
            let expected = format!("sid=s{}", token.trim_start_matches('t'));
            let status = if cookie == expected {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            };
            (status, String::new(), self.latency)
        } else if path == "/slow" {
            (StatusCode::OK, String::new(), self.latency * 10)
        } else {
            return Err(Error::new(ErrorKind::Connect, "refused"));
        };
        // tidy: the fake's service time, on the paused clock (no real time passes)
        tokio::time::sleep(latency).await;
        Ok(Response::new(
            status,
            Version::HTTP_11,
            headers,
            Bytes::from(body),
            latency,
        ))
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(start_paused = true)]
async fn an_open_model_over_a_fake_sender_runs_its_exact_schedule() {
    let site = FakeSite::new(ms(40));
    let p = plan(
        r#"
[load]
host = "http://fake"
shape = { type = "arrival", rate = 100, duration = "10s", max_vus = 10 }
[[load.users]]
name = "reader"
[[load.users.tasks]]
request = { name = "item", url = "{{host}}/items/t0" }
"#,
    );
    let result = Engine::new(p, site.clone())
        .run(CancellationToken::new())
        .await;
    let item = result.snapshot.summary("item").unwrap();
    // 100 a second for 10 s, 4 in flight at a time (40 ms each): nothing dropped.
    assert_eq!(item.requests + result.dropped, 1000);
    assert_eq!(result.dropped, 0);
    // The fake answers 401 (no cookie): every one fails on its status, none otherwise.
    assert_eq!(item.stats.failures_of(FailureKind::HttpStatus), 1000);
    let latency = item.latency.unwrap();
    assert!(latency.min >= ms(40) && latency.max < ms(41), "{latency:?}");
    assert_eq!(site.log.lock().unwrap().len(), 1000);
}

#[tokio::test(start_paused = true)]
async fn an_open_model_drops_what_its_vus_cannot_carry() {
    // 100 a second at 50 ms each needs 5 VUs; with 2, most arrivals find none idle.
    let site = FakeSite::new(ms(50));
    let p = plan(
        r#"
[load]
host = "http://fake"
shape = { type = "arrival", rate = 100, duration = "5s", max_vus = 2 }
[[load.users]]
name = "reader"
[[load.users.tasks]]
request = { name = "slow", url = "{{host}}/items/t0" }
"#,
    );
    let result = Engine::new(p, site).run(CancellationToken::new()).await;
    let sent = result.snapshot.summary("slow").unwrap().requests;
    assert_eq!(sent + result.dropped, 500);
    // Two VUs busy 50 ms each carry at most 40 a second (200 of the 500); an arrival
    // due at the very instant a VU finishes may find it not yet idle and wait for the
    // next, 60 ms a turn (166).
    assert!(
        (166..=200).contains(&sent),
        "{sent} sent, {} dropped",
        result.dropped
    );
}

#[tokio::test(start_paused = true)]
async fn captures_and_cookies_stay_with_the_user_that_got_them() {
    let site = FakeSite::new(ms(10));
    let p = plan(
        r#"
[load]
host = "http://fake"
graceful_stop = "1s"
shape = { type = "constant", users = 3, duration = "5s", spawn_rate = 100 }
[[load.users]]
name = "member"
think = { constant = "500ms" }
on_start = [{ name = "login", method = "POST", url = "{{host}}/login", capture = { token = "json $.token" } }]
[[load.users.tasks]]
request = { name = "item", url = "{{host}}/items/{{token}}", assert = ["status == 200"] }
"#,
    );
    let result = Engine::new(p, site.clone())
        .run(CancellationToken::new())
        .await;
    let item = result.snapshot.summary("item").unwrap();
    assert_eq!(item.failures, 0, "{:?}", result.failures);
    // Each user: one request every 510 ms over about 5 s.
    assert!((27..=33).contains(&item.requests), "{}", item.requests);
    assert_eq!(*site.logins.lock().unwrap(), 3);
    for line in site.log.lock().unwrap().iter() {
        if let Some(rest) = line.strip_prefix("GET /items/t") {
            let (n, cookie) = rest.split_once(' ').unwrap();
            assert_eq!(cookie, format!("sid=s{n}"), "{line}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_paced_user_behind_schedule_records_latency_from_when_each_task_was_due() {
    // Due every 100 ms; each request takes 1 s. Service time stays 1 s, but the tenth
    // request was due at 0.9 s and done at 10 s: the corrected latency says so.
    let site = FakeSite::new(ms(100));
    let p = plan(
        r#"
[load]
host = "http://fake"
graceful_stop = "0s"
shape = { type = "constant", users = 1, duration = "10s", spawn_rate = 100 }
[[load.users]]
name = "paced"
think = { pacing = "100ms" }
[[load.users.tasks]]
request = { name = "slow", url = "{{host}}/slow" }
"#,
    );
    let result = Engine::new(p, site).run(CancellationToken::new()).await;
    let slow = result.snapshot.summary("slow").unwrap();
    assert!((9..=11).contains(&slow.requests), "{}", slow.requests);
    let service = slow.latency.unwrap();
    assert!(service.max < ms(1001), "{service:?}");
    let corrected = slow.corrected.unwrap();
    assert!(corrected.max > ms(8000), "{corrected:?}");
}

#[tokio::test(start_paused = true)]
async fn a_refused_request_is_a_connect_failure_with_the_senders_message() {
    let site = FakeSite::new(ms(1));
    let p = plan(
        r#"
[load]
host = "http://fake"
shape = { type = "arrival", rate = 10, duration = "1s", max_vus = 5 }
[[load.users]]
name = "lost"
[[load.users.tasks]]
request = { name = "gone", url = "{{host}}/gone" }
"#,
    );
    let result = Engine::new(p, site).run(CancellationToken::new()).await;
    let gone = result.snapshot.summary("gone").unwrap();
    assert_eq!(gone.stats.failures_of(FailureKind::Connect), 10);
    let messages: Vec<_> = result.failures.keys().map(|(_, m)| m.as_str()).collect();
    assert_eq!(messages, ["Connect: refused"]);
}
