//! Confirmation before a change to something protected: a phrase typed on a terminal,
//! or, without one, a flag naming what is changed. Asked before anything changes.

use std::io::{BufRead, IsTerminal, Write};

use crate::Failure;

/// Confirms a change to `name`: `flag` (e.g. `--confirm production`'s value) must
/// equal `name`; without it, on a terminal, the operator must type `phrase`; with
/// neither, a usage error saying what to pass. Every refusal says nothing changed.
pub fn confirm(name: &str, phrase: &str, flag: Option<&str>) -> Result<(), Failure> {
    if let Some(given) = flag {
        if given == name {
            return Ok(());
        }
        return Err(Failure::usage_msg(format!(
            "--confirm {given:?} does not name {name}; nothing was changed"
        )));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage_msg(format!(
            "{name} is protected: pass --confirm {name} (no terminal to ask on); nothing was changed"
        )));
    }
    eprint!("{name} is protected. Type \"{phrase}\" to go on: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::usage("cannot read the confirmation", e))?;
    if line.trim() == phrase {
        Ok(())
    } else {
        Err(Failure::usage_msg(format!(
            "the phrase was not \"{phrase}\"; nothing was changed"
        )))
    }
}
