//! Errors of the layers below as the documented exit codes: 2 when nothing was
//! changed, 1 when the operation had begun.

use shipgate_cli::Failure;

/// A pipeline-layer error as the documented exit code.
pub(crate) fn pipeline(e: shipgate_pipeline::Error) -> Failure {
    let e = match e.into_deploy() {
        Ok(deploy) => return failure(deploy),
        Err(e) => e,
    };
    if e.kind() == shipgate_pipeline::ErrorKind::Refused {
        // Its message says what stands in the way, and that nothing was changed.
        Failure::usage(String::new(), e)
    } else if e.changed_nothing() {
        Failure::usage("nothing was changed", e)
    } else {
        Failure::aborted("the promotion stopped", e)
    }
}

/// A library error as the documented exit code: nothing changed (2) when the
/// operation was refused before it began, else a failure (1).
pub(crate) fn failure(e: shipgate_deploy::Error) -> Failure {
    if e.changed_nothing() {
        Failure::usage("nothing was changed", e)
    } else {
        Failure::aborted(
            "the deployment stopped before it could end, and stays open: `status` says \
             where it stands; `resume` or `abort` once the cause below is gone",
            e,
        )
    }
}
