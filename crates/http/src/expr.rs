//! Captures and assertions, written as short strings in configuration:
//!
//! ```text
//! capture:   json $.token | header x-app-version | cookie session | regex "id=(\d+)" | status
//! assertion: status == 200 | status < 400
//!            json $.count >= 1 | json $.user == "demo" | json $.items exists | json $.error not_exists
//!            header content-type contains json | header x-frame-options == "DENY" | header hsts exists
//!            body contains "ok" | body matches "v\d+" | latency < 500ms
//! operators: == != < <= > >= contains matches exists not_exists
//! ```

use std::fmt;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::Response;
use crate::cookies::SetCookie;
use crate::jsonpath::JsonPath;
use crate::{Error, ErrorKind};

/// Splits on whitespace, keeping double-quoted strings (with `\"` and `\\`) whole.
fn words(text: &str) -> Result<Vec<(String, bool)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err("a quoted string is not closed".to_owned()),
                    Some('"') => break,
                    // Only \" and \\ are escapes; other backslashes stay (regexes need them).
                    Some('\\') => match chars.peek() {
                        Some(&e @ ('"' | '\\')) => {
                            s.push(e);
                            chars.next();
                        }
                        _ => s.push('\\'),
                    },
                    Some(c) => s.push(c),
                }
            }
            out.push((s, true));
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                s.push(c);
                chars.next();
            }
            out.push((s, false));
        }
    }
    Ok(out)
}

/// Where a capture reads its value.
#[derive(Debug, Clone)]
pub(crate) enum CaptureSource {
    /// A JSON path into the body.
    Json(JsonPath),
    /// A response header.
    Header(String),
    /// A cookie set by the response.
    Cookie(String),
    /// The first group (or the whole match) of a regex on the body.
    Regex(Regex),
    /// The status code.
    Status,
}

/// A value taken from a response into a variable.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Capture {
    source: String,
    from: CaptureSource,
}

impl Capture {
    /// Parses a capture expression.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = |why: String| {
            Error::new(
                ErrorKind::InvalidExpression,
                format!("capture {text:?}: {why}"),
            )
        };
        let w = words(text).map_err(bad)?;
        let arg = |i: usize| {
            w.get(i)
                .map(|(s, _)| s.clone())
                .ok_or_else(|| bad(format!("`{}` needs an argument", w[0].0)))
        };
        let from = match w.first().map(|(s, _)| s.as_str()) {
            Some("json") => CaptureSource::Json(JsonPath::parse(&arg(1)?)?),
            Some("header") => CaptureSource::Header(arg(1)?.to_ascii_lowercase()),
            Some("cookie") => CaptureSource::Cookie(arg(1)?),
            Some("regex") => {
                CaptureSource::Regex(Regex::new(&arg(1)?).map_err(|e| bad(e.to_string()))?)
            }
            Some("status") => CaptureSource::Status,
            _ => {
                return Err(bad(
                    "expected json PATH, header NAME, cookie NAME, regex \"PATTERN\" or status"
                        .to_owned(),
                ));
            }
        };
        let extra = match from {
            CaptureSource::Status => 1,
            _ => 2,
        };
        if w.len() > extra {
            return Err(bad(format!("unexpected `{}`", w[extra].0)));
        }
        Ok(Self {
            source: text.to_owned(),
            from,
        })
    }

    /// The captured value, or `None` when the response does not have it.
    pub fn apply(&self, response: &Response) -> Option<String> {
        match &self.from {
            CaptureSource::Json(path) => path.find(&response.json()?).map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            CaptureSource::Header(name) => response.header(name).map(str::to_owned),
            CaptureSource::Cookie(name) => SetCookie::all(response.headers())
                .into_iter()
                .find(|c| &c.name == name)
                .map(|c| c.value),
            CaptureSource::Regex(re) => {
                let text = response.text();
                let caps = re.captures(&text)?;
                caps.get(1)
                    .or_else(|| caps.get(0))
                    .map(|m| m.as_str().to_owned())
            }
            CaptureSource::Status => Some(response.status.as_u16().to_string()),
        }
    }
}

