//! The dependency graph: every object the collector has seen, by uid, with
//! the owners its ownerReferences name and, inverted, the dependents of each
//! owner uid (whether or not that owner has been seen: a reference may name
//! an object that is gone, or one whose kind's cache has not caught up yet).
//!
//! Applying a change answers which uids need a look, so the wiring only
//! queues them: a dependent whose owner vanished or is deleting its
//! dependents, an owner that is orphaning or waiting for its dependents.
//! The graph does no I/O; a cache can lag, so it only ever says "look
//! again", and the reconcile confirms absence with a live read.

use capstan_proto::kinds::{KindInfo, Resource};
use capstan_proto::meta::v1::OwnerReference;
use std::collections::{BTreeSet, HashMap};

/// The finalizer the API server puts on an object deleted with `Foreground`.
pub const FOREGROUND: &str = "foregroundDeletion";
/// The finalizer the API server puts on an object deleted with `Orphan`.
pub const ORPHAN: &str = "orphan";

/// Which object a uid is: enough to read, update or delete it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub kind: &'static KindInfo,
    /// "" for cluster-scoped kinds
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {} ({})", self.kind.kind, self.name, self.uid)
        } else {
            write!(f, "{} {}/{} ({})", self.kind.kind, self.namespace, self.name, self.uid)
        }
    }
}

/// What the collector keeps of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: Identity,
    pub owners: Vec<OwnerReference>,
    pub finalizers: Vec<String>,
    /// deletionTimestamp is set
    pub deleting: bool,
}

impl Node {
    /// The collector's view of a typed object.
    pub fn of<K: Resource>(object: &K) -> Node {
        Node::from_meta(&K::INFO, object.meta())
    }

    /// `info` must be one of the `kinds` table's consts (they are `'static`).
    pub fn from_meta(info: &'static KindInfo, meta: &capstan_proto::meta::v1::ObjectMeta) -> Node {
        Node {
            id: Identity {
                kind: info,
                namespace: meta.namespace.clone(),
                name: meta.name.clone(),
                uid: meta.uid.clone(),
            },
            owners: meta.owner_references.clone(),
            finalizers: meta.finalizers.clone(),
            deleting: meta.deletion_timestamp.is_some(),
        }
    }

    pub fn has_finalizer(&self, finalizer: &str) -> bool {
        self.finalizers.iter().any(|f| f == finalizer)
    }

    /// Deleted with `Foreground`: it waits for its blocking dependents.
    pub fn deleting_dependents(&self) -> bool {
        self.deleting && self.has_finalizer(FOREGROUND)
    }

    /// Deleted with `Orphan`: its dependents lose their reference to it first.
    pub fn orphaning(&self) -> bool {
        self.deleting && self.has_finalizer(ORPHAN)
    }

    /// The reference to `owner_uid`, if this object names that owner.
    pub fn reference_to(&self, owner_uid: &str) -> Option<&OwnerReference> {
        self.owners.iter().find(|r| r.uid == owner_uid)
    }

    /// True when this object holds up the foreground deletion of `owner_uid`.
    pub fn blocks(&self, owner_uid: &str) -> bool {
        self.reference_to(owner_uid).is_some_and(|r| r.block_owner_deletion == Some(true))
    }
}

/// Every seen object and the owner → dependents index.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, BTreeSet<String>>,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The seen objects that name `owner_uid` as an owner, ordered by uid.
    pub fn dependents_of(&self, owner_uid: &str) -> Vec<&Node> {
        let Some(uids) = self.dependents.get(owner_uid) else { return Vec::new() };
        uids.iter().filter_map(|uid| self.nodes.get(uid)).collect()
    }

    pub fn has_dependents(&self, owner_uid: &str) -> bool {
        self.dependents.get(owner_uid).is_some_and(|d| !d.is_empty())
    }

    /// An object was added or changed; answers the uids to look at.
    pub fn upsert(&mut self, node: Node) -> Vec<String> {
        if node.id.uid.is_empty() {
            return Vec::new();
        }
        let uid = node.id.uid.clone();
        let old = self.nodes.remove(&uid);
        if let Some(old) = &old {
            self.unindex(old);
        }
        self.index(&node);
        let mut look = Vec::new();
        if node.deleting_dependents() || node.orphaning() {
            look.push(uid.clone());
        }
        for reference in &node.owners {
            match self.nodes.get(&reference.uid) {
                // maybe gone for good: only a live read can say
                None => look.push(uid.clone()),
                Some(owner) if owner.deleting_dependents() => {
                    look.push(uid.clone());
                    look.push(owner.id.uid.clone());
                }
                Some(owner) if owner.orphaning() => look.push(owner.id.uid.clone()),
                Some(_) => {}
            }
        }
        // an owner waiting on this object may be free once it lets go of it
        for reference in old.iter().flat_map(|o| &o.owners) {
            if node.blocks(&reference.uid) {
                continue;
            }
            if self.nodes.get(&reference.uid).is_some_and(Node::deleting_dependents) {
                look.push(reference.uid.clone());
            }
        }
        self.nodes.insert(uid, node);
        dedup(look)
    }

    /// An object is gone; answers the uids to look at: its dependents (their
    /// owner may be gone for good) and the owners waiting for it.
    pub fn remove(&mut self, uid: &str) -> Vec<String> {
        let Some(node) = self.nodes.remove(uid) else { return Vec::new() };
        self.unindex(&node);
        let mut look: Vec<String> = self.dependents_of(uid).iter().map(|d| d.id.uid.clone()).collect();
        for reference in &node.owners {
            if self.nodes.get(&reference.uid).is_some_and(|o| o.deleting_dependents() || o.orphaning()) {
                look.push(reference.uid.clone());
            }
        }
        dedup(look)
    }

    fn index(&mut self, node: &Node) {
        for reference in &node.owners {
            self.dependents.entry(reference.uid.clone()).or_default().insert(node.id.uid.clone());
        }
    }

    fn unindex(&mut self, node: &Node) {
        for reference in &node.owners {
            if let Some(set) = self.dependents.get_mut(&reference.uid) {
                set.remove(&node.id.uid);
                if set.is_empty() {
                    self.dependents.remove(&reference.uid);
                }
            }
        }
    }
}

