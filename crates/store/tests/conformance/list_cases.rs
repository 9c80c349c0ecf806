//! Prefix listing: key order, pagination with `start_after`, and the read revision.

use capstan_store::KeyValue;

use crate::fixture::Fixture;
use crate::helpers::val;

pub async fn list_prefix_in_order_with_pagination(f: Fixture) {
    let s = f.store();
    for key in [
        "/registry/pods/ns/c",
        "/registry/pods/ns/a",
        "/registry/pods2/x",
        "/registry/pods/ns/e",
        "/registry/nodes/n1",
        "/registry/pods/ns/b",
        "/registry/pods/ns/d",
    ] {
        s.create(key, val(key)).await.expect("create");
    }
    let current = s.current_revision().await.expect("revision");
    let keys = |items: &[KeyValue]| {
        items.iter().map(|kv| kv.key.rsplit('/').next().unwrap_or("").to_owned()).collect::<Vec<_>>()
    };

    let all = s.list("/registry/pods/", None, 0).await.expect("list");
    assert_eq!(keys(&all.items), ["a", "b", "c", "d", "e"]);
    assert_eq!((all.revision, all.more), (current, false));
    assert_eq!(all.items[0].value, val("/registry/pods/ns/a"));

    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s.list("/registry/pods/", cursor.as_deref(), 2).await.expect("list page");
        cursor = page.items.last().map(|kv| kv.key.clone());
        pages.push((keys(&page.items), page.more));
        if !page.more {
            break;
        }
    }
    let expected = [(vec!["a", "b"], true), (vec!["c", "d"], true), (vec!["e"], false)];
    assert_eq!(pages, expected.map(|(k, m)| (k.into_iter().map(String::from).collect::<Vec<_>>(), m)));

    let exact = s.list("/registry/pods/", None, 5).await.expect("list exactly all");
    assert_eq!((exact.items.len(), exact.more), (5, false), "a full last page has no more");
    let none = s.list("/registry/services/", None, 0).await.expect("empty list");
    assert!(none.items.is_empty() && !none.more);
    let everything = s.list("", None, 0).await.expect("list all keys");
    assert_eq!(everything.items.len(), 7);
}
