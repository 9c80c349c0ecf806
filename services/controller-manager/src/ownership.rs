//! ownerReferences: who controls an object, and how a controller claims one.
//!
//! The ReplicaSet, Deployment and garbage collectors all reason about
//! owners; the rules live here once. An object has at most one controller
//! (the owner reference with `controller: true`); a controller only ever
//! acts on objects it controls, or adopts orphans that match its selector.

use capstan_proto::kinds::Resource;
use capstan_proto::meta::v1::{ObjectMeta, OwnerReference};

/// The owner reference with `controller: true`, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.iter().find(|r| r.controller == Some(true))
}

/// True when `meta` is controlled by the object with `uid`.
pub fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    controller_of(meta).is_some_and(|r| r.uid == uid)
}

/// The reference a controller writes on what it creates or adopts:
/// `controller: true` and `blockOwnerDeletion: true`, as Kubernetes writes.
pub fn controller_reference<K: Resource>(owner: &K) -> OwnerReference {
    let meta = owner.meta();
    OwnerReference {
        api_version: K::INFO.api_version.into(),
        kind: K::INFO.kind.into(),
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// True when the object is being deleted.
pub fn is_deleting(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::apps::v1::ReplicaSet;

    fn owned(refs: Vec<OwnerReference>) -> ObjectMeta {
        ObjectMeta { owner_references: refs, ..Default::default() }
    }

    #[test]
    fn only_the_controller_reference_counts() {
        let plain = OwnerReference { uid: "a".into(), ..Default::default() };
        let controller = OwnerReference { uid: "b".into(), controller: Some(true), ..Default::default() };
        let meta = owned(vec![plain, controller]);
        assert_eq!(controller_of(&meta).map(|r| r.uid.as_str()), Some("b"));
        assert!(is_controlled_by(&meta, "b"));
        assert!(!is_controlled_by(&meta, "a"), "a plain owner is not the controller");
        assert!(controller_of(&owned(vec![])).is_none());
    }

    #[test]
    fn controller_reference_names_the_owner() {
        let rs = ReplicaSet {
            metadata: Some(ObjectMeta { name: "web-abc".into(), uid: "u1".into(), ..Default::default() }),
            ..Default::default()
        };
        let r = controller_reference(&rs);
        assert_eq!((r.api_version.as_str(), r.kind.as_str()), ("apps/v1", "ReplicaSet"));
        assert_eq!((r.name.as_str(), r.uid.as_str()), ("web-abc", "u1"));
        assert_eq!((r.controller, r.block_owner_deletion), (Some(true), Some(true)));
    }
}
