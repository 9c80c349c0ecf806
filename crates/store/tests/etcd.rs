//! etcd-backend behaviour beyond the shared contract: connecting, failure reporting, and the
//! raw access a benchmark needs.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use capstan_store::{open_store, EtcdOptions, EtcdStore, Store, StoreConfig, StoreError};
use capstan_test_support::{free_ports, require_daemon, EtcdServer};
use futures::future::join_all;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_etcd_is_unavailable_and_named() {
    let port = free_ports(1).expect("free port")[0];
    let endpoint = format!("http://127.0.0.1:{port}");
    let options = EtcdOptions { connect_timeout: Duration::from_secs(2), ..EtcdOptions::default() };
    let err = EtcdStore::connect(std::slice::from_ref(&endpoint), options).await.err().expect("nothing listens there");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains(&endpoint), "message names the endpoint: {err}");

    let err = EtcdStore::connect(&[], EtcdOptions::default()).await.err().expect("no endpoints");
    assert!(matches!(err, StoreError::InvalidConfig(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_put_and_client_reach_the_same_etcd() {
    let Some(etcd) = require_daemon(EtcdServer::start().await) else {
        return;
    };
    let store = EtcdStore::connect(&etcd.endpoints(), EtcdOptions::default()).await.expect("connect");
    assert_eq!(store.endpoints(), etcd.endpoint());
    let rev = store.raw_put("/bench/k", Bytes::from_static(b"v")).await.expect("raw put");
    assert_eq!(store.get("/bench/k").await.expect("get").map(|kv| kv.mod_revision), Some(rev));
    let mut client = store.client();
    let response = client.get("/bench/k", None).await.expect("raw get");
    assert_eq!(response.kvs().first().map(|kv| kv.value().to_vec()), Some(b"v".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_writers_through_the_pool() {
    let Some(etcd) = require_daemon(EtcdServer::start().await) else {
        return;
    };
    let config = StoreConfig::etcd(etcd.endpoints());
    assert_eq!(config.backend(), "etcd");
    let store: Arc<dyn Store> = open_store(&config).await.expect("connect");
    let start = store.current_revision().await.expect("revision");
    let writers = (0..64).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut revs = Vec::new();
            for i in 0..10 {
                revs.push(
                    store
                        .create(&format!("/registry/pods/ns/p-{w}-{i}"), Bytes::from_static(b"x"))
                        .await
                        .expect("create"),
                );
            }
            revs
        })
    });
    let mut revs: Vec<i64> = join_all(writers).await.into_iter().flat_map(|r| r.expect("writer")).collect();
    revs.sort_unstable();
    revs.dedup();
    assert_eq!(revs.len(), 640, "every write got its own revision");
    assert_eq!(store.current_revision().await.expect("revision"), start + 640);
    assert_eq!(store.list("/registry/pods/", None, 0).await.expect("list").items.len(), 640);
}
