//! `approve`: an approver's decision on a promotion's approval request.

use std::path::Path;
use std::time::SystemTime;

use shipgate_cli::Failure;
use shipgate_pipeline::{Approvals, PipelineConfig};
use shipgate_report::ExitCode as Code;

use crate::pipeline;

fn pipeline_config(doc: &shipgate_config::Document) -> Result<PipelineConfig, Failure> {
    doc.section("pipeline")
        .map_err(|e| Failure::usage(format!("{}: [pipeline]", doc.path().display()), e))?
        .ok_or_else(|| {
            Failure::usage_msg(format!(
                "{} has no [pipeline] section: promote needs [pipeline.environments.*]",
                doc.path().display()
            ))
        })
}

/// `approve ID`.
pub(crate) fn approve(
    doc: &shipgate_config::Document,
    state_dir: &Path,
    env: &str,
    id: &str,
) -> Result<Code, Failure> {
    let pipeline_config = pipeline_config(doc)?;
    let Some(config) = pipeline_config.approval(env).cloned() else {
        return Err(Failure::usage_msg(format!(
            "[pipeline.environments.{env}] has no approval gate"
        )));
    };
    let by = shipgate_deploy::actor();
    let request = Approvals::new(state_dir, env)
        .approve(id, &by, &config, SystemTime::now())
        .map_err(pipeline)?;
    println!(
        "approved {} ({} from {} to {env}, asked by {}) as {by}{}",
        request.id,
        request.version,
        request.from,
        request.requested_by,
        if config.wait.is_zero() {
            String::new()
        } else {
            format!(
                "; the promotion may go ahead after {}",
                humantime::format_duration(config.wait)
            )
        }
    );
    Ok(Code::Success)
}
