//! The workspace's one retry delay: exponential, capped, and (in its
//! stateful form) jittered so that many clients cut off by the same outage
//! do not come back in lockstep.
//!
//! [`Backoff`] has two faces over the same schedule:
//! - stateful: [`Backoff::next_delay`] grows with each call and
//!   [`Backoff::reset`] starts over after a success (the informer's
//!   reconnects, the API server's watch cache, `capstan-runtime`'s `retry`
//!   and `wait_for`);
//! - pure: [`Backoff::delay`] is the delay before attempt `n`, for callers
//!   that keep their own count per key (the scheduler's back-off queue, the
//!   work queue's per-key rate limit).
//!
//! # Invariants
//! - The crate depends on nothing but `rand`, so the API server and the
//!   client-side runtime can share it without either depending on the other.
//! - No delay exceeds the cap; jitter only shortens a delay, never lengthens it.
//! - [`Backoff::delay`] has no jitter: the same attempt always waits as long.

use rand::Rng;
use std::time::Duration;

/// Delays that grow by `factor` from `initial` up to `max`; the stateful
/// form shortens each one by a random part of up to `jitter` (0.0..=1.0).
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    factor: f64,
    jitter: f64,
    /// attempts handed out by `next_delay` since the last reset
    attempts: u32,
}

impl Default for Backoff {
    /// 200ms, doubling, capped at 30s, with 20% jitter.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(200), Duration::from_secs(30))
    }
}

impl Backoff {
    /// `initial` doubling up to `max` (an `initial` above `max` is `max`),
    /// with 20% jitter in the stateful form.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        let initial = if initial.as_nanos() > max.as_nanos() { max } else { initial };
        Backoff { initial, max, factor: 2.0, jitter: 0.2, attempts: 0 }
    }

    /// Growth per attempt (at least 1.0).
    pub fn with_factor(mut self, factor: f64) -> Self {
        self.factor = factor.max(1.0);
        self
    }

    /// Share of each stateful delay that is randomised (clamped to 0.0..=1.0).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// The delay before attempt `attempt` (1 is the first retry; 0 counts as
    /// 1): `initial * factor^(attempt-1)`, at most `max`, without jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let nanos = self.initial.as_nanos() as f64 * self.factor.powi(exponent);
        if !nanos.is_finite() || nanos >= self.max.as_nanos() as f64 {
            return self.max;
        }
        // below `max`, so it fits in u64 nanoseconds (about 584 years)
        Duration::from_nanos(nanos.round() as u64)
    }

    /// The delay before the next attempt, jittered; each call grows the one
    /// after, until [`Backoff::reset`].
    pub fn next_delay(&mut self) -> Duration {
        self.attempts = self.attempts.saturating_add(1);
        let base = self.delay(self.attempts);
        if self.jitter == 0.0 {
            return base;
        }
        let cut = rand::rng().random_range(0.0..=self.jitter);
        base.mul_f64(1.0 - cut)
    }

    /// Starts over from the initial delay (after a success).
    pub fn reset(&mut self) {
        self.attempts = 0;
    }

    /// How many delays [`Backoff::next_delay`] handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn stateful_delays_double_up_to_the_cap_and_reset() {
        let mut b = Backoff::new(ms(100), ms(500)).with_jitter(0.0);
        let delays: Vec<u128> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        assert_eq!(b.attempts(), 5);
        b.reset();
        assert_eq!(b.next_delay(), ms(100));
    }

    #[test]
    fn jitter_only_shortens_within_its_share() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(1)).with_jitter(0.5);
        for _ in 0..100 {
            let d = b.next_delay();
            assert!(d >= ms(500) && d <= Duration::from_secs(1), "{d:?}");
        }
    }

    /// The parameters each user had before they shared this type, with the
    /// delays they computed by hand.
    #[test]
    fn pure_delays_match_every_former_schedule() {
        let cases: [(&str, Backoff, &[u64]); 4] = [
            // the work queue's per-key rate limit: 5ms doubling to 1s
            ("work queue", Backoff::new(ms(5), ms(1000)), &[5, 5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]),
            // the scheduler's pod back-off: 1s doubling to 10s
            ("scheduler", Backoff::new(ms(1000), ms(10_000)), &[1000, 1000, 2000, 4000, 8000, 10_000, 10_000]),
            // the API server's watch cache: 50ms doubling to 5s
            ("watch cache", Backoff::new(ms(50), ms(5000)), &[50, 50, 100, 200, 400, 800, 1600, 3200, 5000]),
            (
                "factor 1.5",
                Backoff::new(ms(100), ms(1000)).with_factor(1.5),
                &[100, 100, 150, 225, 337, 506, 759, 1000],
            ),
        ];
        for (name, backoff, expected) in cases {
            let delays: Vec<u64> = (0..expected.len() as u32).map(|n| backoff.delay(n).as_millis() as u64).collect();
            assert_eq!(delays, expected, "{name}");
        }
    }

    #[test]
    fn huge_attempts_stay_at_the_cap() {
        let b = Backoff::new(ms(5), Duration::from_secs(60));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(60));
        assert_eq!(Backoff::new(Duration::from_secs(9), Duration::from_secs(1)).delay(1), Duration::from_secs(1));
    }

    #[test]
    fn stateful_and_pure_forms_agree_without_jitter() {
        let mut stateful = Backoff::new(ms(7), ms(900)).with_factor(3.0).with_jitter(0.0);
        let pure = stateful.clone();
        for attempt in 1..12 {
            assert_eq!(stateful.next_delay(), pure.delay(attempt), "attempt {attempt}");
        }
    }
}
