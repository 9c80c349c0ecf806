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
use capstan_auth::Authorizer;
use capstan_proto::api::v1::pod_service_server::{PodService, PodServiceServer};
use capstan_proto::kubelet::v1::exec_request::Request as ExecPart;
use capstan_proto::kubelet::v1::{ExecRequest, LogsRequest};
use capstan_proto::runtime::v1::{ExecOutput, LogChunk};
use futures::stream::{self, BoxStream, StreamExt};
use std::sync::Arc;
use tonic::{Request, Response, Status, Streaming};

/// The service's gRPC paths, for the server's limits.
pub const LOGS_PATH: &str = "/capstan.api.v1.PodService/Logs";
pub const EXEC_PATH: &str = "/capstan.api.v1.PodService/Exec";

/// The gRPC face; see the [module](self) docs.
pub struct PodApi {
    proxy: NodeProxy,
    authorizer: Arc<dyn Authorizer>,
}

impl PodApi {
    pub fn new(proxy: NodeProxy, authorizer: Arc<dyn Authorizer>) -> PodServiceServer<PodApi> {
        PodServiceServer::new(PodApi { proxy, authorizer })
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
    type ExecStream = BoxStream<'static, Result<ExecOutput, Status>>;

    async fn logs(&self, request: Request<LogsRequest>) -> Result<Response<Self::LogsStream>, Status> {
        admit(self.authorizer.as_ref(), &request, Asked::Logs(request.get_ref()))?;
        let mut wanted = request.into_inner();
        namespace_or_default(&mut wanted.namespace);
        let kubelet = self.proxy.kubelet_of(&wanted.namespace, &wanted.pod).await?;
        let chunks = kubelet.client.clone().logs(wanted).await.map_err(|status| kubelet.fail(status))?.into_inner();
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
        admit(self.authorizer.as_ref(), &judged, Asked::Exec(&target))?;
        namespace_or_default(&mut target.namespace);
        let kubelet = self.proxy.kubelet_of(&target.namespace, &target.pod).await?;
        let first = ExecRequest { request: Some(ExecPart::Target(target)) };
        // the caller's input, pulled as the kubelet reads it; a broken caller
        // stream ends the input (the kubelet then sees stdin's end)
        let input =
            stream::once(async move { first }).chain(inbound.scan((), |(), part| std::future::ready(part.ok())));
        let output = kubelet.client.clone().exec(input).await.map_err(|status| kubelet.fail(status))?.into_inner();
        Ok(Response::new(relay(output, kubelet)))
    }
}

/// The kubelet's reply stream as the caller's, its failures worded by
/// [`PodKubelet::fail`].
fn relay<T: Send + 'static>(from: Streaming<T>, kubelet: PodKubelet) -> BoxStream<'static, Result<T, Status>> {
    from.map(move |item| item.map_err(|status| kubelet.fail(status).into())).boxed()
}
