//! Pod creates through the API server's gRPC API.
//!
//! One API server, in-process on a runtime of its own ([`crate::server`]), over a fresh
//! store of the backend, serves every concurrency level in turn; each level gets new
//! connections (`min(concurrency, 8)`) and pods with names of its own. The client runs on
//! the caller's runtime.

use std::sync::Arc;

use capstan_proto::api::v1::Object;
use futures::FutureExt;

use crate::backend::{Backend, FreshStore};
use crate::client::{self, Client, MAX_CREATE_CONNECTIONS};
use crate::cpu::CpuProbe;
use crate::load::{closed_loop, Load, Operation};
use crate::report::LoadStats;
use crate::server::BenchServer;
use crate::{pod, BenchError, Options};

/// An API server over a fresh store of one backend, to create pods through.
pub struct ApiTarget {
    backend: Backend,
    server: BenchServer,
    template: Object,
    cpu: CpuProbe,
    // last: the server stops before its store goes away
    _fresh: FreshStore,
}

impl ApiTarget {
    pub async fn start(backend: Backend, template: &Object) -> Result<ApiTarget, BenchError> {
        let fresh = FreshStore::start(backend).await?;
        let server = BenchServer::start(&fresh).await?;
        Ok(ApiTarget { backend, server, template: template.clone(), cpu: fresh.cpu_probe(), _fresh: fresh })
    }

    /// Pod creates at `concurrency`, over new connections.
    pub async fn measure(&self, concurrency: usize, options: &Options) -> Result<LoadStats, BenchError> {
        eprintln!("{}: API pod creates at concurrency {concurrency} ...", self.backend);
        let connections = concurrency.clamp(1, MAX_CREATE_CONNECTIONS);
        let clients = client::connect(self.server.url(), connections).await?;
        let operation = create_operation(clients, self.template.clone(), concurrency);
        let load = Load { concurrency, warmup: options.warmup, duration: options.duration, cpu: self.cpu };
        closed_loop(load, operation).await
    }

    /// The server's URL, for the REST face's load on the same server.
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// The CPU probe of the server and its store.
    pub fn cpu(&self) -> CpuProbe {
        self.cpu
    }

    /// Stops the server, then removes its store.
    pub async fn stop(self) -> Result<(), BenchError> {
        self.server.stop().await
    }
}

/// Creates pod `bench-c<concurrency>-<seq>`, round-robin over the connections.
pub(crate) fn create_operation(clients: Vec<Client>, template: Object, concurrency: usize) -> Operation {
    let clients = Arc::new(clients);
    let template = Arc::new(template);
    Arc::new(move |seq| {
        let index = usize::try_from(seq).unwrap_or(0) % clients.len();
        let mut client = clients[index].clone();
        let pod = pod::named(&template, &format!("bench-c{concurrency}-{seq}"));
        async move {
            client
                .create(pod::create_request(pod))
                .await
                .map_err(|status| BenchError::rpc("creating a pod", status))?;
            Ok(())
        }
        .boxed()
    })
}
