//! The etcd backend on a three-member cluster keeps serving while any one member is down,
//! leader or follower, and after it is back: etcd keeps a quorum, so the store must too.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use capstan_store::{EtcdOptions, EtcdStore, Store};
use capstan_test_support::{eventually, require_daemon, EtcdCluster, LossyProxy};

/// Requests of each kind per phase (one member down; all back).
const STEPS_DOWN: usize = 25;
const STEPS_BACK: usize = 10;

/// One step of a steady client: create a key, read it, update it, list the prefix. Returns
/// every failure, named.
async fn step(store: &EtcdStore, phase: &str, i: usize, failures: &mut Vec<String>) {
    let key = format!("/registry/configmaps/default/{phase}-{i}");
    let created = match store.create(&key, Bytes::from(format!("{key} v1"))).await {
        Ok(revision) => revision,
        Err(error) => return failures.push(format!("{phase}: create {key}: {error}")),
    };
    match store.get(&key).await {
        Ok(Some(kv)) if kv.mod_revision == created => {}
        other => failures.push(format!("{phase}: get {key}: {other:?}")),
    }
    if let Err(error) = store.update(&key, Bytes::from(format!("{key} v2")), created).await {
        failures.push(format!("{phase}: update {key}: {error}"));
    }
    match store.list("/registry/configmaps/default/", None, 0).await {
        Ok(list) if list.items.iter().any(|kv| kv.key == key) => {}
        Ok(_) => failures.push(format!("{phase}: list misses {key}")),
        Err(error) => failures.push(format!("{phase}: list: {error}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_fails_while_each_member_in_turn_is_down() {
    let Some(mut cluster) = require_daemon(EtcdCluster::start().await) else {
        return;
    };
    let store = EtcdStore::connect(&cluster.endpoints(), EtcdOptions::default()).await.expect("connect");
    let mut failures = Vec::new();
    let mut killed = Vec::new();
    let mut requests = 0;
    for _ in 0..cluster.len() {
        let (victim, role) = cluster.kill_next(&mut killed).await.expect("the cluster has a leader");
        let phase = format!("{role}-m{victim}-down");
        for i in 0..STEPS_DOWN {
            step(&store, &phase, i, &mut failures).await;
        }
        cluster.restart(victim).await.expect("the member comes back");
        let phase = format!("{role}-m{victim}-back");
        for i in 0..STEPS_BACK {
            step(&store, &phase, i, &mut failures).await;
        }
        requests += 4 * (STEPS_DOWN + STEPS_BACK);
    }
    eprintln!("{} of {requests} requests failed", failures.len());
    assert!(failures.is_empty(), "{} of {requests} requests failed: {failures:#?}", failures.len());

    let list = store.list("/registry/configmaps/default/", None, 0).await.expect("list");
    assert_eq!(list.items.len(), cluster.len() * (STEPS_DOWN + STEPS_BACK), "each create applied once");
    assert!(list.items.iter().all(|kv| kv.value.ends_with(b" v2")), "every update applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_starts_and_replays_while_any_one_member_is_down() {
    let Some(mut cluster) = require_daemon(EtcdCluster::start().await) else {
        return;
    };
    let store = EtcdStore::connect(&cluster.endpoints(), EtcdOptions::default()).await.expect("connect");
    let start = store.current_revision().await.expect("revision");
    let mut written = Vec::new();
    for victim in 0..cluster.len() {
        cluster.kill(victim);
        let key = format!("/w/{victim}");
        store.create(&key, Bytes::from_static(b"x")).await.expect("create with a member down");
        written.push(key);
        // The API server's watch cache restarts its watch like this after a member died.
        for _ in 0..cluster.len() {
            let mut watch = store.watch("/w/", start).await.expect("the watch starts on a live member");
            assert_eq!(puts(&mut watch, written.len()).await, written, "replayed with m{victim} down");
        }
        cluster.restart(victim).await.expect("the member comes back");
    }
}

/// The keys of the next `count` puts of a watch.
async fn puts(watch: &mut capstan_store::WatchStream, count: usize) -> Vec<String> {
    use futures::StreamExt;
    let mut keys = Vec::new();
    while keys.len() < count {
        match watch.next().await {
            Some(Ok(capstan_store::WatchEvent::Put { kv, .. })) => keys.push(kv.key),
            Some(Ok(_)) => continue,
            other => panic!("watch ended: {other:?}"),
        }
    }
    keys
}

/// etcd applied the write, its answer was lost (every member's answers are held back, then
/// the connections cut): the store's retry on another member must report the write as done
/// — not AlreadyExists, Conflict or NotFound — and must not apply it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_was_lost_is_resolved_not_repeated() {
    let Some(cluster) = require_daemon(EtcdCluster::start().await) else {
        return;
    };
    let mut proxies = Vec::new();
    for endpoint in cluster.endpoints() {
        proxies.push(LossyProxy::start(&endpoint).await.expect("proxy starts"));
    }
    let urls: Vec<String> = proxies.iter().map(LossyProxy::url).collect();
    let store = EtcdStore::connect(&urls, EtcdOptions::default()).await.expect("connect through the proxies");
    let observer = etcd_client::Client::connect(cluster.endpoints(), None).await.expect("observer connects");
    let key = "/registry/pods/default/lost";
    let version = |wanted: i64| {
        let observer = observer.clone();
        move || {
            let mut observer = observer.clone();
            async move {
                let response = observer.get(key, None).await.ok()?;
                let version = response.kvs().first().map_or(0, |kv| kv.version());
                (version == wanted).then(|| response.kvs().first().map(|kv| (kv.create_revision(), kv.mod_revision())))
            }
        }
    };

    let created = answer_lost(&proxies, store.create(key, Bytes::from_static(b"v1")), version(1)).await;
    let (create_revision, _) = created.1.expect("the key exists");
    assert_eq!(created.0.expect("the create is reported done"), create_revision);

    let updated =
        answer_lost(&proxies, store.update(key, Bytes::from_static(b"v2"), create_revision), version(2)).await;
    let (_, mod_revision) = updated.1.expect("the key exists");
    assert_eq!(updated.0.expect("the update is reported done"), mod_revision, "applied once: version 2, not 3");

    let deleted = answer_lost(&proxies, store.delete(key, Some(mod_revision)), version(0)).await;
    let (revision, prev) = deleted.0.expect("the delete is reported done");
    assert_eq!((prev.value.as_ref(), prev.mod_revision), (&b"v2"[..], mod_revision), "it returns what it deleted");
    let history = store.watch(key, revision - 1).await.expect("watch the delete");
    let first = futures::StreamExt::into_future(history).await.0.expect("an event").expect("no error");
    assert!(matches!(first, capstan_store::WatchEvent::Delete { revision: r, .. } if r == revision), "{first:?}");
}

/// Runs `write` while every member's answers are held back, waits until `applied` sees it
/// applied in etcd, cuts the connections (so the answer is lost), and returns what the write
/// reports with what `applied` saw.
async fn answer_lost<T: std::fmt::Debug, R, F, Fut>(
    proxies: &[LossyProxy],
    write: impl Future<Output = T>,
    applied: F,
) -> (T, R)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<R>>,
{
    for proxy in proxies {
        proxy.hold_answers();
    }
    let mut write = std::pin::pin!(write);
    let seen = tokio::select! {
        result = &mut write => panic!("the write was answered while every answer was held: {result:?}"),
        seen = eventually("the write applied in etcd", Duration::from_secs(60), applied) => seen,
    };
    for proxy in proxies {
        proxy.cut();
    }
    (write.await, seen)
}
