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
