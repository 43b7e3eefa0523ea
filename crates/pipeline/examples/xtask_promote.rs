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

use shipgate_deploy::{DeployConfig, Ending};
use shipgate_pipeline::{Intent, PipelineConfig, Target, WatchSetup, gate, layers};
use shipgate_watch::{SystemClock, Verdict};

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
    let pipeline: PipelineConfig = doc.section("pipeline")?.ok_or("no [pipeline]")?;
    let by = std::env::var("USER").unwrap_or_else(|_| "xtask".into());

    // 1. The gates, in order; the first that fails says why.
    let request = gate::Promote {
        doc: &doc,
        base,
        deploy: &deploy,
        pipeline: &pipeline,
        from,
        to,
        version,
        by: &by,
        emergency: None,
        github_actions: false,
        cancel: Default::default(),
        progress: None,
    };
    let gates = gate::check(&request, &SystemClock).await?;
    for f in gates.findings() {
        println!("{:<16} {:?}  {}", f.name, f.outcome, f.message);
    }
    if !gates.passed() {
        return Ok(false);
    }

    // 2. The deployment, with the gates it passed in its journal.
    let hooks = layers::checks(&doc, base, &doc.redactor())?;
    let driver = shipgate_deploy::driver_for(&deploy, base)?;
    // The deployment, resolved and guarded as `shipgate-deploy promote` does it.
    let target = Target {
        config: &deploy,
        base,
        environment: to,
        driver: &*driver,
    };
    let intent = Intent::Deploy {
        release: gates.release.clone(),
        artifact: gates.artifact.clone(),
        promotion: Some(gates.promotion(from, &by, None)),
        skip: Vec::new(),
        force: false,
    };
    let prepared = shipgate_pipeline::prepare(&target, &intent, hooks).await?;
    let http = shipgate_http::HttpClient::new(&Default::default())?;
    let ctx = prepared.context(&*driver, http, true);
    let outcome = shipgate_deploy::deploy(&ctx).await?;
    println!("deployment {}: {}", outcome.id, outcome.ending.as_str());
    if outcome.ending != Ending::Deployed {
        return Ok(false);
    }

    // 3. The watch window; a rollback rule that fires switches back by itself.
    let Some(length) = pipeline.watch_for(to) else {
        return Ok(true);
    };
    let watch = WatchSetup::from_document(&doc, base, to)?;
    let window = watch
        .run(Some(length), true, Default::default(), None)
        .await?;
    if let Some((record, path)) = watch.record(&window)? {
        println!(
            "watch {}: {} ({})",
            record.deployment,
            record.verdict,
            path.display()
        );
    }
    Ok(window.verdict() == Verdict::Passed)
}
