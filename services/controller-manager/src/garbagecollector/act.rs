//! The collector's reads and writes, on any kind, through the client's
//! dynamic calls on the `Object` envelope.
//!
//! Every write starts from a live read and carries its resourceVersion and
//! uid, so a write based on a stale view is refused (and retried from
//! fresher state) rather than applied to a newer object of the same name.

use super::decide::OwnerState;
use super::graph::{Identity, Node};
use crate::error::ControllerError;
use capstan_client::{resource_ref, Client, DeleteParams, PropagationPolicy};
use capstan_proto::api::v1::{ListOptions, Object};
use capstan_proto::kinds::{self, KindInfo};
use capstan_proto::meta::v1::OwnerReference;
use capstan_proto::ObjectExt;

/// Objects per page when scanning a kind for dependents.
const PAGE: i64 = 500;

/// Where the owner a reference names lives: its kind, and its namespace (the
/// dependent's, for a namespaced kind). `None` when the reference cannot be
/// resolved: a kind the API does not store, or a namespaced owner named by
/// a cluster-scoped dependent.
pub fn owner_location(dependent: &Identity, reference: &OwnerReference) -> Option<(&'static KindInfo, String)> {
    let kind = kinds::by_api_version_kind(&reference.api_version, &reference.kind)
        .filter(|k| kinds::STORED_KINDS.contains(k))?;
    match (kind.namespaced, dependent.namespace.is_empty()) {
        (false, _) => Some((kind, String::new())),
        (true, true) => None,
        (true, false) => Some((kind, dependent.namespace.clone())),
    }
}

/// The object `id` names as it is now, if it still exists with that uid.
pub async fn live(client: &Client, id: &Identity) -> Result<Option<Object>, ControllerError> {
    match client.get(resource_ref(id.kind, &id.namespace, &id.name)).await {
        Ok(object) if object.meta().uid == id.uid => Ok(Some(object)),
        Ok(_) => Ok(None),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(ControllerError::Api { action: format!("get {id}"), source: error }),
    }
}

/// The state of the owner `reference` names, read from the API server.
pub async fn owner_state(
    client: &Client,
    dependent: &Identity,
    reference: &OwnerReference,
) -> Result<OwnerState, ControllerError> {
    let Some((kind, namespace)) = owner_location(dependent, reference) else {
        return Ok(OwnerState::Unresolvable);
    };
    let owner = Identity { kind, namespace, name: reference.name.clone(), uid: reference.uid.clone() };
    Ok(match live(client, &owner).await? {
        None => OwnerState::Absent,
        Some(object) => OwnerState::of(&Node::from_meta(kind, object.meta())),
    })
}

/// Deletes `id` (only that uid) with `policy` for its own dependents.
pub async fn delete(client: &Client, id: &Identity, policy: PropagationPolicy) -> Result<(), ControllerError> {
    let params = DeleteParams { precondition_uid: Some(id.uid.clone()), ..Default::default() }.propagation(policy);
    match client.delete(resource_ref(id.kind, &id.namespace, &id.name), &params).await {
        Ok(_) => {
            tracing::info!(object = %id, policy = policy.as_str(), "deleted dependent");
            Ok(())
        }
        Err(error) if error.is_not_found() => Ok(()),
        Err(error) => Err(ControllerError::Api { action: format!("delete {id}"), source: error }),
    }
}

/// Writes `object` (read live) back after `change` edited its metadata; a
/// no-op edit writes nothing.
async fn rewrite(
    client: &Client,
    id: &Identity,
    mut object: Object,
    what: &str,
    change: impl FnOnce(&mut capstan_proto::meta::v1::ObjectMeta) -> bool,
) -> Result<(), ControllerError> {
    let Some(meta) = object.meta_mut() else { return Ok(()) };
    if !change(meta) {
        return Ok(());
    }
    match client.update(resource_ref(id.kind, &id.namespace, &id.name), object).await {
        Ok(_) => {
            tracing::info!(object = %id, "{what}");
            Ok(())
        }
        Err(error) if error.is_not_found() => Ok(()),
        Err(error) => Err(ControllerError::Api { action: format!("{what} on {id}"), source: error }),
    }
}

