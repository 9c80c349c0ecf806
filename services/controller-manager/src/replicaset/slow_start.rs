//! Creating many pods in batches of 1, 2, 4, ... (Kubernetes'
//! `slowStartBatch`): a ReplicaSet whose pods cannot be created (a quota,
//! an invalid template) fails one call per attempt instead of hundreds,
//! while a healthy one still reaches large counts in a few round trips.

use futures::future::join_all;
use std::future::Future;

/// What a slow start achieved: how many calls succeeded and the first
/// error, after which no further batch was started.
#[derive(Debug)]
pub struct Outcome<E> {
    pub succeeded: usize,
    pub error: Option<E>,
}

/// Call `call` `count` times, `initial` at once at first and twice as many
/// in each following batch, stopping after the first batch with a failure.
pub async fn slow_start<E, F, Fut>(count: usize, initial: usize, call: F) -> Outcome<E>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut remaining = count;
    let mut batch = initial.max(1).min(remaining);
    let mut succeeded = 0;
    while batch > 0 {
        let results = join_all((0..batch).map(|_| call())).await;
        let mut error = None;
        for result in results {
            match result {
                Ok(()) => succeeded += 1,
                Err(e) => error = error.or(Some(e)),
            }
        }
        if error.is_some() {
            return Outcome { succeeded, error };
        }
        remaining -= batch;
        batch = (batch * 2).min(remaining);
    }
    Outcome { succeeded, error: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Runs a slow start whose calls fail from the `fail_from`-th on; returns
    /// the outcome and the batch sizes seen.
    async fn run(count: usize, fail_from: usize) -> (usize, bool, usize) {
        let calls = AtomicUsize::new(0);
        let outcome = slow_start(count, 1, || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n >= fail_from {
                    Err(format!("call {n} failed"))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        (outcome.succeeded, outcome.error.is_some(), calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn batches_double_until_the_count_is_reached() {
        let sizes = Mutex::new(Vec::new());
        let in_flight = AtomicUsize::new(0);
        let outcome = slow_start(10, 1, || {
            in_flight.fetch_add(1, Ordering::SeqCst);
            async {
                // the whole batch is started before any call completes
                tokio::task::yield_now().await;
                let n = in_flight.swap(0, Ordering::SeqCst);
                if n > 0 {
                    sizes.lock().unwrap_or_else(|p| p.into_inner()).push(n);
                }
                Ok::<(), String>(())
            }
        })
        .await;
        assert_eq!(outcome.succeeded, 10);
        assert!(outcome.error.is_none());
        assert_eq!(*sizes.lock().unwrap_or_else(|p| p.into_inner()), [1, 2, 4, 3]);
    }

    #[tokio::test]
    async fn a_failing_batch_stops_the_rest() {
        // (count, calls that succeed before failures start, succeeded, failed, calls made)
        let cases = [
            (100, 0, 0, true, 1),     // the first single call fails: nothing else is tried
            (100, 3, 3, true, 7),     // batches 1 and 2 succeed, the batch of 4 fails in part
            (10, 100, 10, false, 10), // nothing fails
            (0, 0, 0, false, 0),      // nothing to do
        ];
        for (count, fail_from, succeeded, failed, calls) in cases {
            assert_eq!(run(count, fail_from).await, (succeeded, failed, calls), "count {count}, fail_from {fail_from}");
        }
    }
}
