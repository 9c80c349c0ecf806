//! The `ProxyAdmin` RPC: each service port's listeners, algorithm, affinity
//! and backends in rotation order with their counters, read live from the
//! proxier's published view and the metrics.

use capstan_proto::proxy::v1::proxy_admin_server::ProxyAdmin;
use capstan_proto::proxy::v1::{
    BackendState, ListServicePortsRequest, ListServicePortsResponse, ServicePortKey, ServicePortState,
};
use tonic::{Request, Response, Status};

use crate::model::Protocol;
use crate::proxier::PortsView;
use crate::traffic::{BackendCounters, TrafficMetrics};

pub struct AdminService {
    view: PortsView,
    metrics: TrafficMetrics,
}

impl AdminService {
    pub fn new(view: PortsView, metrics: TrafficMetrics) -> Self {
        AdminService { view, metrics }
    }
}

#[tonic::async_trait]
impl ProxyAdmin for AdminService {
    async fn list_service_ports(
        &self,
        request: Request<ListServicePortsRequest>,
    ) -> Result<Response<ListServicePortsResponse>, Status> {
        let request = request.into_inner();
        let ports = self.view.read().unwrap_or_else(|p| p.into_inner()).clone();
        let ports = ports
            .into_iter()
            .filter(|(port, _)| request.namespace.is_empty() || port.key.namespace == request.namespace)
            .filter(|(port, _)| request.name.is_empty() || port.key.name == request.name)
            .map(|(port, listening)| {
                let (algorithm, affinity, backends) = port.view();
                let backends = backends
                    .iter()
                    .map(|backend| {
                        let address = backend.to_string();
                        let counters = self.metrics.get(&port.key, &address);
                        // a backend that has carried no traffic yet reads zero
                        let read = |f: fn(&BackendCounters) -> &capstan_metrics::Counter| {
                            counters.as_ref().map(|c| f(c).get()).unwrap_or(0)
                        };
                        BackendState {
                            connections: read(|c| &c.connections),
                            bytes_to_backend: read(|c| &c.bytes_to_backend),
                            bytes_from_backend: read(|c| &c.bytes_from_backend),
                            errors: read(|c| &c.errors),
                            address,
                        }
                    })
                    .collect();
                ServicePortState {
                    key: Some(ServicePortKey {
                        namespace: port.key.namespace.clone(),
                        name: port.key.name.clone(),
                        port: port.key.port.clone(),
                        protocol: match port.key.protocol {
                            Protocol::Tcp => "tcp".into(),
                            Protocol::Udp => "udp".into(),
                        },
                    }),
                    listening: listening.iter().map(ToString::to_string).collect(),
                    algorithm: algorithm.name().into(),
                    affinity_timeout_seconds: affinity.map(|(timeout, _)| timeout.as_secs() as u32),
                    backends,
                    affinity_pins: affinity.map(|(_, pins)| pins as u32).unwrap_or(0),
                }
            })
            .collect();
        Ok(Response::new(ListServicePortsResponse { ports }))
    }
}
