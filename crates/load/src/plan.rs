//! A load test, resolved: classes with their tasks, the shape, thresholds. Built from
//! `[load]` or with the builder API (where a task can be any async function).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use shipgate_http::{Step, TemplateVars};
use shipgate_stats::Threshold;

use crate::config::{LoadConfig, ThinkConfig};
pub use crate::shape::{Shape, Stage};
use crate::{Error, ErrorKind};

/// A custom task's error: any error. Its kind is read from it: a tower `Elapsed` (from a
/// `.timeout()` layer) counts as a timeout, a `shipgate_http::Error` by its kind, anything
/// else as "other"; its message (with its causes) names the failure in reports.
pub type TaskError = Box<dyn std::error::Error + Send + Sync>;

/// A custom task: an async function; its duration is the latency, `Err` a failure.
pub type TaskFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send>> + Send + Sync>;

/// What a task does.
#[derive(Clone)]
pub enum Action {
    /// An HTTP request with captures and assertions.
    Http(Box<Step>),
    /// Any async function, named for the reports.
    Custom(String, TaskFn),
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Http(step) => write!(f, "Http({})", step.display_name()),
            Action::Custom(name, _) => write!(f, "Custom({name})"),
        }
    }
}

impl Action {
    /// The request name in reports: a step's `name`, or `METHOD URL-template`.
    pub fn name(&self) -> String {
        match self {
            Action::Http(step) => step
                .name
                .clone()
                .unwrap_or_else(|| format!("{} {}", step.method, step.url)),
            Action::Custom(name, _) => name.clone(),
        }
    }

    /// A task that calls a tower `Service` with `()`; its error is the failure (see
    /// [`TaskError`]), so a service under `.timeout()` fails as a timeout.
    pub fn service<S>(name: impl Into<String>, service: S) -> Self
    where
        S: tower::Service<(), Response = ()> + Clone + Send + Sync + 'static,
        S::Error: Into<TaskError>,
        S::Future: Send + 'static,
    {
        Self::custom(name, move || {
            let svc = service.clone();
            async move {
                tower::ServiceExt::oneshot(svc, ())
                    .await
                    .map_err(Into::into)
            }
        })
    }

    /// A custom task.
    pub fn custom<F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), TaskError>> + Send + 'static,
    {
        Action::Custom(name.into(), Arc::new(move || Box::pin(f())))
    }
}

/// A user class.
#[derive(Debug, Clone)]
pub struct Class {
    /// Name.
    pub name: String,
    /// Share of the weighted users.
    pub weight: u32,
    /// A fixed number of users instead of a share.
    pub fixed_count: Option<u32>,
    /// Pause between tasks.
    pub think: ThinkConfig,
    /// Tasks in order instead of by weight.
    pub sequential: bool,
    /// Run once per user at its start.
    pub on_start: Vec<Action>,
    /// Run once per user at its stop.
    pub on_stop: Vec<Action>,
    /// `(weight, action)`.
    pub tasks: Vec<(u32, Action)>,
}

impl Class {
    /// Every action: `on_start`, the tasks, `on_stop`.
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.on_start
            .iter()
            .chain(self.tasks.iter().map(|(_, a)| a))
            .chain(self.on_stop.iter())
    }

    /// A class with weight 1 and no tasks.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            weight: 1,
            fixed_count: None,
            think: ThinkConfig::None,
            sequential: false,
            on_start: vec![],
            on_stop: vec![],
            tasks: vec![],
        }
    }

    /// Sets the weight.
    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// Adds a task.
    pub fn task(mut self, weight: u32, action: Action) -> Self {
        self.tasks.push((weight, action));
        self
    }

    /// Sets the think time.
    pub fn think(mut self, think: ThinkConfig) -> Self {
        self.think = think;
        self
    }
}

/// A whole load test: made by [`Plan::new`] or [`Plan::from_config`], which refuse a
/// plan that cannot run (no classes, a class without tasks, a shape that lasts no
/// time, fixed counts that cannot reach the users asked for), so a `Plan` runs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) classes: Vec<Class>,
    pub(crate) shape: Shape,
    pub(crate) graceful_stop: Duration,
    pub(crate) thresholds: Vec<Threshold>,
    pub(crate) vars: TemplateVars,
}

