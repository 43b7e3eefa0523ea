//! Integration tests: the alert state machine driven by samples with chosen times, and
//! the watch loop against a real Prometheus scraping the demo app, real nginx
//! blue-green deployments, and real notification receivers.

mod html;
mod machine;
mod prometheus;
mod sources;
mod support;
