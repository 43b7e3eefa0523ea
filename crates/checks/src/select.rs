//! Choosing checks by name, and finding the secrets they read.

use shipgate_config::Vars;

use crate::{CheckKind, CheckSpec, Error, ErrorKind};

/// The checks named in `only` and, transitively, those they depend on, in
/// configuration order. A name that is not a check is an [`ErrorKind::UnknownName`]
/// error listing the checks there are.
pub fn select(specs: &[CheckSpec], only: &[String]) -> Result<Vec<CheckSpec>, Error> {
    if let Some(name) = only.iter().find(|n| !specs.iter().any(|s| &s.name == *n)) {
        let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        return Err(Error::new(
            ErrorKind::UnknownName,
            format!("no such check: {name:?} (checks: {})", known.join(", ")),
        ));
    }
    let mut wanted: Vec<&str> = only.iter().map(String::as_str).collect();
    let mut i = 0;
    while i < wanted.len() {
        if let Some(spec) = specs.iter().find(|s| s.name == wanted[i]) {
            for dep in &spec.depends_on {
                if !wanted.contains(&dep.as_str()) {
                    wanted.push(dep);
                }
            }
        }
        i += 1;
    }
    Ok(specs
        .iter()
        .filter(|s| wanted.contains(&s.name.as_str()))
        .cloned()
        .collect())
}

/// The values of the variables that `env` checks treat as secrets, as `vars` has them,
/// so a report can mask them wherever they appear.
pub fn env_secrets(specs: &[CheckSpec], vars: &Vars) -> Vec<String> {
    specs
        .iter()
        .filter_map(|spec| match &spec.kind {
            CheckKind::Env(env) => Some(env.secrets.iter()),
            _ => None,
        })
        .flatten()
        .filter_map(|name| vars.get(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(text: &str) -> Vec<CheckSpec> {
        #[derive(serde::Deserialize)]
        struct Doc {
            pre: Vec<CheckSpec>,
        }
        toml::from_str::<Doc>(text).unwrap().pre
    }

    const THREE: &str = r#"
        [[pre]]
        name = "db"
        tcp = { host = "127.0.0.1", port = 5432 }
        [[pre]]
        name = "api"
        tcp = { host = "127.0.0.1", port = 80 }
        depends_on = ["db"]
        [[pre]]
        name = "env"
        env = { secrets = ["SECRET_KEY"] }
    "#;

    fn names(specs: &[CheckSpec]) -> Vec<&str> {
        specs.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn a_selected_check_brings_its_dependencies_in_config_order() {
        let all = specs(THREE);
        assert_eq!(
            names(&select(&all, &["api".into()]).unwrap()),
            ["db", "api"]
        );
        assert_eq!(names(&select(&all, &["env".into()]).unwrap()), ["env"]);
    }

    #[test]
    fn an_unknown_name_lists_the_checks() {
        let err = select(&specs(THREE), &["apj".into()]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownName);
        assert_eq!(
            err.to_string(),
            r#"no such check: "apj" (checks: db, api, env)"#
        );
    }

    #[test]
    fn env_secrets_are_read_from_the_given_vars_not_the_process() {
        let vars = Vars::from_pairs([("SECRET_KEY", "s3cr3t-value"), ("OTHER", "x")]);
        assert_eq!(env_secrets(&specs(THREE), &vars), ["s3cr3t-value"]);
        assert!(env_secrets(&specs(THREE), &Vars::from_pairs::<_, &str, &str>([])).is_empty());
    }
}

/// Why a phase's checks could not be read from a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum PhaseError {
    /// The file has no `[checks]` section.
    #[error("{file} has no [checks] section")]
    NoSection {
        /// The configuration file.
        file: String,
    },
    /// The file has no `[[checks.PHASE]]`.
    #[error("{file} has no [[checks.{phase}]]")]
    NoChecks {
        /// The configuration file.
        file: String,
        /// `pre` or `post`.
        phase: &'static str,
    },
    /// The section does not parse, or its checks are inconsistent (two with one name,
    /// a dependency that does not exist, a cycle): with the file, line and column.
    #[error(transparent)]
    Config(#[from] shipgate_config::Error),
    /// `--only` names a check that does not exist.
    #[error("--only")]
    Only(#[source] Error),
}

/// The settings and the checks of one phase (`pre` or `post`) of a configuration,
/// narrowed by `only` (with what they depend on) and validated. Only this phase is
/// read and interpolated, so the other's variables need not be set.
pub fn phase_specs(
    doc: &shipgate_config::Document,
    phase: &'static str,
    only: &[String],
) -> Result<(crate::ChecksSettings, Vec<CheckSpec>), PhaseError> {
    let file = doc.path().display().to_string();
    if !doc.has_section("checks") {
        return Err(PhaseError::NoSection { file });
    }
    let settings: crate::ChecksSettings = doc
        .section_without("checks", &["pre", "post"])?
        .unwrap_or_default();
    let mut specs: Vec<CheckSpec> = doc.subsection(&["checks", phase])?.unwrap_or_default();
    if specs.is_empty() {
        return Err(PhaseError::NoChecks { file, phase });
    }
    // The whole phase is consistent, or the file is wrong where it is wrong.
    if let Some((e, place)) = crate::runner::inconsistency(&specs) {
        use shipgate_config::Seg;
        let mut at = vec![Seg::Key("checks"), Seg::Key(phase), Seg::Index(place.check)];
        match place.depends_on {
            None => at.push(Seg::Key("name")),
            Some(j) => at.extend([Seg::Key("depends_on"), Seg::Index(j)]),
        }
        return Err(PhaseError::Config(doc.invalid_at(&at, e.to_string())));
    }
    if !only.is_empty() {
        specs = select(&specs, only).map_err(PhaseError::Only)?;
    }
    Ok((settings, specs))
}
