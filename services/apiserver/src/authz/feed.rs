//! Keeps the authorizers' in-memory indexes in step with the store: the RBAC
//! authorizer with the four RBAC kinds, the Node authorizer with pods.
//!
//! Each index observes the registry's own watch caches (no store watch of its
//! own, no client): it is told of every change under the cache's lock, before
//! any watcher hears of it, so an index is never behind what a client has seen
//! (a kubelet that learns of a pod bound to it may update its status at once).
//! The indexes are filled before the API server serves, so no request is
//! judged by an empty policy.

use crate::error::ApiError;
use crate::registry::Registry;
use capstan_auth::{Fed, Feed};
use capstan_node_authorizer::NodeAuthorizer;
use capstan_proto::api::v1::Object;
use capstan_proto::kinds::{self, KindInfo};
use capstan_rbac::Rbac;

/// The kinds the RBAC authorizer answers from.
pub const RBAC_KINDS: [&KindInfo; 4] =
    [&kinds::ROLE, &kinds::CLUSTER_ROLE, &kinds::ROLE_BINDING, &kinds::CLUSTER_ROLE_BINDING];
/// The kinds the Node authorizer answers from.
pub const NODE_KINDS: [&KindInfo; 1] = [&kinds::POD];

/// The authorizers the door may chain; clones share their indexes.
#[derive(Clone, Default)]
pub struct Authorizers {
    pub rbac: Rbac,
    pub node: NodeAuthorizer,
}

impl Authorizers {
    /// Fills both indexes from the registry's watch caches, which keep them
    /// up to date from then on.
    pub async fn start_feeds(&self, registry: &Registry) -> Result<(), ApiError> {
        feed(registry, &RBAC_KINDS, self.rbac.feed()).await?;
        feed(registry, &NODE_KINDS, self.node.feed()).await
    }
}

async fn feed<S>(registry: &Registry, followed: &[&'static KindInfo], fed: &Fed<S>) -> Result<(), ApiError>
where
    S: Feed<Object> + Send + Sync + 'static,
{
    for info in followed {
        let fed = fed.clone();
        registry.observe(info, Box::new(move |change, object| fed.observe(change.as_str(), object))).await?;
    }
    Ok(())
}
