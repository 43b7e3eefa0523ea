//! One step of a scenario: what to send (templated), what to capture, what to
//! assert, how to retry; and the request it renders to.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request};
use serde::Deserialize;
use serde_json::Value;

use crate::Response;
use crate::cookies::CookieJar;
use crate::expr::{Assertion, Capture, Mismatch};
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
