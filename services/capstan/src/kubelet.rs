//! Reaching a pod's kubelet, as `logs` and `exec` do: the pod's node from
//! `spec.nodeName`, the kubelet's address from that Node's status (InternalIP,
//! else Hostname, and `daemonEndpoints.kubeletEndpoint.port`), and a traced gRPC
//! client to it. Kubelet refusals read like the API server's.

use crate::errors::{CliError, Subject};
use crate::Context;
use capstan_client::nodes::kubelet_address;
use capstan_client::ClientError;
use capstan_proto::core::v1::{Node, Pod};
use capstan_proto::kinds::{NODE, POD};
use capstan_proto::kubelet::v1::kubelet_service_client::KubeletServiceClient;
use capstan_telemetry::TracedChannel;
use tonic::Code;

/// A connected kubelet, and which pod the command is about.
pub struct PodKubelet {
    pub client: KubeletServiceClient<TracedChannel>,
    pub namespace: String,
    pub pod: String,
    pub node: String,
    pub address: String,
}

impl PodKubelet {
    /// A refusal from this kubelet as the user should read it.
    pub fn fail(&self, status: tonic::Status) -> CliError {
        kubelet_error(&self.node, &self.address, status)
    }
}

/// Finds `pod`'s kubelet (in the context's namespace) and connects to it.
pub async fn connect(ctx: &Context<'_>, pod: &str) -> Result<PodKubelet, CliError> {
    let namespace = ctx.settings.namespace.clone();
    let object = ctx
        .client
        .api::<Pod>(Some(&namespace))
        .get(pod)
        .await
        .map_err(|e| ctx.fail(e, Some(Subject { info: &POD, name: pod })))?;
    let node = object.spec.as_ref().map(|s| s.node_name.clone()).unwrap_or_default();
    if node.is_empty() {
        return Err(CliError::Usage(format!(
            "pod {pod} in namespace {namespace} is not scheduled to a node yet, so it has no kubelet to ask \
             (a pod runs once spec.nodeName is set)"
        )));
    }
    let node_object = ctx
        .client
        .api::<Node>(None)
        .get(&node)
        .await
        .map_err(|e| ctx.fail(e, Some(Subject { info: &NODE, name: &node })))?;
    let address = kubelet_address(node_object.status.as_ref(), None).ok_or_else(|| {
        CliError::Usage(format!(
            "node {node} does not report its kubelet's address and port (has its kubelet registered?)"
        ))
    })?;
    let url = format!("http://{address}");
    let endpoint = tonic::transport::Endpoint::from_shared(url.clone())
        .map_err(|e| CliError::Usage(format!("node {node} reports an unusable kubelet address {url}: {e}")))?;
    let channel = endpoint.connect().await.map_err(|e| {
        CliError::Usage(format!("cannot reach the kubelet of node {node} at {address}: {}", source_text(&e)))
    })?;
    let client = KubeletServiceClient::new(capstan_telemetry::traced_channel(channel));
    Ok(PodKubelet { client, namespace, pod: pod.to_string(), node, address })
}

/// A kubelet's gRPC refusal, worded like kubectl's.
fn kubelet_error(node: &str, address: &str, status: tonic::Status) -> CliError {
    match status.code() {
        Code::InvalidArgument => CliError::Usage(status.message().to_string()),
        Code::Unavailable | Code::Unknown if status.message().contains("transport") || status.message().is_empty() => {
            CliError::Usage(format!("cannot reach the kubelet of node {node} at {address}: {}", status.message()))
        }
        _ => CliError::from_client(ClientError::from(status), None, address),
    }
}

/// The innermost cause of a transport error (tonic's own text is just "transport error").
fn source_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = cause.to_string();
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_refusals_read_like_kubectl() {
        let ambiguous =
            tonic::Status::invalid_argument("a container name must be specified for pod web, choose one of: [a b]");
        assert_eq!(
            kubelet_error("n1", "10.0.0.5:10250", ambiguous).to_string(),
            "error: a container name must be specified for pod web, choose one of: [a b]"
        );
        let missing = tonic::Status::not_found("pod default/web is not on this node");
        assert_eq!(
            kubelet_error("n1", "10.0.0.5:10250", missing).to_string(),
            "Error from server (NotFound): pod default/web is not on this node"
        );
    }
}
