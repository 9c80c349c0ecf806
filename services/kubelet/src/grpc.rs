//! The kubelet's gRPC face: `capstan.kubelet.v1.KubeletService` as a thin adapter
//! over [`KubeletApi`]. Each call unpacks its request, calls the plain method, and
//! maps a [`KubeletError`] onto a gRPC status in one place ([`status_of`]).
//!
//! Each call is authorized first ([`crate::authz`]) when the kubelet
//! authenticates its callers; a refusal is `PERMISSION_DENIED` in the
//! kubelet's words and no handler runs.
//!
//! Exec is a bidirectional stream: the first request names the target (pod,
//! container, command), later ones carry stdin, resizes and the close of stdin; they
//! are forwarded to the runtime's streaming Exec as they arrive, and its output —
//! stdout, stderr, the exit code last — streams back unchanged.

use std::sync::Arc;

use capstan_auth::{Authorizer, UserInfo};
use capstan_proto::kubelet::v1::exec_request::Request as ExecPart;
use capstan_proto::kubelet::v1::kubelet_service_server::{KubeletService, KubeletServiceServer};
use capstan_proto::kubelet::v1::{
    ContainerUsage as WireUsage, ExecRequest, LogsRequest as WireLogs, PodUsageRequest, PodUsageResponse,
};
use capstan_proto::runtime::v1::{exec_input, ExecInput, ExecOutput, LogChunk};
use futures::stream::{self, BoxStream, StreamExt};
use tonic::{Code, Request, Response, Status, Streaming};

use crate::authz::{forbidden_message, Call, KubeletAuthorizer};
use crate::server::{ExecTarget, KubeletApi, LogsRequest};
use crate::KubeletError;

type Reply<T> = Result<Response<T>, Status>;

/// The gRPC service over `api`, ready for a tonic server. `authorize` is
/// set when the server authenticates its callers: each call is then judged
/// by [`KubeletAuthorizer`] as a request on node `node`'s subresources.
pub fn service(api: Arc<KubeletApi>, node: &str, authorize: bool) -> KubeletServiceServer<KubeletGrpc> {
    let authorizer = authorize.then_some(KubeletAuthorizer);
    KubeletServiceServer::new(KubeletGrpc { api, node: node.to_string(), authorizer })
}

/// The adapter; see the module docs.
pub struct KubeletGrpc {
    api: Arc<KubeletApi>,
    node: String,
    authorizer: Option<KubeletAuthorizer>,
}

impl KubeletGrpc {
    /// `Ok` when `call` may go on: always on a kubelet that authenticates no
    /// one (it listens on loopback only), else when the policy allows the
    /// caller the stack authenticated.
    fn admit<T>(&self, request: &Request<T>, call: Call) -> Result<(), Status> {
        let Some(authorizer) = &self.authorizer else { return Ok(()) };
        let anonymous;
        let user = match request.extensions().get::<Arc<UserInfo>>() {
            Some(user) => user.as_ref(),
            None => {
                anonymous = UserInfo::anonymous();
                &anonymous
            }
        };
        let attributes = call.attributes(&self.node);
        if authorizer.authorize(user, &attributes).is_allowed() {
            return Ok(());
        }
        tracing::info!(user = %user.name, ?call, "kubelet call refused");
        Err(Status::permission_denied(forbidden_message(user, &attributes)))
    }
}

#[tonic::async_trait]
impl KubeletService for KubeletGrpc {
    type LogsStream = BoxStream<'static, Result<LogChunk, Status>>;
    type ExecStream = BoxStream<'static, Result<ExecOutput, Status>>;

    async fn logs(&self, request: Request<WireLogs>) -> Reply<Self::LogsStream> {
        self.admit(&request, Call::Logs)?;
        let wire = request.into_inner();
        let request = LogsRequest {
            namespace: wire.namespace,
            pod: wire.pod,
            container: wire.container,
            follow: wire.follow,
            tail_lines: wire.tail_lines,
            previous: wire.previous,
            timestamps: wire.timestamps,
            since_seconds: wire.since_seconds,
        };
        Ok(Response::new(self.api.logs(&request).await.map_err(status_of)?))
    }

