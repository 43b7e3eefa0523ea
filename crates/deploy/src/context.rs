//! What a run needs besides its plan: the driver, an HTTP client for the health wait,
//! what to skip, the operator's confirmation, the secrets to mask.

use shipgate_http::HttpClient;

use crate::driver::Driver;
use crate::plan::Plan;

/// What a run needs besides its plan.
pub struct Context<'a> {
    /// The deployment.
    pub plan: &'a Plan,
    /// Puts releases in place and switches.
    pub driver: &'a dyn Driver,
    /// For the health wait.
    pub http: HttpClient,
    /// Steps not to run (`--skip`).
    pub skip: Vec<String>,
    /// Skip even what a protected environment keeps.
    pub force: bool,
    /// A protected environment's operator confirmed (typed the phrase, or
    /// `--confirm ENV`).
    pub confirmed: bool,
    /// The secrets to mask in the journal (a failed command's output, an undo
    /// command), as in every report.
    pub redactor: shipgate_report::Redactor,
}

impl<'a> Context<'a> {
    /// A context that skips nothing, forces nothing, is not confirmed and masks
    /// nothing: set what differs with struct update syntax.
    pub fn new(plan: &'a Plan, driver: &'a dyn Driver, http: HttpClient) -> Self {
        Self {
            plan,
            driver,
            http,
            skip: Vec::new(),
            force: false,
            confirmed: false,
            redactor: shipgate_report::Redactor::default(),
        }
    }
}