impl TryFrom<String> for Capture {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl fmt::Display for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// A comparison in an assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `contains` (text, or an array element)
    Contains,
    /// `matches` (a regex)
    Matches,
    /// `exists`
    Exists,
    /// `not_exists`
    NotExists,
}

#[derive(Debug, Clone)]
enum Subject {
    Status,
    Json(JsonPath),
    Header(String),
    Body,
    Latency,
}

#[derive(Debug, Clone)]
enum Expected {
    None,
    Json(Value),
    Text(String),
    Regex(Regex),
    Duration(Duration),
}

/// A condition on a response.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Assertion {
    source: String,
    subject: Subject,
    cmp: Cmp,
    expected: Expected,
}

impl Assertion {
    /// Parses an assertion expression.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = |why: String| {
            Error::new(
                ErrorKind::InvalidExpression,
                format!("assertion {text:?}: {why}"),
            )
        };
        let w = words(text).map_err(bad)?;
        let mut i = 0;
        let mut next = |what: &str| {
            let word = w
                .get(i)
                .cloned()
                .ok_or_else(|| bad(format!("expected {what}")));
            i += 1;
            word
        };
        let subject = match next("status, json, header, body or latency")?.0.as_str() {
            "status" => Subject::Status,
            "json" => Subject::Json(JsonPath::parse(&next("a JSON path after `json`")?.0)?),
            "header" => {
                Subject::Header(next("a header name after `header`")?.0.to_ascii_lowercase())
            }
            "body" => Subject::Body,
            "latency" => Subject::Latency,
            other => {
                return Err(bad(format!(
                    "expected status, json, header, body or latency, found `{other}`"
                )));
            }
        };
        let cmp = match next("an operator (== != < <= > >= contains matches exists not_exists)")?
            .0
            .as_str()
        {
            "==" => Cmp::Eq,
            "!=" => Cmp::Ne,
            "<" => Cmp::Lt,
            "<=" => Cmp::Le,
            ">" => Cmp::Gt,
            ">=" => Cmp::Ge,
            "contains" => Cmp::Contains,
            "matches" => Cmp::Matches,
            "exists" => Cmp::Exists,
            "not_exists" => Cmp::NotExists,
            other => {
                return Err(bad(format!(
                    "expected an operator (== != < <= > >= contains matches exists not_exists), found `{other}`"
                )));
            }
        };
        let expected = match cmp {
            Cmp::Exists | Cmp::NotExists => Expected::None,
            _ => {
                let (word, quoted) = next("a value to compare with")?;
                match (&subject, cmp) {
                    (_, Cmp::Matches) => {
                        Expected::Regex(Regex::new(&word).map_err(|e| bad(e.to_string()))?)
                    }
                    (Subject::Latency, _) => Expected::Duration(
                        humantime::parse_duration(&word)
                            .map_err(|e| bad(format!("latency limit `{word}`: {e}")))?,
                    ),
                    (Subject::Status, _) => Expected::Json(Value::from(
                        word.parse::<u16>()
                            .map_err(|_| bad(format!("status `{word}` is not a number")))?,
                    )),
                    (Subject::Json(_), _) if !quoted => match serde_json::from_str(&word) {
                        Ok(v) => Expected::Json(v),
                        Err(_) if cmp == Cmp::Contains => Expected::Text(word),
                        Err(_) => {
                            return Err(bad(format!(
                                "`{word}` is not a JSON value (quote strings)"
                            )));
                        }
                    },
                    (Subject::Json(_), _) => Expected::Json(Value::String(word)),
                    _ => Expected::Text(word),
                }
            }
        };
        if matches!(subject, Subject::Status | Subject::Latency)
            && matches!(cmp, Cmp::Exists | Cmp::NotExists | Cmp::Contains)
        {
            return Err(bad(
                "status and latency compare with == != < <= > >=".to_owned()
            ));
        }
        if let Some((extra, _)) = w.get(i) {
            return Err(bad(format!("unexpected `{extra}` after the value")));
        }
        Ok(Self {
            source: text.to_owned(),
            subject,
            cmp,
            expected,
        })
    }

    /// Checks the response; `Err` says what was found instead.
    pub fn check(&self, response: &Response) -> Result<(), Mismatch> {
        let actual: Option<Value> = match &self.subject {
            Subject::Status => Some(Value::from(response.status.as_u16())),
            Subject::Json(path) => match response.json() {
                Some(doc) => path.find(&doc).cloned(),
                None if self.cmp == Cmp::NotExists => None,
                None => return Err(Mismatch(format!("{}: the body is not JSON", self.source))),
            },
            Subject::Header(name) => response.header(name).map(|v| Value::String(v.to_owned())),
            Subject::Body => Some(Value::String(response.text().into_owned())),
            Subject::Latency => Some(Value::from(response.elapsed.as_secs_f64())),
        };
        let shown = |v: &Option<Value>| match (v, &self.subject) {
            (None, _) => "nothing".to_owned(),
            (Some(v), Subject::Latency) => format!(
                "{:?}",
                Duration::from_secs_f64(v.as_f64().unwrap_or_default())
            ),
            (Some(Value::String(s)), _) if s.len() > 120 => {
                format!("{:?}…", &s[..s.floor_char_boundary(120)])
            }
            (Some(v), _) => v.to_string(),
        };
        let ok = match (self.cmp, &actual, &self.expected) {
            (Cmp::Exists, a, _) => a.is_some(),
            (Cmp::NotExists, a, _) => a.is_none(),
            (_, None, _) => false,
            (Cmp::Matches, Some(a), Expected::Regex(re)) => re.is_match(&as_text(a)),
            (Cmp::Contains, Some(Value::Array(items)), Expected::Json(e)) => items.contains(e),
            (Cmp::Contains, Some(a), e) => as_text(a).contains(&expected_text(e)),
            (cmp, Some(a), Expected::Duration(limit)) => {
                order(cmp, a.as_f64().unwrap_or(f64::MAX), limit.as_secs_f64())
            }
            (Cmp::Eq, Some(a), Expected::Json(e)) => a == e,
            (Cmp::Ne, Some(a), Expected::Json(e)) => a != e,
            (Cmp::Eq, Some(a), Expected::Text(e)) => &as_text(a) == e,
            (Cmp::Ne, Some(a), Expected::Text(e)) => &as_text(a) != e,
            (cmp, Some(a), e) => match (number(a), number_expected(e)) {
                (Some(x), Some(y)) => order(cmp, x, y),
                _ => false,
            },
        };
        if ok {
            Ok(())
        } else {
            Err(Mismatch(format!(
                "{}: found {}",
                self.source,
                shown(&actual)
            )))
        }
    }
}

