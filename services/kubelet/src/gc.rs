//! Adoption's other half: whatever this node's runtime holds for pods that no
//! longer exist (or are no longer bound here) is stopped and removed, at start and
//! periodically. Live pods need nothing here: their workers read the runtime by pod
//! uid and so adopt running containers instead of starting them again.

use std::collections::HashSet;
use std::time::Duration;

use capstan_cri::labels;
use capstan_proto::core::v1::Pod;
use capstan_runtime::informer::Store;
use tokio_util::sync::CancellationToken;

use crate::runtime::Runtime;
use crate::KubeletError;

/// Removes every sandbox and container of a pod not in `pods`; returns how many
/// objects it removed.
pub async fn collect(runtime: &Runtime, pods: &Store<Pod>) -> Result<usize, KubeletError> {
    // read the runtime before the cache: a container a worker just created belongs
    // to a pod the cache already had
    let sandboxes = runtime.sandboxes(None).await?;
    let containers = runtime.containers(None).await?;
    let known: HashSet<String> =
        pods.list().iter().filter_map(|p| p.metadata.as_ref().map(|m| m.uid.clone())).collect();
    let orphan =
        |l: &std::collections::BTreeMap<String, String>| !l.get(labels::POD_UID).is_some_and(|u| known.contains(u));
    let mut removed = 0;
    for container in containers.iter().filter(|c| orphan(&c.labels)) {
        tracing::info!(container = %container.id, pod = ?container.labels.get(labels::POD_NAME), "removing an orphaned container");
        runtime.stop_container(&container.id, 0).await?;
        runtime.remove_container(&container.id).await?;
        removed += 1;
    }
    for sandbox in sandboxes.iter().filter(|s| orphan(&s.labels)) {
        tracing::info!(sandbox = %sandbox.id, pod = ?sandbox.labels.get(labels::POD_NAME), "removing an orphaned sandbox");
        runtime.stop_sandbox(&sandbox.id).await?;
        runtime.remove_sandbox(&sandbox.id).await?;
        removed += 1;
    }
    Ok(removed)
}

/// Collects once the pod cache has synced, then every `every`, until `shutdown`.
pub async fn run(runtime: Runtime, pods: Store<Pod>, every: Duration, shutdown: CancellationToken) {
    tokio::select! {
        _ = shutdown.cancelled() => return,
        synced = pods.wait_synced() => if !synced { return },
    }
    loop {
        if let Err(error) = collect(&runtime, &pods).await {
            tracing::warn!(%error, "collecting orphaned containers");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
