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

/// Creates through the API server at each of `options.concurrencies`.
pub async fn measure(backend: Backend, options: &Options, template: &Object) -> Result<Vec<LoadStats>, BenchError> {
    let fresh = FreshStore::start(backend).await?;
    let server = BenchServer::start(&fresh).await?;
    let target = Target { url: server.url(), backend, cpu: fresh.cpu_probe() };
    let measured = measure_on(&target, options, template).await;
    server.stop().await?;
    measured
}

/// The server under load.
#[derive(Clone, Copy)]
struct Target<'a> {
    url: &'a str,
    backend: Backend,
    cpu: CpuProbe,
}

async fn measure_on(target: &Target<'_>, options: &Options, template: &Object) -> Result<Vec<LoadStats>, BenchError> {
    let Target { url, backend, cpu } = *target;
    let mut points = Vec::new();
    for &concurrency in &options.concurrencies {
        eprintln!("{backend}: API pod creates at concurrency {concurrency} ...");
        let connections = concurrency.clamp(1, MAX_CREATE_CONNECTIONS);
        let clients = client::connect(url, connections).await?;
        let operation = create_operation(clients, template.clone(), concurrency);
        let load = Load { concurrency, warmup: options.warmup, duration: options.duration, cpu };
        points.push(closed_loop(load, operation).await?);
    }
    Ok(points)
}

/// Creates pod `bench-c<concurrency>-<seq>`, round-robin over the connections.
fn create_operation(clients: Vec<Client>, template: Object, concurrency: usize) -> Operation {
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
