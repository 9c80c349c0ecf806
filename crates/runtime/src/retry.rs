//! Retrying a call that failed while the API server restarts or sheds load:
//! the one place that decides, from a [`ClientError`], whether trying again
//! can help, and waits on the workspace's one [`Backoff`] in between.

use capstan_backoff::Backoff;
use capstan_client::ClientError;
use std::future::Future;

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
                tokio::time::sleep(backoff.next_delay()).await;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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

    #[tokio::test(start_paused = true)]
    async fn retry_waits_on_the_backoff_between_attempts() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(8)).with_jitter(0.0);
        let started = tokio::time::Instant::now();
        let mut seen = Vec::new();
        let _: Result<(), _> = retry(backoff, 4, || {
            seen.push(started.elapsed().as_secs());
            async { Err(ClientError::Unavailable { message: "down".into() }) }
        })
        .await;
        assert_eq!(seen, [0, 1, 3, 7], "1 s, then 2 s, then 4 s apart");
    }
}
