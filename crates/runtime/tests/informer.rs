//! The informer against a scripted API server: listing, watching,
//! re-watching, relisting after expiry, riding out a server restart, and
//! resync. The clock is paused, so backoff and resync delays pass instantly,
//! and every step is awaited on a channel, never slept for.

// The scripted API server the client's own tests use.
#[path = "../../client/tests/fake/mod.rs"]
mod fake;

use capstan_client::{Client, ListParams};
use capstan_proto::core::v1::Pod;
use capstan_proto::Resource;
use capstan_runtime::informer::{Informer, InformerEvent, Subscription};
use capstan_runtime::Backoff;
use fake::{event, list, pod, FakeServer};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

fn informer(server: &FakeServer, params: ListParams) -> Informer<Pod> {
    let channel = tonic::transport::Endpoint::from_shared(server.url()).expect("url").connect_lazy();
    let client = Client::from_channel(channel);
    Informer::new(client.api::<Pod>(None), params)
        .with_backoff(Backoff::new(Duration::from_millis(10), Duration::from_secs(1)))
}

fn start(informer: Informer<Pod>) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(informer.run(async {
        let _ = stopped.await;
    }));
    (stop, task)
}

/// The next event, written `added a@5`, `modified a@5->11`, `synced`.
async fn next(events: &mut Subscription<Pod>) -> String {
    let at = |p: &Pod| format!("{}@{}", p.meta().name, p.meta().resource_version);
    match events.recv().await.expect("the informer is running") {
        InformerEvent::Added(p) => format!("added {}", at(&p)),
        InformerEvent::Modified { old, new } => {
            format!("modified {}->{}", at(&old), new.meta().resource_version)
        }
        InformerEvent::Deleted(p) => format!("deleted {}", at(&p)),
        InformerEvent::Synced => "synced".to_string(),
        InformerEvent::Resync(p) => format!("resync {}", at(&p)),
    }
}

async fn next_n(events: &mut Subscription<Pod>, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(next(events).await);
    }
    out
}

fn rv_of(store: &capstan_runtime::informer::Store<Pod>, name: &str) -> Option<String> {
    store.get("default", name).map(|p| p.meta().resource_version.clone())
}

