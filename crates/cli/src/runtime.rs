use tokio::runtime::{Builder, Runtime};
use tokio_util::sync::CancellationToken;

use crate::Failure;

/// A tokio runtime with `threads` workers (default: the CPUs this process may use);
/// one means a single-threaded runtime, the cheapest per task.
pub fn runtime(threads: Option<usize>) -> Result<Runtime, Failure> {
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let built = if threads == 1 {
        Builder::new_current_thread().enable_all().build()
    } else {
        Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    built.map_err(|e| Failure::usage("cannot start the async runtime", e))
}

/// Cancels `token` on the first Ctrl-C (printing `message`); a second Ctrl-C exits at
/// once with 130, as shells expect. Call inside the runtime.
pub fn cancel_on_ctrl_c(token: CancellationToken, message: &'static str) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("{message} (Ctrl-C again to abort)");
            token.cancel();
            let _ = tokio::signal::ctrl_c().await;
            std::process::exit(130);
        }
    });
}
