//! Wall-clock timestamps that follow tokio's clock.
//!
//! The runtime reports times as nanoseconds since the epoch, but everything that
//! moves (a `sleep 5` exiting, a stop's grace period) is measured on tokio's clock, so
//! a test with a paused clock (`start_paused`, `time::advance`) sees containers exit and
//! timestamps advance without sleeping for real.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Maps tokio [`Instant`]s onto wall-clock nanoseconds, anchored when it was made.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    anchor: Instant,
    anchor_ns: i64,
}

impl Clock {
    /// A clock anchored at the current wall-clock time and tokio instant.
    pub fn new() -> Clock {
        let anchor_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        Clock { anchor: Instant::now(), anchor_ns }
    }

    /// Now, on tokio's clock.
    pub fn instant(&self) -> Instant {
        Instant::now()
    }

    /// `at` in nanoseconds since the epoch.
    pub fn ns_at(&self, at: Instant) -> i64 {
        let since = at.saturating_duration_since(self.anchor).as_nanos();
        self.anchor_ns.saturating_add(i64::try_from(since).unwrap_or(i64::MAX))
    }

    /// Now, in nanoseconds since the epoch.
    pub fn now_ns(&self) -> i64 {
        self.ns_at(self.instant())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn timestamps_follow_a_paused_clock() {
        let clock = Clock::new();
        let before = clock.now_ns();
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(clock.now_ns() - before, 5_000_000_000);
    }
}
