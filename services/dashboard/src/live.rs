//! A view kept current: for each source the user may list and watch (asked
//! of the API server with a `SelfSubjectAccessReview` in their name, so an
//! informer never retries a refused watch forever), an informer over the
//! user's own client; on each burst of changes the view is rendered again
//! from the informers' caches and only the difference is sent, as
//! [`Patch`]es, to the page's script.
//!
//! The first rendering after every source has synced replaces each section
//! whole: the page was rendered from lists made a moment before the
//! watches began, and whatever changed in between is in that replacement.

use std::collections::HashSet;

use capstan_client::{Client, ClientError, ListParams};
use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::authorization::v1::ResourceAttributes;
use capstan_proto::core::v1::{Endpoints, Event, Node, Pod, Service};
use capstan_proto::Resource;
use capstan_runtime::informer::{Informer, InformerEvent, Store};
use futures::future::BoxFuture;
use futures::stream::{BoxStream, SelectAll};
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::fetch::refusal;
use crate::view::{self, Listed, Objects, Patch, Scope, Section, Source, ViewName};

/// What the stream tells the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Changes to apply, in order.
    Patches(Vec<Patch>),
    /// Every source has synced: the page is current.
    Live,
    /// The API server no longer accepts the token.
    SignedOut(String),
}

/// Streams `view`'s changes as `client` sees them until `stop` is cancelled
/// or the receiver is dropped.
pub fn watch(client: Client, view: ViewName, scope: Scope, stop: CancellationToken) -> mpsc::Receiver<Message> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tx.closed() => {}
            _ = run(client, view, scope, stop.child_token(), tx.clone()) => {}
        }
        // the informers stop with the token
        stop.cancel();
    });
    rx
}

/// A source's store, or why there is none.
enum Fed<K> {
    Watched(Store<K>),
    Refused(String),
    Unread,
}

impl<K: Resource> Fed<K> {
    fn listed(&self) -> Option<Listed<K>> {
        match self {
            Fed::Watched(store) => Some(Ok(store.list())),
            Fed::Refused(why) => Some(Err(why.clone())),
            Fed::Unread => None,
        }
    }
}

/// The informers of one view, their runs and their change signals.
struct Sources {
    client: Client,
    scope: Scope,
    stop: CancellationToken,
    runs: Vec<BoxFuture<'static, ()>>,
    /// (source, synced) per event
    signals: SelectAll<BoxStream<'static, (Source, bool)>>,
    waiting: HashSet<Source>,
}

impl Sources {
    /// Asks whether the user may list and watch `source`, and starts its
    /// informer when they may.
    async fn feed<K: Resource>(&mut self, source: Source) -> Result<Fed<K>, String> {
        for verb in ["list", "watch"] {
            match may(&self.client, source, verb, &self.scope).await {
                Ok(true) => {}
                Ok(false) => return Ok(Fed::Refused(source.may_not(verb, &self.scope))),
                Err(error) => return refusal(source, verb, &self.scope, &error).map(Fed::Refused).map_err(|s| s.0),
            }
        }
        let api = self.client.api::<K>(source.scope(&self.scope).namespace());
        let informer = Informer::new(api, ListParams::default());
        let store = informer.store();
        let events = informer.subscribe().map(move |event| (source, matches!(event, InformerEvent::Synced)));
        self.signals.push(events.boxed());
        self.runs.push(informer.run(self.stop.clone().cancelled_owned()).boxed());
        self.waiting.insert(source);
        Ok(Fed::Watched(store))
    }
}

async fn may(client: &Client, source: Source, verb: &str, scope: &Scope) -> Result<bool, ClientError> {
    let info = source.info();
    let attributes = ResourceAttributes {
        namespace: source.scope(scope).namespace().unwrap_or_default().to_owned(),
        verb: verb.to_owned(),
        group: info.group().to_owned(),
        resource: info.resource.to_owned(),
        ..Default::default()
    };
    let review = client.self_subject_access_review(attributes).await?;
    Ok(review.status.is_some_and(|s| s.allowed))
}

