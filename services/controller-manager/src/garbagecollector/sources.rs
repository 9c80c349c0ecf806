//! Where the collector sees each stored kind from.
//!
//! Any object may own any other, so the graph must hear about every kind
//! the API stores. The informer is typed, so each kind has a typed source:
//! the shared caches of the context where they exist, and the collector's
//! own informers for the kinds no other controller reads (Events, the RBAC
//! kinds, and Leases in every namespace — the context only watches the node
//! Leases).
//! [`Source::for_kind`] is checked against `STORED_KINDS` in the tests, so
//! a kind added to the API without a source here fails them.

use super::graph::Node;
use crate::context::{informer, Context};
use capstan_proto::coordination::v1::Lease;
use capstan_proto::core::v1::Event;
use capstan_proto::kinds::{self, KindInfo, Resource};
use capstan_proto::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use capstan_runtime::informer::{InformerEvent, InformerHandle};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// One stored kind's cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Pods,
    Namespaces,
    Nodes,
    Services,
    Endpoints,
    Events,
    ReplicaSets,
    Deployments,
    Leases,
    Hpas,
    Roles,
    ClusterRoles,
    RoleBindings,
    ClusterRoleBindings,
    EndpointSlices,
}

impl Source {
    /// The source of `kind`, if the collector has one.
    pub fn for_kind(kind: &KindInfo) -> Option<Source> {
        Some(match kind.kind {
            "Pod" => Source::Pods,
            "Namespace" => Source::Namespaces,
            "Node" => Source::Nodes,
            "Service" => Source::Services,
            "Endpoints" => Source::Endpoints,
            "Event" => Source::Events,
            "ReplicaSet" => Source::ReplicaSets,
            "Deployment" => Source::Deployments,
            "Lease" => Source::Leases,
            "HorizontalPodAutoscaler" => Source::Hpas,
            "Role" => Source::Roles,
            "ClusterRole" => Source::ClusterRoles,
            "RoleBinding" => Source::RoleBindings,
            "ClusterRoleBinding" => Source::ClusterRoleBindings,
            "EndpointSlice" => Source::EndpointSlices,
            _ => return None,
        })
    }
}

/// A change to one object, as the graph takes it.
#[derive(Debug)]
pub enum Change {
    Upsert(Node),
    Remove(String),
    /// the source's first list has been delivered
    Synced,
}

/// The informers only the collector needs.
pub struct OwnInformers {
    events: InformerHandle<Event>,
    leases: InformerHandle<Lease>,
    roles: InformerHandle<Role>,
    cluster_roles: InformerHandle<ClusterRole>,
    role_bindings: InformerHandle<RoleBinding>,
    cluster_role_bindings: InformerHandle<ClusterRoleBinding>,
}

impl OwnInformers {
    pub fn start(ctx: &Context, tasks: &mut JoinSet<()>, stop: &CancellationToken) -> Self {
        OwnInformers {
            events: informer(&ctx.client, None, tasks, stop),
            leases: informer(&ctx.client, None, tasks, stop),
            roles: informer(&ctx.client, None, tasks, stop),
            cluster_roles: informer(&ctx.client, None, tasks, stop),
            role_bindings: informer(&ctx.client, None, tasks, stop),
            cluster_role_bindings: informer(&ctx.client, None, tasks, stop),
        }
    }
}

/// Start forwarding every stored kind's changes into `changes`; answers how
/// many sources will each send one [`Change::Synced`].
pub fn forward_all(
    ctx: &Context,
    own: &OwnInformers,
    changes: &mpsc::UnboundedSender<Change>,
    tasks: &mut JoinSet<()>,
) -> usize {
    let mut count = 0;
    for kind in kinds::STORED_KINDS {
        let Some(source) = Source::for_kind(kind) else {
            tracing::error!(
                kind = kind.kind,
                "the garbage collector has no source for this kind; its objects are not collected"
            );
            continue;
        };
        let tx = changes.clone();
        match source {
            Source::Pods => tasks.spawn(forward(ctx.pods.clone(), tx)),
            Source::Namespaces => tasks.spawn(forward(ctx.namespaces.clone(), tx)),
            Source::Nodes => tasks.spawn(forward(ctx.nodes.clone(), tx)),
            Source::Services => tasks.spawn(forward(ctx.services.clone(), tx)),
            Source::Endpoints => tasks.spawn(forward(ctx.endpoints.clone(), tx)),
            Source::Events => tasks.spawn(forward(own.events.clone(), tx)),
            Source::ReplicaSets => tasks.spawn(forward(ctx.replica_sets.clone(), tx)),
            Source::Deployments => tasks.spawn(forward(ctx.deployments.clone(), tx)),
            Source::Leases => tasks.spawn(forward(own.leases.clone(), tx)),
            Source::Hpas => tasks.spawn(forward(ctx.hpas.clone(), tx)),
            Source::Roles => tasks.spawn(forward(own.roles.clone(), tx)),
            Source::ClusterRoles => tasks.spawn(forward(own.cluster_roles.clone(), tx)),
            Source::RoleBindings => tasks.spawn(forward(own.role_bindings.clone(), tx)),
            Source::ClusterRoleBindings => tasks.spawn(forward(own.cluster_role_bindings.clone(), tx)),
            Source::EndpointSlices => tasks.spawn(forward(ctx.endpoint_slices.clone(), tx)),
        };
        count += 1;
    }
    count
}

/// Turns one informer's events into graph changes until it stops.
async fn forward<K: Resource>(handle: InformerHandle<K>, changes: mpsc::UnboundedSender<Change>) {
    let mut events = handle.subscribe();
    while let Some(event) = events.recv().await {
        let change = match event {
            InformerEvent::Added(o) | InformerEvent::Resync(o) | InformerEvent::Modified { new: o, .. } => {
                Change::Upsert(Node::of(o.as_ref()))
            }
            InformerEvent::Deleted(o) => Change::Remove(o.meta().uid.clone()),
            InformerEvent::Synced => Change::Synced,
        };
        if changes.send(change).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_kind_has_a_source() {
        let mut seen = Vec::new();
        for kind in kinds::STORED_KINDS {
            let source = Source::for_kind(kind);
            assert!(source.is_some(), "no garbage-collector source for {}", kind.kind);
            assert!(!seen.contains(&source), "two kinds share the source {source:?}");
            seen.push(source);
        }
        assert_eq!(Source::for_kind(&kinds::SCALE), None, "subresource bodies are not stored");
    }
}
