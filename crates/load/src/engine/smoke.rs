//! The smoke pass: every task once, one user per class, stop at the first failure.

use super::*;

/// One task's result in a smoke pass.
#[derive(Debug)]
pub struct SmokeResult {
    /// `class / request name`.
    pub name: String,
    /// How long it took, or why it failed.
    pub result: Result<Duration, TaskFailed>,
}

impl std::fmt::Display for SmokeResult {
    /// `ok    class / name  12ms` or `FAIL  class / name  why`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.result {
            Ok(d) => write!(f, "ok    {}  {d:?}", self.name),
            Err(e) => write!(f, "FAIL  {}  {}", self.name, e.message),
        }
    }
}

/// Runs every class's `on_start`, each task once, then `on_stop`, in order with one user
/// per class, and stops at the first failure: the quick pass before the real load.
pub async fn smoke<M: MakeSender>(plan: &Plan, make: M) -> Vec<SmokeResult> {
    let engine = Engine::new(plan.clone(), make);
    let shared = engine.shared;
    let mut out = Vec::new();
    for (i, class) in plan.classes.iter().enumerate() {
        let mut me = User::new(&shared, None);
        let endpoints = &shared.endpoints[i];
        let actions = class
            .on_start
            .iter()
            .zip(&endpoints.on_start)
            .chain(class.tasks.iter().map(|(_, a)| a).zip(&endpoints.tasks))
            .chain(class.on_stop.iter().zip(&endpoints.on_stop));
        for (action, endpoint) in actions {
            let start = Instant::now();
            let error = execute(&shared, action, endpoint, &mut me, i, None).await;
            let failed = error.is_some();
            out.push(SmokeResult {
                name: format!("{} / {}", class.name, action.name()),
                result: error.map_or(Ok(start.elapsed()), Err),
            });
            if failed {
                return out;
            }
        }
    }
    out
}
