//! User classes dealt out as Locust deals them, over random mixes of weights and
//! fixed counts (proptest): either the plan is refused with a reason, or the run
//! starts exactly the users its shape asks for, each fixed class its count, the rest by
//! weight. Runs on tokio's paused clock against a sender that answers at once.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Version};
use proptest::prelude::*;
use shipgate_http::{Error, MakeSender, Response, Sender};
use shipgate_load::{Engine, LoadConfig, Plan};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Instant200;

impl MakeSender for Instant200 {
    type Sender = Self;
    fn make_sender(&self) -> Self {
        self.clone()
    }
}

impl Sender for Instant200 {
    async fn send(&mut self, _request: &Request<Bytes>) -> Result<Response, Error> {
        // tidy: a millisecond of service time on the paused clock (no real time passes)
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(Response::new(
            StatusCode::OK,
            Version::HTTP_11,
            HeaderMap::new(),
            Bytes::new(),
            Duration::from_millis(1),
        ))
    }
}

/// A class: `Some(w)` a weight, else a fixed count.
fn config(classes: &[(Option<u32>, u32)], users: u32) -> String {
    let mut text = format!(
        "host = \"http://fake\"\nshape = {{ type = \"constant\", users = {users}, duration = \"2s\", spawn_rate = 1000 }}\n"
    );
    for (i, (weight, fixed)) in classes.iter().enumerate() {
        text.push_str(&format!("[[users]]\nname = \"c{i}\"\n"));
        match weight {
            Some(w) => text.push_str(&format!("weight = {w}\n")),
            None => text.push_str(&format!("fixed_count = {fixed}\n")),
        }
        text.push_str(
            "think = { constant = \"100ms\" }\ntasks = [{ request = { url = \"{{host}}/\" } }]\n",
        );
    }
    text
}

fn run(plan: Plan) -> std::collections::BTreeMap<String, u64> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(async {
            Engine::new(plan, Instant200)
                .run(CancellationToken::new())
                .await
                .users_per_class
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn every_mix_is_refused_with_a_reason_or_runs_exactly_its_users(
        classes in prop::collection::vec((prop::option::of(0u32..4), 0u32..4), 1..5),
        users in 1u32..12,
    ) {
        let cfg: LoadConfig = toml::from_str(&config(&classes, users)).unwrap();
        match Plan::from_config(&cfg) {
            Err(e) => {
                let why = e.to_string();
                prop_assert!(
                    why.contains("weight") || why.contains("fixed_count"),
                    "a refusal says why: {why}"
                );
                let any_weight = classes.iter().any(|(w, _)| w.is_some_and(|w| w > 0));
                prop_assert!(!any_weight || why.contains("weight 0") || why.contains("not both"),
                    "refused although weights can take every user: {why}");
            }
            Ok(plan) => {
                let started = run(plan);
                prop_assert_eq!(started.values().sum::<u64>(), u64::from(users), "{:?}", started);
                let fixed_total: u32 = classes.iter().filter(|(w, _)| w.is_none()).map(|(_, f)| f).sum();
                for (i, (weight, fixed)) in classes.iter().enumerate() {
                    let got = started.get(&format!("c{i}")).copied().unwrap_or(0);
                    match weight {
                        None => prop_assert!(got <= u64::from(*fixed), "c{i}: {got} > fixed {fixed}"),
                        Some(0) => prop_assert_eq!(got, 0, "c{} has weight 0", i),
                        Some(_) => {}
                    }
                    if weight.is_none() && users >= fixed_total {
                        prop_assert_eq!(got, u64::from(*fixed), "c{} gets its whole fixed count", i);
                    }
                }
            }
        }
    }
}

#[test]
fn only_fixed_classes_and_more_users_than_they_hold_is_refused_not_a_panic() {
    let cfg: LoadConfig = toml::from_str(&config(&[(None, 1), (None, 2)], 5)).unwrap();
    let e = Plan::from_config(&cfg).unwrap_err().to_string();
    assert!(
        e.contains("add up to 3, but the shape asks for 5 users"),
        "{e}"
    );
}
