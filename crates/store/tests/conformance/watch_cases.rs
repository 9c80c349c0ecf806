//! Watch: replay from a revision, live changes, prefix filtering and progress — what the API
//! server's watch cache is built on.

use capstan_store::{KeyValue, WatchEvent};

use crate::fixture::Fixture;
use crate::helpers::{key_rev, next_change, next_item, val, WAIT};

pub async fn watch_replays_history_then_streams_live(f: Fixture) {
    let s = f.store();
    let start = s.current_revision().await.expect("revision");
    let r1 = s.create("/registry/pods/ns/a", val("v1")).await.expect("create");
    let r2 = s.update("/registry/pods/ns/a", val("v2"), r1).await.expect("update");
    let (r3, _) = s.delete("/registry/pods/ns/a", None).await.expect("delete");

    let mut watch = s.watch("/registry/pods/", start).await.expect("watch");
    let kv = |value: &str, create, modified| KeyValue {
        key: "/registry/pods/ns/a".into(),
        value: val(value),
        create_revision: create,
        mod_revision: modified,
    };
    assert_eq!(next_change(&mut watch).await, WatchEvent::Put { kv: kv("v1", r1, r1), prev: None });
    assert_eq!(next_change(&mut watch).await, WatchEvent::Put { kv: kv("v2", r1, r2), prev: Some(kv("v1", r1, r1)) });
    let deleted = WatchEvent::Delete { key: "/registry/pods/ns/a".into(), revision: r3, prev: kv("v2", r1, r2) };
    assert_eq!(next_change(&mut watch).await, deleted);

    let r4 = s.create("/registry/pods/ns/b", val("live")).await.expect("live create");
    assert_eq!(key_rev(&next_change(&mut watch).await), ("/registry/pods/ns/b".into(), r4));

    let mut from_middle = s.watch("/registry/pods/", r2).await.expect("watch from r2");
    assert_eq!(key_rev(&next_change(&mut from_middle).await), ("/registry/pods/ns/a".into(), r3));
    assert_eq!(key_rev(&next_change(&mut from_middle).await), ("/registry/pods/ns/b".into(), r4));
}

pub async fn watch_sees_only_its_prefix(f: Fixture) {
    let s = f.store();
    let start = s.current_revision().await.expect("revision");
    let mut watch = s.watch("/registry/pods/", start).await.expect("watch");
    s.create("/registry/nodes/n1", val("x")).await.expect("create");
    let y = s.create("/registry/pods/ns/y", val("x")).await.expect("create");
    s.create("/registry/pods2/other", val("x")).await.expect("create");
    s.create("/registry/nodes/n2", val("x")).await.expect("create");
    let z = s.create("/registry/pods/ns/z", val("x")).await.expect("create");
    assert_eq!(key_rev(&next_change(&mut watch).await), ("/registry/pods/ns/y".into(), y));
    assert_eq!(key_rev(&next_change(&mut watch).await), ("/registry/pods/ns/z".into(), z));
}

pub async fn list_then_watch_from_list_revision_misses_nothing(f: Fixture) {
    let s = f.store();
    s.create("/registry/cm/ns/a", val("a")).await.expect("create");
    let listed = s.list("/registry/cm/", None, 0).await.expect("list");
    let b = s.create("/registry/cm/ns/b", val("b")).await.expect("create after list");
    let mut watch = s.watch("/registry/cm/", listed.revision).await.expect("watch");
    assert_eq!(key_rev(&next_change(&mut watch).await), ("/registry/cm/ns/b".into(), b));
}

pub async fn idle_watch_gets_progress(f: Fixture) {
    let s = f.store();
    let created = s.create("/registry/pods/ns/a", val("x")).await.expect("create");
    let mut watch = s.watch("/registry/pods/", created).await.expect("watch");
    wait_for_progress(&mut watch, created).await;
    // Writes elsewhere move the store on; the idle watcher learns that through progress.
    let elsewhere = s.create("/registry/nodes/n1", val("x")).await.expect("create elsewhere");
    wait_for_progress(&mut watch, elsewhere).await;
}

async fn wait_for_progress(watch: &mut capstan_store::WatchStream, at_least: i64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no progress to revision {at_least}");
        match next_item(watch).await.expect("watch failed") {
            WatchEvent::Progress { revision } if revision >= at_least => return,
            WatchEvent::Progress { .. } => continue,
            change => panic!("the watched prefix is idle, yet got {change:?}"),
        }
    }
}
