//! `capstan.api.v1.PodService`: `pods/log` and `pods/exec`, the pod
//! subresources that reach into a node. Each call passes the one
//! authorization hook ([`crate::authorize::admit`]: get `pods/log`, create
//! `pods/exec`, audited with those attributes), then [`NodeProxy`] finds the
//! pod's kubelet and the call is relayed to it with the API server's own
//! identity.
//!
//! Nothing is buffered here beyond one message in flight each way: the
//! kubelet's output stream is handed to the caller as it is read, and the
//! caller's exec input (stdin, its close) is pulled from the caller only as
//! fast as the kubelet takes it. Either side ending ends the relay: the
//! caller going away drops the kubelet call (its stream is reset, and the
//! kubelet stops the command's exec); the kubelet ending ends the caller's
//! stream.

use crate::authorize::admit;
use crate::authz::Request as Asked;
use crate::error::ApiError;
use crate::node_proxy::{NodeProxy, PodKubelet};
use crate::pod_target::{container_for, why_no_log};
use capstan_auth::Authorizer;
use capstan_proto::api::v1::pod_service_server::PodService;
use capstan_proto::kubelet::v1::exec_request::{Request as ExecPart, Target};
use capstan_proto::kubelet::v1::{ExecRequest, LogsRequest};
use capstan_proto::runtime::v1::{ExecOutput, LogChunk};
use futures::stream::{self, BoxStream, StreamExt};
use std::sync::Arc;
use tonic::{Code, Request, Response, Status, Streaming};

/// The service's gRPC paths, for the server's limits.
pub const LOGS_PATH: &str = "/capstan.api.v1.PodService/Logs";
pub const EXEC_PATH: &str = "/capstan.api.v1.PodService/Exec";

/// An exec's output as the kubelet streams it: stdout, stderr, the exit code last.
pub type ExecOutputs = BoxStream<'static, Result<ExecOutput, Status>>;

/// The service, shared by the gRPC face (`PodServiceServer::from_arc`) and
/// the REST face; see the [module](self) docs.
pub struct PodApi {
    proxy: NodeProxy,
    authorizer: Arc<dyn Authorizer>,
}

impl PodApi {
    pub fn new(proxy: NodeProxy, authorizer: Arc<dyn Authorizer>) -> PodApi {
        PodApi { proxy, authorizer }
    }

    /// Everything that can refuse an exec before its command starts: the
    /// hook (create `pods/exec`), the pod, its container (`target`'s is
    /// filled in when it names none and the pod has one) and its kubelet.
    /// The REST face answers these refusals before it upgrades the
    /// connection, as kube-apiserver does.
    pub async fn prepare_exec<T>(&self, request: &Request<T>, target: &mut Target) -> Result<PodKubelet, Status> {
        admit(self.authorizer.as_ref(), request, Asked::Exec(target))?;
        namespace_or_default(&mut target.namespace);
        let pod = self.proxy.pod(&target.namespace, &target.pod).await?;
        target.container = container_for(&pod, &target.container)?;
        Ok(self.proxy.kubelet_for(&pod).await?)
    }

    /// Starts `target`'s command on a kubelet [`PodApi::prepare_exec`]
    /// found, feeding it `input` (stdin, resizes, the close of stdin) as the
    /// kubelet takes it.
    pub async fn start_exec<S>(kubelet: PodKubelet, target: Target, input: S) -> Result<ExecOutputs, Status>
    where
        S: futures::Stream<Item = ExecRequest> + Send + 'static,
    {
        // a concrete stream, not a boxed one: tonic's client proves the
        // call's future Send only for a stream whose type it can see
        let first = ExecRequest { request: Some(ExecPart::Target(target)) };
        let input = stream::once(std::future::ready(first)).chain(input);
        let output = kubelet.client.clone().exec(input).await.map_err(|status| kubelet.fail(status))?.into_inner();
        Ok(relay(output, kubelet))
    }
}

/// The namespace a request names, `default` when it names none (as the
/// registry and the authorization attributes default it).
fn namespace_or_default(namespace: &mut String) {
    if namespace.is_empty() {
        *namespace = "default".to_string();
    }
}

#[tonic::async_trait]
impl PodService for PodApi {
    type LogsStream = BoxStream<'static, Result<LogChunk, Status>>;
    type ExecStream = ExecOutputs;

    async fn logs(&self, request: Request<LogsRequest>) -> Result<Response<Self::LogsStream>, Status> {
        admit(self.authorizer.as_ref(), &request, Asked::Logs(request.get_ref()))?;
        let mut wanted = request.into_inner();
        namespace_or_default(&mut wanted.namespace);
        let pod = self.proxy.pod(&wanted.namespace, &wanted.pod).await?;
        wanted.container = container_for(&pod, &wanted.container)?;
        let kubelet = self.proxy.kubelet_for(&pod).await?;
        let (container, previous) = (wanted.container.clone(), wanted.previous);
        let chunks = match kubelet.client.clone().logs(wanted).await {
            Ok(chunks) => chunks.into_inner(),
            // no such container instance on the node: say why, from the status the kubelet wrote
            Err(status) if status.code() == Code::NotFound => {
                return Err(match why_no_log(&pod, &container, previous) {
                    Some(why) => ApiError::BadRequest(why).into(),
                    None => kubelet.fail(status).into(),
                })
            }
            Err(status) => return Err(kubelet.fail(status).into()),
        };
        Ok(Response::new(relay(chunks, kubelet)))
    }

    async fn exec(&self, request: Request<Streaming<ExecRequest>>) -> Result<Response<Self::ExecStream>, Status> {
        // the first message names the target: authorization needs it
        let (metadata, extensions, mut inbound) = request.into_parts();
        let mut target = match inbound.message().await? {
            Some(ExecRequest { request: Some(ExecPart::Target(target)) }) => target,
            _ => {
                return Err(
                    ApiError::BadRequest("the first message of an exec stream must name its target".into()).into()
                )
            }
        };
        let judged = Request::from_parts(metadata, extensions, ());
        let kubelet = self.prepare_exec(&judged, &mut target).await?;
        // the caller's input, pulled as the kubelet reads it; a broken caller
        // stream ends the input (the kubelet then sees stdin's end)
        Ok(Response::new(PodApi::start_exec(kubelet, target, until_broken(inbound)).await?))
    }
}

/// A caller's exec input up to its end or its first failure.
fn until_broken(inbound: Streaming<ExecRequest>) -> impl futures::Stream<Item = ExecRequest> + Send + 'static {
    inbound.scan((), |(), part| std::future::ready(part.ok()))
}

/// The kubelet's reply stream as the caller's, its failures worded by
/// [`PodKubelet::fail`].
fn relay<T: Send + 'static>(from: Streaming<T>, kubelet: PodKubelet) -> BoxStream<'static, Result<T, Status>> {
    from.map(move |item| item.map_err(|status| kubelet.fail(status).into())).boxed()
}
