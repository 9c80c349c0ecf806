//! The kubelet's own service: logs, exec and pod usage for the CLI and the
//! autoscaler. The logic lives behind [`KubeletApi`] on plain values and runtime
//! messages; [`crate::grpc`] is the thin `capstan.kubelet.v1` adapter over it, served
//! on the kubelet's port next to `grpc.health.v1` and `GET /metrics` by [`serve`].

use std::collections::HashMap;
use std::sync::Arc;

use capstan_cri::labels;
use capstan_proto::core::v1::Pod;
use capstan_proto::runtime::v1::{
    exec_input, ContainerLogsRequest, ContainerStatsRequest, ExecInput, ExecOutput, LogChunk,
};
use capstan_runtime::informer::Store;
use futures::stream::{BoxStream, StreamExt};
use tokio::net::TcpListener;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use crate::runtime::Runtime;
use crate::KubeletError;

/// Which container's logs, and how.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogsRequest {
    pub namespace: String,
    pub pod: String,
    /// empty = the pod's only (first) container
    pub container: String,
    pub follow: bool,
    /// only the last N lines
    pub tail_lines: Option<i64>,
    /// the previous attempt's logs
    pub previous: bool,
    /// prefix each line with its RFC 3339 time
    pub timestamps: bool,
    /// only lines newer than this many seconds
    pub since_seconds: Option<i64>,
}

/// Nanoseconds since the epoch, `seconds` ago (at least 1 ns: 0 means "all").
fn since_time(seconds: i64) -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let now = i64::try_from(now.as_nanos()).unwrap_or(i64::MAX);
    now.saturating_sub(seconds.max(0).saturating_mul(1_000_000_000)).max(1)
}

/// Which container an exec runs in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecTarget {
    pub namespace: String,
    pub pod: String,
    /// empty = the pod's only container
    pub container: String,
}

/// A container's resource usage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerUsage {
    pub name: String,
    /// cumulative CPU time
    pub cpu_usage_core_nanoseconds: u64,
    pub memory_working_set_bytes: u64,
    /// nanoseconds since the epoch
    pub timestamp: i64,
}

/// What the kubelet service answers, independent of its wire form.
pub struct KubeletApi {
    runtime: Runtime,
    pods: Store<Pod>,
}

impl KubeletApi {
    pub fn new(runtime: Runtime, pods: Store<Pod>) -> Self {
        KubeletApi { runtime, pods }
    }

    /// The runtime id of `container` in pod `namespace/pod` (the previous attempt's when asked).
    pub async fn container_id(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> Result<String, KubeletError> {
        let full = format!("{namespace}/{pod}");
        let object = self.pods.get(namespace, pod).ok_or_else(|| KubeletError::NoSuchPod { pod: full.clone() })?;
        let name = container_name(&object, pod, container)?;
        let uid = object.metadata.as_ref().map(|m| m.uid.clone()).unwrap_or_default();
        let snapshot = self.runtime.snapshot(&uid).await?;
        let found = if previous { snapshot.previous(&name) } else { snapshot.latest(&name) };
        found.map(|c| c.id.clone()).ok_or(KubeletError::NoSuchContainer { pod: full, container: name })
    }

    /// The container's log, streamed.
    pub async fn logs(
        &self,
        request: &LogsRequest,
    ) -> Result<BoxStream<'static, Result<LogChunk, tonic::Status>>, KubeletError> {
        let id = self.container_id(&request.namespace, &request.pod, &request.container, request.previous).await?;
        let call = ContainerLogsRequest {
            container_id: id.clone(),
            follow: request.follow,
            tail_lines: request.tail_lines.unwrap_or(-1),
            since_time: request.since_seconds.map_or(0, since_time),
            timestamps: request.timestamps,
        };
        let reply = self.runtime.clients.runtime.clone().container_logs(call).await;
        Ok(reply.map_err(KubeletError::runtime("ContainerLogs", id))?.into_inner().boxed())
    }

