//! Waiting for a condition that no single watch reports (a count over many
//! objects, a figure in a scrape, a socket's answer): poll it until it holds,
//! and fail the test, naming what was awaited, once a generous bound is past.
//! The bound only catches a hang; no test asserts how soon a condition holds.
//!
//! This is the workspace's one polling wait: a probe answers an [`Option`]
//! (not yet: `None`) or a [`Result`] (not yet: the error, which the failure
//! then shows as the last thing seen).

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

/// How long [`eventually`] sleeps between probes.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// What one probe answered: the value awaited, or why not yet.
pub trait Probed {
    type Value;
    /// The value, or what was seen instead (`None` when nothing worth showing).
    fn into_outcome(self) -> Result<Self::Value, Option<String>>;
}

impl<T> Probed for Option<T> {
    type Value = T;
    fn into_outcome(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Debug> Probed for Result<T, E> {
    type Value = T;
    fn into_outcome(self) -> Result<T, Option<String>> {
        self.map_err(|e| Some(format!("{e:#?}")))
    }
}

/// Polls `probe` until it answers a value (`Some` or `Ok`), and returns it;
/// panics with "timed out waiting for {what}" (and the last error seen, for a
/// `Result` probe) after `timeout`.
pub async fn eventually<P, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> P::Value
where
    P: Probed,
    F: FnMut() -> Fut,
    Fut: Future<Output = P>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let last = match probe().await.into_outcome() {
            Ok(value) => return value,
            Err(last) => last,
        };
        if tokio::time::Instant::now() >= deadline {
            match last {
                Some(last) => panic!("timed out waiting for {what} after {timeout:?}; last saw {last}"),
                None => panic!("timed out waiting for {what} after {timeout:?}"),
            }
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_first_answer_is_returned() {
        let mut calls = 0;
        let value = eventually("the third call", Duration::from_secs(5), || {
            calls += 1;
            let answer = (calls == 3).then_some(calls);
            async move { answer }
        })
        .await;
        assert_eq!(value, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_result_probe_returns_its_first_ok() {
        let mut calls = 0;
        let value = eventually("the second call", Duration::from_secs(5), || {
            calls += 1;
            let answer = if calls < 2 { Err("not yet") } else { Ok(calls) };
            async move { answer }
        })
        .await;
        assert_eq!(value, 2);
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "timed out waiting for nothing")]
    async fn a_probe_that_never_answers_fails_the_test() {
        eventually::<Option<()>, _, _>("nothing", Duration::from_secs(1), || async { None }).await;
    }

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "last saw \"still down\"")]
    async fn a_failing_result_probe_shows_its_last_error() {
        eventually::<Result<(), _>, _, _>("a socket", Duration::from_secs(1), || async { Err("still down") }).await;
    }
}
