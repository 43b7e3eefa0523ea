//! `cargo xtask setup`: install what the tests need, from one pinned list.
//!
//! The list is [`shipgate_testkit::NEEDS`] (Debian packages, PyPI pins) plus
//! cargo-nextest. Idempotent: what is present is left alone, what is missing is named
//! and installed, and everything is probed again afterwards. Where it cannot install
//! (not root and no password-less sudo, no apt-get, no python3) it fails saying exactly
//! what to install by hand.

use std::process::Command;

use shipgate_testkit::{NEEDS, Need, Source};

use crate::run::{Cmd, Failed};

/// What to do about missing things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Install them.
    Install,
    /// Only report them; fail when anything is missing.
    Check,
}

/// Probes everything, installs what is missing (in [`Mode::Install`]), then probes again.
pub(crate) fn run(mode: Mode) -> Result<(), Failed> {
    let missing = missing();
    if missing.is_empty() {
        eprintln!("setup: everything the tests need is installed");
        return Ok(());
    }
    for m in &missing {
        eprintln!("setup: missing {} (for {})", m.label(), m.used_by());
    }
    if mode == Mode::Check {
        return Err(Failed(format!(
            "missing: install with `cargo xtask setup`, or by hand:\n  {}",
            hints(&missing)
        )));
    }
    install_debian(&missing)?;
    install_pypi(&missing)?;
    if missing.contains(&Missing::Nextest) {
        Cmd::cargo(["install", "cargo-nextest", "--locked"]).run()?;
    }
    let still = self::missing();
    if still.is_empty() {
        eprintln!("setup: done");
        Ok(())
    } else {
        Err(Failed(format!(
            "still missing after installing:\n  {}",
            hints(&still)
        )))
    }
}

/// Runs the set-up only when something is missing, so `test`, `demo` and `ci` cost one
/// probe when the machine is ready.
pub(crate) fn ensure() -> Result<(), Failed> {
    if missing().is_empty() {
        return Ok(());
    }
    run(Mode::Install)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    Need(&'static Need),
    Nextest,
}

impl Missing {
    fn label(&self) -> String {
        match self {
            Self::Need(n) => match n.source {
                Source::Debian { package, .. } => format!("Debian package `{package}`"),
                Source::PyPi { dist, version } => format!("`{dist}=={version}` from PyPI"),
            },
            Self::Nextest => "cargo-nextest".to_owned(),
        }
    }

    fn used_by(&self) -> &'static str {
        match self {
            Self::Need(n) => n.used_by,
            Self::Nextest => "`cargo xtask test`",
        }
    }
}

fn missing() -> Vec<Missing> {
    let mut missing: Vec<Missing> = NEEDS
        .iter()
        .filter(|n| !n.is_installed())
        .map(Missing::Need)
        .collect();
    if !Cmd::cargo(["nextest", "--version"]).quiet().succeeds() {
        missing.push(Missing::Nextest);
    }
    missing
}

/// One line per installer: `apt-get install -y a b`, `python3 -m pip install x==1 y==2`.
fn hints(missing: &[Missing]) -> String {
    let debian = debian_packages(missing);
    let pins = pypi_pins(missing);
    let mut lines = Vec::new();
    if !debian.is_empty() {
        lines.push(format!(
            "as root: apt-get install -y --no-install-recommends {}",
            debian.join(" ")
        ));
    }
    if !pins.is_empty() {
        lines.push(format!("python3 -m pip install {}", pins.join(" ")));
    }
    if missing.contains(&Missing::Nextest) {
        lines.push("cargo install cargo-nextest --locked".to_owned());
    }
    lines.join("\n  ")
}

fn debian_packages(missing: &[Missing]) -> Vec<&'static str> {
    missing
        .iter()
        .filter_map(|m| match m {
            Missing::Need(Need {
                source: Source::Debian { package, .. },
                ..
            }) => Some(*package),
            _ => None,
        })
        .collect()
}

fn install_debian(missing: &[Missing]) -> Result<(), Failed> {
    let packages = debian_packages(missing);
    if packages.is_empty() {
        return Ok(());
    }
    let by_hand = || hints(missing);
    if !on_path("apt-get") {
        return Err(Failed(format!(
            "no apt-get on this machine: install {} with its package manager; on Debian:\n  {}",
            packages.join(", "),
            by_hand()
        )));
    }
    let sudo = if is_root() {
        None
    } else if Command::new("sudo")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        Some("sudo")
    } else {
        return Err(Failed(format!(
            "not root and sudo asks for a password: install them by hand:\n  {}",
            by_hand()
        )));
    };
    let as_root = |args: &[&str]| match sudo {
        Some(s) => Cmd::new(s).args(args),
        None => Cmd::new(args[0]).args(&args[1..]),
    };
    eprintln!("setup: installing {} with apt-get", packages.join(" "));
    // The packages' own services stay stopped: the tests start their own servers on
    // free ports. policy-rc.d exit 101 tells invoke-rc.d not to start anything.
    let policy = std::path::Path::new("/usr/sbin/policy-rc.d");
    let made_policy = !policy.exists();
    if made_policy {
        as_root(&[
            "sh",
            "-c",
            "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d",
        ])
        .run()?;
    }
    let result = as_root(&["apt-get", "update", "-qq"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()
        .and_then(|()| {
            let mut args = vec!["apt-get", "install", "-y", "-qq", "--no-install-recommends"];
            args.extend(&packages);
            as_root(&args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .run()
        });
    if made_policy {
        as_root(&["rm", "-f", "/usr/sbin/policy-rc.d"]).run()?;
    }
    result
}

fn pypi_pins(missing: &[Missing]) -> Vec<String> {
    missing
        .iter()
        .filter_map(|m| match m {
            Missing::Need(Need {
                source: Source::PyPi { dist, version },
                ..
            }) => Some(format!("{dist}=={version}")),
            _ => None,
        })
        .collect()
}

fn install_pypi(missing: &[Missing]) -> Result<(), Failed> {
    let pins = pypi_pins(missing);
    if pins.is_empty() {
        return Ok(());
    }
    if !on_path("python3") {
        return Err(Failed(format!(
            "no python3 on this machine: install Python 3 with pip, then `python3 -m pip install {}`",
            pins.join(" ")
        )));
    }
    eprintln!("setup: installing {} with pip", pins.join(" "));
    Cmd::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(&pins)
        .run()
}

pub(crate) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