/// Keeps the first of each uid, in order.
fn dedup(uids: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    uids.into_iter().filter(|u| seen.insert(u.clone())).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use capstan_proto::kinds::{POD, REPLICA_SET};

    pub fn owner_ref(uid: &str, block: bool) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: format!("rs-{uid}"),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(block),
        }
    }

    pub fn node(kind: &'static KindInfo, uid: &str, owners: Vec<OwnerReference>) -> Node {
        Node {
            id: Identity { kind, namespace: "default".into(), name: format!("n-{uid}"), uid: uid.into() },
            owners,
            finalizers: vec![],
            deleting: false,
        }
    }

    fn deleting(mut n: Node, finalizer: &str) -> Node {
        n.deleting = true;
        n.finalizers.push(finalizer.into());
        n
    }

    #[test]
    fn dependents_are_indexed_by_owner_uid_even_before_the_owner_is_seen() {
        let mut g = Graph::new();
        let look = g.upsert(node(&POD, "p1", vec![owner_ref("rs", true)]));
        assert_eq!(look, ["p1"], "an unseen owner may be gone: check the dependent");
        g.upsert(node(&POD, "p2", vec![owner_ref("rs", false)]));
        assert_eq!(g.dependents_of("rs").len(), 2);
        assert!(g.upsert(node(&REPLICA_SET, "rs", vec![])).is_empty(), "a plain owner needs nothing");
        let look = g.upsert(node(&POD, "p3", vec![owner_ref("rs", true)]));
        assert!(look.is_empty(), "a dependent of a seen, live owner needs nothing: {look:?}");
    }

    #[test]
    fn removing_an_owner_points_at_its_dependents() {
        let mut g = Graph::new();
        g.upsert(node(&REPLICA_SET, "rs", vec![]));
        g.upsert(node(&POD, "p1", vec![owner_ref("rs", true)]));
        g.upsert(node(&POD, "p2", vec![owner_ref("rs", true)]));
        g.upsert(node(&POD, "other", vec![]));
        assert_eq!(g.remove("rs"), ["p1", "p2"]);
        assert_eq!(g.dependents_of("rs").len(), 2, "the index outlives the owner while dependents name it");
        assert!(g.remove("rs").is_empty(), "removing twice is harmless");
        g.remove("p1");
        g.remove("p2");
        assert!(!g.has_dependents("rs"));
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn foreground_owner_and_its_dependents_are_looked_at() {
        let mut g = Graph::new();
        g.upsert(node(&REPLICA_SET, "rs", vec![]));
        g.upsert(node(&POD, "p1", vec![owner_ref("rs", true)]));
        let look = g.upsert(deleting(node(&REPLICA_SET, "rs", vec![]), FOREGROUND));
        assert_eq!(look, ["rs"]);
        // a dependent changing under a waiting owner: both need a look
        assert_eq!(g.upsert(node(&POD, "p1", vec![owner_ref("rs", true)])), ["p1", "rs"]);
        // the last blocking dependent leaving frees the owner
        assert_eq!(g.remove("p1"), ["rs"]);
    }

    #[test]
    fn dropping_a_blocking_reference_frees_a_waiting_owner() {
        let mut g = Graph::new();
        g.upsert(node(&POD, "p1", vec![owner_ref("rs", true)]));
        g.upsert(deleting(node(&REPLICA_SET, "rs", vec![]), FOREGROUND));
        assert_eq!(g.upsert(node(&POD, "p1", vec![])), ["rs"]);
        assert!(!g.has_dependents("rs"));
    }

    #[test]
    fn orphaning_owner_is_looked_at_when_dependents_appear() {
        let mut g = Graph::new();
        let look = g.upsert(deleting(node(&REPLICA_SET, "rs", vec![]), ORPHAN));
        assert_eq!(look, ["rs"]);
        assert_eq!(g.upsert(node(&POD, "late", vec![owner_ref("rs", false)])), ["rs"]);
    }

    #[test]
    fn blocking_follows_block_owner_deletion() {
        let blocking = node(&POD, "p", vec![owner_ref("a", true), owner_ref("b", false)]);
        assert!(blocking.blocks("a"));
        assert!(!blocking.blocks("b"));
        assert!(!blocking.blocks("c"));
        let plain = deleting(node(&POD, "p", vec![]), "example.com/keep");
        assert!(!plain.deleting_dependents() && !plain.orphaning());
    }

    #[test]
    fn objects_without_uid_are_ignored() {
        let mut g = Graph::new();
        assert!(g.upsert(node(&POD, "", vec![owner_ref("rs", true)])).is_empty());
        assert!(g.is_empty());
    }
}
