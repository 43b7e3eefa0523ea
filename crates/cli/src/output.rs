use std::io::Write;
use std::path::Path;

use crate::Failure;

/// Writes a report whole, or not at all: into a temporary file beside it, then renamed
/// over it, so a reader never sees half a report. `-` is standard output.
///
/// A failure is [`Aborted`](crate::FailureKind::Aborted): reports are written after
/// the work ran.
pub fn write_report(path: &Path, text: &str) -> Result<(), Failure> {
    if path == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| Failure::aborted("cannot write to standard output", e));
    }
    shipgate_report::write_atomic(path, text)
        .map_err(|e| Failure::aborted(format!("cannot write {}", path.display()), e))
}

/// Reads an input file whole; `-` is standard input. A failure is a usage error
/// (nothing ran yet).
pub fn read_input(path: &Path) -> Result<String, Failure> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Failure::usage("cannot read standard input", e))?;
        return Ok(text);
    }
    std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}", path.display()), e))
}
