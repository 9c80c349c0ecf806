//! Waiting for an object to reach a state: read it, then watch it from that
//! revision until a predicate holds, re-reading after a dropped watch. A
//! failed read or watch waits on the back-off first, so a server that is
//! down or refuses every watch is not hammered in a tight loop.
//!
//! The CLI (`rollout status`, `drain`) and integration tests wait this way
//! instead of polling, so they see every intermediate version.

use capstan_backoff::Backoff;
use capstan_client::{Api, ClientError, ListParams, WatchEvent};
use capstan_proto::kinds::Resource;
use futures::StreamExt;
use std::time::Duration;

/// The first delay before a failed read or watch is tried again.
const RETRY_INITIAL: Duration = Duration::from_millis(100);
/// The longest such delay.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// Why a wait ended without the predicate holding.
#[derive(Debug, thiserror::Error)]
pub enum WaitError<K: std::fmt::Debug> {
    #[error("timed out after {timeout:?}")]
    Timeout {
        timeout: Duration,
        /// The last version seen (`None`: absent).
        last: Option<K>,
    },
    #[error(transparent)]
    Api(#[from] ClientError),
}

/// Watch the object `name` of `api` until `done` holds for it (`None` when
/// absent); returns the version that satisfied it.
pub async fn wait_for<K, F>(api: &Api<K>, name: &str, timeout: Duration, mut done: F) -> Result<Option<K>, WaitError<K>>
where
    K: Resource + std::fmt::Debug,
    F: FnMut(Option<&K>) -> bool,
{
    let params = ListParams::default().fields(&format!("metadata.name={name}"));
    let mut last: Option<K> = None;
    let mut backoff = Backoff::new(RETRY_INITIAL, RETRY_MAX);
    let watching = async {
        loop {
            let current = match api.get(name).await {
                Ok(object) => Some(object),
                Err(error) if error.is_not_found() => None,
                Err(error) if error.is_retryable() => {
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            if done(current.as_ref()) {
                return Ok(current);
            }
            let revision = current.as_ref().map(|o| o.meta().resource_version.clone()).unwrap_or_default();
            last = current;
            let mut stream = match api.watch(&params, &revision).await {
                Ok(stream) => stream,
                // the revision read is already gone: read again at once
                Err(ClientError::Expired { .. }) => continue,
                Err(error) if error.is_retryable() => {
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            let mut received = false;
            while let Some(Ok(event)) = stream.next().await {
                received = true;
                backoff.reset();
                let object = match event {
                    WatchEvent::Added(o) | WatchEvent::Modified(o) => Some(o),
                    WatchEvent::Deleted(_) => None,
                    WatchEvent::Bookmark { .. } => continue,
                };
                if done(object.as_ref()) {
                    return Ok(object);
                }
                last = object;
            }
            // a watch that ends (or fails) before any event is a server
            // that cannot serve it now, not a reason to ask again at once
            if !received {
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    };
    match tokio::time::timeout(timeout, watching).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(WaitError::Timeout { timeout, last }),
    }
}
