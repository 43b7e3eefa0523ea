//! A file exists; optionally, URLs sampled from a static-files manifest answer 200.

use bytes::Bytes;
use serde::Deserialize;

use crate::Context;
use crate::observation::Observation;

fn five() -> usize {
    5
}

/// `[checks.pre.file]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCheck {
    /// The file, relative to the configuration file.
    pub path: String,
    /// Smallest acceptable size in bytes.
    #[serde(default)]
    pub min_size: u64,
    /// Treat the file as a Django `staticfiles.json` manifest and fetch some of its files.
    #[serde(default)]
    pub manifest: Option<ManifestCheck>,
}

/// Sampling a static-files manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestCheck {
    /// Where the files are served, e.g. `https://cdn.example.com/static`.
    pub base_url: String,
    /// How many files to fetch, spread evenly over the manifest.
    #[serde(default = "five")]
    pub sample: usize,
}

pub(crate) async fn observe(check: &FileCheck, ctx: &Context) -> Observation {
    let path = ctx.base_dir.join(&check.path);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => {
            return Observation::fail(format!("{}: {e}", path.display()))
                .recommend("build and deploy it (e.g. collectstatic) before releasing");
        }
    };
    if meta.len() < check.min_size {
        return Observation::fail(format!(
            "{} is {} bytes, expected at least {}",
            path.display(),
            meta.len(),
            check.min_size
        ));
    }
    let Some(manifest) = &check.manifest else {
        return Observation::pass(format!("{} exists ({} bytes)", path.display(), meta.len()));
    };
    let doc: serde_json::Value = match std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            return Observation::fail(format!("{} is not a JSON manifest: {e}", path.display()));
        }
    };
    let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else {
        return Observation::fail(format!(
            "{} has no `paths` object (Django's staticfiles.json format)",
            path.display()
        ));
    };
    let files: Vec<&str> = paths.values().filter_map(|v| v.as_str()).collect();
    if files.is_empty() {
        return Observation::fail(format!("{} lists no files", path.display()));
    }
    let n = manifest.sample.clamp(1, files.len());
    let step = files.len() as f64 / n as f64;
    let mut failed = Vec::new();
    for i in 0..n {
        let file = files[(i as f64 * step) as usize];
        let url = format!(
            "{}/{}",
            manifest.base_url.trim_end_matches('/'),
            file.trim_start_matches('/')
        );
        let request = match http::Request::get(&url).body(Bytes::new()) {
            Ok(r) => r,
            Err(e) => return Observation::fail(format!("{url}: {e}")),
        };
        match ctx.http.send(request).await {
            Ok(r) if r.status == 200 => {}
            Ok(r) => failed.push(format!("{url} → {}", r.status)),
            Err(e) => failed.push(shipgate_report::error_line(&e)),
        }
    }
    if failed.is_empty() {
        Observation::pass(format!(
            "{} lists {} files; {n} sampled answer 200",
            path.display(),
            files.len()
        ))
    } else {
        Observation::fail(format!(
            "{} of {n} sampled static files do not answer 200: {}",
            failed.len(),
            failed.join("; ")
        ))
        .recommend("run collectstatic and upload the files, or fix the static URL")
    }
}
