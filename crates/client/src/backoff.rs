//! The project's one retry delay: exponential, capped, with jitter so that
//! many clients cut off by the same outage do not come back in lockstep.
//!
//! The informer waits on it between reconnects; controllers use [`retry`]
//! around calls that fail while the API server restarts.

use crate::error::ClientError;
use rand::Rng;
use std::future::Future;
use std::time::Duration;

/// Delays that grow by `factor` from `initial` up to `max`; each one is
/// shortened by a random part of up to `jitter` (0.0..=1.0) of itself.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    factor: f64,
    jitter: f64,
    next: Duration,
}

impl Default for Backoff {
    /// 200ms, doubling, capped at 30s, with 20% jitter.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(200), Duration::from_secs(30))
    }
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.min(max);
        Backoff { initial, max, factor: 2.0, jitter: 0.2, next: initial }
    }

    /// Growth per attempt (at least 1.0).
    pub fn with_factor(mut self, factor: f64) -> Self {
        self.factor = factor.max(1.0);
        self
    }

    /// Share of each delay that is randomised (clamped to 0.0..=1.0).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// The delay before the next attempt; each call grows the one after.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = base.mul_f64(self.factor).min(self.max);
        if self.jitter == 0.0 {
            return base;
        }
        let cut = rand::rng().random_range(0.0..=self.jitter);
        base.mul_f64(1.0 - cut)
    }

    /// Starts over from the initial delay (after a success).
    pub fn reset(&mut self) {
        self.next = self.initial;
    }

    /// Sleeps for [`Backoff::next_delay`].
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next_delay()).await;
    }
}

/// Runs `call` until it succeeds or fails with an error that retrying cannot
/// fix ([`ClientError::is_retryable`]), waiting on `backoff` in between, at
/// most `attempts` times in all.
pub async fn retry<T, F, Fut>(mut backoff: Backoff, attempts: usize, mut call: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if e.is_retryable() && attempt < attempts => {
                tracing::debug!(error = %e, attempt, "retrying after a transient error");
                attempt += 1;
                backoff.wait().await;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(500)).with_jitter(0.0);
        let delays: Vec<u128> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_only_shortens_within_its_share() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(1)).with_jitter(0.5);
        for _ in 0..100 {
            let d = b.next_delay();
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_secs(1), "{d:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_stops_on_success_or_permanent_errors() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        let mut calls = 0;
        let result = retry(backoff.clone(), 5, || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(ClientError::Unavailable { message: "down".into() })
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result.ok(), Some(3));

        let mut calls = 0;
        let result: Result<(), _> = retry(backoff.clone(), 5, || {
            calls += 1;
            async { Err(ClientError::NotFound { message: "gone".into() }) }
        })
        .await;
        assert!(matches!(result, Err(ClientError::NotFound { .. })));
        assert_eq!(calls, 1);

        let mut calls = 0;
        let result: Result<(), _> = retry(backoff, 3, || {
            calls += 1;
            async { Err(ClientError::Unavailable { message: "down".into() }) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 3);
    }
}