impl Plan {
    /// `classes` over `shape`, with no graceful stop, thresholds or variables until
    /// given ([`Plan::with_graceful_stop`], …). Fails when it could not run.
    ///
    /// ```
    /// use std::time::Duration;
    /// use shipgate_load::{Action, Class, Plan, Shape, Stage};
    ///
    /// let class = Class::new("browser").task(1, Action::custom("noop", || async { Ok(()) }));
    /// let until = Duration::from_secs(5);
    /// let shape = Shape::Closed(vec![Stage { users: 10, until, spawn_rate: 10.0 }]);
    /// let plan = Plan::new(vec![class], shape)
    ///     .unwrap()
    ///     .with_graceful_stop(Duration::from_secs(2));
    /// assert_eq!(plan.shape().duration(), Duration::from_secs(5));
    /// assert!(Plan::new(vec![Class::new("no tasks")], plan.shape().clone()).is_err());
    /// ```
    pub fn new(classes: Vec<Class>, shape: Shape) -> Result<Self, Error> {
        let plan = Self {
            classes,
            shape,
            graceful_stop: Duration::ZERO,
            thresholds: Vec::new(),
            vars: TemplateVars::default(),
        };
        plan.validate()?;
        Ok(plan)
    }

    /// How long users may finish their iteration after the shape ends.
    pub fn with_graceful_stop(mut self, graceful_stop: Duration) -> Self {
        self.graceful_stop = graceful_stop;
        self
    }

    /// The thresholds that decide the run's verdict.
    pub fn with_thresholds(mut self, thresholds: Vec<Threshold>) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// Variables for the requests' templates (`host`, `[load.vars]`).
    pub fn with_vars(mut self, vars: TemplateVars) -> Self {
        self.vars = vars;
        self
    }

    /// The user classes.
    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// How long users may finish after the shape ends.
    pub fn graceful_stop(&self) -> Duration {
        self.graceful_stop
    }

    /// The thresholds deciding the verdict.
    pub fn thresholds(&self) -> &[Threshold] {
        &self.thresholds
    }

    /// The requests' variables.
    pub fn vars(&self) -> &TemplateVars {
        &self.vars
    }

    /// Sets every class's think time.
    pub fn with_think(mut self, think: ThinkConfig) -> Self {
        for c in &mut self.classes {
            c.think = think;
        }
        self
    }

    /// What the plan runs, as report lines: its shape and its user classes.
    pub fn describe(&self) -> Vec<(String, String)> {
        let classes = self
            .classes
            .iter()
            .map(|c| format!("{} (weight {}, {} tasks)", c.name, c.weight, c.tasks.len()))
            .collect::<Vec<_>>()
            .join(", ");
        vec![
            ("shape".to_owned(), self.shape.to_string()),
            ("user classes".to_owned(), classes),
        ]
    }

    /// Resolves a `[load]` section.
    pub fn from_config(cfg: &LoadConfig) -> Result<Self, Error> {
        let mut vars: TemplateVars = cfg.vars.clone().into_iter().collect();
        vars.extend(
            cfg.secrets
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().to_owned())),
        );
        if let Some(host) = &cfg.host {
            vars.insert("host".to_owned(), host.trim_end_matches('/').to_owned());
        }
        let classes = cfg
            .users
            .iter()
            .map(|u| Class {
                name: u.name.clone(),
                weight: u
                    .weight
                    .unwrap_or(if u.fixed_count.is_some() { 0 } else { 1 }),
                fixed_count: u.fixed_count,
                think: u.think,
                sequential: u.sequential,
                on_start: u
                    .on_start
                    .iter()
                    .cloned()
                    .map(|s| Action::Http(Box::new(s)))
                    .collect(),
                on_stop: u
                    .on_stop
                    .iter()
                    .cloned()
                    .map(|s| Action::Http(Box::new(s)))
                    .collect(),
                tasks: u
                    .tasks
                    .iter()
                    .map(|t| (t.weight, Action::Http(Box::new(t.request.clone()))))
                    .collect(),
            })
            .collect();
        let thresholds = parse_thresholds(&cfg.thresholds)?;
        Ok(Plan::new(classes, crate::shape::from_config(&cfg.shape)?)?
            .with_graceful_stop(cfg.graceful_stop)
            .with_thresholds(thresholds)
            .with_vars(vars))
    }

    /// Checks the plan could run.
    fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::new(ErrorKind::Plan, m));
        if self.classes.is_empty() {
            return bad("no user classes: add [[load.users]]".to_owned());
        }
        for c in &self.classes {
            if c.tasks.is_empty() {
                return bad(format!("user class {:?} has no tasks", c.name));
            }
            if !c.sequential && c.tasks.iter().all(|(w, _)| *w == 0) {
                return bad(format!("user class {:?}: every task has weight 0", c.name));
            }
            if c.fixed_count.is_some() && c.weight > 0 {
                return bad(format!(
                    "user class {:?}: give `weight` or `fixed_count`, not both",
                    c.name
                ));
            }
        }
        if self
            .classes
            .iter()
            .all(|c| c.weight == 0 && c.fixed_count.is_none())
        {
            return bad("every user class has weight 0".to_owned());
        }
        if self.shape.duration().is_zero() {
            return bad("the shape lasts no time: give stages or a duration".to_owned());
        }
        // Only fixed classes: there is no class for a user beyond their sum (Locust
        // would start none; a run that cannot reach its stage's users is refused).
        if let Shape::Closed(stages) = &self.shape
            && self.classes.iter().all(|c| c.weight == 0)
        {
            let fixed: u64 = self
                .classes
                .iter()
                .map(|c| u64::from(c.fixed_count.unwrap_or(0)))
                .sum();
            if let Some(most) = stages.iter().map(|s| u64::from(s.users)).max()
                && most > fixed
            {
                return bad(format!(
                    "every user class has a fixed_count and they add up to {fixed}, but the \
                     shape asks for {most} users: ask for at most {fixed}, or give a class a \
                     weight to take the rest"
                ));
            }
        }
        Ok(())
    }
}

