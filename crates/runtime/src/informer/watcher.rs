//! The list-then-watch loop, as an explicit state machine: each step is one
//! call or one stream item, and says where to go next.
//!
//! - `List` lists everything and swaps it into the cache, then watches from
//!   the list's resourceVersion.
//! - `Watch` opens a watch from the last version the cache has seen.
//! - `Streaming` applies events; when the stream ends it re-watches from the
//!   last seen version (no relist); when the version has expired it relists.
//!
//! Every other failure waits on the backoff and retries the same step, so an
//! API server restart is ridden out without losing the cache.

use super::store::Shared;
use capstan_backoff::Backoff;
use capstan_client::Api;
use capstan_client::ClientError;
use capstan_client::ListParams;
use capstan_client::WatchStream;
use capstan_proto::Resource;
use futures::StreamExt;
use std::sync::Arc;

enum Phase<K> {
    List,
    Watch,
    Streaming { stream: WatchStream<K>, received: bool },
}

pub(crate) struct ListWatch<K> {
    pub(crate) api: Api<K>,
    pub(crate) params: ListParams,
    pub(crate) backoff: Backoff,
    pub(crate) shared: Arc<Shared<K>>,
}

impl<K: Resource> ListWatch<K> {
    /// Runs until dropped.
    pub(crate) async fn run(mut self) {
        let mut phase = Phase::List;
        loop {
            phase = self.step(phase).await;
        }
    }

    async fn step(&mut self, phase: Phase<K>) -> Phase<K> {
        match phase {
            Phase::List => match self.list_all().await {
                Ok((items, resource_version)) => {
                    tracing::debug!(kind = K::INFO.kind, count = items.len(), %resource_version, "listed");
                    self.shared.replace(items, resource_version);
                    self.backoff.reset();
                    Phase::Watch
                }
                Err(error) => {
                    self.failed("list", &error).await;
                    Phase::List
                }
            },
            Phase::Watch => {
                let from = self.shared.read().resource_version.clone();
                let params = ListParams { limit: None, continue_token: None, ..self.params.clone() }.bookmarks(true);
                match self.api.watch(&params, &from).await {
                    Ok(stream) => Phase::Streaming { stream, received: false },
                    Err(ClientError::Expired { .. }) => Phase::List,
                    Err(error) => {
                        self.failed("watch", &error).await;
                        Phase::Watch
                    }
                }
            }
            Phase::Streaming { mut stream, received } => match stream.next().await {
                Some(Ok(event)) => {
                    self.shared.apply(event);
                    self.backoff.reset();
                    Phase::Streaming { stream, received: true }
                }
                Some(Err(ClientError::Expired { .. })) => {
                    tracing::debug!(kind = K::INFO.kind, "watch expired; relisting");
                    Phase::List
                }
                Some(Err(error)) => {
                    self.failed("watch stream", &error).await;
                    Phase::Watch
                }
                None => {
                    // A server that closes every watch at once must not make
                    // this loop spin.
                    if !received {
                        tokio::time::sleep(self.backoff.next_delay()).await;
                    }
                    Phase::Watch
                }
            },
        }
    }

    /// Every page of the collection, and the version the list was read at.
    async fn list_all(&self) -> Result<(Vec<K>, String), ClientError> {
        let mut params = ListParams { continue_token: None, ..self.params.clone() };
        let (mut items, meta) = self.api.list(&params).await?;
        let resource_version = meta.resource_version;
        let mut token = meta.r#continue;
        while !token.is_empty() {
            params.continue_token = Some(token);
            let (page, meta) = self.api.list(&params).await?;
            items.extend(page);
            token = meta.r#continue;
        }
        Ok((items, resource_version))
    }

    async fn failed(&mut self, what: &str, error: &ClientError) {
        tracing::warn!(kind = K::INFO.kind, %error, "informer {what} failed; retrying");
        tokio::time::sleep(self.backoff.next_delay()).await;
    }
}
