//! Start-up wiring: informers, the scheduling loop, leader election and
//! the port (health, explain, metrics), all owned by one [`Scheduler`] and
//! stopped together.

use crate::actions::COMPONENT;
use crate::cache::Cache;
use crate::error::SchedulerError;
use crate::loop_handle::LoopHandle;
use crate::metrics::Metrics;
use crate::profile::Profiles;
use crate::queue::Queue;
use crate::scheduling::Loop;
use capstan_client::{Client, ListParams};
use capstan_lifecycle::Tasks;
use capstan_metrics::Registry;
use capstan_proto::core::v1::{Node, Pod};
use capstan_runtime::informer::Informer;
use capstan_runtime::{EventRecorder, LeaderElector, LeaseConfig};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Objects per page of the informers' initial lists (a gRPC message has a size limit).
const LIST_PAGE: i64 = 500;

/// The Lease (in `kube-system`) that schedulers campaign for.
pub const LEASE_NAME: &str = "capstan-scheduler";

/// Everything the scheduler needs; `Default` suits `capstan up`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The API server's URL.
    pub server: String,
    /// Who the component is to the API server (from `--kubeconfig`): TLS
    /// material and token; empty for plain `http://` without credentials.
    pub credentials: capstan_client::Credentials,
    pub profiles: Profiles,
    /// Where to serve `grpc.health.v1`, `SchedulerService` and `GET /metrics`;
    /// `None` serves nothing.
    pub listen: Option<SocketAddr>,
    /// Schedule only while holding the `kube-system/capstan-scheduler` lease.
    pub leader_elect: bool,
    /// How many binds may be in flight at once.
    pub max_binds: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: "http://127.0.0.1:6443".into(),
            credentials: capstan_client::Credentials::default(),
            profiles: Profiles::default(),
            listen: Some(SocketAddr::from(([0, 0, 0, 0], 10259))),
            leader_elect: false,
            max_binds: 64,
        }
    }
}

/// A running scheduler.
pub struct Scheduler {
    addr: Option<SocketAddr>,
    identity: String,
    registry: Registry,
    leading: Arc<AtomicBool>,
    tasks: Tasks<SchedulerError>,
}

/// What every leadership term shares.
#[derive(Clone)]
struct Shared {
    client: Client,
    profiles: Arc<Profiles>,
    max_binds: usize,
    recorder: EventRecorder,
    metrics: Metrics,
    handle: LoopHandle,
}

/// One leadership term: fill the caches, then schedule until `stop` (which
/// the term's end cancels, see [`Tasks::spawn_work`]).
async fn schedule(shared: Shared, stop: CancellationToken) {
    let client = &shared.client;
    let pods = Informer::new(client.api::<Pod>(None), ListParams::default().limit(LIST_PAGE));
    let nodes = Informer::new(client.api::<Node>(None), ListParams::default().limit(LIST_PAGE));
    let (pod_events, node_events) = (pods.subscribe(), nodes.subscribe());
    let (pod_handle, node_handle) = (pods.handle(), nodes.handle());
    let sched = Loop {
        client: shared.client.clone(),
        profiles: shared.profiles.clone(),
        pods: pods.store(),
        max_binds: shared.max_binds,
        cache: Cache::default(),
        queue: Queue::default(),
        next_start: 0,
        recorder: shared.recorder.clone(),
        metrics: shared.metrics.clone(),
        profile_metrics: shared.profiles.profiles.iter().map(|p| shared.metrics.profile(&p.scheduler_name)).collect(),
    };
    let term = stop.child_token();
    tokio::join!(pods.run(term.clone().cancelled_owned()), nodes.run(term.clone().cancelled_owned()), async {
        if pod_handle.wait_synced().await && node_handle.wait_synced().await {
            let questions = shared.handle.attach();
            sched.run(pod_events, node_events, questions, term.cancelled()).await;
        }
        term.cancel();
    });
}

impl Scheduler {
    /// Connect, bind the port and start scheduling (or campaigning).
    pub async fn start(config: Config) -> Result<Scheduler, SchedulerError> {
        let client = Client::connect_with(&config.server, &config.credentials)
            .map_err(|source| SchedulerError::Api { action: format!("connect to {}", config.server), source })?;
        let mut tasks = Tasks::new();
        let registry = Registry::new();
        let handle = LoopHandle::default();
        let lease = LeaseConfig::new(LEASE_NAME);
        let identity = lease.identity.clone();
        let shared = Shared {
            client: client.clone(),
            profiles: Arc::new(config.profiles),
            max_binds: config.max_binds.max(1),
            // the instance on every Event says which scheduler acted
            recorder: EventRecorder::new(client.clone(), COMPONENT, &identity),
            metrics: Metrics::register(&registry)?,
            handle: handle.clone(),
        };
        let mut addr = None;
        if let Some(listen) = config.listen {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|source| SchedulerError::Serve { addr: listen.to_string(), source })?;
            addr = listener.local_addr().ok();
            let stopped = tasks.shutdown().clone().cancelled_owned();
            tasks.spawn(crate::grpc::serve(listener, handle, registry.clone(), stopped));
        }
        let elector = config.leader_elect.then(|| LeaderElector::new(&client, lease));
        let leading = tasks.spawn_work(elector, move |term| schedule(shared.clone(), term));
        Ok(Scheduler { addr, identity, registry, leading, tasks })
    }

    /// The port's address, when serving one.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// This instance's identity: the Lease holder it writes, and the
    /// `reportingInstance` of its Events.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The scheduler's metrics (what `GET /metrics` renders).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Whether this instance schedules now.
    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Completes when the scheduler is stopping because a task failed (its
    /// port died); [`Scheduler::stop`] then returns that error.
    pub async fn stopping(&self) {
        self.tasks.stopping().await
    }

    /// Stop everything and wait for it; the first error wins.
    pub async fn stop(self) -> Result<(), SchedulerError> {
        self.tasks.stop().await
    }
}

/// Run a scheduler until `shutdown` completes or a task fails; the first
/// error is the result.
pub async fn run(config: Config, shutdown: impl std::future::Future<Output = ()>) -> Result<(), SchedulerError> {
    Scheduler::start(config).await?.tasks.run_until(shutdown).await
}
