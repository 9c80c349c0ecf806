//! Embedded watch: replay from the change log, then follow the writer's broadcast.
//!
//! The log is the source of truth and the broadcast only a fast path. Because every write
//! bumps the revision by exactly one and logs exactly one change, a watcher knows the next
//! global revision it must see; anything else tells it what to do:
//! - a broadcast change below that revision was already replayed from the log → skipped
//!   (this is what de-duplicates the subscribe-then-replay overlap);
//! - one above it means a gap (the watcher lagged, or subscribed mid-batch) → re-read the log;
//! - a `Lagged` broadcast error → re-read the log;
//! - the log no longer holding that revision → `Compacted`, and the stream ends.
//!
//! The stream holds only a weak reference to the database so that dropping the store really
//! closes the file (a reopen in the same process would otherwise fail on redb's lock).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use super::tables::Db;
use crate::{Revision, StoreError, WatchEvent, WatchStream};

/// Changes read from the log per read transaction while catching up.
const REPLAY_CHUNK: usize = 512;

pub(crate) struct Watcher {
    pub(crate) db: Weak<Db>,
    pub(crate) path: PathBuf,
    pub(crate) prefix: String,
    pub(crate) live: broadcast::Receiver<Arc<[WatchEvent]>>,
    /// The next revision this watcher has not seen yet.
    pub(crate) next: Revision,
    pub(crate) store_revision: Arc<AtomicI64>,
    pub(crate) progress_interval: Duration,
}

struct State {
    w: Watcher,
    pending: VecDeque<Result<WatchEvent, StoreError>>,
    catch_up: bool,
    done: bool,
    progress_due: Instant,
}

impl Watcher {
    pub(crate) fn into_stream(self) -> WatchStream {
        let state = State {
            progress_due: Instant::now() + self.progress_interval,
            w: self,
            pending: VecDeque::new(),
            catch_up: true,
            done: false,
        };
        futures::stream::unfold(state, State::step).boxed()
    }
}

impl State {
    async fn step(mut self) -> Option<(Result<WatchEvent, StoreError>, State)> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                self.done |= item.is_err();
                self.progress_due = Instant::now() + self.w.progress_interval;
                return Some((item, self));
            }
            if self.done {
                return None;
            }
            if self.catch_up {
                self.replay().await;
                continue;
            }
            tokio::select! {
                received = self.w.live.recv() => match received {
                    Ok(batch) => self.accept(&batch),
                    Err(RecvError::Lagged(_)) => self.catch_up = true,
                    Err(RecvError::Closed) => self.pending.push_back(Err(self.closed())),
                },
                () = tokio::time::sleep_until(self.progress_due) => {
                    // Everything up to next-1 has been seen; never claim past the store itself
                    // (a watch may start "after" a revision the store has not reached).
                    let store = self.w.store_revision.load(Ordering::SeqCst);
                    let revision = (self.w.next - 1).min(store);
                    self.pending.push_back(Ok(WatchEvent::Progress { revision }));
                }
            }
        }
    }

    fn accept(&mut self, batch: &[WatchEvent]) {
        for event in batch {
            let revision = event.revision();
            if revision < self.w.next {
                continue;
            }
            if revision > self.w.next {
                self.catch_up = true;
                return;
            }
            self.deliver(event);
        }
    }

    fn deliver(&mut self, event: &WatchEvent) {
        self.w.next = event.revision() + 1;
        if event.key().is_some_and(|key| key.starts_with(&self.w.prefix)) {
            self.pending.push_back(Ok(event.clone()));
        }
    }

    /// Reads one chunk of the log from `next`; stays in catch-up mode while chunks are full.
    async fn replay(&mut self) {
        let Some(db) = self.w.db.upgrade() else {
            self.pending.push_back(Err(self.closed()));
            return;
        };
        let from = self.w.next;
        let page = tokio::task::spawn_blocking(move || db.changes(from, REPLAY_CHUNK)).await;
        let page = match page {
            Ok(Ok(page)) => page,
            Ok(Err(error)) => return self.pending.push_back(Err(error)),
            Err(join) => {
                let detail = format!("watch replay from {} failed: {join}", self.w.path.display());
                return self.pending.push_back(Err(StoreError::Unavailable(detail)));
            }
        };
        if from <= page.compacted {
            let error = StoreError::Compacted { requested: from - 1, compacted: page.compacted };
            return self.pending.push_back(Err(error));
        }
        self.catch_up = page.changes.len() == REPLAY_CHUNK;
        for event in &page.changes {
            self.deliver(event);
        }
    }

    fn closed(&self) -> StoreError {
        StoreError::Unavailable(format!("embedded store {} was closed", self.w.path.display()))
    }
}
