//! The scheduler's own port: `grpc.health.v1`, `SchedulerService/Explain`
//! and `GET /metrics`, served together through [`capstan_server`]'s stack. This
//! face only translates: the answers come from the scheduling loop through
//! a [`LoopHandle`].

use crate::error::SchedulerError;
use crate::explain::NodeVerdict;
use crate::loop_handle::{ExplainError, ExplainTarget, LoopHandle, PodExplanation};
use capstan_metrics::Registry;
use capstan_proto::scheduler::v1::scheduler_service_server::{SchedulerService, SchedulerServiceServer};
use capstan_proto::scheduler::v1::{explain_request, ExplainRequest, ExplainResponse, NodeExplanation, PluginScore};
use std::future::Future;
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// `SchedulerService` over a [`LoopHandle`].
pub struct Service {
    handle: LoopHandle,
}

fn to_status(error: ExplainError) -> Status {
    let message = error.to_string();
    match error {
        ExplainError::NotFound { .. } => Status::not_found(message),
        ExplainError::OtherScheduler { .. } => Status::failed_precondition(message),
        ExplainError::NotScheduling => Status::unavailable(message),
    }
}

fn node_explanation(v: NodeVerdict) -> NodeExplanation {
    NodeExplanation {
        fits: v.fits(),
        node: v.node,
        reasons: v.reasons,
        scores: v
            .scores
            .into_iter()
            .map(|s| PluginScore { plugin: s.plugin.name().into(), weight: s.weight, score: s.score })
            .collect(),
        total_score: v.total,
    }
}

fn response(p: PodExplanation) -> ExplainResponse {
    ExplainResponse {
        namespace: p.namespace,
        name: p.name,
        profile: p.profile,
        bound_node: p.bound_node,
        nodes: p.explanation.nodes.into_iter().map(node_explanation).collect(),
        chosen_node: p.explanation.chosen.unwrap_or_default(),
        message: p.explanation.message,
    }
}

#[tonic::async_trait]
impl SchedulerService for Service {
    async fn explain(&self, request: Request<ExplainRequest>) -> Result<Response<ExplainResponse>, Status> {
        let target = match request.into_inner().pod {
            Some(explain_request::Pod::PodRef(r)) if !r.name.is_empty() => ExplainTarget::Named {
                namespace: if r.namespace.is_empty() { "default".into() } else { r.namespace },
                name: r.name,
            },
            Some(explain_request::Pod::PodRef(_)) => return Err(Status::invalid_argument("pod_ref.name is empty")),
            Some(explain_request::Pod::Inline(pod)) if pod.spec.is_some() => ExplainTarget::Inline(Box::new(pod)),
            Some(explain_request::Pod::Inline(_)) => return Err(Status::invalid_argument("inline pod has no spec")),
            None => return Err(Status::invalid_argument("name a pod (pod_ref) or give one (inline)")),
        };
        let explained = self.handle.explain(target).await.map_err(to_status)?;
        Ok(Response::new(response(explained)))
    }
}

/// Serve health, `SchedulerService` and `/metrics` on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    handle: LoopHandle,
    registry: Registry,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SchedulerError> {
    let server = capstan_server::Server::new(
        capstan_server::ServerConfig {
            component: Some("capstan-scheduler"),
            ..capstan_server::ServerConfig::default()
        },
        registry,
    )?
    .add_service(SchedulerServiceServer::new(Service { handle }));
    Ok(server.serve(listener, shutdown).await?)
}
