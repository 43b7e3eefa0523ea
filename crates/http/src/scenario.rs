//! Ordered HTTP steps: build a request from templates, send it, capture values for
//! later steps, assert on the response; retry a step, or the whole scenario until
//! healthy. The same steps serve smoke tests and load-test tasks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use crate::Response;
use crate::client::HttpClient;
use crate::cookies::CookieJar;
use crate::exchange::exchange;
use crate::expr::{Assertion, Capture, Mismatch};
use crate::retry::Backoff;
use crate::template::{Template, TemplateVars};
use crate::{Error, ErrorKind};

fn default_method() -> String {
    "GET".to_owned()
}

fn default_retry_delay() -> Duration {
    Duration::from_millis(200)
}

/// One step, as configured (`[[checks.post.smoke.steps]]`, a load task).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Shown in reports; defaults to `METHOD URL`.
    #[serde(default)]
    pub name: Option<String>,
    /// `GET`, `POST`, ...
    #[serde(default = "default_method")]
    pub method: String,
    /// The URL, with `{{var}}` placeholders.
    pub url: Template,
    /// Request headers (values are templates).
    #[serde(default)]
    pub headers: BTreeMap<String, Template>,
    /// A raw body (a template).
    #[serde(default)]
    pub body: Option<Template>,
    /// A JSON body; string values may hold `{{var}}`. Sets `content-type: application/json`.
    #[serde(default)]
    pub json: Option<Value>,
    /// Variables to take from the response, by name.
    #[serde(default)]
    pub capture: BTreeMap<String, Capture>,
    /// Conditions the response must meet; with none, the status must be below 400.
    #[serde(default, rename = "assert")]
    pub asserts: Vec<Assertion>,
    /// Extra tries when the request fails or an assertion does not hold.
    #[serde(default)]
    pub retries: u32,
    /// Wait before the first retry; doubles each time.
    #[serde(default = "default_retry_delay", with = "shipgate_config::duration")]
    pub retry_delay: Duration,
    /// A placeholder-free URL, parsed once: a load test sends it many times.
    #[serde(skip)]
    parsed_url: std::sync::OnceLock<http::Uri>,
}

impl Step {
    /// A plain `GET url` with no assertions (so a status of 400 or more fails it).
    pub fn get(url: &str) -> Result<Self, Error> {
        Ok(Self {
            name: None,
            method: default_method(),
            url: Template::parse(url)?,
            headers: BTreeMap::new(),
            body: None,
            json: None,
            capture: BTreeMap::new(),
            asserts: Vec::new(),
            retries: 0,
            retry_delay: default_retry_delay(),
            parsed_url: std::sync::OnceLock::new(),
        })
    }

    /// The name shown in reports.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{} {}", self.method, self.url))
    }

    /// Substitutes now the variables of `vars` that no step captures (`changes` says
    /// which may change), in the URL, headers and body, so that [`Step::build`] need
    /// not render them again for every request. The name shown stays as written.
    pub fn bind(&mut self, vars: &TemplateVars, changes: &dyn Fn(&str) -> bool) {
        self.url = self.url.bind(vars, changes);
        for value in self.headers.values_mut() {
            *value = value.bind(vars, changes);
        }
        if let Some(body) = &mut self.body {
            *body = body.bind(vars, changes);
        }
        self.parsed_url = std::sync::OnceLock::new();
    }

    /// Builds the request, with cookies from `jar`.
    pub fn build(&self, vars: &TemplateVars, jar: &CookieJar) -> Result<Request<Bytes>, Error> {
        let invalid = |what: String| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!("{}: {what}", self.display_name()),
            )
        };
        let method = Method::from_bytes(self.method.as_bytes())
            .map_err(|_| invalid(format!("`{}` is not an HTTP method", self.method)))?;
        let uri = match (self.parsed_url.get(), self.url.as_static()) {
            (Some(uri), _) => uri.clone(),
            (None, text) => {
                let url = self.url.render(vars)?;
                let uri: http::Uri = url
                    .parse()
                    .map_err(|e| invalid(format!("`{url}` is not a URL: {e}")))?;
                if uri.scheme().is_none() || uri.authority().is_none() {
                    return Err(invalid(format!(
                        "`{url}` needs a scheme and host, like http://127.0.0.1:8000/"
                    )));
                }
                if text.is_some() {
                    let _ = self.parsed_url.set(uri.clone());
                }
                uri
            }
        };
        let cookies = jar.header_for(&uri);
        let mut builder = Request::builder().method(method).uri(uri);
        let (body, json) = match (&self.body, &self.json) {
            (Some(_), Some(_)) => {
                return Err(invalid("give `body` or `json`, not both".to_owned()));
            }
            (Some(t), None) => (Bytes::from(t.render(vars)?), false),
            (None, Some(v)) => (Bytes::from(render_json(v, vars)?.to_string()), true),
            (None, None) => (Bytes::new(), false),
        };
        if json {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        if let Some(cookies) = cookies {
            builder = builder.header(http::header::COOKIE, cookies);
        }
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("`{name}` is not a header name")))?;
            let value = HeaderValue::from_str(&value.render(vars)?)
                .map_err(|_| invalid(format!("header `{name}` has an invalid value")))?;
            builder = builder.header(name, value);
        }
        builder.body(body).map_err(|e| invalid(e.to_string()))
    }

    /// Checks every assertion (or, with none, that the status is below 400).
    pub fn verify(&self, response: &Response) -> Result<(), Vec<Mismatch>> {
        let failures: Vec<Mismatch> = if self.asserts.is_empty() {
            if response.status.as_u16() < 400 {
                vec![]
            } else {
                vec![Mismatch::new(format!(
                    "status {} (expected < 400)",
                    response.status
                ))]
            }
        } else {
            self.asserts
                .iter()
                .filter_map(|a| a.check(response).err())
                .collect()
        };
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures)
        }
    }
}

