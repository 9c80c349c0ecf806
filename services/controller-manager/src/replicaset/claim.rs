//! Claiming dependents (Kubernetes' `ControllerRefManager`): a ReplicaSet
//! claims pods and a Deployment claims ReplicaSets the same way, so the
//! rules live here once, generic over the kind.
//!
//! An object matching the owner's selector with no controller is adopted;
//! an owned object that no longer matches is released. Both are merge
//! patches of `ownerReferences` pinned to the resourceVersion the decision
//! was made on, so two controllers racing for one orphan cannot both win
//! and an object that changed meanwhile is judged again.

use super::key_of;
use crate::error::ControllerError;
use crate::ownership::{controller_of, controller_reference, is_deleting};
use capstan_client::Api;
use capstan_proto::kinds::Resource;
use capstan_proto::meta::v1::{ObjectMeta, OwnerReference};
use capstan_runtime::informer::Store;
use capstan_selectors::LabelSelector;
use std::sync::Arc;

/// What an owner does with one candidate object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// owned and matching: counts as the owner's
    Owned,
    /// an orphan that matches: take it
    Adopt,
    /// owned but no longer matching: let it go
    Release,
    /// someone else's, or not for us
    Ignore,
}

/// The owner with `owner_uid` (being deleted when `owner_deleting`) and
/// `selector` looks at an object with `meta`.
pub fn claim(owner_uid: &str, owner_deleting: bool, selector: &LabelSelector, meta: &ObjectMeta) -> Claim {
    let matches = selector.matches(&meta.labels);
    match controller_of(meta) {
        Some(r) if r.uid != owner_uid => Claim::Ignore,
        Some(_) if matches => Claim::Owned,
        // an owner on its way out keeps what it has
        Some(_) if owner_deleting => Claim::Ignore,
        Some(_) => Claim::Release,
        None if owner_deleting || !matches || is_deleting(meta) => Claim::Ignore,
        None => Claim::Adopt,
    }
}

/// Claim `candidates` for `owner`: returns the objects it owns afterwards
/// (adopted ones included). Before the first adoption the owner is read
/// fresh from the API: an owner deleted or replaced (same name, new uid)
/// since the cache saw it must not adopt anything.
pub async fn claim_all<K: Resource, O: Resource>(
    owner: &O,
    selector: &LabelSelector,
    candidates: impl IntoIterator<Item = Arc<K>>,
    api: &Api<K>,
    owner_api: &Api<O>,
) -> Result<Vec<Arc<K>>, ControllerError> {
    let meta = owner.meta();
    let mut owned = Vec::new();
    let mut rechecked = false;
    for object in candidates {
        match claim(&meta.uid, is_deleting(meta), selector, object.meta()) {
            Claim::Owned => owned.push(object),
            Claim::Ignore => {}
            Claim::Release => release(api, &*object, &meta.uid).await?,
            Claim::Adopt => {
                if !rechecked {
                    can_adopt(owner, owner_api).await?;
                    rechecked = true;
                }
                if let Some(adopted) = adopt(api, &*object, owner).await? {
                    owned.push(Arc::new(adopted));
                }
            }
        }
    }
    Ok(owned)
}

/// The `O` in `store` that controls the object with `meta`, when the
/// reference points at the cached one (same uid, not a namesake).
pub fn controller_in<O: Resource>(store: &Store<O>, meta: &ObjectMeta) -> Option<Arc<O>> {
    let reference = controller_of(meta)?;
    if reference.kind != O::INFO.kind {
        return None;
    }
    let owner = store.get(&meta.namespace, &reference.name)?;
    (owner.meta().uid == reference.uid).then_some(owner)
}

/// Keys of the `O`s in `store` (in `meta`'s namespace) whose selector,
/// read by `selector`, matches `meta`'s labels: who may adopt an orphan.
/// An empty selector matches nothing here.
pub fn matching_owners<O: Resource>(
    store: &Store<O>,
    meta: &ObjectMeta,
    selector: impl Fn(&O) -> Option<&capstan_proto::meta::v1::LabelSelector>,
) -> Vec<String> {
    store
        .list_namespace(&meta.namespace)
        .iter()
        .filter(|owner| {
            selector(owner)
                .and_then(|s| LabelSelector::from_proto(s).ok())
                .is_some_and(|s| !s.is_empty() && s.matches(&meta.labels))
        })
        .map(|owner| key_of(owner.meta()))
        .collect()
}

