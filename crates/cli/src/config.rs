use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use shipgate_config::{Document, Vars};

use crate::Failure;

/// `--config` and `--env`, the same in every binary (and in every subcommand).
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// The configuration file.
    #[arg(
        long,
        short,
        default_value = "shipgate.toml",
        env = "SHIPGATE_CONFIG",
        global = true
    )]
    pub config: PathBuf,
    /// The environment whose [environments.NAME] variables fill ${VAR}s.
    #[arg(long, short, env = "SHIPGATE_ENV", global = true)]
    pub env: Option<String>,
}

impl ConfigArgs {
    /// Reads and parses the file, interpolating from the process environment, and
    /// masks in `logging` everything the document's secret registry holds, from now
    /// on: each secret a section holds is registered as the section is read, however
    /// late, so no line logged after it can show it.
    pub fn load(&self, logging: &crate::Logging) -> Result<Document, Failure> {
        let doc = Document::load(&self.config, self.env.as_deref(), Vars::process())?;
        logging.mask(doc.redactor());
        Ok(doc)
    }

    /// The directory relative paths in the file are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        base_dir(&self.config)
    }
}

/// The directory of a configuration file, `.` for a bare file name.
pub fn base_dir(config: &Path) -> PathBuf {
    config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_owned)
}

/// A section the command cannot run without: `[load]`, `[notify]`.
pub fn required_section<T: DeserializeOwned>(doc: &Document, name: &str) -> Result<T, Failure> {
    doc.section(name)?.ok_or_else(|| {
        Failure::usage_msg(format!("{} has no [{name}] section", doc.path().display()))
    })
}
