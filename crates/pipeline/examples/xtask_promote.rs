//! A team's `cargo xtask promote FROM TO VERSION`, driving shipgate from Rust instead
//! of its binaries: the gates of `[pipeline]`, the deployment with the gates in its
//! journal, then the watch window, whose verdict is recorded for the next
//! environment. Copy it into your xtask and adapt the steps.
//!
//! ```sh
//! cargo run -p shipgate-pipeline --example xtask_promote -- staging production v1.76.0
//! ```

use std::path::Path;
use std::process::ExitCode;

use shipgate_deploy::DeployConfig;
use shipgate_pipeline::{Ask, Operator, Planned, layers};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [from, to, version] = args.as_slice() else {
        eprintln!("usage: xtask promote FROM TO VERSION");
        return ExitCode::from(2);
    };
    match promote(from, to, version).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("xtask promote: {}", shipgate_report::error_line(&*e));
            ExitCode::from(2)
        }
    }
}

async fn promote(from: &str, to: &str, version: &str) -> Result<bool, Error> {
    let base = Path::new(".");
    let doc = shipgate_config::Document::load(
        "shipgate.toml",
        Some(to),
        shipgate_config::Vars::process(),
    )?;
    let deploy: DeployConfig = doc.section("deploy")?.ok_or("no [deploy]")?;
    let driver = shipgate_deploy::driver_for(&deploy, base)?;
    // The same path as `shipgate-deploy promote`: the gates, the deployment with the
    // gates it passed in its journal, its notices, the approval used, the watch window
    // (a rollback rule that fires switches back by itself; the verdict is recorded).
    let op = Operator {
        doc: &doc,
        base,
        environment: to,
        config: &deploy,
        driver: &*driver,
        by: shipgate_deploy::actor(),
        github_actions: false,
        cancel: Default::default(),
        progress: &|line: &str| println!("{line}"),
        interruptible: &|_, _| {},
        redactor: doc.redactor(),
    };
    let ask = Ask::Promote {
        from: from.to_owned(),
        version: version.to_owned(),
        emergency: None,
    };
    let hooks = layers::checks(&doc, base, &doc.redactor())?;
    let ready = match shipgate_pipeline::plan(&op, ask, hooks).await? {
        Planned::Stopped { title, .. } => {
            println!("{title}");
            return Ok(false);
        }
        Planned::Ready(ready) => ready,
    };
    if let Some(phrase) = ready.phrase(to) {
        println!("{to} is protected: this xtask takes running it as saying {phrase:?}");
    }
    let mut announcer = layers::Announcer::new(&doc, base, to)?;
    let done = ready.run(&op, &mut announcer).await?;
    for f in &done.findings {
        println!("{:<16} {:?}  {}", f.name, f.outcome, f.message);
    }
    println!("{}", done.title);
    Ok(done.passed)
}
