//! The maximum message size. tonic enforces it per message inside each
//! generated service's codec (a tower layer sees HTTP frames, not gRPC
//! messages, and could only cap a whole stream), so the stack sets it on every
//! service it is given through [`MessageLimits`]; a service that does not
//! implement it cannot be added, so none is served with tonic's defaults by
//! mistake. An over-size request is refused by tonic with `OUT_OF_RANGE`.

use capstan_proto::api::v1::pod_service_server::PodServiceServer;
use capstan_proto::api::v1::resource_service_server::ResourceServiceServer;
use capstan_proto::api::v1::review_service_server::ReviewServiceServer;
use capstan_proto::kubelet::v1::kubelet_service_server::KubeletServiceServer;
use capstan_proto::proxy::v1::proxy_admin_server::ProxyAdminServer;
use capstan_proto::runtime::v1::image_service_server::ImageServiceServer;
use capstan_proto::runtime::v1::runtime_service_server::RuntimeServiceServer;
use capstan_proto::scheduler::v1::scheduler_service_server::SchedulerServiceServer;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
use tonic_health::pb::health_server::HealthServer;

/// A generated gRPC server whose message sizes can be capped.
pub trait MessageLimits {
    /// Cap decoded requests at `receive` bytes and encoded responses at `send`.
    fn limit_messages(self, receive: usize, send: usize) -> Self;
}

/// Every generated server has the same two inherent methods; this names them
/// once per server Capstan serves. A new service in `proto/` gets a line here.
macro_rules! message_limits {
    ($($server:ident),* $(,)?) => {$(
        impl<T> MessageLimits for $server<T> {
            fn limit_messages(self, receive: usize, send: usize) -> Self {
                self.max_decoding_message_size(receive).max_encoding_message_size(send)
            }
        }
    )*};
}

message_limits!(
    HealthServer,
    ResourceServiceServer,
    PodServiceServer,
    ReviewServiceServer,
    KubeletServiceServer,
    SchedulerServiceServer,
    ProxyAdminServer,
    RuntimeServiceServer,
    ImageServiceServer,
    // OTLP's span receiver (capstan-trace-sink)
    TraceServiceServer,
);
