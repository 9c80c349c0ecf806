//! A component's tasks: spawned under one shutdown token, stopped and joined
//! together, the first error reported.

use std::future::Future;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The tasks of one running component and the token that stops them.
pub struct Tasks<E> {
    shutdown: CancellationToken,
    running: JoinSet<Result<(), E>>,
}

impl<E: Send + 'static> Default for Tasks<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Send + 'static> Tasks<E> {
    pub fn new() -> Self {
        Tasks { shutdown: CancellationToken::new(), running: JoinSet::new() }
    }

    /// The token [`Self::stop`] cancels: every task should end when it does,
    /// or `stop` waits for it forever.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Run `task` until it ends; an error it returns is reported by [`Self::stop`].
    pub fn spawn<F>(&mut self, task: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.running.spawn(task);
    }

    /// Cancel the shutdown token and wait for every task; the first error to
    /// arrive wins, later ones are dropped. A task that panicked is not an
    /// error here: the panic hook has already reported it.
    pub async fn stop(mut self) -> Result<(), E> {
        self.shutdown.cancel();
        let mut first = Ok(());
        while let Some(joined) = self.running.join_next().await {
            first = first.and(joined.unwrap_or(Ok(())));
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn stop_reports_the_first_error_to_arrive() {
        let mut tasks = Tasks::<&str>::new();
        let (done, finished) = tokio::sync::oneshot::channel();
        tasks.spawn(async {
            let _ = done.send(());
            Err("first")
        });
        let shutdown = tasks.shutdown().clone();
        tasks.spawn(async move {
            shutdown.cancelled().await;
            Err("second")
        });
        tasks.spawn(async { Ok(()) });
        // on this single-threaded runtime the task completes in the poll that sent
        finished.await.expect("the first task ran");
        assert_eq!(tasks.stop().await, Err("first"));
    }

    #[tokio::test]
    async fn stop_is_ok_when_every_task_ends_well() {
        let mut tasks = Tasks::<&str>::new();
        tasks.spawn(async { Ok(()) });
        let shutdown = tasks.shutdown().clone();
        tasks.spawn(async move {
            shutdown.cancelled().await;
            Ok(())
        });
        assert_eq!(tasks.stop().await, Ok(()));
    }

    #[tokio::test]
    async fn stop_cancels_the_token_and_waits_for_every_task() {
        let mut tasks = Tasks::<&str>::new();
        let ended = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let (shutdown, ended) = (tasks.shutdown().clone(), ended.clone());
            tasks.spawn(async move {
                shutdown.cancelled().await;
                tokio::task::yield_now().await;
                ended.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        let token = tasks.shutdown().clone();
        assert!(!token.is_cancelled());
        tasks.stop().await.expect("no errors");
        assert!(token.is_cancelled());
        assert_eq!(ended.load(Ordering::SeqCst), 3, "stop returned before its tasks ended");
    }

    #[tokio::test]
    async fn a_panicked_task_is_not_an_error() {
        let mut tasks = Tasks::<&str>::new();
        tasks.spawn(async { panic!("on purpose") });
        assert_eq!(tasks.stop().await, Ok(()));
    }
}
