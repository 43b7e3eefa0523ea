//! JUnit files as CI servers check them: validated with `xmllint --schema` against the
//! Jenkins xUnit plugin's schema (fixtures/junit/junit-10.xsd).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, ErrorKind};

/// The schema.
pub fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/junit/junit-10.xsd")
}

/// Validates the JUnit file at `path`: `Err` with xmllint's complaint when it is not
/// valid.
///
/// # Panics
/// When xmllint is not installed (with how to install it).
pub fn validate(path: &Path) -> Result<(), Error> {
    let xmllint = crate::needs::locate("xmllint")
        .unwrap_or_else(|| panic!("{}", crate::needs::missing_message("libxml2-utils")));
    let out = Command::new(xmllint)
        .args(["--noout", "--schema"])
        .arg(schema())
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run xmllint: {e}"));
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Invalid,
            format!(
                "{} is not valid JUnit (junit-10.xsd): {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            ),
        ))
    }
}

/// Validates JUnit text (written to a temporary file first).
pub fn validate_text(xml: &str) -> Result<(), Error> {
    let dir = tempfile::tempdir().map_err(|e| Error::io("create a temporary directory", e))?;
    let path = dir.path().join("junit.xml");
    std::fs::write(&path, xml).map_err(|e| Error::io("write the JUnit text", e))?;
    validate(&path)
}
