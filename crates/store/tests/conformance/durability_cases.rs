//! Compaction and durability: what survives a compaction and a restart.

use capstan_store::StoreError;

use crate::fixture::Fixture;
use crate::helpers::{key_rev, next_change, next_item, val};

pub async fn watch_from_compacted_revision_fails(f: Fixture) {
    let s = f.store();
    let start = s.current_revision().await.expect("revision");
    let mut revs = Vec::new();
    for i in 0..5 {
        revs.push(s.create(&format!("/registry/pods/ns/p{i}"), val("x")).await.expect("create"));
    }
    s.compact(revs[3]).await.expect("compact");
    s.compact(revs[1]).await.expect("compacting an older revision is a no-op");

    for after in [start, revs[2]] {
        let mut watch = s.watch("/registry/pods/", after).await.expect("watch starts");
        match next_item(&mut watch).await {
            Err(StoreError::Compacted { compacted, .. }) => assert_eq!(compacted, revs[3]),
            other => panic!("watch after {after} should fail Compacted, got {other:?}"),
        }
    }
    let mut watch = s.watch("/registry/pods/", revs[3]).await.expect("watch at the compacted revision");
    assert_eq!(key_rev(&next_change(&mut watch).await), ("/registry/pods/ns/p4".into(), revs[4]));

    let future = revs[4] + 1000;
    let err = s.compact(future).await.expect_err("compacting the future");
    assert!(matches!(err, StoreError::FutureRevision { requested, .. } if requested == future), "{err}");
}

pub async fn reopen_loses_nothing(mut f: Fixture) {
    let s = f.store();
    let start = s.current_revision().await.expect("revision");
    let a = s.create("/registry/pods/ns/a", val("a1")).await.expect("create");
    s.update("/registry/pods/ns/a", val("a2"), a).await.expect("update");
    s.create("/registry/pods/ns/b", val("b")).await.expect("create");
    s.delete("/registry/pods/ns/b", None).await.expect("delete");
    let compacted = s.create("/registry/pods/ns/c", val("c")).await.expect("create");
    s.compact(compacted - 1).await.expect("compact");
    let before = s.list("", None, 0).await.expect("list");

    f.reopen().await;
    let s = f.store();
    assert_eq!(s.current_revision().await.expect("revision"), before.revision);
    assert_eq!(s.list("", None, 0).await.expect("list"), before);
    let next = s.create("/registry/pods/ns/d", val("d")).await.expect("create after reopen");
    assert_eq!(next, before.revision + 1, "revisions continue where they were");

    let mut watch = s.watch("/registry/pods/", compacted - 1).await.expect("watch kept history");
    assert_eq!(key_rev(&next_change(&mut watch).await), ("/registry/pods/ns/c".into(), compacted));
    assert_eq!(key_rev(&next_change(&mut watch).await), ("/registry/pods/ns/d".into(), next));
    let mut old = s.watch("/registry/pods/", start).await.expect("watch");
    assert!(matches!(next_item(&mut old).await, Err(StoreError::Compacted { .. })), "compaction survives too");
}
