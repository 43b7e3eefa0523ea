//! Every sample and transition, one JSON object per line (`shipgate.watch-history/v1`,
//! docs/watch-schema.md), rotated by size: `history.jsonl` → `.1` → `.2` → `.3`.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::evaluate::Change;
use crate::sample::Sample;
use crate::{Error, ErrorKind};

/// The schema name each line carries.
pub const HISTORY_SCHEMA: &str = "shipgate.watch-history/v1";

/// Rotated files kept besides the live one.
const KEEP: u32 = 3;

/// An open history file.
#[derive(Debug)]
pub struct History {
    path: PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
}

impl History {
    /// Opens (creating) `path` for appending; rotates at `max_bytes`.
    pub fn open(path: &Path, max_bytes: u64) -> Result<Self, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io("cannot open", path, e))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Self {
            path: path.to_owned(),
            file,
            size,
            max_bytes: max_bytes.max(1024),
        })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a sample.
    pub fn sample(&mut self, sample: &Sample, muted: bool) -> Result<(), Error> {
        let mut line = json!({"schema": HISTORY_SCHEMA, "type": "sample"});
        merge(
            &mut line,
            serde_json::to_value(sample).expect("samples serialize"),
        );
        if muted {
            line["muted"] = Value::Bool(true);
        }
        self.write(&line)
    }

    /// Appends a transition.
    pub fn change(&mut self, change: &Change) -> Result<(), Error> {
        let mut line = json!({"schema": HISTORY_SCHEMA, "type": "transition"});
        merge(
            &mut line,
            serde_json::to_value(change).expect("changes serialize"),
        );
        self.write(&line)
    }

    /// Appends any other event (`rollback`, `window`, `mute`), with its fields.
    pub fn event(&mut self, kind: &str, fields: Value) -> Result<(), Error> {
        let mut line = json!({"schema": HISTORY_SCHEMA, "type": kind});
        merge(&mut line, fields);
        self.write(&line)
    }

    fn write(&mut self, line: &Value) -> Result<(), Error> {
        let mut text = serde_json::to_string(line).expect("JSON serializes");
        text.push('\n');
        if self.size > 0 && self.size + text.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        self.file
            .write_all(text.as_bytes())
            .map_err(|e| io("cannot append to", &self.path, e))?;
        self.size += text.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), Error> {
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        for n in (1..KEEP).rev() {
            let from = numbered(n);
            if from.exists() {
                std::fs::rename(&from, numbered(n + 1))
                    .map_err(|e| io("cannot rotate", &from, e))?;
            }
        }
        std::fs::rename(&self.path, numbered(1)).map_err(|e| io("cannot rotate", &self.path, e))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| io("cannot open", &self.path, e))?;
        self.size = 0;
        Ok(())
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        a.extend(b);
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::with_source(ErrorKind::Io, format!("{what} {}", path.display()), e)
}