fn render_json(value: &Value, vars: &TemplateVars) -> Result<Value, Error> {
    Ok(match value {
        Value::String(s) => Value::String(Template::parse(s)?.render(vars)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_json(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, vars)?)))
                .collect::<Result<_, Error>>()?,
        ),
        other => other.clone(),
    })
}

/// How one step ended.
#[derive(Debug)]
pub enum StepResult {
    /// Every assertion held and every capture was found.
    Passed,
    /// The request could not be sent or answered.
    RequestFailed(Error),
    /// The response did not meet the assertions (or a capture was missing).
    AssertionsFailed(Vec<Mismatch>),
    /// Not run: an earlier step failed.
    Skipped,
}

/// One step's outcome.
#[derive(Debug)]
pub struct StepOutcome {
    /// The step's display name.
    pub name: String,
    /// How it ended.
    pub result: StepResult,
    /// The final attempt's status.
    pub status: Option<StatusCode>,
    /// The final attempt's latency.
    pub latency: Option<Duration>,
    /// Total time, retries included.
    pub duration: Duration,
    /// Attempts made.
    pub attempts: u32,
}

impl StepOutcome {
    /// Whether the step passed.
    pub fn passed(&self) -> bool {
        matches!(self.result, StepResult::Passed)
    }
}

/// Runs `steps` in order, capturing into `vars` and keeping cookies in `jar`; after a
/// failed step, the rest are skipped (they may need its captures).
pub async fn run_steps(
    client: &HttpClient,
    steps: &[Step],
    vars: &mut TemplateVars,
    jar: &mut CookieJar,
) -> Vec<StepOutcome> {
    let mut out = Vec::with_capacity(steps.len());
    let mut failed = false;
    for step in steps {
        if failed {
            out.push(StepOutcome {
                name: step.display_name(),
                result: StepResult::Skipped,
                status: None,
                latency: None,
                duration: Duration::ZERO,
                attempts: 0,
            });
            continue;
        }
        let outcome = run_step(client, step, vars, jar).await;
        failed = !outcome.passed();
        out.push(outcome);
    }
    out
}

/// Runs one step with its retries.
pub async fn run_step(
    client: &HttpClient,
    step: &Step,
    vars: &mut TemplateVars,
    jar: &mut CookieJar,
) -> StepOutcome {
    let start = Instant::now();
    let mut schedule = Backoff::exponential(step.retry_delay)
        .attempts(step.retries.saturating_add(1))
        .schedule();
    loop {
        let (result, status, latency) = attempt(client, step, vars, jar).await;
        let worth_retrying = match &result {
            StepResult::RequestFailed(e) => e.kind() != ErrorKind::InvalidRequest,
            StepResult::AssertionsFailed(_) => true,
            _ => false,
        };
        if worth_retrying && let Some(wait) = schedule.next_wait(None) {
            tokio::time::sleep(wait).await;
            continue;
        }
        return StepOutcome {
            name: step.display_name(),
            result,
            status,
            latency,
            duration: start.elapsed(),
            attempts: schedule.attempts(),
        };
    }
}

async fn attempt(
    client: &HttpClient,
    step: &Step,
    vars: &mut TemplateVars,
    jar: &mut CookieJar,
) -> (StepResult, Option<StatusCode>, Option<Duration>) {
    let done = exchange(&mut client.clone(), step, vars, jar).await;
    let result = match done.result {
        Ok(()) => StepResult::Passed,
        Err(failed) => match failed.mismatches() {
            Ok(mismatches) => StepResult::AssertionsFailed(mismatches),
            Err(e) => StepResult::RequestFailed(e),
        },
    };
    (result, done.status, done.latency)
}
