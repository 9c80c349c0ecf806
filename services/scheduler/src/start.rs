//! Start-up wiring: informers, the scheduling loop, leader election and
//! the health port, all owned by one [`Scheduler`] and stopped together.

use crate::cache::Cache;
use crate::error::SchedulerError;
use crate::leader;
use crate::profile::Profiles;
use crate::queue::Queue;
use crate::scheduling::Loop;
use capstan_client::informer::Informer;
use capstan_client::{Client, ListParams};
use capstan_proto::coordination::v1::Lease;
use capstan_proto::core::v1::{Node, Pod};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Objects per page of the informers' initial lists (a gRPC message has a size limit).
const LIST_PAGE: i64 = 500;

/// Everything the scheduler needs; `Default` suits `capstan up`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The API server's URL.
    pub server: String,
    pub profiles: Profiles,
    /// Where to serve `grpc.health.v1`; `None` serves nothing.
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
    leading: Arc<AtomicBool>,
    shutdown: CancellationToken,
    tasks: JoinSet<Result<(), SchedulerError>>,
}

/// One leadership term: fill the caches, then schedule until `stop`.
async fn schedule(client: Client, profiles: Arc<Profiles>, max_binds: usize, stop: CancellationToken) {
    let pods = Informer::new(client.api::<Pod>(None), ListParams::default().limit(LIST_PAGE));
    let nodes = Informer::new(client.api::<Node>(None), ListParams::default().limit(LIST_PAGE));
    let (pod_events, node_events) = (pods.subscribe(), nodes.subscribe());
    let (pod_handle, node_handle) = (pods.handle(), nodes.handle());
    let sched = Loop {
        client,
        profiles,
        pods: pods.store(),
        max_binds,
        cache: Cache::default(),
        queue: Queue::default(),
        next_start: 0,
    };
    let term = stop.child_token();
    tokio::join!(pods.run(term.clone().cancelled_owned()), nodes.run(term.clone().cancelled_owned()), async {
        if pod_handle.wait_synced().await && node_handle.wait_synced().await {
            sched.run(pod_events, node_events, term.cancelled()).await;
        }
        term.cancel();
    });
}

impl Scheduler {
    /// Connect, bind the health port and start scheduling (or campaigning).
    pub async fn start(config: Config) -> Result<Scheduler, SchedulerError> {
        let client = Client::connect(&config.server)
            .map_err(|source| SchedulerError::Api { action: format!("connect to {}", config.server), source })?;
        let shutdown = CancellationToken::new();
        let leading = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        let mut addr = None;
        if let Some(listen) = config.listen {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|source| SchedulerError::Serve { addr: listen.to_string(), source })?;
            addr = listener.local_addr().ok();
            tasks.spawn(crate::server::serve(listener, shutdown.clone().cancelled_owned()));
        }
        let profiles = Arc::new(config.profiles);
        let max_binds = config.max_binds.max(1);
        let work = {
            let (client, profiles, token) = (client.clone(), profiles.clone(), shutdown.clone());
            move || schedule(client.clone(), profiles.clone(), max_binds, token.clone())
        };
        if config.leader_elect {
            let api = client.api::<Lease>(Some(leader::LEASE_NAMESPACE));
            let lead = leader::lead(api, leader::identity(), leading.clone(), shutdown.clone(), work);
            tasks.spawn(async move {
                lead.await;
                Ok(())
            });
        } else {
            leading.store(true, Ordering::SeqCst);
            tasks.spawn(async move {
                work().await;
                Ok(())
            });
        }
        Ok(Scheduler { addr, leading, shutdown, tasks })
    }

    /// The health port's address, when serving one.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Whether this instance schedules now.
    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// Stop everything and wait for it; the first error wins.
    pub async fn stop(mut self) -> Result<(), SchedulerError> {
        self.shutdown.cancel();
        let mut result = Ok(());
        while let Some(done) = self.tasks.join_next().await {
            if let Ok(Err(e)) = done {
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }
}

/// Run a scheduler until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl std::future::Future<Output = ()>) -> Result<(), SchedulerError> {
    let scheduler = Scheduler::start(config).await?;
    shutdown.await;
    scheduler.stop().await
}
