//! Graceful deletion: stop every container with the pod's grace period (the
//! runtime's StopContainer sends SIGTERM, waits, then SIGKILLs), stop and remove
//! the sandboxes and containers, then finish the delete at the API server with a
//! grace period of 0 and a uid precondition, so a new pod of the same name is never
//! deleted by mistake.

use capstan_client::DeleteParams;
use capstan_proto::core::v1::Pod;
use futures::future::join_all;

use crate::pod_worker::WorkerContext;
use crate::sync::pod_name;
use crate::KubeletError;

/// Stops and removes everything of `pod`; with `finish`, deletes it at the API server.
pub async fn terminate(ctx: &WorkerContext, pod: &Pod, grace_seconds: i64, finish: bool) -> Result<(), KubeletError> {
    let meta = pod.metadata.clone().unwrap_or_default();
    let runtime = &ctx.runtime;
    let snapshot = runtime.snapshot(&meta.uid).await?;
    tracing::info!(pod = %pod_name(pod), grace_seconds, "terminating pod");
    let stops = snapshot.live().map(|c| runtime.stop_container(&c.id, grace_seconds.max(0)));
    join_all(stops).await.into_iter().collect::<Result<Vec<()>, _>>()?;
    for sandbox in &snapshot.sandboxes {
        runtime.stop_sandbox(&sandbox.id).await?;
    }
    for container in &snapshot.containers {
        runtime.remove_container(&container.id).await?;
    }
    for sandbox in &snapshot.sandboxes {
        runtime.remove_sandbox(&sandbox.id).await?;
    }
    if !finish {
        return Ok(());
    }
    let params = DeleteParams { precondition_uid: Some(meta.uid.clone()), ..Default::default() }.grace_period(0);
    match ctx.client.api::<Pod>(Some(&meta.namespace)).delete(&meta.name, &params).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_not_found() || error.is_conflict() => Ok(()),
        Err(error) => Err(KubeletError::api("Delete", pod_name(pod))(error)),
    }
}
