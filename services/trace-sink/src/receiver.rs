//! OTLP/gRPC's `TraceService`: every export goes into the store.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use tonic::{Request, Response, Status};

use crate::store::TraceStore;

struct Receiver(TraceStore);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.0.add(&request.into_inner().resource_spans);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

pub(crate) fn service(store: TraceStore) -> TraceServiceServer<impl TraceService> {
    TraceServiceServer::new(Receiver(store))
}
