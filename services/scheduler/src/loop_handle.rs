//! Questions to the scheduling loop. The loop alone owns the cache, so the
//! gRPC face does not read it: it sends an [`ExplainCall`] through a
//! [`LoopHandle`] and awaits the answer, which the loop computes between
//! two decisions on the same state it decides on.
//!
//! The handle is shared by every leadership term: a term installs its
//! sender once its caches are synced and removes it when it ends, so a
//! follower (or a scheduler still syncing) answers "unavailable" at once.

use crate::explain::Explanation;
use capstan_proto::core::v1::Pod;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Which pod to explain.
#[derive(Debug, Clone)]
pub enum ExplainTarget {
    /// A pod in the scheduler's cache.
    Named { namespace: String, name: String },
    /// A pod given whole (it need not exist).
    Inline(Box<Pod>),
}

/// An explanation with the pod it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodExplanation {
    pub namespace: String,
    pub name: String,
    /// The profile (`schedulerName`) whose filters and weights were used.
    pub profile: String,
    /// Where the pod is bound now; empty when pending. A bound pod is
    /// explained as if it were not on its node yet.
    pub bound_node: String,
    pub explanation: Explanation,
}

/// Why an explanation could not be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExplainError {
    #[error("pod {namespace}/{name} not found")]
    NotFound { namespace: String, name: String },
    #[error("pod {namespace}/{name} names scheduler {scheduler:?}, which has no profile here")]
    OtherScheduler { namespace: String, name: String, scheduler: String },
    #[error("this scheduler is not scheduling (not the leader, or its caches are not synced yet)")]
    NotScheduling,
}

/// One question and where its answer goes.
#[derive(Debug)]
pub struct ExplainCall {
    pub target: ExplainTarget,
    pub reply: oneshot::Sender<Result<PodExplanation, ExplainError>>,
}

/// Sends questions to whichever scheduling loop is running.
#[derive(Debug, Clone, Default)]
pub struct LoopHandle {
    current: Arc<Mutex<Option<mpsc::Sender<ExplainCall>>>>,
}

/// Questions waiting for a busy loop; more are refused rather than queued.
const WAITING: usize = 16;

impl LoopHandle {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Sender<ExplainCall>>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A running loop takes the questions from now on; they stop reaching it
    /// when the returned receiver is dropped.
    pub fn attach(&self) -> mpsc::Receiver<ExplainCall> {
        let (tx, rx) = mpsc::channel(WAITING);
        *self.slot() = Some(tx);
        rx
    }

    /// Ask the running loop.
    pub async fn explain(&self, target: ExplainTarget) -> Result<PodExplanation, ExplainError> {
        let sender = self.slot().clone().filter(|tx| !tx.is_closed()).ok_or(ExplainError::NotScheduling)?;
        let (reply, answer) = oneshot::channel();
        sender.send(ExplainCall { target, reply }).await.map_err(|_| ExplainError::NotScheduling)?;
        // the loop ended before answering
        answer.await.map_err(|_| ExplainError::NotScheduling)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn questions_reach_only_a_running_loop() {
        let handle = LoopHandle::default();
        let target = || ExplainTarget::Named { namespace: "default".into(), name: "p".into() };
        assert_eq!(handle.explain(target()).await, Err(ExplainError::NotScheduling), "no loop yet");
        let mut calls = handle.attach();
        let answering = tokio::spawn(async move {
            let call = calls.recv().await.expect("a question");
            let _ = call.reply.send(Err(ExplainError::NotFound { namespace: "default".into(), name: "p".into() }));
            // the loop ends: its receiver goes with it
        });
        let got = handle.explain(target()).await;
        assert_eq!(got.err().map(|e| e.to_string()).as_deref(), Some("pod default/p not found"));
        answering.await.expect("loop task");
        assert_eq!(handle.explain(target()).await, Err(ExplainError::NotScheduling), "the loop ended");
    }
}
