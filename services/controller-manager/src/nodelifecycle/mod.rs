//! The node lifecycle controller: notices nodes whose kubelet went silent,
//! marks them `Unknown` and taints them, and evicts the pods that do not
//! tolerate that (Kubernetes' node lifecycle controller and taint manager
//! in one module).
//!
//! # How it fits together
//! - A node's Lease renewals and status heartbeats (`health`) tell when it
//!   was last heard of; every `node_monitor_period` each node is looked at,
//!   and one silent for `node_monitor_grace_period` gets its conditions set
//!   to `Unknown` (`node_sync`).
//! - The Ready condition decides the node's `NoExecute` taints
//!   (`taints`): `unreachable` for Unknown, `not-ready` for False, none
//!   for True — so a node that comes back loses them.
//! - Every pod bound to a node is checked against the node's `NoExecute`
//!   taints (`eviction`, `pod_sync`): deleted at once or when its
//!   `tolerationSeconds` run out; the pods' controllers replace them.
//!   The default 300 s tolerations come from the API server's pod
//!   admission, not from here.

mod eviction;
mod health;
mod node_sync;
mod pod_sync;
mod taints;

pub use taints::{NOT_READY_TAINT, UNREACHABLE_TAINT};

use crate::context::Context;
use capstan_proto::core::v1::{Node, Pod};
use capstan_runtime::informer::InformerEvent;
use capstan_runtime::{run_workers, WorkQueue};
use node_sync::NodeMonitor;
use pod_sync::TaintEvictor;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The shortest node monitor period honoured.
const MIN_MONITOR_PERIOD: Duration = Duration::from_millis(10);

pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let queues = Queues { nodes: WorkQueue::new(), pods: WorkQueue::new() };
    let monitor = Arc::new(NodeMonitor::new(ctx.clone()));
    let evictor = Arc::new(TaintEvictor::new(ctx.clone()));
    let feed = feed(ctx.clone(), queues.clone(), monitor.clone(), evictor.clone(), stop.clone());
    let node_workers = run_workers(ctx.workers("nodelifecycle"), queues.nodes, stop.clone(), move |name: String| {
        let monitor = monitor.clone();
        async move { monitor.reconcile(&name).await }
    });
    let pod_workers = run_workers(ctx.workers("taint-eviction"), queues.pods, stop, move |key: String| {
        let evictor = evictor.clone();
        async move { evictor.reconcile(&key).await }
    });
    tokio::join!(feed, node_workers, pod_workers);
}

/// Node names to look at, and "namespace/name" keys of pods to check.
#[derive(Clone)]
struct Queues {
    nodes: WorkQueue<String>,
    pods: WorkQueue<String>,
}

/// Turns informer events and the monitor period into queued keys until
/// `stop` or the informers end.
async fn feed(
    ctx: Arc<Context>,
    queues: Queues,
    monitor: Arc<NodeMonitor>,
    evictor: Arc<TaintEvictor>,
    stop: CancellationToken,
) {
    let mut nodes = ctx.nodes.subscribe();
    let mut leases = ctx.node_leases.subscribe();
    let mut pods = ctx.pods.subscribe();
    // a zero period (a flag of 0s) would spin; tokio refuses it outright
    let mut ticks = tokio::time::interval(ctx.config.node_monitor_period.max(MIN_MONITOR_PERIOD));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {
                for node in ctx.nodes.store().list() {
                    queues.nodes.add(name_of(&node));
                }
            }
            event = nodes.recv() => match event {
                None => return,
                Some(InformerEvent::Added(node) | InformerEvent::Resync(node)) => queues.nodes.add(name_of(&node)),
                Some(InformerEvent::Modified { old, new }) => {
                    queues.nodes.add(name_of(&new));
                    if eviction_inputs_changed(&old, &new) {
                        queue_pods_on(&ctx, &name_of(&new), &queues.pods);
                    }
                }
                Some(InformerEvent::Deleted(node)) => {
                    monitor.forget(&name_of(&node));
                    evictor.forget_node(&name_of(&node));
                }
                Some(InformerEvent::Synced) => {}
            },
            // a node's lease is named after it
            event = leases.recv() => match event {
                None => return,
                Some(event) => {
                    if let Some(lease) = event.object() {
                        queues.nodes.add(lease.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default());
                    }
                }
            },
            event = pods.recv() => match event {
                None => return,
                Some(InformerEvent::Deleted(_) | InformerEvent::Synced) => {}
                Some(event) => {
                    if let Some(key) = event.object().and_then(|pod| eviction_key(pod)) {
                        queues.pods.add(key);
                    }
                }
            },
        }
    }
}

fn name_of(node: &Node) -> String {
    node.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default()
}

/// "namespace/name" of a pod bound to a node and not being deleted.
fn eviction_key(pod: &Pod) -> Option<String> {
    let meta = pod.metadata.as_ref()?;
    let bound = pod.spec.as_ref().is_some_and(|s| !s.node_name.is_empty());
    (bound && meta.deletion_timestamp.is_none()).then(|| format!("{}/{}", meta.namespace, meta.name))
}

/// Whether the node changed in a way that may change its pods' fate.
fn eviction_inputs_changed(old: &Node, new: &Node) -> bool {
    let taints = |n: &Node| n.spec.as_ref().map(|s| s.taints.clone());
    taints(old) != taints(new) || health::ready_status(old) != health::ready_status(new)
}

/// Queues every pod bound to `node`.
fn queue_pods_on(ctx: &Context, node: &str, pods: &WorkQueue<String>) {
    for pod in ctx.pods.store().list() {
        if pod.spec.as_ref().is_some_and(|s| s.node_name == node) {
            if let Some(key) = eviction_key(&pod) {
                pods.add(key);
            }
        }
    }
}
