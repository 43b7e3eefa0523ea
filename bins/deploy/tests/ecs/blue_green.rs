//! The `ecs` driver's blue-green through an ALB, against moto_server: moto's ELBv2 API
//! holds the listeners and their weights (read here through moto, not the code under
//! test), CloudWatch the alarm. An ALB in moto routes no traffic: the test listener's
//! check goes to a real nginx standing in for the ALB's test port.

use std::process::{Output, Stdio};

use serde_json::json;
use shipgate_testkit::{Moto, moto_shop};

use super::{ECS, command_in, text, until, world};

/// Two services `shop-blue` (serving v1) and `shop-green` (scaled to zero), each with
/// its target group, behind a production listener (all to blue) and a test listener.
struct BlueGreen {
    moto: Moto,
    dir: tempfile::TempDir,
    listener: String,
    test_listener: String,
    /// The ALB's test port, as far as these tests go: nginx serving `/health`.
    nginx: shipgate_testkit::Nginx,
}

impl BlueGreen {
    /// `settings` go into `[deploy.driver.blue_green]` (the test URL is added), `alarms`
    /// into `[deploy.driver]`.
    fn new(settings: &str, alarms: &[&str]) -> Self {
        let (moto, _, network) = world(2, &["v1", "v2"]);
        let alb = moto_shop::blue_green(&moto, &network).unwrap();
        for alarm in alarms {
            moto_shop::alarm(&moto, alarm).unwrap();
        }
        let nginx = shipgate_testkit::Nginx::builder()
            .file("health", "ok\n")
            .start()
            .expect("nginx (cargo xtask setup installs it)");
        let dir = tempfile::tempdir().unwrap();
        let alarms: Vec<String> = alarms.iter().map(|a| format!("{a:?}")).collect();
        let config = format!(
            r#"
[environments.staging]

[deploy]
state_dir = "state"
timeout = "60s"

[deploy.driver]
type = "ecs"
cluster = "shop"
container = "web"
endpoint_url = "{url}"
region = "us-east-1"
rollout = "counts"
poll = "100ms"
wait = "5s"
alarms = [{alarms}]

[deploy.driver.blue_green]
listener = "{prod}"
test_listener = "{test}"
test_timeout = "2s"
blue = {{ service = "shop-blue", target_group = "{blue}" }}
green = {{ service = "shop-green", target_group = "{green}" }}
{settings}
"#,
            url = moto.url(),
            alarms = alarms.join(", "),
            prod = alb.listener,
            test = alb.test_listener,
            blue = alb.blue,
            green = alb.green,
        );
        let config = if config.contains("test_url") {
            config
        } else {
            config.replace(
                "test_timeout",
                &format!("test_url = \"{}/health\"\ntest_timeout", nginx.url()),
            )
        };
        std::fs::write(dir.path().join("shipgate.toml"), config).unwrap();
        Self {
            moto,
            dir,
            listener: alb.listener,
            test_listener: alb.test_listener,
            nginx,
        }
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        command_in(&self.moto, self.dir.path(), args)
    }

    /// shipgate-deploy with `args` started, its output piped.
    fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The share of `listener`'s traffic (percent) that goes to green, as moto holds
    /// it.
    fn green_share(&self, listener: &str) -> u32 {
        moto_shop::green_share(&self.moto, listener).unwrap()
    }

    /// A service's task definition (`shop:2`) and desired count, as moto says.
    fn service(&self, name: &str) -> (String, u64) {
        let s = moto_shop::service(&self.moto, name).unwrap();
        (
            moto_shop::revision(s["taskDefinition"].as_str().unwrap()).to_owned(),
            s["desiredCount"].as_u64().unwrap(),
        )
    }
}

