//! Fans the informer's pod events out to one worker per pod (by uid): a new pod
//! gets a worker, a change is handed to its worker (which always syncs the latest
//! version), a deletion tells the worker the pod is gone. Workers live in one
//! `JoinSet` and stop with the kubelet's shutdown.

use std::collections::HashMap;
use std::sync::Arc;

use capstan_proto::core::v1::Pod;
use capstan_runtime::informer::{InformerEvent, Subscription};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::pod_worker::{self, PodUpdate, WorkerContext};

/// Runs until the subscription ends or `shutdown`, then waits for the workers.
pub async fn dispatch(ctx: Arc<WorkerContext>, mut events: Subscription<Pod>, shutdown: CancellationToken) {
    let mut workers: HashMap<String, watch::Sender<PodUpdate>> = HashMap::new();
    let mut tasks: JoinSet<String> = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(done) = tasks.join_next() => {
                if let Ok(uid) = done {
                    workers.remove(&uid);
                }
            }
            event = events.recv() => {
                let Some(event) = event else { break };
                let (pod, gone) = match &event {
                    InformerEvent::Added(pod) | InformerEvent::Resync(pod) | InformerEvent::Modified { new: pod, .. } => (pod.clone(), false),
                    InformerEvent::Deleted(pod) => (pod.clone(), true),
                    InformerEvent::Synced => continue,
                };
                let uid = pod.metadata.as_ref().map(|m| m.uid.clone()).unwrap_or_default();
                let update = (!gone).then_some(pod);
                match workers.get(&uid) {
                    Some(worker) => {
                        worker.send_replace(update);
                    }
                    None if gone => {}
                    None => {
                        let (tx, rx) = watch::channel(update);
                        workers.insert(uid.clone(), tx);
                        let (ctx, stop) = (ctx.clone(), shutdown.clone());
                        tasks.spawn(async move {
                            pod_worker::run(ctx, rx, stop).await;
                            uid
                        });
                    }
                }
            }
        }
    }
    shutdown.cancel();
    drop(workers);
    while tasks.join_next().await.is_some() {}
}