    async fn exec(&self, request: Request<Streaming<ExecRequest>>) -> Reply<Self::ExecStream> {
        self.admit(&request, Call::Exec)?;
        let mut inbound = request.into_inner();
        let target = match inbound.next().await {
            Some(Ok(ExecRequest { request: Some(ExecPart::Target(target)) })) => target,
            Some(Err(status)) => return Err(status),
            _ => return Err(status_of(KubeletError::ExecWithoutTarget)),
        };
        let input = forwarded_input(inbound);
        let start =
            exec_input::Start { container_id: String::new(), cmd: target.cmd, stdin: target.stdin, tty: target.tty };
        let at = ExecTarget { namespace: target.namespace, pod: target.pod, container: target.container };
        let output = self.api.exec(at, start, input).await.map_err(status_of)?;
        Ok(Response::new(output))
    }

    async fn pod_usage(&self, request: Request<PodUsageRequest>) -> Reply<PodUsageResponse> {
        self.admit(&request, Call::PodUsage)?;
        let request = request.into_inner();
        let usage = self.api.pod_usage(&request.namespace, &request.pod).await.map_err(status_of)?;
        let containers = usage
            .into_iter()
            .map(|u| WireUsage {
                name: u.name,
                cpu_usage_core_nanoseconds: u.cpu_usage_core_nanoseconds,
                memory_working_set_bytes: u.memory_working_set_bytes,
                timestamp: u.timestamp,
            })
            .collect();
        Ok(Response::new(PodUsageResponse { containers }))
    }
}

/// The input parts of an exec stream after its target. Input flows until the client
/// closes its side or the stream breaks; a second target is not input and is dropped.
fn forwarded_input(inbound: Streaming<ExecRequest>) -> BoxStream<'static, ExecInput> {
    stream::unfold(inbound, |mut inbound| async move {
        loop {
            match inbound.next().await? {
                Ok(ExecRequest { request: Some(ExecPart::Input(input)) }) => return Some((input, inbound)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    })
    .boxed()
}

/// The one mapping of kubelet errors onto gRPC: the message is the error's own text
/// (it names the pod or container); a runtime's refusal keeps the runtime's code.
pub fn status_of(error: KubeletError) -> Status {
    let code = match &error {
        KubeletError::NoSuchPod { .. } | KubeletError::NoSuchContainer { .. } => Code::NotFound,
        KubeletError::AmbiguousContainer { .. } | KubeletError::ExecWithoutTarget => Code::InvalidArgument,
        KubeletError::RuntimeCall { status, .. } => status.code(),
        KubeletError::Runtime { .. } | KubeletError::Connect { .. } => Code::Unavailable,
        _ => Code::Internal,
    };
    let message = match &error {
        // the runtime's own message says what went wrong; don't double the wrapping
        KubeletError::RuntimeCall { status, .. } => status.message().to_string(),
        _ => error.to_string(),
    };
    Status::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_codes_that_name_the_object() {
        let missing = status_of(KubeletError::NoSuchPod { pod: "default/web".into() });
        assert_eq!((missing.code(), missing.message()), (Code::NotFound, "pod default/web is not on this node"));
        let ambiguous =
            status_of(KubeletError::AmbiguousContainer { pod: "web".into(), choices: vec!["a".into(), "b".into()] });
        assert_eq!(
            (ambiguous.code(), ambiguous.message()),
            (Code::InvalidArgument, "a container name must be specified for pod web, choose one of: [a b]")
        );
        let refused = status_of(KubeletError::RuntimeCall {
            call: "Exec",
            object: "c1".into(),
            status: Status::failed_precondition("container c1 is not running"),
        });
        assert_eq!((refused.code(), refused.message()), (Code::FailedPrecondition, "container c1 is not running"));
    }
}
