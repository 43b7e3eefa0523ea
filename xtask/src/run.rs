//! Running commands, loudly.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A step failed; the message says which and why.
#[derive(Debug)]
pub(crate) struct Failed(pub(crate) String);

/// The workspace root (xtask lives one level below it).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_owned()
}

/// A command run from the workspace root, echoed before it runs.
pub(crate) struct Cmd {
    command: Command,
    shown: String,
    quiet: bool,
}

impl Cmd {
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Self {
        let mut command = Command::new(program.as_ref());
        command.current_dir(workspace_root());
        Self {
            shown: program.as_ref().to_string_lossy().into_owned(),
            command,
            quiet: false,
        }
    }

    pub(crate) fn cargo<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Self::new(cargo);
        cmd.shown = "cargo".to_owned();
        cmd.args(args)
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.shown.push(' ');
            self.shown.push_str(&arg.as_ref().to_string_lossy());
            self.command.arg(arg);
        }
        self
    }

    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    pub(crate) fn current_dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    pub(crate) fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Runs to completion; a non-zero exit is a failure.
    pub(crate) fn run(mut self) -> Result<(), Failed> {
        eprintln!("$ {}", self.shown);
        let status = self
            .command
            .status()
            .map_err(|e| Failed(format!("cannot run `{}`: {e}", self.shown)))?;
        if status.success() {
            Ok(())
        } else {
            Err(Failed(format!("`{}` failed ({status})", self.shown)))
        }
    }

    /// Whether it runs and exits 0, with its output discarded.
    pub(crate) fn succeeds(mut self) -> bool {
        if self.quiet {
            self.command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        self.command.status().is_ok_and(|s| s.success())
    }

    /// Runs to completion and returns its standard output.
    pub(crate) fn output(mut self) -> Result<Vec<u8>, Failed> {
        let out = self
            .command
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| Failed(format!("cannot run `{}`: {e}", self.shown)))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(Failed(format!("`{}` failed ({})", self.shown, out.status)))
        }
    }

    pub(crate) fn into_command(self) -> Command {
        self.command
    }
}