    /// Runs `start.cmd` in `target`'s container, feeding it `input` (stdin chunks,
    /// resizes, close).
    pub async fn exec(
        &self,
        target: ExecTarget,
        start: exec_input::Start,
        input: BoxStream<'static, ExecInput>,
    ) -> Result<BoxStream<'static, Result<ExecOutput, tonic::Status>>, KubeletError> {
        let id = self.container_id(&target.namespace, &target.pod, &target.container, false).await?;
        let first = ExecInput {
            input: Some(exec_input::Input::Start(exec_input::Start { container_id: id.clone(), ..start })),
        };
        // A channel, not the stream itself: tonic's client needs a concrete,
        // provably `Send` body stream, and a task forwarding the input gives one.
        let (sender, receiver) = tokio::sync::mpsc::channel(16);
        let _ = sender.send(first).await;
        tokio::spawn(forward(input, sender));
        let outbound = ReceiverStream::new(receiver);
        let reply = self.runtime.clients.runtime.clone().exec(outbound).await;
        Ok(reply.map_err(KubeletError::runtime("Exec", id))?.into_inner().boxed())
    }

    /// CPU and memory of each running container of the pod.
    pub async fn pod_usage(&self, namespace: &str, pod: &str) -> Result<Vec<ContainerUsage>, KubeletError> {
        let object = self
            .pods
            .get(namespace, pod)
            .ok_or_else(|| KubeletError::NoSuchPod { pod: format!("{namespace}/{pod}") })?;
        let uid = object.metadata.as_ref().map(|m| m.uid.clone()).unwrap_or_default();
        let mut usage: HashMap<String, ContainerUsage> = HashMap::new();
        for container in self.runtime.containers(Some(&uid)).await? {
            let name = container.labels.get(labels::CONTAINER_NAME).cloned().unwrap_or_default();
            let reply = self
                .runtime
                .clients
                .runtime
                .clone()
                .container_stats(ContainerStatsRequest { container_id: container.id.clone() })
                .await;
            let Ok(reply) = reply else { continue };
            let stats = reply.into_inner().stats.unwrap_or_default();
            let entry = ContainerUsage {
                name: name.clone(),
                cpu_usage_core_nanoseconds: stats.cpu_usage_core_nanoseconds,
                memory_working_set_bytes: stats.memory_working_set_bytes,
                timestamp: stats.timestamp,
            };
            if usage.get(&name).is_none_or(|u| u.timestamp <= entry.timestamp) {
                usage.insert(name, entry);
            }
        }
        let mut usage: Vec<ContainerUsage> = usage.into_values().collect();
        usage.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(usage)
    }
}

/// Feeds `input` to an exec until it ends or the exec is over. The exec
/// being over (its command exited: the runtime call dropped its input) must
/// end this even while the caller sends nothing, e.g. an open terminal's
/// stdin: dropping `input` then resets the caller's stream, so the caller's
/// side ends too rather than hold the connection (and a graceful stop) open.
async fn forward(mut input: BoxStream<'static, ExecInput>, sender: tokio::sync::mpsc::Sender<ExecInput>) {
    loop {
        let part = tokio::select! {
            () = sender.closed() => break,
            part = input.next() => part,
        };
        let Some(part) = part else { break };
        if sender.send(part).await.is_err() {
            break;
        }
    }
}

/// Which container of `object` a request means: the named one (which must be in the
/// spec), or the only one when none is named.
fn container_name(object: &Pod, pod: &str, container: &str) -> Result<String, KubeletError> {
    let spec = object.spec.clone().unwrap_or_default();
    let names: Vec<String> = spec.containers.iter().map(|c| c.name.clone()).collect();
    let init: Vec<String> = spec.init_containers.iter().map(|c| c.name.clone()).collect();
    match (container, names.as_slice()) {
        ("", [only]) => Ok(only.clone()),
        ("", _) => Err(KubeletError::AmbiguousContainer { pod: pod.to_string(), choices: names }),
        (name, _) if names.iter().chain(&init).any(|n| n == name) => Ok(name.to_string()),
        (name, _) => Err(KubeletError::NoSuchContainer { pod: pod.to_string(), container: name.to_string() }),
    }
}

/// Serves the kubelet's port — [`crate::grpc`]'s `KubeletService`,
/// `grpc.health.v1` and `GET /metrics` (`registry`, with the per-call request
/// metrics) through [`capstan_server`]'s stack — until `shutdown`. With
/// `tls` it serves TLS; with a client CA too, every call of the service
/// must come with a client certificate that CA signed (else 401) and is
/// authorized by [`crate::authz`] as a request on node `node` (else 403).
pub async fn serve(
    listener: TcpListener,
    api: Arc<KubeletApi>,
    node: String,
    tls: Option<capstan_server::TlsFiles>,
    registry: capstan_metrics::Registry,
    shutdown: CancellationToken,
) -> Result<(), KubeletError> {
    let authenticates = authenticates(tls.as_ref());
    let config = capstan_server::ServerConfig {
        // Logs and Exec stream for as long as the user reads: neither timed
        // nor holding a slot once they answer (the stack already lets
        // streams run; naming them keeps a slow runtime's answer untimed too)
        long_running: capstan_server::LongRunning::new([
            "/capstan.kubelet.v1.KubeletService/Logs",
            "/capstan.kubelet.v1.KubeletService/Exec",
        ]),
        authentication: authenticates.then(capstan_server::AuthenticationConfig::default),
        tls,
        component: Some("capstan-kubelet"),
        ..capstan_server::ServerConfig::default()
    };
    let server =
        capstan_server::Server::new(config, registry)?.add_service(crate::grpc::service(api, &node, authenticates));
    Ok(server.serve(listener, shutdown.cancelled_owned()).await?)
}

/// Whether a kubelet serving with `tls` authenticates its callers: only with
/// a client CA (no token file, no anonymous callers).
pub fn authenticates(tls: Option<&capstan_server::TlsFiles>) -> bool {
    tls.is_some_and(|t| t.client_ca.is_some())
}