/// Parses threshold expressions (`p95 < 500ms`, `error_rate < 1%`), naming the one
/// that is wrong.
pub fn parse_thresholds(exprs: &[String]) -> Result<Vec<Threshold>, Error> {
    exprs
        .iter()
        .map(|t| {
            t.parse::<Threshold>().map_err(|e| {
                Error::with_source(ErrorKind::Threshold, format!("threshold {t:?}"), e)
            })
        })
        .collect()
}

/// The order in which weighted classes (or tasks) are handed out: smooth weighted
/// round-robin, so that after any number of picks each share is within one of its
/// exact proportion. One period is `sum(weights)` long.
pub(crate) fn weighted_sequence(weights: &[u32]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|w| i64::from(*w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (c, w) in current.iter_mut().zip(weights) {
            *c += i64::from(*w);
        }
        let (best, _) = current
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
            .expect("weights");
        current[best] -= total;
        out.push(best);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_read_as_a_report_states_them() {
        let closed = Shape::Closed(vec![
            Stage {
                users: 3,
                until: Duration::from_secs(30),
                spawn_rate: 10.0,
            },
            Stage {
                users: 10,
                until: Duration::from_secs(90),
                spawn_rate: 2.5,
            },
        ]);
        assert_eq!(
            closed.to_string(),
            "3 users until 30s (10/s), 10 users until 1m 30s (2.5/s)"
        );
        let open = Shape::Open {
            points: vec![(Duration::ZERO, 0.0), (Duration::from_secs(60), 200.0)],
            max_vus: 100,
        };
        assert_eq!(
            open.to_string(),
            "arrival 0/s at 0s → 200/s at 1m (max 100 VUs)"
        );
    }

    #[test]
    fn weighted_sequence_is_within_one_of_exact_at_every_prefix() {
        let weights = [50, 20, 15, 10, 5];
        let seq = weighted_sequence(&weights);
        assert_eq!(seq.len(), 100);
        let mut counts = [0usize; 5];
        for (n, &c) in seq.iter().enumerate() {
            counts[c] += 1;
            for (i, w) in weights.iter().enumerate() {
                let exact = (n + 1) as f64 * f64::from(*w) / 100.0;
                assert!(
                    (counts[i] as f64 - exact).abs() < 1.0,
                    "after {} picks class {i} has {} (exact {exact})",
                    n + 1,
                    counts[i]
                );
            }
        }
    }

    #[test]
    fn open_shapes_interpolate_rates() {
        let shape = Shape::Open {
            points: vec![(Duration::ZERO, 10.0), (Duration::from_secs(10), 110.0)],
            max_vus: 1,
        };
        assert_eq!(shape.rate_at(Duration::from_secs(5)), 60.0);
        assert_eq!(shape.rate_at(Duration::from_secs(20)), 110.0);
    }
}
