//! Approvals: a request per promotion, decided by someone (other than the requester
//! under four eyes), valid for a while, usable once. Each request is a JSON-lines file
//! under `<environment's state dir>/approvals/`, appended and fsync'd like a
//! deployment's journal, so every decision stays on record.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::config::ApprovalConfig;
use crate::{Error, ErrorKind};

/// One line of an approval's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
enum Decision {
    Requested {
        id: String,
        environment: String,
        from: String,
        version: String,
        by: String,
    },
    Approved {
        by: String,
    },
    Used {
        deployment: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Line {
    at: String,
    #[serde(flatten)]
    decision: Decision,
}

/// A request for approval, as its file tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Its id (`approve ID`).
    pub id: String,
    /// The environment it asks to deploy to.
    pub environment: String,
    /// Where the version comes from.
    pub from: String,
    /// The version.
    pub version: String,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub requested_at: SystemTime,
    /// Who approved it, and when.
    pub approved: Option<(String, SystemTime)>,
    /// The deployment that used it.
    pub used_by: Option<String>,
}

/// Where a request stands at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Nobody decided yet; it expires at the time given.
    Pending {
        /// When it expires.
        expires: SystemTime,
    },
    /// Approved; the wait timer runs until the time given.
    Waiting {
        /// Who approved.
        by: String,
        /// When the wait ends.
        until: SystemTime,
    },
    /// Approved, waited, not expired: the promotion may go ahead.
    Ready {
        /// Who approved.
        by: String,
    },
    /// Not decided, or not used, in time.
    Expired {
        /// When it expired.
        at: SystemTime,
    },
    /// A deployment used it.
    Used {
        /// Which.
        deployment: String,
    },
}

impl Request {
    /// Where it stands at `now` under `config`. The wait counts from the approval; the
    /// expiry from the request while pending and from the approval once approved.
    pub fn standing(&self, config: &ApprovalConfig, now: SystemTime) -> Standing {
        if let Some(d) = &self.used_by {
            return Standing::Used {
                deployment: d.clone(),
            };
        }
        match &self.approved {
            None => {
                let expires = self.requested_at + config.expires;
                if now >= expires {
                    Standing::Expired { at: expires }
                } else {
                    Standing::Pending { expires }
                }
            }
            Some((by, at)) => {
                let expires = *at + config.expires.max(config.wait);
                let until = *at + config.wait;
                if now >= expires {
                    Standing::Expired { at: expires }
                } else if now < until {
                    Standing::Waiting {
                        by: by.clone(),
                        until,
                    }
                } else {
                    Standing::Ready { by: by.clone() }
                }
            }
        }
    }

    /// Whether it can still lead to a deployment (not used, not expired).
    pub fn open(&self, config: &ApprovalConfig, now: SystemTime) -> bool {
        !matches!(
            self.standing(config, now),
            Standing::Expired { .. } | Standing::Used { .. }
        )
    }
}

/// The approvals of one environment.
#[derive(Debug, Clone)]
pub struct Approvals {
    dir: PathBuf,
    environment: String,
}

impl Approvals {
    /// The approvals kept in `state_dir` (the environment's deploy state directory).
    pub fn new(state_dir: &Path, environment: &str) -> Self {
        Self {
            dir: state_dir.join("approvals"),
            environment: environment.to_owned(),
        }
    }

