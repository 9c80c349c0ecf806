//! A component's tasks: spawned under one shutdown token, stopped and joined
//! together. The first task to fail stops the others, and its error is the
//! component's exit status, as mini-redis' server does: a component whose
//! port died must not go on looking healthy.

use std::future::Future;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// The tasks of one running component and the token that stops them.
pub struct Tasks<E> {
    shutdown: CancellationToken,
    running: JoinSet<()>,
    /// Where failing tasks send their errors, in the order they fail: the
    /// first one received is the component's.
    failures: (mpsc::UnboundedSender<E>, mpsc::UnboundedReceiver<E>),
}

impl<E> std::fmt::Debug for Tasks<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stopping = self.shutdown.is_cancelled();
        f.debug_struct("Tasks").field("running", &self.running.len()).field("stopping", &stopping).finish()
    }
}

impl<E: Send + 'static> Default for Tasks<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Send + 'static> Tasks<E> {
    pub fn new() -> Self {
        Tasks { shutdown: CancellationToken::new(), running: JoinSet::new(), failures: mpsc::unbounded_channel() }
    }

    /// The token [`Self::stop`] cancels, and a failing task too: every task
    /// should end when it does, or `stop` waits for it forever.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Run `task` until it ends. An error it returns stops every task (the
    /// shutdown token is cancelled) and is what [`Self::stop`] reports, unless
    /// another task failed first.
    pub fn spawn<F>(&mut self, task: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let (shutdown, failures) = (self.shutdown.clone(), self.failures.0.clone());
        self.running.spawn(async move {
            if let Err(error) = task.await {
                // the receiver lives as long as the tasks: sending cannot fail
                let _ = failures.send(error);
                shutdown.cancel();
            }
        });
    }

    /// Run `task`, which reports no errors (a loop that logs its own), until
    /// it ends.
    pub fn spawn_loop<F>(&mut self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn(async move {
            task.await;
            Ok(())
        });
    }

    /// Completes when the component is stopping: a task failed (then
    /// [`Self::stop`] returns its error) or the shutdown token was cancelled.
    pub fn stopping(&self) -> WaitForCancellationFutureOwned {
        self.shutdown.clone().cancelled_owned()
    }

    /// Run until `shutdown` completes or a task fails, then [`Self::stop`]:
    /// what a component's `run` (and its binary's exit status) is.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), E> {
        tokio::select! {
            () = shutdown => {}
            () = self.shutdown.cancelled() => {}
        }
        self.stop().await
    }

    /// Cancel the shutdown token and wait for every task; the first error to
    /// arrive wins, later ones are dropped. A task that panicked is not an
    /// error here: the panic hook has already reported it.
    pub async fn stop(mut self) -> Result<(), E> {
        self.shutdown.cancel();
        while self.running.join_next().await.is_some() {}
        self.failures.1.try_recv().map_or(Ok(()), Err)
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

    #[tokio::test]
    async fn a_failing_task_stops_the_others_and_is_the_exit_status() {
        let mut tasks = Tasks::<&str>::new();
        let stopped_too = Arc::new(AtomicUsize::new(0));
        let (shutdown, stopped) = (tasks.shutdown().clone(), stopped_too.clone());
        tasks.spawn(async move {
            shutdown.cancelled().await;
            stopped.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let (fail, failing) = tokio::sync::oneshot::channel::<()>();
        tasks.spawn(async move {
            let _ = failing.await;
            Err("the port died")
        });
        let stopping = tasks.stopping();
        let _ = fail.send(());
        stopping.await;
        assert_eq!(tasks.stop().await, Err("the port died"));
        assert_eq!(stopped_too.load(Ordering::SeqCst), 1, "the other task was not stopped");
    }

    #[tokio::test]
    async fn run_until_ends_at_the_first_failure_without_a_shutdown() {
        let mut tasks = Tasks::<String>::new();
        let shutdown = tasks.shutdown().clone();
        tasks.spawn(async move {
            shutdown.cancelled().await;
            Ok(())
        });
        tasks.spawn(async { Err("serving: address in use".to_string()) });
        let outcome = tasks.run_until(std::future::pending()).await;
        assert_eq!(outcome, Err("serving: address in use".to_string()));
    }

    #[tokio::test]
    async fn run_until_stops_every_task_at_shutdown() {
        let mut tasks = Tasks::<&str>::new();
        let shutdown = tasks.shutdown().clone();
        tasks.spawn(async move {
            shutdown.cancelled().await;
            Ok(())
        });
        assert_eq!(tasks.run_until(async {}).await, Ok(()));
    }
}