/// Every source of a view, fed or refused.
struct Feeds {
    deployments: Fed<Deployment>,
    replica_sets: Fed<ReplicaSet>,
    pods: Fed<Pod>,
    services: Fed<Service>,
    endpoints: Fed<Endpoints>,
    nodes: Fed<Node>,
    events: Fed<Event>,
    pods_everywhere: Fed<Pod>,
}

impl Feeds {
    async fn start(view: ViewName, sources: &mut Sources) -> Result<Feeds, String> {
        let mut feeds = Feeds {
            deployments: Fed::Unread,
            replica_sets: Fed::Unread,
            pods: Fed::Unread,
            services: Fed::Unread,
            endpoints: Fed::Unread,
            nodes: Fed::Unread,
            events: Fed::Unread,
            pods_everywhere: Fed::Unread,
        };
        for source in view.sources() {
            match source {
                Source::Deployments => feeds.deployments = sources.feed(*source).await?,
                Source::ReplicaSets => feeds.replica_sets = sources.feed(*source).await?,
                Source::Pods => feeds.pods = sources.feed(*source).await?,
                Source::Services => feeds.services = sources.feed(*source).await?,
                Source::Endpoints => feeds.endpoints = sources.feed(*source).await?,
                Source::Nodes => feeds.nodes = sources.feed(*source).await?,
                Source::Events => feeds.events = sources.feed(*source).await?,
                Source::PodsEverywhere => feeds.pods_everywhere = sources.feed(*source).await?,
            }
        }
        Ok(feeds)
    }

    fn objects(&self) -> Objects {
        Objects {
            deployments: self.deployments.listed(),
            replica_sets: self.replica_sets.listed(),
            pods: self.pods.listed(),
            services: self.services.listed(),
            endpoints: self.endpoints.listed(),
            nodes: self.nodes.listed(),
            events: self.events.listed(),
            pods_everywhere: self.pods_everywhere.listed(),
        }
    }
}

async fn run(client: Client, view: ViewName, scope: Scope, stop: CancellationToken, tx: mpsc::Sender<Message>) {
    let mut sources = Sources {
        client,
        scope: scope.clone(),
        stop,
        runs: Vec::new(),
        signals: SelectAll::new(),
        waiting: HashSet::new(),
    };
    let feeds = match Feeds::start(view, &mut sources).await {
        Ok(feeds) => feeds,
        Err(signed_out) => {
            let _ = tx.send(Message::SignedOut(signed_out)).await;
            return;
        }
    };
    let Sources { runs, mut signals, mut waiting, .. } = sources;
    // the informers end only when stopped; with none (every source refused)
    // the stream stays open all the same, or the page would reconnect for ever
    let watching = !runs.is_empty();
    let informers = async move {
        futures::future::join_all(runs).await;
        if !watching {
            std::future::pending::<()>().await;
        }
    };
    let render = async move {
        let mut shown: Option<Vec<Section>> = None;
        // a view whose every source is refused has nothing to wait for
        let mut pending = true;
        loop {
            if waiting.is_empty() {
                let now = chrono::Utc::now();
                let sections = view::sections(view, &scope, &feeds.objects(), now);
                let patches: Vec<Patch> = match &shown {
                    None => {
                        sections.iter().map(|s| Patch::Replace { section: s.id.to_owned(), html: s.html() }).collect()
                    }
                    Some(old) => old.iter().zip(&sections).flat_map(|(old, new)| view::diff(old, new)).collect(),
                };
                shown = Some(sections);
                if !patches.is_empty() && tx.send(Message::Patches(patches)).await.is_err() {
                    return;
                }
                if std::mem::take(&mut pending) && tx.send(Message::Live).await.is_err() {
                    return;
                }
            }
            // one rendering per burst: wait for a change, then take every change already queued
            let Some((source, synced)) = signals.next().await else {
                // nothing is watched (every source refused): the page has its answer
                return std::future::pending().await;
            };
            if synced {
                waiting.remove(&source);
            }
            while let Some(Some((source, synced))) = signals.next().now_or_never() {
                if synced {
                    waiting.remove(&source);
                }
            }
        }
    };
    tokio::select! {
        _ = informers => {}
        _ = render => {}
    }
}