async fn can_adopt<O: Resource>(owner: &O, owner_api: &Api<O>) -> Result<(), ControllerError> {
    let meta = owner.meta();
    let action = format!("re-read {} {}/{} before adopting", O::INFO.kind, meta.namespace, meta.name);
    let fresh = owner_api.get(&meta.name).await.map_err(ControllerError::api(action))?;
    if fresh.meta().uid != meta.uid || is_deleting(fresh.meta()) {
        return Err(ControllerError::Invalid(format!(
            "{} {}/{} is being deleted or was replaced; not adopting",
            O::INFO.kind,
            meta.namespace,
            meta.name
        )));
    }
    Ok(())
}

/// Patch `refs` in as the object's ownerReferences, if it is still at the
/// version it was judged on. `None` when the object is gone.
async fn patch_owners<K: Resource>(
    api: &Api<K>,
    object: &K,
    refs: Vec<OwnerReference>,
    action: &str,
) -> Result<Option<K>, ControllerError> {
    let meta = object.meta();
    let patch = serde_json::json!({
        "metadata": { "ownerReferences": refs, "resourceVersion": meta.resource_version }
    });
    let what = format!("{action} {} {}/{}", K::INFO.kind, meta.namespace, meta.name);
    match api.patch_merge(&meta.name, patch).await {
        Ok(patched) => Ok(Some(patched)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(ControllerError::Api { action: what, source: e }),
    }
}

async fn adopt<K: Resource, O: Resource>(api: &Api<K>, object: &K, owner: &O) -> Result<Option<K>, ControllerError> {
    let mut refs = object.meta().owner_references.clone();
    refs.retain(|r| r.uid != owner.meta().uid);
    refs.push(controller_reference(owner));
    tracing::debug!(kind = K::INFO.kind, name = %object.meta().name, owner = %owner.meta().name, "adopting");
    patch_owners(api, object, refs, "adopt").await
}

async fn release<K: Resource>(api: &Api<K>, object: &K, owner_uid: &str) -> Result<(), ControllerError> {
    let mut refs = object.meta().owner_references.clone();
    refs.retain(|r| r.uid != owner_uid);
    tracing::debug!(kind = K::INFO.kind, name = %object.meta().name, "releasing");
    patch_owners(api, object, refs, "release").await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::meta::v1::Time;

    fn meta(labels: &[(&str, &str)], controller: Option<&str>, deleting: bool) -> ObjectMeta {
        ObjectMeta {
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            owner_references: controller
                .map(|uid| OwnerReference { uid: uid.into(), controller: Some(true), ..Default::default() })
                .into_iter()
                .collect(),
            deletion_timestamp: deleting.then(Time::default),
            ..Default::default()
        }
    }

    #[test]
    fn claim_decides_by_controller_selector_and_deletion() {
        let selector = LabelSelector::parse("app=web").expect("selector");
        let web = [("app", "web")];
        let db = [("app", "db")];
        // (case, object meta, owner deleting, expected)
        let cases = [
            ("owned and matching", meta(&web, Some("me"), false), false, Claim::Owned),
            ("owned, matching, owner deleting", meta(&web, Some("me"), false), true, Claim::Owned),
            ("owned, labels changed", meta(&db, Some("me"), false), false, Claim::Release),
            ("owned, labels changed, owner deleting", meta(&db, Some("me"), false), true, Claim::Ignore),
            ("orphan matching", meta(&web, None, false), false, Claim::Adopt),
            ("orphan being deleted", meta(&web, None, true), false, Claim::Ignore),
            ("orphan, owner deleting", meta(&web, None, false), true, Claim::Ignore),
            ("orphan not matching", meta(&db, None, false), false, Claim::Ignore),
            ("another controller's", meta(&web, Some("other"), false), false, Claim::Ignore),
        ];
        for (case, m, deleting, expected) in cases {
            assert_eq!(claim("me", deleting, &selector, &m), expected, "{case}");
        }
    }

    #[test]
    fn a_plain_owner_reference_is_not_a_controller() {
        let selector = LabelSelector::parse("app=web").expect("selector");
        let mut m = meta(&[("app", "web")], None, false);
        m.owner_references.push(OwnerReference { uid: "gc-only".into(), ..Default::default() });
        assert_eq!(claim("me", false, &selector, &m), Claim::Adopt);
    }
}