#[tokio::test(start_paused = true)]
async fn initial_list_fills_the_store_and_watch_events_update_it() {
    let mut server = FakeServer::start().await;
    let informer = informer(&server, ListParams::default().labels("app=web"));
    let store = informer.store();
    let mut events = informer.subscribe();
    let (stop, task) = start(informer);

    let (request, reply) = server.expect_list().await;
    assert_eq!(request.options.unwrap_or_default().label_selector, "app=web");
    assert_eq!(request.r#ref.unwrap_or_default().resource, "pods");
    let _ = reply.send(Ok(list(vec![pod("a", "5"), pod("b", "6")], "10")));
    assert_eq!(next_n(&mut events, 3).await, ["added a@5", "added b@6", "synced"]);
    assert!(store.wait_synced().await);
    assert_eq!((store.len(), store.resource_version()), (2, "10".to_string()));

    let (from, feed) = server.expect_watch().await;
    assert_eq!(from, "10");
    for e in [event("MODIFIED", pod("a", "11")), event("DELETED", pod("b", "12")), event("ADDED", pod("c", "13"))] {
        feed.send(e).await.expect("watch open");
    }
    assert_eq!(next_n(&mut events, 3).await, ["modified a@5->11", "deleted b@12", "added c@13"]);
    assert_eq!(rv_of(&store, "a").as_deref(), Some("11"));
    assert_eq!(rv_of(&store, "b"), None);
    assert_eq!(store.list().len(), 2);
    assert_eq!(store.snapshot().resource_version, "13");

    let _ = stop.send(());
    task.await.expect("informer task");
    assert!(events.recv().await.is_none(), "subscriptions end with the informer");
}

#[tokio::test(start_paused = true)]
async fn closed_watch_resumes_from_the_last_version_without_relisting() {
    let mut server = FakeServer::start().await;
    let informer = informer(&server, ListParams::default());
    let mut events = informer.subscribe();
    let (stop, task) = start(informer);

    let (_, reply) = server.expect_list().await;
    let _ = reply.send(Ok(list(vec![pod("a", "5")], "10")));
    let (_, feed) = server.expect_watch().await;
    feed.send(event("MODIFIED", pod("a", "12"))).await.expect("watch open");
    feed.send(event("BOOKMARK", pod("", "20"))).await.expect("watch open");
    drop(feed);

    // the next call is a watch (a list would fail expect_watch)
    let (from, feed) = server.expect_watch().await;
    assert_eq!(from, "20");
    feed.send(event("ADDED", pod("b", "21"))).await.expect("watch open");
    assert_eq!(next_n(&mut events, 4).await, ["added a@5", "synced", "modified a@5->12", "added b@21"]);

    let _ = stop.send(());
    task.await.expect("informer task");
}

#[tokio::test(start_paused = true)]
async fn expired_watch_relists_and_deletes_what_vanished() {
    let mut server = FakeServer::start().await;
    let informer = informer(&server, ListParams::default());
    let store = informer.store();
    let mut events = informer.subscribe();
    let (stop, task) = start(informer);

    let (_, reply) = server.expect_list().await;
    let _ = reply.send(Ok(list(vec![pod("a", "5"), pod("b", "6"), pod("c", "7")], "10")));
    assert_eq!(next_n(&mut events, 4).await, ["added a@5", "added b@6", "added c@7", "synced"]);
    let (_, feed) = server.expect_watch().await;
    feed.send(Err(tonic::Status::out_of_range("resourceVersion 10 is too old"))).await.expect("watch open");

    let (_, reply) = server.expect_list().await;
    let _ = reply.send(Ok(list(vec![pod("a", "5"), pod("c", "30"), pod("d", "31")], "40")));
    assert_eq!(next_n(&mut events, 3).await, ["deleted b@6", "modified c@7->30", "added d@31"]);
    assert_eq!(rv_of(&store, "b"), None);
    assert_eq!(store.len(), 3);

    let (from, _feed) = server.expect_watch().await;
    assert_eq!(from, "40");
    let _ = stop.send(());
    task.await.expect("informer task");
}

#[tokio::test(start_paused = true)]
async fn recovers_when_the_server_comes_back() {
    let mut server = FakeServer::start().await;
    let informer = informer(&server, ListParams::default());
    let store = informer.store();
    let mut events = informer.subscribe();
    let (stop, task) = start(informer);

    let (_, reply) = server.expect_list().await;
    let _ = reply.send(Ok(list(vec![pod("a", "5")], "10")));
    let (_, feed) = server.expect_watch().await;
    feed.send(event("ADDED", pod("b", "11"))).await.expect("watch open");
    assert_eq!(next_n(&mut events, 3).await, ["added a@5", "synced", "added b@11"]);

    drop(feed);
    let addr = server.stop().await;
    assert_eq!(store.len(), 2, "the cache survives the outage");

    let mut server = FakeServer::start_on(addr).await;
    let (from, feed) = server.expect_watch().await;
    assert_eq!(from, "11");
    feed.send(event("DELETED", pod("a", "12"))).await.expect("watch open");
    assert_eq!(next(&mut events).await, "deleted a@12");
    assert_eq!(store.len(), 1);

    let _ = stop.send(());
    task.await.expect("informer task");
}

#[tokio::test(start_paused = true)]
async fn resync_redelivers_the_cache_and_late_subscribers_get_a_replay() {
    let mut server = FakeServer::start().await;
    let informer = informer(&server, ListParams::default()).with_resync(Duration::from_secs(60));
    let handle = informer.handle();
    let mut events = informer.subscribe();
    let (stop, task) = start(informer);

    let (_, reply) = server.expect_list().await;
    let _ = reply.send(Ok(list(vec![pod("a", "5"), pod("b", "6")], "10")));
    let (_, _feed) = server.expect_watch().await;
    assert_eq!(next_n(&mut events, 3).await, ["added a@5", "added b@6", "synced"]);

    let mut late = handle.subscribe();
    assert_eq!(next_n(&mut late, 3).await, ["added a@5", "added b@6", "synced"]);
    // nothing else happens, so the paused clock runs on to the resync
    assert_eq!(next_n(&mut events, 2).await, ["resync a@5", "resync b@6"]);
    assert_eq!(next_n(&mut late, 2).await, ["resync a@5", "resync b@6"]);

    let _ = stop.send(());
    task.await.expect("informer task");
}

#[tokio::test(start_paused = true)]
async fn wait_synced_gives_up_when_stopped_before_the_first_list() {
    let mut server = FakeServer::start().await;
    let informer = informer(&server, ListParams::default());
    let handle = informer.handle();
    let (stop, task) = start(informer);

    let (_, unanswered) = server.expect_list().await;
    let _ = stop.send(());
    task.await.expect("informer task");
    assert!(!handle.wait_synced().await);
    assert!(!handle.store().is_synced());
    drop(unanswered);
}
