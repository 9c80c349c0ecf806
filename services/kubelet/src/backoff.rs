//! Kubernetes' crash-loop back-off, per container: the first restart is
//! immediate, then each waits twice as long as the one before (10 s, 20 s, …, 5
//! min), and a container that ran long enough starts the sequence again.
//!
//! The delays are the workspace's one back-off (`capstan-backoff`, its
//! pure form: the delay after the n-th restart in a row); this book keeps
//! each container's count. Time is passed in (tokio's [`Instant`]), so tests
//! drive it on a paused clock.

use std::collections::HashMap;
use std::time::Duration;

use capstan_backoff::Backoff;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// restarts in a row, the last one at `last`
    restarts: u32,
    last: Instant,
}

/// The back-off state of one pod's containers, keyed by container name.
#[derive(Clone, Debug)]
pub struct CrashBackoff {
    delays: Backoff,
    max: Duration,
    reset_after: Duration,
    entries: HashMap<String, Entry>,
}

impl CrashBackoff {
    pub fn new(base: Duration, max: Duration, reset_after: Duration) -> Self {
        CrashBackoff { delays: Backoff::new(base, max), max, reset_after, entries: HashMap::new() }
    }

    /// A container that ran at least this long restarts without delay.
    pub fn reset_after(&self) -> Duration {
        self.reset_after
    }

    /// When a restart of `name` may happen, if not now.
    pub fn blocked_until(&self, name: &str, now: Instant) -> Option<Instant> {
        let entry = self.entries.get(name)?;
        let since = now.saturating_duration_since(entry.last);
        let delay = self.delays.delay(entry.restarts);
        (since < delay && !self.expired(since)).then_some(entry.last + delay)
    }

    /// The delay the next restart of `name` would wait after this one.
    pub fn current_delay(&self, name: &str) -> Duration {
        self.entries.get(name).map_or(Duration::ZERO, |e| self.delays.delay(e.restarts))
    }

    /// Records a restart of `name` at `now`: the next one waits longer.
    pub fn record_restart(&mut self, name: &str, now: Instant) {
        let restarts = match self.entries.get(name) {
            Some(entry) if !self.expired(now.saturating_duration_since(entry.last)) => entry.restarts.saturating_add(1),
            _ => 1,
        };
        self.entries.insert(name.to_string(), Entry { restarts, last: now });
    }

    /// Forgets `name`'s history (it ran long enough).
    pub fn reset(&mut self, name: &str) {
        self.entries.remove(name);
    }

    /// An entry untouched for twice the cap is stale, as in Kubernetes.
    fn expired(&self, since: Duration) -> bool {
        since > self.max * 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[tokio::test(start_paused = true)]
    async fn delays_double_up_to_the_cap() {
        let mut backoff = CrashBackoff::new(secs(10), secs(300), secs(600));
        let mut waits = Vec::new();
        for _ in 0..8 {
            let now = Instant::now();
            let wait = backoff.blocked_until("app", now).map_or(Duration::ZERO, |at| at - now);
            waits.push(wait.as_secs());
            tokio::time::advance(wait).await;
            backoff.record_restart("app", Instant::now());
        }
        assert_eq!(waits, [0, 10, 20, 40, 80, 160, 300, 300]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_is_allowed_once_the_delay_has_passed() {
        let mut backoff = CrashBackoff::new(secs(10), secs(300), secs(600));
        backoff.record_restart("app", Instant::now());
        tokio::time::advance(secs(9)).await;
        assert!(backoff.blocked_until("app", Instant::now()).is_some());
        tokio::time::advance(secs(1)).await;
        assert_eq!(backoff.blocked_until("app", Instant::now()), None);
        assert_eq!(backoff.blocked_until("other", Instant::now()), None, "per container");
    }

    #[tokio::test(start_paused = true)]
    async fn reset_and_staleness_start_over() {
        let mut backoff = CrashBackoff::new(secs(10), secs(300), secs(600));
        for _ in 0..3 {
            backoff.record_restart("app", Instant::now());
        }
        assert_eq!(backoff.current_delay("app"), secs(40));
        backoff.reset("app");
        backoff.record_restart("app", Instant::now());
        assert_eq!(backoff.current_delay("app"), secs(10));
        tokio::time::advance(secs(601)).await;
        backoff.record_restart("app", Instant::now());
        assert_eq!(backoff.current_delay("app"), secs(10), "an entry idle for 2x the cap is forgotten");
    }
}