/// A response that did not meet an assertion: `status == 200: found 401`. Reads as
/// its text (it derefs to `str`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Mismatch(pub(crate) String);

impl Mismatch {
    /// A mismatch described by `text` (a step's own checks: a status, a capture).
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// Several mismatches as one line: `a: found 1; b: found nothing`.
    pub fn join(all: &[Mismatch]) -> String {
        all.iter()
            .map(|m| m.0.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl From<Mismatch> for String {
    fn from(m: Mismatch) -> String {
        m.0
    }
}

impl std::ops::Deref for Mismatch {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn expected_text(e: &Expected) -> String {
    match e {
        Expected::Json(v) => as_text(v),
        Expected::Text(t) => t.clone(),
        Expected::Regex(r) => r.to_string(),
        Expected::Duration(d) => format!("{d:?}"),
        Expected::None => String::new(),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn number_expected(e: &Expected) -> Option<f64> {
    match e {
        Expected::Json(v) => number(v),
        Expected::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

fn order(cmp: Cmp, a: f64, b: f64) -> bool {
    match cmp {
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
        Cmp::Gt => a > b,
        Cmp::Ge => a >= b,
        Cmp::Eq => a == b,
        Cmp::Ne => a != b,
        _ => false,
    }
}

impl TryFrom<String> for Assertion {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl fmt::Display for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}
