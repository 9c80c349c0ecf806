//! Keeps the authorizers' in-memory indexes in step with the store: the RBAC
//! authorizer with the four RBAC kinds, the Node authorizer with pods.
//!
//! The feed reads the registry's own watch caches (no store watch of its own,
//! no client): a list of every kind it follows, swapped into the index at once,
//! then the watches from that list's revision. The first list is done before the
//! API server serves, so no request is judged by an empty policy; a watch that
//! ends or fails (an expired revision, a lagging reader) is relisted after the
//! workspace's back-off, and the relist replaces the index whole.

use crate::error::ApiError;
use crate::registry::{ListParams, Registry, WatchParams};
use capstan_auth::{Fed, Feed};
use capstan_backoff::Backoff;
use capstan_node_authorizer::NodeAuthorizer;
use capstan_proto::api::v1::Object;
use capstan_proto::kinds::{self, KindInfo};
use capstan_rbac::Rbac;
use futures::stream::{self, StreamExt};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

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
    /// Fills both indexes from the registry, then keeps them up to date until
    /// `shutdown`.
    pub async fn start_feeds(&self, registry: &Arc<Registry>, shutdown: &CancellationToken) -> Result<(), ApiError> {
        start(registry.clone(), &RBAC_KINDS, self.rbac.feed().clone(), shutdown.clone()).await?;
        start(registry.clone(), &NODE_KINDS, self.node.feed().clone(), shutdown.clone()).await
    }
}

/// Lists `followed` into `fed` now, then follows their changes in a task.
async fn start<S>(
    registry: Arc<Registry>,
    followed: &'static [&'static KindInfo],
    fed: Fed<S>,
    shutdown: CancellationToken,
) -> Result<(), ApiError>
where
    S: Feed<Object> + Send + Sync + 'static,
{
    let mut revisions = relist(&registry, followed, &fed).await?;
    tokio::spawn(async move {
        let mut backoff = Backoff::default();
        loop {
            let ended = tokio::select! {
                _ = shutdown.cancelled() => return,
                ended = follow(&registry, followed, &fed, &revisions) => ended,
            };
            if let Err(error) = ended {
                tracing::warn!(%error, "an authorizer's watch failed; relisting");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(backoff.next_delay()) => {}
            }
            match relist(&registry, followed, &fed).await {
                Ok(fresh) => {
                    revisions = fresh;
                    backoff.reset();
                }
                Err(error) => tracing::warn!(%error, "an authorizer's relist failed; retrying"),
            }
        }
    });
    Ok(())
}

/// Replaces the index with every object of `followed`; the revision of each
/// kind's list, to watch from.
async fn relist<S: Feed<Object>>(
    registry: &Registry,
    followed: &[&'static KindInfo],
    fed: &Fed<S>,
) -> Result<Vec<String>, ApiError> {
    let mut objects = Vec::new();
    let mut revisions = Vec::new();
    for info in followed {
        let (items, meta) = registry.list(info, "", &ListParams::default()).await?;
        objects.extend(items);
        revisions.push(meta.resource_version);
    }
    fed.replace(objects);
    Ok(revisions)
}

/// Feeds every change after `revisions` until a watch ends or fails.
async fn follow<S: Feed<Object>>(
    registry: &Registry,
    followed: &[&'static KindInfo],
    fed: &Fed<S>,
    revisions: &[String],
) -> Result<(), ApiError> {
    let mut watches = Vec::new();
    for (info, revision) in followed.iter().zip(revisions) {
        let params = WatchParams { resource_version: revision.clone(), ..WatchParams::default() };
        watches.push(registry.watch(info, "", &params)?.boxed());
    }
    let mut events = stream::select_all(watches);
    while let Some(event) = events.next().await {
        let event = event?;
        if let Some(object) = &event.object {
            fed.observe(&event.r#type, object);
        }
    }
    Ok(())
}
