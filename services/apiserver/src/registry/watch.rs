//! Client watch streams, served from the kind's watch cache.
//!
//! Each stream replays what the client missed, then follows the broadcast,
//! translating changes through the client's selectors the way Kubernetes
//! does: an object that starts matching is ADDED, one that stops matching is
//! DELETED. Bookmarks carry the newest revision so a quiet watch can resume
//! cheaply.

use super::list::Filter;
use super::Registry;
use crate::error::ApiError;
use crate::watch_cache::{CacheEvent, CacheMessage, EventType, WatchCache};
use capstan_proto::api::v1::{Object, WatchEvent};
use capstan_proto::object::decode_body;
use capstan_proto::{KindInfo, ObjectExt};
use capstan_store::Revision;
use futures::stream::{self, Stream};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct WatchParams {
    pub label_selector: String,
    pub field_selector: String,
    /// "" or "0": the current state as ADDED events, then changes
    pub resource_version: String,
    pub allow_bookmarks: bool,
    pub timeout: Option<Duration>,
}

struct WatchState {
    cache: Arc<WatchCache>,
    filter: Filter,
    pending: VecDeque<Arc<CacheEvent>>,
    receiver: tokio::sync::broadcast::Receiver<CacheMessage>,
    last: Revision,
    bookmarks: bool,
    deadline: Option<Instant>,
    done: bool,
}

impl Registry {
    pub fn watch(
        &self,
        info: &'static KindInfo,
        namespace: &str,
        params: &WatchParams,
    ) -> Result<impl Stream<Item = Result<WatchEvent, ApiError>> + Send + 'static, ApiError> {
        let filter = Filter::new(info, namespace, &params.label_selector, &params.field_selector)?;
        let from = match params.resource_version.as_str() {
            "" | "0" => None,
            text => super::parse_revision(text)?,
        };
        let cache = self.cache(info)?.clone();
        let subscription = cache.subscribe(from)?;
        let state = WatchState {
            cache,
            filter,
            pending: subscription.backlog.into(),
            receiver: subscription.receiver,
            // the initial ADDED events bring the watcher to the snapshot's revision
            last: from.unwrap_or(subscription.revision),
            bookmarks: params.allow_bookmarks,
            deadline: params.timeout.map(|t| Instant::now() + t),
            done: false,
        };
        let initial = from.is_none();
        Ok(stream::unfold((state, initial), |(mut state, mut initial)| async move {
            if state.done {
                return None;
            }
            let item = next_event(&mut state, &mut initial).await?;
            if item.is_err() {
                state.done = true;
            }
            Some((item, (state, initial)))
        }))
    }
}

async fn next_event(state: &mut WatchState, initial: &mut bool) -> Option<Result<WatchEvent, ApiError>> {
    loop {
        if let Some(event) = state.pending.pop_front() {
            // the initial state's ADDED events carry older revisions than
            // the cache's; only live changes advance `last`
            if !*initial && event.revision <= state.last {
                continue;
            }
            if !*initial {
                state.last = event.revision;
            }
            if let Some(out) = translate(&state.filter, &event) {
                return Some(Ok(out));
            }
            continue;
        }
        *initial = false;
        let received = match state.deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, state.receiver.recv()).await {
                Ok(r) => r,
                Err(_) => return None,
            },
            None => state.receiver.recv().await,
        };
        match received {
            Ok(CacheMessage::Event(event)) => state.pending.push_back(event),
            Ok(CacheMessage::Progress(revision)) => {
                if revision > state.last {
                    state.last = revision;
                    if state.bookmarks {
                        return Some(Ok(bookmark(state.cache.info, revision)));
                    }
                }
            }
            Ok(CacheMessage::Reset) => {
                return Some(Err(ApiError::Expired { requested: state.last, oldest: state.cache.revision() }))
            }
            Err(RecvError::Lagged(_)) => match state.cache.catch_up(state.last) {
                Ok(events) => state.pending.extend(events),
                Err(err) => return Some(Err(err)),
            },
            Err(RecvError::Closed) => return None,
        }
    }
}

fn translate(filter: &Filter, event: &CacheEvent) -> Option<WatchEvent> {
    let now = filter.matches(&event.object);
    let before = event.prev.as_ref().is_some_and(|p| filter.matches(p));
    let kind = match event.kind {
        EventType::Added if now => EventType::Added,
        EventType::Modified if now && before => EventType::Modified,
        EventType::Modified if now => EventType::Added,
        EventType::Modified if before => EventType::Deleted,
        EventType::Deleted if now || before => EventType::Deleted,
        _ => return None,
    };
    Some(WatchEvent { r#type: kind.as_str().to_string(), object: Some((*event.object).clone()) })
}

fn bookmark(info: &KindInfo, revision: Revision) -> WatchEvent {
    let mut object = decode_body(info, &[]).unwrap_or(Object { kind: None });
    if let Some(meta) = object.meta_mut() {
        meta.resource_version = revision.to_string();
    }
    WatchEvent { r#type: "BOOKMARK".into(), object: Some(object) }
}
