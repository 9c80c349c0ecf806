//! Whether the node's runtime answers: what the kubelet's start waits on, and what
//! every heartbeat reports in the node's Ready condition.
//!
//! A kubelet and its shim start in any order (separate containers, a shim
//! restarted after a crash, a stale socket file left behind), so a runtime that does
//! not answer is waited for with back-off, never a reason to exit. One answer is
//! final: a shim pinned to another node (`--node-name`) refuses this kubelet's
//! calls, and no amount of waiting fixes that, so the kubelet refuses to start and
//! says which flags to change.

use std::time::Duration;

use capstan_backoff::Backoff;
use capstan_client::Client;
use capstan_cri::RuntimeClients;
use tonic::Code;

use crate::node::{self, NodeFacts, RuntimeHealth, RuntimeInfo};
use crate::runtime::Runtime;
use crate::KubeletError;

/// Why the runtime gave no version.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeDown {
    #[error("container runtime is down: the runtime at {endpoint} does not answer: {status}")]
    Unreachable { endpoint: String, status: tonic::Status },

    #[error("container runtime refuses this node: the runtime at {endpoint} said: {message}")]
    OtherNode { endpoint: String, message: String },
}

/// Asks the runtime at `endpoint` who it is.
pub async fn probe(runtime: &RuntimeClients, endpoint: &str) -> Result<RuntimeInfo, RuntimeDown> {
    match Runtime::version(runtime).await {
        Ok(version) => Ok(RuntimeInfo { name: version.runtime_name, version: version.runtime_version }),
        // a shim's Version refuses only a caller of another node (see capstan-shim-common's node module)
        Err(KubeletError::RuntimeCall { status, .. }) if status.code() == Code::FailedPrecondition => {
            Err(RuntimeDown::OtherNode { endpoint: endpoint.to_string(), message: status.message().to_string() })
        }
        Err(KubeletError::RuntimeCall { status, .. }) => {
            Err(RuntimeDown::Unreachable { endpoint: endpoint.to_string(), status })
        }
        Err(other) => Err(RuntimeDown::Unreachable {
            endpoint: endpoint.to_string(),
            status: tonic::Status::unknown(other.to_string()),
        }),
    }
}

/// The first delay between asks, and the longest.
pub const FIRST_RETRY: Duration = Duration::from_millis(200);
pub const LONGEST_RETRY: Duration = Duration::from_secs(10);

/// Waits until the runtime answers, reporting the (registered) node NotReady with
/// the reason after each unanswered ask; refuses a runtime pinned to another node.
pub async fn wait_for_runtime(
    client: &Client,
    facts: &NodeFacts,
    runtime: &RuntimeClients,
    endpoint: &str,
) -> Result<RuntimeInfo, KubeletError> {
    let mut backoff = Backoff::new(FIRST_RETRY, LONGEST_RETRY);
    loop {
        let down = match probe(runtime, endpoint).await {
            Ok(info) => return Ok(info),
            Err(RuntimeDown::OtherNode { message, .. }) => {
                return Err(KubeletError::RuntimeRefusesNode {
                    endpoint: endpoint.to_string(),
                    node: facts.name.clone(),
                    message,
                })
            }
            Err(down) => down,
        };
        let delay = backoff.next_delay();
        tracing::warn!(node = %facts.name, error = %down, retry_in = ?delay, "waiting for the container runtime");
        let health = RuntimeHealth::Down { message: down.to_string() };
        if let Err(error) = node::post_status(client, facts, &health).await {
            tracing::warn!(node = %facts.name, %error, "posting node status");
        }
        tokio::time::sleep(delay).await;
    }
}
