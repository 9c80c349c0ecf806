//! Watch fan-out: how long one change takes to reach every open watch.
//!
//! Controllers, kubelets and proxies all hold watches, so one pod change is sent to many
//! streams; the API server serves them all from one watch cache per kind. This opens
//! `options.watchers` watches on pods (spread over one connection per 64 watches, at least
//! 16), creates a warm-up pod and waits until every watch has seen it (so every stream is
//! established and flowing), then for each round creates one pod and records, per watch,
//! the time from just before the create call until that watch received the ADDED event.
//! The create goes over a connection of its own.

use std::time::Duration;

use capstan_proto::api::v1::{ListOptions, Object, WatchRequest};
use capstan_proto::ObjectExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::backend::{Backend, FreshStore};
use crate::client::{self, Client};
use crate::report::{FanoutReport, FanoutRound};
use crate::server::BenchServer;
use crate::{pod, BenchError, Options};

/// Watches per connection; at least [`MIN_WATCH_CONNECTIONS`] connections are used.
const WATCHES_PER_CONNECTION: usize = 64;
const MIN_WATCH_CONNECTIONS: usize = 16;
/// How long a round may take before the benchmark gives up on it.
const ROUND_TIMEOUT: Duration = Duration::from_secs(60);
/// A pause between rounds, so one round's tail does not overlap the next.
const SETTLE: Duration = Duration::from_millis(200);

/// What a watch task reports to the coordinator.
enum Seen {
    /// An ADDED event for the pod called `name`, received at `at`.
    Added { name: String, at: Instant },
    /// The stream ended or failed: the round can never complete.
    Ended(String),
}

/// The fan-out rounds on a fresh API server over a fresh store of `backend`.
pub async fn measure(backend: Backend, options: &Options, template: &Object) -> Result<FanoutReport, BenchError> {
    eprintln!("{backend}: watch fan-out to {} watches ...", options.watchers);
    let fresh = FreshStore::start(backend).await?;
    let server = BenchServer::start(&fresh).await?;
    let measured = fan_out(server.url(), options, template).await;
    server.stop().await?;
    measured
}

async fn fan_out(url: &str, options: &Options, template: &Object) -> Result<FanoutReport, BenchError> {
    let connections = options.watchers.div_ceil(WATCHES_PER_CONNECTION).max(MIN_WATCH_CONNECTIONS);
    let watch_clients = client::connect(url, connections).await?;
    let mut creator = client::connect(url, 1).await?.remove(0);
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    let mut watches = JoinSet::new();
    for index in 0..options.watchers {
        let client = watch_clients[index % watch_clients.len()].clone();
        let stream = open_watch(client).await?;
        watches.spawn(follow(stream, seen_tx.clone()));
    }
    drop(seen_tx);

    let mut coordinator =
        Coordinator { creator: &mut creator, seen: &mut seen_rx, watchers: options.watchers, template };
    coordinator.round("fanout-warmup").await?;
    let mut rounds = Vec::with_capacity(options.rounds);
    for round in 0..options.rounds {
        tokio::time::sleep(SETTLE).await;
        rounds.push(coordinator.round(&format!("fanout-{round}")).await?);
    }
    watches.abort_all();
    Ok(FanoutReport { watchers: options.watchers, rounds })
}

async fn open_watch(mut client: Client) -> Result<tonic::Streaming<capstan_proto::api::v1::WatchEvent>, BenchError> {
    let request = WatchRequest {
        r#ref: Some(pod::pods_ref()),
        // the server is fresh: the current state is empty, then every change follows
        options: Some(ListOptions::default()),
    };
    let response = client.watch(request).await.map_err(|status| BenchError::rpc("opening a watch", status))?;
    Ok(response.into_inner())
}

/// Forwards every ADDED event of one watch to the coordinator, stamped on arrival.
async fn follow(mut stream: tonic::Streaming<capstan_proto::api::v1::WatchEvent>, seen: mpsc::UnboundedSender<Seen>) {
    loop {
        let report = match stream.message().await {
            Ok(Some(event)) if event.r#type == "ADDED" => {
                let at = Instant::now();
                let name = event.object.map(|o| o.meta().name.clone()).unwrap_or_default();
                Seen::Added { name, at }
            }
            Ok(Some(_)) => continue,
            Ok(None) => Seen::Ended("a watch stream ended".into()),
            Err(status) => Seen::Ended(format!("a watch stream failed: {status}")),
        };
        let ended = matches!(report, Seen::Ended(_));
        if seen.send(report).is_err() || ended {
            return;
        }
    }
}

/// Creates one pod per round and gathers when each watch saw it.
struct Coordinator<'a> {
    creator: &'a mut Client,
    seen: &'a mut mpsc::UnboundedReceiver<Seen>,
    watchers: usize,
    template: &'a Object,
}

impl Coordinator<'_> {
    async fn round(&mut self, name: &str) -> Result<FanoutRound, BenchError> {
        let request = pod::create_request(pod::named(self.template, name));
        let started = Instant::now();
        self.creator.create(request).await.map_err(|status| BenchError::rpc("creating the fan-out pod", status))?;
        let create = started.elapsed();
        let deadline = started + ROUND_TIMEOUT;
        let mut latencies = Vec::with_capacity(self.watchers);
        while latencies.len() < self.watchers {
            let report = tokio::time::timeout_at(deadline, self.seen.recv()).await.map_err(|_| {
                BenchError::Fanout(format!(
                    "only {} of {} watches saw pod {name} within {ROUND_TIMEOUT:?}",
                    latencies.len(),
                    self.watchers
                ))
            })?;
            match report {
                Some(Seen::Added { name: seen, at }) if seen == name => {
                    latencies.push(at.saturating_duration_since(started));
                }
                Some(Seen::Added { .. }) => {}
                Some(Seen::Ended(why)) => return Err(BenchError::Fanout(why)),
                None => return Err(BenchError::Fanout("every watch stream ended".into())),
            }
        }
        Ok(FanoutRound::new(create, latencies))
    }
}