    /// Asks for approval to deploy `version` from `from`, on behalf of `by`.
    pub fn request(
        &self,
        from: &str,
        version: &str,
        by: &str,
        now: SystemTime,
    ) -> Result<Request, Error> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io("create", &self.dir, e))?;
        let id = crate::stamp_id(now, version);
        let path = self.path(&id);
        // The file is born with its first line: no empty request is ever on disk.
        let mut file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io("create", &path, e))?;
        let line = Line {
            at: humantime::format_rfc3339_millis(now).to_string(),
            decision: Decision::Requested {
                id: id.clone(),
                environment: self.environment.clone(),
                from: from.to_owned(),
                version: version.to_owned(),
                by: by.to_owned(),
            },
        };
        write_line(&mut file, &path, &line)?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io("sync", &self.dir, e))?;
        self.get(&id)
    }

    /// Approves request `id` as `by`: refused when it is unknown, already approved or
    /// used, expired, or (under four eyes) `by` asked for it.
    pub fn approve(
        &self,
        id: &str,
        by: &str,
        config: &ApprovalConfig,
        now: SystemTime,
    ) -> Result<Request, Error> {
        let request = self.get(id)?;
        let refuse = |why: String| Err(Error::new(ErrorKind::Approval, why));
        match request.standing(config, now) {
            Standing::Pending { .. } => {}
            Standing::Expired { at } => {
                return refuse(format!(
                    "request {id} expired at {}: run the promotion again to ask anew",
                    humantime::format_rfc3339_seconds(at)
                ));
            }
            Standing::Waiting { by: who, .. } | Standing::Ready { by: who } => {
                return refuse(format!("request {id} was already approved by {who}"));
            }
            Standing::Used { deployment } => {
                return refuse(format!("request {id} was used by deployment {deployment}"));
            }
        }
        if config.four_eyes && by == request.requested_by {
            return refuse(format!(
                "{by} asked for {id}: under four eyes someone else must approve it"
            ));
        }
        self.append(id, now, Decision::Approved { by: by.to_owned() })?;
        self.get(id)
    }

    /// Records that deployment `deployment` used approval `id`.
    pub fn mark_used(&self, id: &str, deployment: &str, now: SystemTime) -> Result<(), Error> {
        self.append(
            id,
            now,
            Decision::Used {
                deployment: deployment.to_owned(),
            },
        )
    }

    /// Request `id`.
    pub fn get(&self, id: &str) -> Result<Request, Error> {
        if !crate::valid_id(id) {
            return Err(Error::new(
                ErrorKind::Approval,
                format!("{id:?} is not an approval id"),
            ));
        }
        let path = self.path(id);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorKind::Approval,
                    format!(
                        "{} has no approval request {id} (`shipgate-deploy --env {} status` lists them)",
                        self.environment, self.environment
                    ),
                ));
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        parse(&path, &text)
    }

    /// Every request, oldest first.
    pub fn list(&self) -> Result<Vec<Request>, Error> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list", &self.dir, e)),
        };
        let mut ids: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".jsonl").map(str::to_owned)
            })
            .collect();
        ids.sort();
        ids.iter().map(|id| self.get(id)).collect()
    }

    /// The newest request for `version` from `from` that can still lead to a
    /// deployment, if any.
    pub fn open_for(
        &self,
        from: &str,
        version: &str,
        config: &ApprovalConfig,
        now: SystemTime,
    ) -> Result<Option<Request>, Error> {
        Ok(self
            .list()?
            .into_iter()
            .rev()
            .find(|r| r.from == from && r.version == version && r.open(config, now)))
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.jsonl"))
    }

    fn append(&self, id: &str, now: SystemTime, decision: Decision) -> Result<(), Error> {
        let path = self.path(id);
        let line = Line {
            at: humantime::format_rfc3339_millis(now).to_string(),
            decision,
        };
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        write_line(&mut file, &path, &line)
    }
}

/// Appends one record and waits until it is on disk.
fn write_line(file: &mut std::fs::File, path: &Path, line: &Line) -> Result<(), Error> {
    let mut text = serde_json::to_string(line).expect("an approval line serializes");
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(|e| Error::io("append to", path, e))
}

fn parse(path: &Path, text: &str) -> Result<Request, Error> {
    let mut request: Option<Request> = None;
    // A torn last line (a crash mid-write) is not a decision.
    let complete = text.rfind('\n').map_or("", |i| &text[..=i]);
    for (n, raw) in complete.lines().enumerate() {
        let line: Line = serde_json::from_str(raw).map_err(|e| {
            Error::with_source(
                ErrorKind::Io,
                format!("{}:{}: not an approval record", path.display(), n + 1),
                e,
            )
        })?;
        let at = humantime::parse_rfc3339(&line.at).map_err(|e| {
            Error::with_source(
                ErrorKind::Io,
                format!("{}:{}: bad time {:?}", path.display(), n + 1, line.at),
                e,
            )
        })?;
        match (line.decision, request.as_mut()) {
            (
                Decision::Requested {
                    id,
                    environment,
                    from,
                    version,
                    by,
                },
                None,
            ) => {
                request = Some(Request {
                    id,
                    environment,
                    from,
                    version,
                    requested_by: by,
                    requested_at: at,
                    approved: None,
                    used_by: None,
                });
            }
            (Decision::Approved { by }, Some(r)) => r.approved = Some((by, at)),
            (Decision::Used { deployment }, Some(r)) => r.used_by = Some(deployment),
            _ => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "{}:{}: out of order (a request starts with one `requested` line)",
                        path.display(),
                        n + 1
                    ),
                ));
            }
        }
    }
    request.ok_or_else(|| {
        Error::new(
            ErrorKind::Io,
            format!("{}: an empty approval record", path.display()),
        )
    })
}

/// `4m 12s`: a wait, rounded to the second.
pub fn remaining(until: SystemTime, now: SystemTime) -> Duration {
    until
        .duration_since(now)
        .map(|d| Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0)))
        .unwrap_or_default()
}
