//! Distributed runs: each generator writes its JSON summary (which carries the exact
//! stats snapshot); these are read back and merged into one result, judged again.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::Value;
use shipgate_stats::{Snapshot, Threshold};

use crate::engine::RunResult;
use crate::error::{Error, ErrorKind};
use crate::report::JSON_SCHEMA;

/// A run read back from its JSON summary.
#[derive(Debug)]
pub struct GeneratorSummary {
    /// The run's result, with its exact histograms.
    pub result: RunResult,
    /// The thresholds it was judged by.
    pub thresholds: Vec<Threshold>,
}

/// Reads a JSON summary written by `shipgate-load --json` ([`crate::LoadReport::json`]).
/// `source` names it in errors.
pub fn read_summary(source: &str, text: &str) -> Result<GeneratorSummary, Error> {
    let bad = |what: String| Error::new(ErrorKind::Summary, format!("{source}: {what}"));
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::with_source(ErrorKind::Summary, format!("{source}: not JSON"), e))?;
    match value["schema"].as_str() {
        Some(JSON_SCHEMA) => {}
        Some(other) => {
            return Err(bad(format!(
                "schema is {other:?}; this version reads {JSON_SCHEMA:?}"
            )));
        }
        None => return Err(bad("no \"schema\": not a shipgate-load summary".to_owned())),
    }
    let snapshot = Snapshot::from_json(&value["snapshot"].to_string()).map_err(|e| {
        Error::with_source(
            ErrorKind::Summary,
            format!("{source}: its stats snapshot cannot be read"),
            e,
        )
    })?;
    let count = |key: &str| value[key].as_u64().unwrap_or(0);
    let mut failures = BTreeMap::new();
    for f in value["failures"].as_array().into_iter().flatten() {
        let (Some(name), Some(error), Some(n)) = (
            f["name"].as_str(),
            f["error"].as_str(),
            f["occurrences"].as_u64(),
        ) else {
            return Err(bad(format!(
                "a failure entry lacks name, error or occurrences: {f}"
            )));
        };
        *failures
            .entry((name.to_owned(), error.to_owned()))
            .or_default() += n;
    }
    let started_at = value["started_at"]
        .as_str()
        .and_then(|s| humantime::parse_rfc3339(s).ok())
        .ok_or_else(|| bad("\"started_at\" is not an RFC 3339 time".to_owned()))?;
    let thresholds = value["thresholds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let text = t["threshold"].as_str().unwrap_or_default();
            text.parse::<Threshold>().map_err(|e| {
                Error::with_source(
                    ErrorKind::Summary,
                    format!("{source}: threshold {text:?}"),
                    e,
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(GeneratorSummary {
        result: RunResult {
            snapshot,
            dropped: count("dropped_iterations"),
            hard_stopped: usize::try_from(count("hard_stopped")).unwrap_or(usize::MAX),
            failures,
            users_per_class: BTreeMap::new(),
            started_at,
        },
        thresholds,
    })
}

/// Merges the summaries of generators that ran at the same time, each given as
/// `(name, JSON text)`, into one result, with the thresholds to judge it by: `override`
/// when given, else the ones the summaries were judged by, which must then agree.
pub fn merge_summaries(
    summaries: &[(String, String)],
    thresholds: Option<&[Threshold]>,
) -> Result<(RunResult, Vec<Threshold>), Error> {
    let mut merged = RunResult::empty();
    let mut judged_by: Option<(&str, Vec<Threshold>)> = None;
    for (name, text) in summaries {
        let summary = read_summary(name, text)?;
        match &judged_by {
            Some((first, theirs)) if thresholds.is_none() && *theirs != summary.thresholds => {
                let show = |t: &[Threshold]| t.iter().map(ToString::to_string).collect::<Vec<_>>();
                return Err(Error::new(
                    ErrorKind::Summary,
                    format!(
                        "{first} and {name} were judged by different thresholds ({:?} and {:?}); \
                         choose with --threshold",
                        show(theirs),
                        show(&summary.thresholds)
                    ),
                ));
            }
            Some(_) => {}
            None => judged_by = Some((name, summary.thresholds.clone())),
        }
        merged.merge(&summary.result);
    }
    let thresholds = match thresholds {
        Some(t) => t.to_vec(),
        None => judged_by.map(|(_, t)| t).unwrap_or_default(),
    };
    Ok((merged, thresholds))
}

/// [`merge_summaries`] over JSON summary files, judged by `thresholds` when any are
/// given (expressions, as `--threshold` takes them).
pub fn merge_files(
    paths: &[std::path::PathBuf],
    thresholds: &[String],
) -> Result<(RunResult, Vec<Threshold>), Error> {
    let mut summaries = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::with_source(
                ErrorKind::Summary,
                format!("cannot read {}", path.display()),
                e,
            )
        })?;
        summaries.push((path.display().to_string(), text));
    }
    let chosen = crate::plan::parse_thresholds(thresholds)?;
    merge_summaries(&summaries, (!chosen.is_empty()).then_some(&chosen[..]))
}

impl RunResult {
    /// Adds a run that went on at the same time (another generator of a distributed
    /// run): histograms merge exactly, counts add up, the earlier start is kept.
    pub fn merge(&mut self, other: &RunResult) {
        self.snapshot.merge(&other.snapshot);
        self.dropped += other.dropped;
        self.hard_stopped += other.hard_stopped;
        for (key, n) in &other.failures {
            *self.failures.entry(key.clone()).or_default() += n;
        }
        for (class, n) in &other.users_per_class {
            *self.users_per_class.entry(class.clone()).or_default() += n;
        }
        self.started_at = self.started_at.min(other.started_at);
    }

    /// An empty result, the start of a merge.
    pub fn empty() -> Self {
        Self {
            snapshot: Snapshot::empty(),
            dropped: 0,
            hard_stopped: 0,
            failures: BTreeMap::new(),
            users_per_class: BTreeMap::new(),
            started_at: SystemTime::now(),
        }
    }
}
