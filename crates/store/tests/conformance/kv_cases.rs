//! Point operations and revisions: create, get, compare-and-swap update, delete.

use capstan_store::{KeyValue, StoreError};

use crate::fixture::Fixture;
use crate::helpers::val;

pub async fn create_then_get(f: Fixture) {
    let s = f.store();
    assert_eq!(s.get("/registry/pods/default/web-1").await.expect("get"), None);
    let rev = s.create("/registry/pods/default/web-1", val("v1")).await.expect("create");
    let kv = s.get("/registry/pods/default/web-1").await.expect("get").expect("created key is there");
    let expected = KeyValue {
        key: "/registry/pods/default/web-1".into(),
        value: val("v1"),
        create_revision: rev,
        mod_revision: rev,
    };
    assert_eq!(kv, expected);
    assert_eq!(s.current_revision().await.expect("revision"), rev);
}

pub async fn create_existing_is_already_exists(f: Fixture) {
    let s = f.store();
    let rev = s.create("/k", val("first")).await.expect("create");
    let err = s.create("/k", val("second")).await.expect_err("second create must fail");
    assert!(matches!(&err, StoreError::AlreadyExists { key } if key == "/k"), "{err}");
    assert!(err.to_string().contains("/k"), "message names the key: {err}");
    assert_eq!(s.get("/k").await.expect("get").map(|kv| kv.value), Some(val("first")));
    assert_eq!(s.current_revision().await.expect("revision"), rev, "a failed write bumps nothing");
}

pub async fn update_is_compare_and_swap(f: Fixture) {
    let s = f.store();
    let created = s.create("/k", val("v1")).await.expect("create");
    let updated = s.update("/k", val("v2"), created).await.expect("update at the right revision");
    assert!(updated > created);
    let kv = s.get("/k").await.expect("get").expect("present");
    assert_eq!((kv.value, kv.create_revision, kv.mod_revision), (val("v2"), created, updated));

    let err = s.update("/k", val("stale"), created).await.expect_err("stale update must fail");
    assert!(
        matches!(&err, StoreError::Conflict { key, expected, actual } if key == "/k" && *expected == created && *actual == updated),
        "{err}"
    );
    let err = s.update("/missing", val("x"), created).await.expect_err("update of a missing key");
    assert!(matches!(&err, StoreError::NotFound { key } if key == "/missing"), "{err}");
    let err = s.update("/missing", val("x"), 0).await.expect_err("expected 0 must not create");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert_eq!(s.current_revision().await.expect("revision"), updated);
}

pub async fn delete_with_and_without_expected(f: Fixture) {
    let s = f.store();
    let a = s.create("/a", val("a")).await.expect("create a");
    let b = s.create("/b", val("b")).await.expect("create b");

    let err = s.delete("/a", Some(a + 100)).await.expect_err("wrong expected revision");
    assert!(matches!(&err, StoreError::Conflict { key, actual, .. } if key == "/a" && *actual == a), "{err}");
    assert!(s.get("/a").await.expect("get").is_some(), "a failed delete deletes nothing");

    let (rev, deleted) = s.delete("/a", Some(a)).await.expect("conditional delete");
    assert!(rev > b);
    assert_eq!(deleted, KeyValue { key: "/a".into(), value: val("a"), create_revision: a, mod_revision: a });
    assert_eq!(s.get("/a").await.expect("get"), None);

    let (rev_b, deleted_b) = s.delete("/b", None).await.expect("unconditional delete");
    assert_eq!((rev_b, deleted_b.value), (rev + 1, val("b")));

    for expected in [None, Some(a)] {
        let err = s.delete("/a", expected).await.expect_err("deleting a missing key");
        assert!(matches!(&err, StoreError::NotFound { key } if key == "/a"), "{err}");
    }
    let recreated = s.create("/a", val("again")).await.expect("re-create after delete");
    let kv = s.get("/a").await.expect("get").expect("present");
    assert_eq!(kv.create_revision, recreated, "a re-created key starts a new life");
}

pub async fn revisions_increase_by_one_across_keys(f: Fixture) {
    let s = f.store();
    let start = s.current_revision().await.expect("revision");
    let mut revs =
        vec![s.create("/x", val("1")).await.expect("create x"), s.create("/y", val("1")).await.expect("create y")];
    revs.push(s.update("/x", val("2"), revs[0]).await.expect("update x"));
    let _ = s.update("/y", val("2"), revs[0]).await.expect_err("conflict bumps nothing");
    revs.push(s.delete("/y", None).await.expect("delete y").0);
    revs.push(s.create("/z", val("1")).await.expect("create z"));
    let expected: Vec<i64> = (1..=5).map(|i| start + i).collect();
    assert_eq!(revs, expected, "one store-wide revision, bumped by one per write");
    assert_eq!(s.current_revision().await.expect("revision"), start + 5);
}
