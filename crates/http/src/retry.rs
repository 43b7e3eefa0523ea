//! One retry policy for every layer: [`Backoff`], a schedule bounded by attempts, a
//! deadline, or both; [`retry`], which runs an attempt until it is done or the budget
//! is spent; and [`Schedule`], the same policy for a loop written out by hand.
//!
//! A step's retries, a smoke scenario retried until healthy, a notification's
//! delivery, and (to come) a deployment's health wait are all this. Time is tokio's,
//! so tests run it on a paused clock.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// When to try again.
///
/// The n-th retry waits `first × factorⁿ⁻¹`, at most `max_delay`. Attempts stop at
/// `max_attempts` (the first included) and before a wait that would end at or past
/// `deadline` (from the start of the first attempt). With neither bound there is one
/// attempt only: a policy never retries forever by accident.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The wait before the first retry.
    pub first: Duration,
    /// Each wait is the previous one times this (1 for a constant interval).
    pub factor: u32,
    /// No wait is longer than this.
    pub max_delay: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: Option<u32>,
    /// No attempt starts this long after the first one started.
    pub deadline: Option<Duration>,
}

impl Backoff {
    /// Doubling waits from `first`, capped at 30 s; give a bound with
    /// [`attempts`](Self::attempts) or [`within`](Self::within).
    pub fn exponential(first: Duration) -> Self {
        Self {
            first,
            factor: 2,
            max_delay: Duration::from_secs(30),
            max_attempts: None,
            deadline: None,
        }
    }

    /// The same wait every time.
    pub fn constant(interval: Duration) -> Self {
        Self {
            first: interval,
            factor: 1,
            max_delay: interval,
            max_attempts: None,
            deadline: None,
        }
    }

    /// At most `n` attempts in all (at least one).
    pub fn attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n.max(1));
        self
    }

    /// No attempt starts later than `d` after the first.
    pub fn within(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }

    /// The wait after failed attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let mut d = self.first;
        for _ in 1..attempt {
            d = d.saturating_mul(self.factor);
            if d >= self.max_delay {
                break;
            }
        }
        d.min(self.max_delay)
    }
}

/// What an attempt decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt<T> {
    /// Stop here with this (a success, or a failure not worth retrying).
    Done(T),
    /// Worth another try, if the policy allows; `T` is kept in case it does not.
    /// `wait` overrides the policy's next wait (a server's `Retry-After`), still
    /// capped at `max_delay` and the deadline.
    Again {
        /// The attempt's result, returned if it was the last.
        last: T,
        /// The wait the peer asked for, if any.
        wait: Option<Duration>,
    },
}

impl<T> Attempt<T> {
    /// `Again` with the policy's own wait.
    pub fn again(last: T) -> Self {
        Self::Again { last, wait: None }
    }
}

/// A policy being followed: how many attempts ran, when the first began.
///
/// For a loop that cannot be a closure (an attempt that borrows state mutably):
/// attempt, then ask [`next_wait`](Self::next_wait); [`retry`] is this loop.
#[derive(Debug, Clone)]
pub struct Schedule {
    policy: Backoff,
    start: Instant,
    attempts: u32,
}

impl Backoff {
    /// Starts following the policy now; the first attempt is about to run.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            policy: *self,
            start: Instant::now(),
            attempts: 1,
        }
    }
}

impl Schedule {
    /// After a failed attempt: how long to wait before the next one, or `None` when
    /// the policy allows no more. `asked` is the wait a peer asked for (`Retry-After`).
    pub fn next_wait(&mut self, asked: Option<Duration>) -> Option<Duration> {
        let p = &self.policy;
        let unbounded = p.max_attempts.is_none() && p.deadline.is_none();
        if unbounded || p.max_attempts.is_some_and(|max| self.attempts >= max) {
            return None;
        }
        let wait = asked
            .unwrap_or_else(|| p.delay(self.attempts))
            .min(p.max_delay);
        if let Some(deadline) = p.deadline
            && Instant::now() + wait >= self.start + deadline
        {
            return None;
        }
        self.attempts += 1;
        Some(wait)
    }

    /// Attempts so far, the one running included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// Runs `attempt(n)` (n from 1) until it is [`Attempt::Done`] or the policy allows no
/// more tries; returns the last result and how many attempts ran.
pub async fn retry<T, F, Fut>(policy: &Backoff, mut attempt: F) -> (T, u32)
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let mut schedule = policy.schedule();
    loop {
        let (last, asked) = match attempt(schedule.attempts()).await {
            Attempt::Done(value) => return (value, schedule.attempts()),
            Attempt::Again { last, wait } => (last, wait),
        };
        match schedule.next_wait(asked) {
            Some(wait) => tokio::time::sleep(wait).await,
            None => return (last, schedule.attempts()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn waits_double_up_to_the_cap() {
        let b = Backoff {
            max_delay: 350 * MS,
            ..Backoff::exponential(100 * MS)
        };
        let waits: Vec<_> = (1..=5).map(|n| b.delay(n)).collect();
        assert_eq!(waits, [100 * MS, 200 * MS, 350 * MS, 350 * MS, 350 * MS]);
        assert_eq!(Backoff::constant(MS).delay(40), MS);
        // No overflow however many attempts.
        assert_eq!(
            Backoff::exponential(MS).delay(u32::MAX),
            Duration::from_secs(30)
        );
    }

    /// Runs a policy against an attempt that always asks again; returns the attempt
    /// count and the (paused) clock's times at which attempts started.
    async fn trace(policy: Backoff, wait: Option<Duration>) -> (u32, Vec<Duration>) {
        let start = Instant::now();
        let mut starts = Vec::new();
        let ((), n) = retry(&policy, |_| {
            starts.push(start.elapsed());
            async move { Attempt::Again { last: (), wait } }
        })
        .await;
        (n, starts)
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_bound_the_tries_and_waits_grow() {
        let (n, starts) = trace(Backoff::exponential(100 * MS).attempts(4), None).await;
        assert_eq!(n, 4);
        assert_eq!(starts, [Duration::ZERO, 100 * MS, 300 * MS, 700 * MS]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_stops_before_a_wait_that_would_pass_it() {
        let (n, starts) = trace(Backoff::constant(300 * MS).within(1000 * MS), None).await;
        // 0, 300, 600, 900; a fifth would start at 1200.
        assert_eq!(n, 4);
        assert_eq!(starts.last(), Some(&(900 * MS)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_asked_wait_replaces_the_policy_wait_within_the_cap() {
        let policy = Backoff {
            max_delay: 2000 * MS,
            ..Backoff::exponential(100 * MS).attempts(3)
        };
        let (_, starts) = trace(policy, Some(5000 * MS)).await;
        assert_eq!(starts, [Duration::ZERO, 2000 * MS, 4000 * MS]);
    }

    #[tokio::test(start_paused = true)]
    async fn no_bound_means_one_attempt_and_done_stops_at_once() {
        let (n, _) = trace(Backoff::exponential(MS), None).await;
        assert_eq!(n, 1);
        let (value, n) = retry(&Backoff::constant(MS).attempts(9), |n| async move {
            if n == 3 {
                Attempt::Done(n)
            } else {
                Attempt::again(n)
            }
        })
        .await;
        assert_eq!((value, n), (3, 3));
    }
}
