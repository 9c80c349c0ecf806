//! Concurrent writers: the store, not the callers, arbitrates races.

use capstan_store::StoreError;
use futures::future::join_all;

use crate::fixture::Fixture;
use crate::helpers::val;

pub async fn concurrent_creates_have_one_winner(f: Fixture) {
    let store = f.shared();
    let attempts = (0..32).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { (i, store.create("/registry/leases/leader", val(&format!("candidate-{i}"))).await) })
    });
    let results = join_all(attempts).await.into_iter().map(|r| r.expect("task")).collect::<Vec<_>>();
    let winners: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).map(|(i, _)| *i).collect();
    assert_eq!(winners.len(), 1, "exactly one create wins: {winners:?}");
    for (_, result) in &results {
        if let Err(err) = result {
            assert!(matches!(err, StoreError::AlreadyExists { .. }), "losers see AlreadyExists: {err}");
        }
    }
    let kv = store.get("/registry/leases/leader").await.expect("get").expect("present");
    assert_eq!(kv.value, val(&format!("candidate-{}", winners[0])));
}

pub async fn concurrent_cas_updates_lose_nothing(f: Fixture) {
    let store = f.shared();
    store.create("/counter", val("0")).await.expect("create");
    let workers = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..5 {
                loop {
                    let kv = store.get("/counter").await.expect("get").expect("present");
                    let n: u32 = std::str::from_utf8(&kv.value).expect("utf-8").parse().expect("number");
                    match store.update("/counter", val(&(n + 1).to_string()), kv.mod_revision).await {
                        Ok(_) => break,
                        Err(StoreError::Conflict { .. }) => continue,
                        Err(other) => panic!("unexpected error: {other}"),
                    }
                }
            }
        })
    });
    for worker in join_all(workers).await {
        worker.expect("worker");
    }
    let kv = store.get("/counter").await.expect("get").expect("present");
    assert_eq!(kv.value, val("40"), "every successful CAS is an increment nobody overwrote");
}