/// Follows the production listener's green share until `child` exits; every share
/// seen, in order, without repeats.
fn shares_while(site: &BlueGreen, child: &mut std::process::Child) -> Vec<u32> {
    let mut seen: Vec<u32> = Vec::new();
    loop {
        let share = site.green_share(&site.listener);
        if seen.last() != Some(&share) {
            seen.push(share);
        }
        if child.try_wait().unwrap().is_some() {
            return seen;
        }
        // tidy: polling moto from outside the process under test
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits until half the production traffic goes to green, failing with `child`'s
/// output if it ends first.
fn half_on_green(site: &BlueGreen, mut child: std::process::Child) -> std::process::Child {
    let mut done = false;
    until("half the traffic on green", || {
        done = child.try_wait().unwrap().is_some();
        done || site.green_share(&site.listener) == 50
    });
    if done {
        let out = child.wait_with_output().unwrap();
        panic!("the deployment ended before the shift: {}", text(&out));
    }
    child
}

#[test]
fn a_shift_in_steps_then_a_rollback_shifts_back_in_one_change() {
    let site = BlueGreen::new("steps = [25, 50]\nbake = \"1500ms\"", &[]);
    let mut child = site.spawn(&["deploy", "--release", "v2"]);
    let seen = shares_while(&site, &mut child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(seen, [0, 25, 50, 100], "the green share over time");
    assert_eq!(site.service("shop-green"), ("shop:2".into(), 2));
    assert_eq!(
        site.service("shop-blue"),
        ("shop:1".into(), 2),
        "the old side keeps running for an instant rollback"
    );
    assert_eq!(
        site.green_share(&site.test_listener),
        100,
        "the test listener"
    );
    assert!(
        text(&out).contains("/health answers well"),
        "{}",
        text(&out)
    );

    let mut child = site.spawn(&["rollback"]);
    let seen = shares_while(&site, &mut child);
    let out = child.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(seen.last(), Some(&0), "{all}");
    assert!(
        seen.iter().all(|s| *s == 0 || *s == 100),
        "no step on the way back: {seen:?}"
    );
    assert!(all.contains("back to the blue side"), "{all}");
    assert!(!all.contains("% of production traffic"), "{all}");
    assert_eq!(site.service("shop-blue"), ("shop:1".into(), 2));
}

#[test]
fn an_alarm_during_the_bake_time_shifts_all_traffic_back_and_fails() {
    let site = BlueGreen::new("steps = [50]\nbake = \"60s\"", &["shop-5xx"]);
    let child = site.spawn(&["deploy", "--release", "v2"]);
    let child = half_on_green(&site, child);
    moto_shop::set_alarm(&site.moto, "shop-5xx", "ALARM").unwrap();
    let out = child.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("CloudWatch alarm shop-5xx is in ALARM: Threshold Crossed"),
        "{all}"
    );
    assert!(all.contains("PASS  undo release"), "{all}");
    assert_eq!(site.green_share(&site.listener), 0, "{all}");
    let history = site.run(&["history"]);
    assert!(text(&history).contains("rolled_back"), "{}", text(&history));
}

#[test]
fn a_new_side_that_fails_through_the_test_listener_gets_no_production_traffic() {
    let site = BlueGreen::new("test_url = \"http://127.0.0.1:9/health\"", &[]);
    let config = site.dir.path().join("shipgate.toml");
    let with_404 = std::fs::read_to_string(&config).unwrap().replace(
        "http://127.0.0.1:9/health",
        &format!("{}/missing", site.nginx.url()),
    );
    std::fs::write(&config, with_404).unwrap();
    let out = site.run(&["deploy", "--release", "v2"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("did not answer well through the test listener"),
        "{all}"
    );
    assert_eq!(site.green_share(&site.listener), 0, "{all}");
    assert_eq!(site.current(), "v1", "{all}");
}

#[test]
fn killed_during_the_bake_then_resumed_finishes_the_shift_with_one_revision() {
    let site = BlueGreen::new("steps = [50]\nbake = \"60s\"", &[]);
    let child = site.spawn(&["deploy", "--release", "v2"]);
    let mut child = half_on_green(&site, child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        site.current(),
        "v1 (50%) + v2 (50%)",
        "a split is no release"
    );
    // The rest of the shift bakes nothing more: the step that baked is behind it.
    let out = site.run(&["resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.green_share(&site.listener), 100);
    assert_eq!(site.service("shop-green"), ("shop:2".into(), 2));
    let revisions = site
        .moto
        .call(
            "ecs",
            &format!("{ECS}.ListTaskDefinitions"),
            &json!({"familyPrefix": "shop"}),
        )
        .unwrap();
    assert_eq!(
        revisions["taskDefinitionArns"].as_array().unwrap().len(),
        2,
        "one revision registered"
    );
}

#[test]
fn the_old_side_is_scaled_down_after_the_delay_and_not_before() {
    let site = BlueGreen::new("scale_down_delay = \"1h\"", &[]);
    let out = site.run(&["deploy", "--release", "v2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.green_share(&site.listener), 100);
    // The due time is a tag on the old side's service, an hour from the shift.
    let blue = site.service_arn("shop-blue");
    let due = site.tag(&blue, "shipgate:scale-down-at").expect("tagged");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(due.abs_diff(now + 3600) < 120, "due {due}, now {now}");
    let early = site.run(&["gc"]);
    assert_eq!(early.status.code(), Some(0), "{}", text(&early));
    assert_eq!(site.service("shop-blue").1, 2, "{}", text(&early));
    // The hour passes: the tag is moved into the past, as time would.
    site.moto
        .call(
            "ecs",
            &format!("{ECS}.TagResource"),
            &json!({"resourceArn": blue, "tags": [{"key": "shipgate:scale-down-at", "value": (now - 1).to_string()}]}),
        )
        .unwrap();
    let late = site.run(&["gc"]);
    assert_eq!(late.status.code(), Some(0), "{}", text(&late));
    assert_eq!(
        site.service("shop-blue"),
        ("shop:1".into(), 0),
        "{}",
        text(&late)
    );
    assert!(
        text(&late).contains("blue side (shop-blue)"),
        "{}",
        text(&late)
    );
    assert_eq!(site.tag(&blue, "shipgate:scale-down-at"), None);
    assert_eq!(
        site.service("shop-green"),
        ("shop:2".into(), 2),
        "the live side stays"
    );
}

impl BlueGreen {
    fn service_arn(&self, name: &str) -> String {
        moto_shop::service(&self.moto, name).unwrap()["serviceArn"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A tag's value on an ECS resource, as a number.
    fn tag(&self, arn: &str, key: &str) -> Option<u64> {
        let out = self
            .moto
            .call(
                "ecs",
                &format!("{ECS}.ListTagsForResource"),
                &json!({"resourceArn": arn}),
            )
            .unwrap();
        out["tags"]
            .as_array()?
            .iter()
            .find(|t| t["key"] == key)
            .and_then(|t| t["value"].as_str()?.parse().ok())
    }

    /// What serves, as `shipgate-deploy status` says.
    fn current(&self) -> String {
        let out = self.run(&["status"]);
        let all = text(&out);
        all.lines()
            .find_map(|l| l.strip_prefix("serving: "))
            .unwrap_or(&all)
            .to_owned()
    }
}

#[test]
fn dry_run_prints_each_listener_change_and_changes_nothing() {
    let site = BlueGreen::new("steps = [10, 50]\nbake = \"2m\"", &["shop-5xx"]);
    let out = site.run(&["deploy", "--release", "v2", "--dry-run"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let changes: Vec<&str> = all
        .lines()
        .filter(|l| l.contains("elbv2:ModifyListener"))
        .collect();
    assert_eq!(changes.len(), 4, "test listener, 10%, 50%, all: {all}");
    assert!(
        changes[1].contains("\"Weight\":90") && changes[1].contains("\"Weight\":10"),
        "{all}"
    );
    assert!(all.contains("\"service\":\"shop-green\""), "{all}");
    assert!(
        all.contains("bake 2m, failing on an alarm in ALARM"),
        "{all}"
    );
    assert_eq!(site.green_share(&site.listener), 0);
    assert_eq!(site.green_share(&site.test_listener), 0);
    assert_eq!(site.service("shop-green"), ("shop:1".into(), 0));
}

#[test]
fn a_migration_that_fails_leaves_the_idle_side_without_the_release() {
    let site = BlueGreen::new("", &[]);
    let config = site.dir.path().join("shipgate.toml");
    let mut text_now = std::fs::read_to_string(&config).unwrap();
    // A command that cannot even be split into words: the migration fails before a
    // task starts; the release must not have started anywhere before it.
    text_now.push_str("\n[deploy.migrate]\nrun = \"python manage.py migrate 'unclosed\"\n");
    std::fs::write(&config, text_now).unwrap();
    let out = site.run(&["deploy", "--release", "v2"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("unclosed quote"), "{all}");
    assert_eq!(site.service("shop-green"), ("shop:1".into(), 0), "{all}");
    assert_eq!(site.green_share(&site.listener), 0);
    assert_eq!(site.green_share(&site.test_listener), 0);
}
