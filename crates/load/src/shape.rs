//! How load is applied, resolved from `[load.shape]`: closed-model stages of users,
//! or an open model's arrival rate over time.

use std::time::Duration;

use crate::config::ShapeConfig;
use crate::{Error, ErrorKind};

/// One closed-model stage, resolved: hold `users` until `until` (from the start).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// Target users.
    pub users: u32,
    /// When the stage ends, from the start of the run.
    pub until: Duration,
    /// Users started or stopped per second.
    pub spawn_rate: f64,
}

/// How load is applied, resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// User counts by stage.
    Closed(Vec<Stage>),
    /// Arrival rate: `(time, rate)` points, linear between them; ends at the last point.
    Open {
        /// `(time from start, iterations per second)`.
        points: Vec<(Duration, f64)>,
        /// Virtual users: iterations in flight at most.
        max_vus: u32,
    },
}

impl Shape {
    /// When the shape ends.
    pub fn duration(&self) -> Duration {
        match self {
            Shape::Closed(stages) => stages.last().map_or(Duration::ZERO, |s| s.until),
            Shape::Open { points, .. } => points.last().map_or(Duration::ZERO, |p| p.0),
        }
    }

    /// The stage at `t`, or `None` once the shape is over.
    pub fn stage_at(&self, t: Duration) -> Option<Stage> {
        match self {
            Shape::Closed(stages) => stages.iter().find(|s| t < s.until).copied(),
            Shape::Open { .. } => None,
        }
    }

    /// The arrival rate at `t` (open model).
    pub fn rate_at(&self, t: Duration) -> f64 {
        let Shape::Open { points, .. } = self else {
            return 0.0;
        };
        for pair in points.windows(2) {
            let ((t0, r0), (t1, r1)) = (pair[0], pair[1]);
            if t < t1 {
                if r0 == r1 || t1 <= t0 {
                    return r1;
                }
                let f = (t - t0).as_secs_f64() / (t1 - t0).as_secs_f64();
                return r0 + (r1 - r0) * f.clamp(0.0, 1.0);
            }
        }
        points.last().map_or(0.0, |p| p.1)
    }
}

/// `3 users until 30s (10/s), 10 users until 1m30s (10/s)`, or
/// `arrival 0/s at 0s → 200/s at 1m (max 100 VUs)`: the shape as a report states it.
impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = |d: &Duration| humantime::format_duration(*d);
        match self {
            Shape::Closed(stages) => {
                for (i, s) in stages.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(
                        f,
                        "{sep}{} users until {} ({}/s)",
                        s.users,
                        t(&s.until),
                        s.spawn_rate
                    )?;
                }
                Ok(())
            }
            Shape::Open { points, max_vus } => {
                f.write_str("arrival ")?;
                for (i, (at, rate)) in points.iter().enumerate() {
                    let sep = if i == 0 { "" } else { " → " };
                    write!(f, "{sep}{rate}/s at {}", t(at))?;
                }
                write!(f, " (max {max_vus} VUs)")
            }
        }
    }
}

/// `[load.shape]` resolved: its stages, or its arrival-rate points, checked.
pub(crate) fn from_config(cfg: &ShapeConfig) -> Result<Shape, Error> {
    let bad = |m: &str| Err(Error::new(ErrorKind::Plan, m.to_owned()));
    Ok(match cfg {
        ShapeConfig::Constant {
            users,
            duration,
            spawn_rate,
        } => Shape::Closed(vec![Stage {
            users: *users,
            until: *duration,
            spawn_rate: *spawn_rate,
        }]),
        ShapeConfig::Stages { stages } => {
            if stages.is_empty() {
                return bad("`stages` is empty");
            }
            let mut until = Duration::ZERO;
            Shape::Closed(
                stages
                    .iter()
                    .map(|s| {
                        until += s.duration;
                        Stage {
                            users: s.users,
                            until,
                            spawn_rate: s.spawn_rate,
                        }
                    })
                    .collect(),
            )
        }
        ShapeConfig::Arrival {
            rate,
            duration,
            stages,
            max_vus,
        } => {
            if *rate < 0.0 || stages.iter().any(|s| s.rate < 0.0) {
                return bad("arrival rates cannot be negative");
            }
            let mut points = vec![(Duration::ZERO, *rate)];
            if stages.is_empty() {
                let Some(d) = duration else {
                    return bad("an arrival shape needs `duration` or `stages`");
                };
                points.push((*d, *rate));
            }
            let mut t = Duration::ZERO;
            for s in stages {
                t += s.duration;
                points.push((t, s.rate));
            }
            Shape::Open {
                points,
                max_vus: (*max_vus).max(1),
            }
        }
    })
}
