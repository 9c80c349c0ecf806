//! etcd watch, adapted to the store's watch contract.
//!
//! Two adjustments make etcd behave exactly like the embedded backend:
//! - The watch starts *at* `after` rather than after it and drops the events at `after`
//!   itself. etcd refuses a start revision below its compacted revision, so starting at
//!   `after` makes "after < compacted ⇒ Compacted" hold on both backends (starting at
//!   `after + 1` would still accept `after == compacted - 1`, whose next event is gone).
//! - etcd's own progress notifications come every ten minutes by default, so an idle watch
//!   asks for one (`request_progress`) every progress interval instead.

use std::collections::VecDeque;
use std::time::Duration;

use etcd_client::{Client, EventType, WatchOptions, WatchResponse};
use futures::StreamExt;
use tokio::time::Instant;

use super::convert::{key_value, Op};
use crate::{KeyValue, Revision, StoreError, WatchEvent, WatchStream};

pub(crate) async fn start(
    client: Client,
    op: Op<'_>,
    after: Revision,
    progress_interval: Duration,
) -> Result<WatchStream, StoreError> {
    // Revision 0 would mean "from now" to etcd; 1 is the first revision etcd ever has.
    let options =
        WatchOptions::new().with_prefix().with_prev_key().with_progress_notify().with_start_revision(after.max(1));
    let mut watch_client = client.watch_client();
    let stream = watch_client.watch(op.key, Some(options)).await.map_err(|e| op.err(e))?;
    let state = State {
        stream,
        after,
        delivered: after,
        prefix: op.key.to_owned(),
        endpoints: op.endpoints.to_owned(),
        pending: VecDeque::new(),
        done: false,
        progress_interval,
        progress_due: Instant::now() + progress_interval,
    };
    Ok(futures::stream::unfold(state, State::step).boxed())
}

struct State {
    stream: etcd_client::WatchStream,
    /// The revision the caller asked to watch after (for the Compacted error).
    after: Revision,
    /// Highest revision handed to the caller; events at or below it are dropped.
    delivered: Revision,
    prefix: String,
    endpoints: String,
    pending: VecDeque<Result<WatchEvent, StoreError>>,
    done: bool,
    progress_interval: Duration,
    progress_due: Instant,
}

impl State {
    async fn step(mut self) -> Option<(Result<WatchEvent, StoreError>, State)> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                self.done |= item.is_err();
                self.progress_due = Instant::now() + self.progress_interval;
                return Some((item, self));
            }
            if self.done {
                return None;
            }
            tokio::select! {
                message = self.stream.message() => match message {
                    Ok(Some(response)) => self.accept(response),
                    Ok(None) => {
                        let detail = format!("etcd at {} closed the watch on {}", self.endpoints, self.prefix);
                        self.pending.push_back(Err(StoreError::Unavailable(detail)));
                    }
                    Err(e) => {
                        let op = Op { name: "watch", key: &self.prefix, endpoints: &self.endpoints };
                        self.pending.push_back(Err(op.err(e)));
                    }
                },
                () = tokio::time::sleep_until(self.progress_due) => {
                    self.progress_due = Instant::now() + self.progress_interval;
                    if let Err(e) = self.stream.request_progress().await {
                        let op = Op { name: "watch progress request", key: &self.prefix, endpoints: &self.endpoints };
                        self.pending.push_back(Err(op.err(e)));
                    }
                }
            }
        }
    }

    fn accept(&mut self, response: WatchResponse) {
        if response.compact_revision() > 0 {
            let compacted = response.compact_revision();
            self.pending.push_back(Err(StoreError::Compacted { requested: self.after, compacted }));
            return;
        }
        if response.canceled() {
            let op = Op { name: "watch", key: &self.prefix, endpoints: &self.endpoints };
            let detail = format!("etcd canceled the watch: {}", response.cancel_reason());
            self.pending.push_back(Err(StoreError::Etcd { op: op.name, key: self.prefix.clone(), detail }));
            return;
        }
        if response.events().is_empty() {
            // The "created" acknowledgement carries nothing; any other empty response is a
            // progress notification: everything up to the header revision was sent.
            if let (false, Some(header)) = (response.created(), response.header()) {
                self.pending.push_back(Ok(WatchEvent::Progress { revision: header.revision() }));
            }
            return;
        }
        for event in response.events() {
            let converted = match event.kv().map(key_value) {
                Some(Ok(kv)) => kv,
                Some(Err(error)) => {
                    self.pending.push_back(Err(error));
                    return;
                }
                None => continue,
            };
            if converted.mod_revision <= self.delivered {
                continue;
            }
            let prev = match event.prev_kv().map(key_value).transpose() {
                Ok(prev) => prev,
                Err(error) => {
                    self.pending.push_back(Err(error));
                    return;
                }
            };
            self.delivered = converted.mod_revision;
            self.pending.push_back(Ok(match event.event_type() {
                EventType::Put => WatchEvent::Put { kv: converted, prev },
                EventType::Delete => deleted(converted, prev),
            }));
        }
    }
}

/// etcd's delete event carries the key and the delete revision in `kv` and the deleted
/// value in `prev_kv` (absent only if that value was already compacted away).
fn deleted(tombstone: KeyValue, prev: Option<KeyValue>) -> WatchEvent {
    let revision = tombstone.mod_revision;
    let prev = prev.unwrap_or_else(|| {
        tracing::warn!(key = %tombstone.key, revision, "etcd delete event without the deleted value");
        KeyValue { value: bytes::Bytes::new(), create_revision: 0, mod_revision: 0, ..tombstone.clone() }
    });
    WatchEvent::Delete { key: tombstone.key, revision, prev }
}

/// What happened next to a key, for telling whether a lost delete applied.
pub(crate) enum Change {
    Put,
    Deleted { revision: Revision, prev: KeyValue },
}

/// The first change to the key `op` names after revision `after`, from etcd's history (the
/// caller knows there is one). A one-off watch: it is dropped, and so cancelled, on return.
pub(crate) async fn first_change(client: Client, op: Op<'_>, after: Revision) -> Result<Change, StoreError> {
    let options = WatchOptions::new().with_prev_key().with_start_revision(after + 1);
    let mut stream = client.watch_client().watch(op.key, Some(options)).await.map_err(|e| op.err(e))?;
    loop {
        let Some(response) = stream.message().await.map_err(|e| op.err(e))? else {
            let detail = format!("etcd at {} closed the watch on {}", op.endpoints, op.key);
            return Err(StoreError::Unavailable(detail));
        };
        if response.compact_revision() > 0 {
            return Err(StoreError::Compacted { requested: after, compacted: response.compact_revision() });
        }
        let Some(event) = response.events().first() else { continue };
        let (Some(kv), EventType::Delete) = (event.kv(), event.event_type()) else { return Ok(Change::Put) };
        let Some(prev) = event.prev_kv().map(key_value).transpose()? else { return Ok(Change::Put) };
        return Ok(Change::Deleted { revision: kv.mod_revision(), prev });
    }
}
