//! The garbage collector: deleting an owner deletes its dependents, by
//! ownerReferences, with the propagation the delete asked for.
//!
//! - `Background`: the API server removes the owner at once; its dependents,
//!   no longer having a live owner, are deleted here.
//! - `Foreground`: the API server marks the owner (deletionTimestamp and the
//!   `foregroundDeletion` finalizer); its dependents are deleted here, those
//!   with `blockOwnerDeletion` first, and once none of those is left the
//!   finalizer goes and with it the owner.
//! - `Orphan`: the API server marks the owner with the `orphan` finalizer;
//!   here every dependent loses its reference to the owner, then the
//!   finalizer goes.
//!
//! A dependent whose owners are all gone is deleted whatever the reason (an
//! owner deleted while the collector was down, a reference to a uid that
//! never existed), as in Kubernetes.
//!
//! # Layout
//! - [`graph`]: uid → owners and dependents, and which uids a change makes
//!   worth a look; [`decide`]: what to do about one object. Both pure.
//! - [`sources`]: one typed informer per stored kind feeding the graph.
//! - [`act`]: live reads and the writes, on any kind through `Object`.
//!
//! The caches can lag one another (a pod may be seen before its ReplicaSet),
//! so absence is never taken from the graph: an owner the graph lacks is
//! read live by name and uid before anything is deleted, and an owner is
//! released only after a live scan finds nothing still blocking it.

pub mod act;
pub mod decide;
pub mod graph;
pub mod sources;

use crate::context::Context;
use crate::error::ControllerError;
use capstan_runtime::{run_workers, Requeue, WorkQueue};
use decide::{plan_dependent, plan_owner, DependentPlan, OwnerPlan, OwnerState};
use graph::{Graph, Node, FOREGROUND, ORPHAN};
use sources::{Change, OwnInformers};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How soon an owner is looked at again when a live scan found blocking
/// dependents the graph has not seen yet (their arrival also queues it).
const RECHECK: Duration = Duration::from_secs(1);

pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let mut tasks = JoinSet::new();
    let own = OwnInformers::start(&ctx, &mut tasks, &stop);
    let (changes, received) = mpsc::unbounded_channel();
    let sources = sources::forward_all(&ctx, &own, &changes, &mut tasks);
    drop(changes);
    let collector = Arc::new(Collector { ctx: ctx.clone(), graph: Mutex::new(Graph::new()), queue: WorkQueue::new() });
    let (synced, graph_synced) = oneshot::channel();
    tasks.spawn(apply_changes(collector.clone(), received, sources, synced));
    tokio::select! {
        _ = stop.cancelled() => return,
        ready = graph_synced => if ready.is_err() { return },
    }
    tracing::info!(objects = collector.graph().len(), "garbage collector: dependency graph synced");
    let queue = collector.queue.clone();
    run_workers(ctx.workers("garbagecollector"), queue, stop, move |uid: String| {
        let collector = collector.clone();
        async move { collector.reconcile(&uid).await }
    })
    .await;
}

/// Applies the sources' changes to the graph, queueing what they make worth
/// a look; says so on `synced` once every source delivered its first list.
async fn apply_changes(
    collector: Arc<Collector>,
    mut received: mpsc::UnboundedReceiver<Change>,
    sources: usize,
    synced: oneshot::Sender<()>,
) {
    let mut unsynced = sources;
    let mut synced = Some(synced);
    while let Some(change) = received.recv().await {
        let look = match change {
            Change::Upsert(node) => collector.graph().upsert(node),
            Change::Remove(uid) => collector.graph().remove(&uid),
            Change::Synced => {
                unsynced = unsynced.saturating_sub(1);
                if unsynced == 0 {
                    if let Some(tx) = synced.take() {
                        let _ = tx.send(());
                    }
                }
                Vec::new()
            }
        };
        for uid in look {
            collector.queue.add(uid);
        }
    }
}

struct Collector {
    ctx: Arc<Context>,
    graph: Mutex<Graph>,
    queue: WorkQueue<String>,
}