/// Removes the references to `owner_uids` from `object`, read live.
pub async fn drop_references(
    client: &Client,
    id: &Identity,
    object: Object,
    owner_uids: &[String],
) -> Result<(), ControllerError> {
    rewrite(client, id, object, "dropped owner references", |meta| {
        let before = meta.owner_references.len();
        meta.owner_references.retain(|r| !owner_uids.contains(&r.uid));
        meta.owner_references.len() != before
    })
    .await
}

/// Removes `finalizer` from the object `id` names, if it is still there.
pub async fn remove_finalizer(client: &Client, id: &Identity, finalizer: &str) -> Result<(), ControllerError> {
    let Some(object) = live(client, id).await? else { return Ok(()) };
    rewrite(client, id, object, &format!("removed finalizer {finalizer}"), |meta| {
        let before = meta.finalizers.len();
        meta.finalizers.retain(|f| f != finalizer);
        meta.finalizers.len() != before
    })
    .await
}

/// Every object that names `owner` as an owner, read live from every kind in
/// the namespaces that may hold one: the graph's caches can lag, and an
/// owner must not be released (or orphaning finished) on a lagging view.
pub async fn live_dependents(client: &Client, owner: &Identity) -> Result<Vec<(Identity, Object)>, ControllerError> {
    let mut found = Vec::new();
    for kind in kinds::STORED_KINDS {
        // a namespaced owner holds dependents in its namespace only; a
        // cluster-scoped owner anywhere
        let namespace = match (owner.kind.namespaced, kind.namespaced) {
            (true, false) => continue,
            (true, true) => owner.namespace.as_str(),
            (false, _) => "",
        };
        let mut token = String::new();
        loop {
            let options = ListOptions { limit: PAGE, r#continue: token.clone(), ..Default::default() };
            let list = client
                .list(resource_ref(kind, namespace, ""), options)
                .await
                .map_err(ControllerError::api(format!("list {} to find the dependents of {owner}", kind.resource)))?;
            for object in list.items {
                if object.meta().owner_references.iter().any(|r| r.uid == owner.uid) {
                    let meta = object.meta();
                    let id = Identity {
                        kind,
                        namespace: meta.namespace.clone(),
                        name: meta.name.clone(),
                        uid: meta.uid.clone(),
                    };
                    found.push((id, object));
                }
            }
            token = list.metadata.map(|m| m.r#continue).unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::{NODE, POD};

    fn reference(api_version: &str, kind: &str) -> OwnerReference {
        OwnerReference {
            api_version: api_version.into(),
            kind: kind.into(),
            name: "o".into(),
            uid: "u".into(),
            ..Default::default()
        }
    }

    fn id(kind: &'static KindInfo, namespace: &str) -> Identity {
        Identity { kind, namespace: namespace.into(), name: "d".into(), uid: "d".into() }
    }

    #[test]
    fn owners_resolve_by_api_version_kind_and_scope() {
        let pod = id(&POD, "team");
        let rs = owner_location(&pod, &reference("apps/v1", "ReplicaSet")).map(|(k, ns)| (k.kind, ns));
        assert_eq!(rs, Some(("ReplicaSet", "team".to_string())), "a namespaced owner lives with its dependent");
        let node = owner_location(&pod, &reference("v1", "Node")).map(|(k, ns)| (k.kind, ns));
        assert_eq!(node, Some(("Node", String::new())), "a cluster-scoped owner has no namespace");
        assert_eq!(owner_location(&pod, &reference("apps/v1", "StatefulSet")), None, "a kind the API lacks");
        assert_eq!(owner_location(&pod, &reference("extensions/v1beta1", "ReplicaSet")), None, "another version");
        assert_eq!(owner_location(&pod, &reference("autoscaling/v1", "Scale")), None, "not a stored kind");
        let cluster = id(&NODE, "");
        assert_eq!(
            owner_location(&cluster, &reference("apps/v1", "ReplicaSet")),
            None,
            "a namespaced owner of a cluster-scoped object"
        );
    }
}
