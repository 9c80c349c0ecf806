//! Running one case so that it leaves nothing behind.
//!
//! The case runs in its own task; whether it passes or panics, everything the
//! runtime lists afterwards is removed (a shim lists only its own node's containers,
//! and each test uses its own node name, so this touches nothing else). The harness
//! then does its own cleanup and calls [`Outcome::finish`], which resumes a panic so
//! the test fails with the case's own message.

use std::any::Any;
use std::future::Future;

use capstan_proto::runtime::v1::{
    ListContainersRequest, ListPodSandboxRequest, RemoveContainerRequest, RemovePodSandboxRequest,
};

use crate::{Runtime, RuntimeClients};

/// How a case ended; [`finish`](Outcome::finish) it once the harness has cleaned up.
#[must_use = "call finish() so that a failed case fails the test"]
pub struct Outcome(Option<Box<dyn Any + Send>>);

impl Outcome {
    /// Returns if the case passed; resumes its panic if it failed.
    pub fn finish(self) {
        if let Some(panic) = self.0 {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Runs `case` against `runtime`, then [`remove_everything`]. The runtime's clients
/// are all dropped when this returns.
pub async fn run_case<F, Fut>(runtime: Runtime, case: F) -> Outcome
where
    F: FnOnce(Runtime) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let clients = runtime.clients.clone();
    let ended = tokio::spawn(case(runtime)).await;
    remove_everything(&clients).await;
    Outcome(ended.err().map(|error| match error.try_into_panic() {
        Ok(panic) => panic,
        Err(error) => Box::new(format!("the case did not finish: {error}")),
    }))
}

/// Removes every container and sandbox the runtime lists (best effort: errors are
/// printed, not raised, since this runs after a case that may have failed).
pub async fn remove_everything(clients: &RuntimeClients) {
    let mut runtime = clients.runtime.clone();
    match runtime.list_containers(ListContainersRequest::default()).await {
        Ok(list) => {
            for c in list.into_inner().containers {
                if let Err(status) =
                    runtime.remove_container(RemoveContainerRequest { container_id: c.id.clone() }).await
                {
                    eprintln!("cleanup: removing container {}: {status}", c.id);
                }
            }
        }
        Err(status) => eprintln!("cleanup: listing containers: {status}"),
    }
    match runtime.list_pod_sandbox(ListPodSandboxRequest::default()).await {
        Ok(list) => {
            for s in list.into_inner().items {
                if let Err(status) =
                    runtime.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: s.id.clone() }).await
                {
                    eprintln!("cleanup: removing sandbox {}: {status}", s.id);
                }
            }
        }
        Err(status) => eprintln!("cleanup: listing sandboxes: {status}"),
    }
}