impl Collector {
    fn graph(&self) -> MutexGuard<'_, Graph> {
        self.graph.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn reconcile(&self, uid: &str) -> Result<Requeue, ControllerError> {
        let Some(node) = self.graph().get(uid).cloned() else { return Ok(Requeue::No) };
        if node.deleting {
            return self.reconcile_owner(&node).await;
        }
        if node.owners.is_empty() {
            return Ok(Requeue::No);
        }
        // The graph answers most looks (every owner seen and alive) without a call.
        let cached: Option<Vec<(String, OwnerState)>> =
            node.owners.iter().map(|r| self.cached_owner_state(&node, r).map(|s| (r.uid.clone(), s))).collect();
        let has_dependents = self.graph().has_dependents(uid);
        if cached.is_some_and(|owners| plan_dependent(&node, &owners, has_dependents) == DependentPlan::Nothing) {
            return Ok(Requeue::No);
        }
        // Otherwise judge the object as it is now, with absent owners confirmed live.
        let client = &self.ctx.client;
        let Some(object) = act::live(client, &node.id).await? else { return Ok(Requeue::No) };
        let node = Node::from_meta(node.id.kind, capstan_proto::ObjectExt::meta(&object));
        let mut owners = Vec::with_capacity(node.owners.len());
        for reference in &node.owners {
            let state = match self.cached_owner_state(&node, reference) {
                Some(state) => state,
                None => act::owner_state(client, &node.id, reference).await?,
            };
            owners.push((reference.uid.clone(), state));
        }
        match plan_dependent(&node, &owners, has_dependents) {
            DependentPlan::Nothing => {}
            DependentPlan::DropReferences(uids) => act::drop_references(client, &node.id, object, &uids).await?,
            DependentPlan::Delete(policy) => act::delete(client, &node.id, policy).await?,
        }
        Ok(Requeue::No)
    }

    /// The owner's state from the graph; `None` when the graph has no object
    /// with that uid where the reference points (only a live read can say).
    fn cached_owner_state(
        &self,
        dependent: &Node,
        reference: &capstan_proto::meta::v1::OwnerReference,
    ) -> Option<OwnerState> {
        let Some((kind, namespace)) = act::owner_location(&dependent.id, reference) else {
            return Some(OwnerState::Unresolvable);
        };
        let graph = self.graph();
        let owner = graph.get(&reference.uid)?;
        (owner.id.kind == kind && owner.id.namespace == namespace).then(|| OwnerState::of(owner))
    }

    /// An object being deleted: an orphaning owner lets go of its
    /// dependents; a foreground owner deletes them and waits.
    async fn reconcile_owner(&self, owner: &Node) -> Result<Requeue, ControllerError> {
        let plan = plan_owner(&self.graph(), owner);
        let client = &self.ctx.client;
        match plan {
            OwnerPlan::Nothing => Ok(Requeue::No),
            OwnerPlan::Orphan => {
                for (id, object) in act::live_dependents(client, &owner.id).await? {
                    act::drop_references(client, &id, object, std::slice::from_ref(&owner.id.uid)).await?;
                }
                act::remove_finalizer(client, &owner.id, ORPHAN).await?;
                Ok(Requeue::No)
            }
            OwnerPlan::Foreground { dependents, release } => {
                for uid in dependents {
                    self.queue.add(uid);
                }
                if !release {
                    return Ok(Requeue::No);
                }
                let live = act::live_dependents(client, &owner.id).await?;
                let blocking: Vec<_> = live
                    .iter()
                    .filter(|(id, o)| Node::from_meta(id.kind, capstan_proto::ObjectExt::meta(o)).blocks(&owner.id.uid))
                    .map(|(id, _)| id.to_string())
                    .collect();
                if !blocking.is_empty() {
                    tracing::debug!(owner = %owner.id, ?blocking, "dependents not in the graph yet still block the owner");
                    return Ok(Requeue::After(RECHECK));
                }
                act::remove_finalizer(client, &owner.id, FOREGROUND).await?;
                Ok(Requeue::No)
            }
        }
    }
}
