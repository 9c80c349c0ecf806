//! A page load: each source of a view listed once, concurrently, with the
//! signed-in user's client. A list the API server refuses becomes the
//! section's "may not" sentence; a token it no longer accepts sends the
//! person back to the sign-in form.

use std::sync::Arc;

use capstan_client::{Client, ClientError, ListParams};
use capstan_proto::core::v1::Namespace;
use capstan_proto::Resource;

use crate::view::{Listed, Objects, Scope, Source, ViewName};

/// The API server did not accept the token (expired, removed, mistyped).
#[derive(Debug, Clone)]
pub struct SignedOut(pub String);

/// What a refused or failed call means for a section.
pub fn refusal(source: Source, verb: &str, scope: &Scope, error: &ClientError) -> Result<String, SignedOut> {
    match error {
        ClientError::Unauthenticated { message } => Err(SignedOut(message.clone())),
        ClientError::Forbidden { .. } => Ok(source.may_not(verb, scope)),
        other => Ok(format!("Could not {verb} {}: {other}", source.info().resource)),
    }
}

async fn list<K: Resource>(client: &Client, source: Source, scope: &Scope) -> Result<Listed<K>, SignedOut> {
    let api = client.api::<K>(source.scope(scope).namespace());
    match api.list(&ListParams::default()).await {
        Ok((items, _)) => Ok(Ok(items.into_iter().map(Arc::new).collect())),
        Err(error) => refusal(source, "list", scope, &error).map(Err),
    }
}

/// Every source of `view`, listed now.
pub async fn objects(client: &Client, view: ViewName, scope: &Scope) -> Result<Objects, SignedOut> {
    let mut objects = Objects::default();
    match view {
        ViewName::Workloads => {
            let (deployments, replica_sets, pods) = tokio::join!(
                list(client, Source::Deployments, scope),
                list(client, Source::ReplicaSets, scope),
                list(client, Source::Pods, scope),
            );
            objects.deployments = Some(deployments?);
            objects.replica_sets = Some(replica_sets?);
            objects.pods = Some(pods?);
        }
        ViewName::Services => {
            let (services, endpoints) =
                tokio::join!(list(client, Source::Services, scope), list(client, Source::Endpoints, scope));
            objects.services = Some(services?);
            objects.endpoints = Some(endpoints?);
        }
        ViewName::Nodes => {
            let (nodes, pods) =
                tokio::join!(list(client, Source::Nodes, scope), list(client, Source::PodsEverywhere, scope));
            objects.nodes = Some(nodes?);
            objects.pods_everywhere = Some(pods?);
        }
        ViewName::Events => objects.events = Some(list(client, Source::Events, scope).await?),
    }
    Ok(objects)
}

/// The namespaces the picker offers; none when the user may not list them.
pub async fn namespaces(client: &Client) -> Result<Vec<String>, SignedOut> {
    match client.api::<Namespace>(None).list(&ListParams::default()).await {
        Ok((items, _)) => {
            let mut names: Vec<String> = items.iter().map(|n| n.meta().name.clone()).collect();
            names.sort();
            Ok(names)
        }
        Err(ClientError::Unauthenticated { message }) => Err(SignedOut(message)),
        Err(_) => Ok(Vec::new()),
    }
}

/// Whether `name` exists: `Some(false)` only when the API server says it
/// does not; `None` when the user may not ask (the lists will say what
/// they may see).
pub async fn namespace_exists(client: &Client, name: &str) -> Result<Option<bool>, SignedOut> {
    match client.api::<Namespace>(None).get(name).await {
        Ok(_) => Ok(Some(true)),
        Err(ClientError::NotFound { .. }) => Ok(Some(false)),
        Err(ClientError::Unauthenticated { message }) => Err(SignedOut(message)),
        Err(_) => Ok(None),
    }
}

/// `jane (dev, ops)`: who the API server takes the token's holder to be.
pub async fn who(client: &Client) -> Result<String, SignedOut> {
    match client.self_subject_review().await {
        Ok(review) => {
            let user = review.status.and_then(|s| s.user_info).unwrap_or_default();
            let groups: Vec<&str> =
                (user.groups.iter().map(String::as_str)).filter(|g| !matches!(*g, "system:authenticated")).collect();
            Ok(match groups.is_empty() {
                true => user.username,
                false => format!("{} ({})", user.username, groups.join(", ")),
            })
        }
        Err(ClientError::Unauthenticated { message }) => Err(SignedOut(message)),
        Err(error) => Ok(format!("(who you are is unknown: {error})")),
    }
}
