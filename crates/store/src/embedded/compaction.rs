//! Automatic change-log compaction: what keeps the embedded store bounded under churn.
//!
//! Every write appends to the change log, so a cluster that rewrites the same few objects
//! forever (node heartbeats, leases, status updates) would grow the file without limit — the
//! failure k3s users hit with a 12 GB SQLite store. The writer therefore enforces two
//! retention rules at the end of every batch, inside the same transaction:
//!
//! - at most `retain_revisions` changes are kept (trimmed in steps of a tenth so each batch
//!   does not pay for a one-row delete), a hard bound on the log's size;
//! - changes older than `retain_for` are dropped (checked every so often, and also when idle).
//!
//! Freed pages are reused by redb, so the file stops growing once the log is trimmed.

use std::time::{Duration, Instant};

use redb::ReadableTable;

use super::batch::Batch;
use super::codec;
use super::tables::Db;
use super::writer::unix_millis;
use super::EmbeddedOptions;
use crate::{Revision, StoreError};

pub(crate) struct Retention {
    revisions: Option<i64>,
    max_age: Option<Duration>,
    sweep_every: Duration,
    next_sweep: Instant,
}

impl Retention {
    pub(crate) fn new(options: &EmbeddedOptions) -> Self {
        let sweep_every = options
            .retain_for
            .map(|age| (age / 10).clamp(Duration::from_millis(100), Duration::from_secs(60)))
            .unwrap_or(Duration::MAX);
        Retention {
            revisions: options.retain_revisions.map(|n| i64::try_from(n.max(1)).unwrap_or(i64::MAX)),
            max_age: options.retain_for,
            sweep_every,
            next_sweep: Instant::now(),
        }
    }

    /// How long an idle writer may sleep before age-based retention needs a look.
    pub(crate) fn idle_wake(&self) -> Duration {
        self.sweep_every.min(Duration::from_secs(5))
    }

    pub(crate) fn time_sweep_due(&self, now: Instant) -> bool {
        self.max_age.is_some() && now >= self.next_sweep
    }

    pub(crate) fn enforce(&mut self, db: &Db, batch: &mut Batch<'_>, now: Instant) -> Result<(), StoreError> {
        if let Some(keep) = self.revisions {
            let slack = (keep / 10).max(1);
            if batch.revision - batch.compacted > keep.saturating_add(slack) {
                batch.compact_to(db, batch.revision - keep)?;
            }
        }
        if let (Some(max_age), true) = (self.max_age, self.time_sweep_due(now)) {
            self.next_sweep = now + self.sweep_every;
            let cutoff = unix_millis().saturating_sub(i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX));
            if let Some(target) = newest_older_than(db, batch, cutoff)? {
                batch.compact_to(db, target)?;
            }
        }
        Ok(())
    }
}

/// The newest logged revision written before `cutoff_millis` (log order is write order, so
/// the scan stops at the first younger entry).
fn newest_older_than(db: &Db, batch: &Batch<'_>, cutoff_millis: i64) -> Result<Option<Revision>, StoreError> {
    let what = "scan the change log for expired changes";
    let mut newest = None;
    for entry in batch.log.iter().map_err(db.err(what))? {
        let (revision, raw) = entry.map_err(db.err(what))?;
        let revision = revision.value();
        if codec::change_time(revision, raw.value())? >= cutoff_millis {
            break;
        }
        newest = Some(revision);
    }
    Ok(newest)
}
