//! The kubelet's Node object: built from the machine and the runtime (capacity,
//! labels, addresses, nodeInfo, the kubelet's port, a `Ready` condition),
//! registered at start and its status re-posted as a heartbeat.
//!
//! Registering needs only the machine: a kubelet whose runtime is not answering yet
//! registers anyway, reports `Ready=False` with reason `ContainerRuntimeNotReady`
//! (as Kubernetes' kubelet does) and fills nodeInfo's runtime once the runtime
//! answers. Every heartbeat asks the runtime again ([`RuntimeHealth`]), so a shim
//! restarted under a running kubelet shows as NotReady for as long as it is down.
//! An API server that is not up yet is waited for with back-off.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use capstan_backoff::Backoff;
use capstan_client::{Client, ClientError};
use capstan_cri::RuntimeClients;
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
    /// What the runtime said it is; unknown until it first answers.
    pub runtime: Option<RuntimeInfo>,
}

/// The runtime's name (`docker`, `memory`, …) and version, from its Version call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeInfo {
    pub name: String,
    pub version: String,
}

/// Whether the runtime answered the last time the kubelet asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeHealth {
    Up,
    /// Not answering, or refusing this node; `message` says which, and where.
    Down {
        message: String,
    },
}

/// The Ready condition's reason while the runtime is down, as Kubernetes names it.
pub const RUNTIME_NOT_READY: &str = "ContainerRuntimeNotReady";

/// The labels the kubelet owns on its Node.
pub fn labels(facts: &NodeFacts) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), facts.name.clone()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), arch().to_string()),
    ]);
    if let Some(runtime) = &facts.runtime {
        labels.insert("capstan.io/runtime".to_string(), runtime.name.clone());
    }
    labels
}

/// The architecture as Kubernetes names it.
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The node's Ready condition at `now` given the runtime's health, keeping the
/// transition time of `old`'s when its status is unchanged.
pub fn ready_condition(health: &RuntimeHealth, old: Option<&NodeStatus>, now: Time) -> NodeCondition {
    let (status, reason, message) = match health {
        RuntimeHealth::Up => ("True", "KubeletReady", "kubelet is posting ready status".to_string()),
        RuntimeHealth::Down { message } => ("False", RUNTIME_NOT_READY, message.clone()),
    };
    let unchanged = old.and_then(|s| s.conditions.iter().find(|c| c.r#type == "Ready" && c.status == status));
    NodeCondition {
        r#type: "Ready".into(),
        status: status.into(),
        last_heartbeat_time: Some(now),
        last_transition_time: unchanged.and_then(|c| c.last_transition_time).or(Some(now)),
        reason: reason.into(),
        message,
    }
}

/// The node's status at `now`, keeping the Ready condition's transition time from `old`.
pub fn status(facts: &NodeFacts, health: &RuntimeHealth, old: Option<&NodeStatus>, now: Time) -> NodeStatus {
    let resources = BTreeMap::from([
        ("cpu".to_string(), Quantity::new(facts.machine.cpus.to_string())),
        ("memory".to_string(), Quantity::new(format!("{}Ki", facts.machine.memory_kib))),
        ("pods".to_string(), Quantity::new("110")),
    ]);
    let runtime_version = facts.runtime.as_ref().map(|r| format!("{}://{}", r.name, r.version)).unwrap_or_default();
    NodeStatus {
        capacity: resources.clone(),
        allocatable: resources,
        phase: String::new(),
        conditions: vec![ready_condition(health, old, now)],
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
            container_runtime_version: runtime_version,
            kubelet_version: concat!("v", env!("CARGO_PKG_VERSION")).to_string(),
            operating_system: "linux".into(),
            architecture: arch().into(),
            ..Default::default()
        }),
    }
}

/// Creates the Node, or adopts an existing one (merging the kubelet's labels), and
/// posts its status; waits with back-off (logging each retry) while the API server
/// cannot be reached, and reads the Node again when a writer got in between its
/// read and its update (the node lifecycle controller tainting a new node does,
/// at once, and the kubelet registers a second time once its runtime answers).
pub async fn register(client: &Client, facts: &NodeFacts, health: &RuntimeHealth) -> Result<(), KubeletError> {
    let mut backoff = Backoff::default();
    loop {
        match try_register(client, facts, health).await {
            Err(KubeletError::Api { call, source, .. }) if source.is_retryable() || source.is_conflict() => {
                let delay = backoff.next_delay();
                tracing::warn!(node = %facts.name, call, error = %source, retry_in = ?delay,
                    "registering the node: the API server is not answering; retrying");
                tokio::time::sleep(delay).await;
            }
            result => return result,
        }
    }
}

async fn try_register(client: &Client, facts: &NodeFacts, health: &RuntimeHealth) -> Result<(), KubeletError> {
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
    node.status = Some(status(facts, health, node.status.as_ref(), Time::now()));
    api.update_status(&node).await.map_err(KubeletError::api("UpdateStatus", &facts.name))?;
    tracing::info!(node = %facts.name, "registered node");
    Ok(())
}

/// Writes the node's status as `facts` and `health` say, over whatever status it has.
pub async fn post_status(client: &Client, facts: &NodeFacts, health: &RuntimeHealth) -> Result<(), ClientError> {
    let api = client.api::<Node>(None);
    let mut node = api.get(&facts.name).await?;
    node.status = Some(status(facts, health, node.status.as_ref(), Time::now()));
    if let Some(meta) = node.metadata.as_mut() {
        meta.resource_version.clear();
    }
    api.update_status(&node).await?;
    Ok(())
}

/// Re-posts the node's status every `every` until `shutdown`, asking the runtime
/// first whether it answers (and, when it does, what it is now).
pub async fn heartbeat(
    client: Client,
    mut facts: NodeFacts,
    runtime: RuntimeClients,
    endpoint: String,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut last = RuntimeHealth::Up;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let health = match crate::runtime_health::probe(&runtime, &endpoint).await {
            Ok(info) => {
                facts.runtime = Some(info);
                RuntimeHealth::Up
            }
            Err(down) => RuntimeHealth::Down { message: down.to_string() },
        };
        match (&last, &health) {
            (RuntimeHealth::Up, RuntimeHealth::Down { message }) => {
                tracing::warn!(node = %facts.name, %message, "the container runtime is down: the node is NotReady")
            }
            (RuntimeHealth::Down { .. }, RuntimeHealth::Up) => {
                tracing::info!(node = %facts.name, "the container runtime answers again: the node is Ready")
            }
            _ => {}
        }
        last = health;
        if let Err(error) = post_status(&client, &facts, &last).await {
            tracing::warn!(node = %facts.name, %error, "posting node status");
        }
    }
}
