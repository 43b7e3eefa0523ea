//! shipgate-watch as a process, against a real blue-green deployment behind nginx (the
//! demo app in each slot, deployed by shipgate-deploy's library), with a real
//! notification receiver.

mod bluegreen;
mod continuous;
mod mute;
mod verdicts;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_shipgate-watch");

pub(crate) fn text(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Deploys `release` to staging with shipgate-deploy's library, as `dir/shipgate.toml`'s
/// `[deploy]` says (confirmed, nothing skipped); panics unless it ends deployed.
pub(crate) async fn deployed(dir: &std::path::Path, release: &str) {
    use shipgate_deploy::{Context, DeployConfig, Hooks, Plan};
    let text = std::fs::read_to_string(dir.join("shipgate.toml")).unwrap();
    let config: DeployConfig = toml::from_str::<toml::Table>(&text).unwrap()["deploy"]
        .clone()
        .try_into()
        .unwrap();
    let driver = shipgate_deploy::driver_for(&config, dir).unwrap();
    let plan = Plan::from_config(&config, "staging", release, dir, Hooks::default()).unwrap();
    let ctx = Context {
        confirmed: true,
        ..Context::new(
            &plan,
            &*driver,
            shipgate_http::HttpClient::new(&Default::default()).unwrap(),
        )
    };
    let outcome = shipgate_deploy::deploy(&ctx).await.unwrap();
    assert_eq!(
        outcome.ending,
        shipgate_deploy::Ending::Deployed,
        "{:?}",
        outcome.findings
    );
}
