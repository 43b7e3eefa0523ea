//! Integration tests for shipgate-checks against real servers: the demo app, nginx,
//! PostgreSQL, MariaDB, SQLite, Redis, osmem-server, TLS servers with generated
//! certificates, and the testkit's faults.

mod alembic_migrations;
mod audit;
mod basic;
mod coverage;
mod database;
mod django;
mod django_deploy;
mod django_layouts;
mod django_migrations;
mod elasticsearch;
mod http;
mod redis;
mod reversible;
mod runner;
mod sqlx_layouts;
mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use shipgate_checks::{CheckSpec, Context, RunConfig, run};
use shipgate_config::Vars;
use shipgate_report::{Finding, Phase};

pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub(crate) fn context(vars: &[(&str, &str)]) -> Context {
    let http = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        ..Default::default()
    })
    .unwrap();
    Context {
        vars: Vars::from_pairs(vars.iter().map(|(k, v)| (*k, *v))),
        http,
        base_dir: fixtures(),
    }
}

/// Parses `[[checks.pre]]` tables.
pub(crate) fn specs(toml_text: &str) -> Vec<CheckSpec> {
    let doc =
        shipgate_config::Document::parse("test.toml", toml_text, None, Vars::default()).unwrap();
    doc.section::<shipgate_checks::ChecksConfig>("checks")
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap()
        .pre
}

pub(crate) async fn run_with(toml_text: &str, ctx: &Context) -> Vec<Finding> {
    let config = RunConfig {
        timeout: Duration::from_secs(5),
        concurrency: 16,
    };
    run(&specs(toml_text), Phase::Pre, config, ctx)
        .await
        .unwrap()
}

/// Runs checks with no variables.
pub(crate) async fn run_checks(toml_text: &str) -> Vec<Finding> {
    run_with(toml_text, &context(&[])).await
}

/// Serves the demo app on a free loopback port.
pub(crate) async fn demo(options: shipgate_demo_app::Options) -> SocketAddr {
    let app = shipgate_demo_app::App::build(options)
        .await
        .expect("demo app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app.router()).await });
    addr
}

/// The one finding named `name`.
/// A migrations check's verdict: its outcome, the ids its `pending` detail lists, and
/// its message.
pub(crate) fn migration_verdict<C: FromIterator<String>>(
    findings: &[Finding],
    name: &str,
) -> (shipgate_report::Outcome, C, String) {
    let f = by_name(findings, name);
    let pending = f
        .details
        .get("pending")
        .map(|p| p.split(',').map(str::to_owned).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .collect();
    (f.outcome, pending, f.message.clone())
}

pub(crate) fn by_name<'a>(findings: &'a [Finding], name: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no finding {name:?} in {findings:#?}"))
}
