//! The kubelet's Node object: built from the machine and the runtime (capacity,
//! labels, addresses, nodeInfo, the kubelet's port, a `Ready` condition),
//! registered at start and its status re-posted as a heartbeat.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use capstan_client::Client;
use capstan_proto::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeStatus, NodeSystemInfo,
};
use capstan_proto::meta::v1::{ObjectMeta, Quantity, Time};
use tokio_util::sync::CancellationToken;

use crate::machine::Machine;
use crate::KubeletError;

/// Everything a Node object says about this node.
#[derive(Clone, Debug)]
pub struct NodeFacts {
    pub name: String,
    pub machine: Machine,
    pub ip: IpAddr,
    pub port: u16,
    /// `docker`, `memory`, …
    pub runtime_name: String,
    pub runtime_version: String,
}

/// The labels the kubelet owns on its Node.
pub fn labels(facts: &NodeFacts) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), facts.name.clone()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), arch().to_string()),
        ("capstan.io/runtime".to_string(), facts.runtime_name.clone()),
    ])
}

/// The architecture as Kubernetes names it.
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The node's status at `now`, keeping the Ready condition's transition time from `old`.
pub fn status(facts: &NodeFacts, old: Option<&NodeStatus>, now: Time) -> NodeStatus {
    let resources = BTreeMap::from([
        ("cpu".to_string(), Quantity::new(facts.machine.cpus.to_string())),
        ("memory".to_string(), Quantity::new(format!("{}Ki", facts.machine.memory_kib))),
        ("pods".to_string(), Quantity::new("110")),
    ]);
    let was_ready = old.and_then(|s| s.conditions.iter().find(|c| c.r#type == "Ready" && c.status == "True"));
    NodeStatus {
        capacity: resources.clone(),
        allocatable: resources,
        phase: String::new(),
        conditions: vec![NodeCondition {
            r#type: "Ready".into(),
            status: "True".into(),
            last_heartbeat_time: Some(now),
            last_transition_time: was_ready.and_then(|c| c.last_transition_time).or(Some(now)),
            reason: "KubeletReady".into(),
            message: "kubelet is posting ready status".into(),
        }],
        addresses: vec![
            NodeAddress { r#type: "InternalIP".into(), address: facts.ip.to_string() },
            NodeAddress { r#type: "Hostname".into(), address: facts.name.clone() },
        ],
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: i32::from(facts.port) }),
        }),
        node_info: Some(NodeSystemInfo {
            kernel_version: facts.machine.kernel.clone(),
            os_image: facts.machine.os_image.clone(),
            container_runtime_version: format!("{}://{}", facts.runtime_name, facts.runtime_version),
            kubelet_version: concat!("v", env!("CARGO_PKG_VERSION")).to_string(),
            operating_system: "linux".into(),
            architecture: arch().into(),
            ..Default::default()
        }),
    }
}

/// Creates the Node, or adopts an existing one (merging the kubelet's labels), and posts its status.
pub async fn register(client: &Client, facts: &NodeFacts) -> Result<(), KubeletError> {
    let api = client.api::<Node>(None);
    let fresh = Node {
        metadata: Some(ObjectMeta { name: facts.name.clone(), labels: labels(facts), ..Default::default() }),
        ..Default::default()
    };
    let mut node = match api.create(&fresh).await {
        Ok(node) => node,
        Err(error) if error.is_already_exists() => {
            let mut node = api.get(&facts.name).await.map_err(KubeletError::api("Get", &facts.name))?;
            let meta = node.metadata.get_or_insert_with(Default::default);
            meta.labels.extend(labels(facts));
            api.update(&node).await.map_err(KubeletError::api("Update", &facts.name))?
        }
        Err(error) => return Err(KubeletError::api("Create", &facts.name)(error)),
    };
    node.status = Some(status(facts, node.status.as_ref(), Time::now()));
    api.update_status(&node).await.map_err(KubeletError::api("UpdateStatus", &facts.name))?;
    tracing::info!(node = %facts.name, "registered node");
    Ok(())
}

/// Re-posts the node's status every `every` until `shutdown`.
pub async fn heartbeat(client: Client, facts: NodeFacts, every: Duration, shutdown: CancellationToken) {
    let api = client.api::<Node>(None);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let result = async {
            let mut node = api.get(&facts.name).await?;
            node.status = Some(status(&facts, node.status.as_ref(), Time::now()));
            if let Some(meta) = node.metadata.as_mut() {
                meta.resource_version.clear();
            }
            api.update_status(&node).await
        };
        if let Err(error) = result.await {
            tracing::warn!(node = %facts.name, %error, "posting node status");
        }
    }
}
