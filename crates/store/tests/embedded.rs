//! Embedded-backend behaviour beyond the shared contract: staying bounded under churn, group
//! commit, age-based retention, watchers that fall behind, and closing the file on drop.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use capstan_store::{open_store, EmbeddedOptions, EmbeddedStore, Store, StoreConfig, StoreError, WatchEvent};
use futures::future::join_all;
use futures::StreamExt;

const WAIT: Duration = Duration::from_secs(60);

fn open(dir: &std::path::Path, options: EmbeddedOptions) -> Arc<EmbeddedStore> {
    Arc::new(EmbeddedStore::open(dir, options).expect("open the embedded store"))
}

async fn next(watch: &mut capstan_store::WatchStream) -> Result<WatchEvent, StoreError> {
    loop {
        let item =
            tokio::time::timeout(WAIT, watch.next()).await.expect("watch item within bound").expect("stream open");
        if !matches!(item, Ok(WatchEvent::Progress { .. })) {
            return item;
        }
    }
}

/// Each worker rewrites its own key `rounds` times (CAS on the revision it last wrote).
async fn churn(store: &Arc<EmbeddedStore>, workers: usize, rounds: usize, value: &Bytes) {
    let tasks = (0..workers).map(|w| {
        let (store, value) = (store.clone(), value.clone());
        tokio::spawn(async move {
            let key = format!("/registry/leases/node-{w}");
            let mut rev = match store.get(&key).await.expect("get") {
                Some(kv) => kv.mod_revision,
                None => store.create(&key, value.clone()).await.expect("create"),
            };
            for _ in 0..rounds {
                rev = store.update(&key, value.clone(), rev).await.expect("update");
            }
        })
    });
    for task in join_all(tasks).await {
        task.expect("churn worker");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_updates_leave_the_store_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let retain = 1_000u64;
    let store = open(dir.path(), EmbeddedOptions { retain_revisions: Some(retain), ..EmbeddedOptions::default() });
    let value = Bytes::from(vec![0x5a; 1024]);
    let file_size = || std::fs::metadata(store.path()).expect("db file").len();

    churn(&store, 32, 312, &value).await; // ~10k writes: past warm-up
    let warm = file_size();
    churn(&store, 32, 1250, &value).await; // 40k more
    let after = file_size();
    let log_len = store.log_len().await.expect("log length");
    let stats = store.stats();
    eprintln!("file after ~10k writes: {warm} B, after ~50k: {after} B, log: {log_len}, {stats:?}");

    assert!(stats.writes >= 50_000, "{stats:?}");
    assert!(log_len <= retain + retain / 10, "log trimmed to its retention: {log_len}");
    // Without compaction the log alone would hold 50k × 2 KiB (value + previous value).
    assert!(after < 16 << 20, "file stays small: {after} bytes");
    assert!(after <= warm * 2, "file stops growing once the log is trimmed: {warm} -> {after}");
    assert!(stats.commits < stats.writes, "concurrent writers share commits: {stats:?}");
    let listed = store.list("/registry/leases/", None, 0).await.expect("list");
    assert_eq!(listed.items.len(), 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_older_than_retain_for_are_dropped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = EmbeddedOptions {
        retain_revisions: None,
        retain_for: Some(Duration::from_millis(300)),
        ..EmbeddedOptions::default()
    };
    let store = open(dir.path(), options);
    for i in 0..20 {
        store.create(&format!("/k{i}"), Bytes::from_static(b"x")).await.expect("create");
    }
    // Await the outcome (bounded), not a duration: the writer sweeps even when idle.
    capstan_test_support::eventually("old changes to be dropped", WAIT, || async {
        (store.log_len().await.expect("log length") == 0).then_some(())
    })
    .await;
    let mut watch = store.watch("/", 0).await.expect("watch");
    assert!(matches!(next(&mut watch).await, Err(StoreError::Compacted { compacted: 20, .. })));
    assert_eq!(store.list("/", None, 0).await.expect("list").items.len(), 20, "data itself is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_falls_behind_catches_up_from_the_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path(), EmbeddedOptions::default());
    let mut watch = store.watch("/", 0).await.expect("watch");
    // One commit each: more batches than the live broadcast buffers, so the watcher lags.
    let writes = 1_500;
    for i in 0..writes {
        store.create(&format!("/k{i:05}"), Bytes::from_static(b"x")).await.expect("create");
    }
    for expected in 1..=writes {
        let event = next(&mut watch).await.expect("watch event");
        assert_eq!(event.revision(), expected, "in order, no gap, no duplicate");
    }
    let live = store.create("/live", Bytes::from_static(b"x")).await.expect("create");
    assert_eq!(next(&mut watch).await.expect("live event").revision(), live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_store_closes_the_file_and_ends_watches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path(), EmbeddedOptions::default());
    store.create("/a", Bytes::from_static(b"x")).await.expect("create");
    let mut watch = store.watch("/", 1).await.expect("watch");

    let second = EmbeddedStore::open(dir.path(), EmbeddedOptions::default());
    let err = second.err().expect("the file is locked while open");
    assert!(matches!(err, StoreError::Database { .. }) && err.to_string().contains("capstan.redb"), "{err}");

    drop(store);
    let reopened = open(dir.path(), EmbeddedOptions::default());
    assert!(reopened.get("/a").await.expect("get").is_some());
    assert!(matches!(next(&mut watch).await, Err(StoreError::Unavailable(_))), "old watch ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_store_picks_the_embedded_backend() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = StoreConfig::embedded(dir.path().join("data"));
    assert_eq!(config.backend(), "embedded");
    let store: Arc<dyn Store> = open_store(&config).await.expect("open");
    let rev = store.create("/x", Bytes::from_static(b"1")).await.expect("create");
    assert_eq!(store.current_revision().await.expect("revision"), rev);
    assert!(dir.path().join("data").join("capstan.redb").exists());
}
