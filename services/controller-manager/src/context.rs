//! What every controller shares: one API client and one informer per kind.
//!
//! Controllers never list or watch on their own: the ReplicaSet, Deployment,
//! endpoints, endpointslice, node and garbage collectors all read pods, so each kind is
//! watched once here and every controller subscribes to the same cache, as
//! in kube-controller-manager's shared informer factory.

use crate::config::Config;
use capstan_client::{Client, ListParams};
use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::autoscaling::v2::HorizontalPodAutoscaler;
use capstan_proto::coordination::v1::Lease;
use capstan_proto::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use capstan_proto::discovery::v1::EndpointSlice;
use capstan_proto::kinds::Resource;
use capstan_runtime::informer::{Informer, InformerHandle};
use capstan_runtime::EventRecorder;
use capstan_runtime::{QueueMetrics, Workers};
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Objects per page of the informers' initial lists (a gRPC message has a size limit).
const LIST_PAGE: i64 = 500;

/// The namespace where kubelets renew their node Leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// The shared client, configuration and caches of one leadership term.
pub struct Context {
    pub client: Client,
    pub config: Config,
    /// The process's metrics registry (controllers may register their own).
    pub registry: capstan_metrics::Registry,
    queue_metrics: QueueMetrics,
    pub pods: InformerHandle<Pod>,
    pub nodes: InformerHandle<Node>,
    pub services: InformerHandle<Service>,
    pub endpoints: InformerHandle<Endpoints>,
    pub endpoint_slices: InformerHandle<EndpointSlice>,
    pub replica_sets: InformerHandle<ReplicaSet>,
    pub deployments: InformerHandle<Deployment>,
    pub namespaces: InformerHandle<Namespace>,
    pub hpas: InformerHandle<HorizontalPodAutoscaler>,
    /// Leases in `kube-node-lease` only: the kubelets' heartbeats.
    pub node_leases: InformerHandle<Lease>,
}

impl Context {
    /// Create the informers and start them in `tasks` until `shutdown`.
    pub fn start(
        client: Client,
        config: Config,
        metrics: (capstan_metrics::Registry, QueueMetrics),
        tasks: &mut JoinSet<()>,
        shutdown: &CancellationToken,
    ) -> Arc<Self> {
        let (registry, queue_metrics) = metrics;
        let context = Context {
            registry,
            queue_metrics,
            pods: informer(&client, None, tasks, shutdown),
            nodes: informer(&client, None, tasks, shutdown),
            services: informer(&client, None, tasks, shutdown),
            endpoints: informer(&client, None, tasks, shutdown),
            endpoint_slices: informer(&client, None, tasks, shutdown),
            replica_sets: informer(&client, None, tasks, shutdown),
            deployments: informer(&client, None, tasks, shutdown),
            namespaces: informer(&client, None, tasks, shutdown),
            hpas: informer(&client, None, tasks, shutdown),
            node_leases: informer(&client, Some(NODE_LEASE_NAMESPACE), tasks, shutdown),
            client,
            config,
        };
        Arc::new(context)
    }

    /// An Event recorder for one controller (`replicaset-controller`, ...).
    pub fn recorder(&self, component: &str) -> EventRecorder {
        EventRecorder::new(self.client.clone(), component, "")
    }

    /// The workers of `controller`: `config.workers` of them, counted in
    /// the shared workqueue metrics.
    pub fn workers(&self, controller: &'static str) -> Workers {
        Workers { controller, count: self.config.workers, metrics: self.queue_metrics.clone() }
    }

    /// Wait until every cache holds its first list; false if shutting down first.
    pub async fn wait_synced(&self) -> bool {
        self.pods.wait_synced().await
            && self.nodes.wait_synced().await
            && self.services.wait_synced().await
            && self.endpoints.wait_synced().await
            && self.endpoint_slices.wait_synced().await
            && self.replica_sets.wait_synced().await
            && self.deployments.wait_synced().await
            && self.namespaces.wait_synced().await
            && self.hpas.wait_synced().await
            && self.node_leases.wait_synced().await
    }
}

/// Start an informer of `K` (in `namespace`, or all) and hand back its handle.
pub fn informer<K: Resource>(
    client: &Client,
    namespace: Option<&str>,
    tasks: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) -> InformerHandle<K> {
    let informer = Informer::new(client.api::<K>(namespace), ListParams::default().limit(LIST_PAGE));
    let handle = informer.handle();
    tasks.spawn(informer.run(shutdown.clone().cancelled_owned()));
    handle
}
