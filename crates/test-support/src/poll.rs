//! Waiting for a condition that no single watch reports (a count over many
//! objects, a figure in a scrape, a socket's answer): poll it until it holds,
//! and fail the test, naming what was awaited, once a generous bound is past.
//! The bound only catches a hang; no test asserts how soon a condition holds.

use std::future::Future;
use std::time::Duration;

/// How long [`eventually`] sleeps between probes.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// Polls `probe` until it answers `Some`, and returns that value; panics with
/// "timed out waiting for {what}" after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
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
    #[should_panic(expected = "timed out waiting for nothing")]
    async fn a_probe_that_never_answers_fails_the_test() {
        eventually::<(), _, _>("nothing", Duration::from_secs(1), || async { None }).await;
    }
}
