//! The redb file's tables and the read-side queries over them.
//!
//! Three tables: the current value of every key, the change log that watches replay from
//! (revision → change), and two meta counters. Reads run in their own MVCC read transaction,
//! so a list sees one consistent snapshot together with the revision it was read at, and never
//! blocks (or is blocked by) the single writer.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTableMetadata, TableDefinition};

use super::codec;
use crate::keys::list_start;
use crate::{KeyValue, ListResult, Revision, StoreError, WatchEvent};

/// key → `create_rev | mod_rev | value` (see `codec`).
pub(crate) const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
/// revision → one encoded change; starts just after the compacted revision.
pub(crate) const LOG: TableDefinition<i64, &[u8]> = TableDefinition::new("log");
pub(crate) const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
pub(crate) const META_REVISION: &str = "revision";
pub(crate) const META_COMPACTED: &str = "compacted";

/// The open database and where it lives (every error names the file).
pub(crate) struct Db {
    pub(crate) db: Database,
    pub(crate) path: PathBuf,
}

/// A slice of the change log, read at one snapshot.
pub(crate) struct ChangesPage {
    pub(crate) changes: Vec<WatchEvent>,
    pub(crate) compacted: Revision,
}

impl Db {
    /// Opens (or creates) the file and makes sure every table exists, so readers never meet
    /// a missing table.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(|e| StoreError::Database {
            path: path.to_owned(),
            what: "open".into(),
            detail: e.to_string(),
        })?;
        let this = Db { db, path: path.to_owned() };
        let txn = this.db.begin_write().map_err(this.err("begin initial transaction"))?;
        txn.open_table(KV).map_err(this.err("create the kv table"))?;
        txn.open_table(LOG).map_err(this.err("create the log table"))?;
        txn.open_table(META).map_err(this.err("create the meta table"))?;
        txn.commit().map_err(this.err("commit initial transaction"))?;
        Ok(this)
    }

    /// Maps a redb error into a `Database` error saying what was being done.
    pub(crate) fn err<E: Display>(&self, what: impl Display) -> impl FnOnce(E) -> StoreError + '_ {
        let what = what.to_string();
        move |e| StoreError::Database { path: self.path.clone(), what, detail: e.to_string() }
    }

    fn read(&self, what: &str) -> Result<ReadTransaction, StoreError> {
        self.db.begin_read().map_err(self.err(format!("begin read for {what}")))
    }

    /// (current revision, compacted revision) as of `txn`.
    pub(crate) fn meta(&self, txn: &ReadTransaction) -> Result<(Revision, Revision), StoreError> {
        let meta = txn.open_table(META).map_err(self.err("open meta table"))?;
        let read = |name: &str| -> Result<Revision, StoreError> {
            let value = meta.get(name).map_err(self.err(format!("read meta {name}")))?;
            Ok(value.map(|v| v.value()).unwrap_or(0))
        };
        Ok((read(META_REVISION)?, read(META_COMPACTED)?))
    }

    pub(crate) fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let txn = self.read(key)?;
        let kv = txn.open_table(KV).map_err(self.err("open kv table"))?;
        let found = kv.get(key).map_err(self.err(format!("get {key}")))?;
        found.map(|raw| codec::decode_value(key, raw.value())).transpose()
    }

    pub(crate) fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> Result<ListResult, StoreError> {
        let txn = self.read(prefix)?;
        let (revision, _) = self.meta(&txn)?;
        let kv = txn.open_table(KV).map_err(self.err("open kv table"))?;
        let start = list_start(prefix, start_after);
        let what = || format!("list {prefix}");
        let mut items = Vec::new();
        let mut more = false;
        for entry in kv.range(start.as_str()..).map_err(self.err(what()))? {
            let (key, value) = entry.map_err(self.err(what()))?;
            let key = key.value();
            if !key.starts_with(prefix) {
                break;
            }
            if limit > 0 && items.len() == limit {
                more = true;
                break;
            }
            items.push(codec::decode_value(key, value.value())?);
        }
        Ok(ListResult { items, revision, more })
    }

    /// Up to `max` changes with revision ≥ `from`, or just the compacted revision if `from` is
    /// no longer in the log (the caller turns that into `Compacted`).
    pub(crate) fn changes(&self, from: Revision, max: usize) -> Result<ChangesPage, StoreError> {
        let txn = self.read("watch replay")?;
        let (_, compacted) = self.meta(&txn)?;
        let mut changes = Vec::new();
        if from > compacted {
            let log = txn.open_table(LOG).map_err(self.err("open log table"))?;
            let what = || format!("read change log from revision {from}");
            for entry in log.range(from..).map_err(self.err(what()))?.take(max) {
                let (revision, raw) = entry.map_err(self.err(what()))?;
                changes.push(codec::decode_change(revision.value(), raw.value())?);
            }
        }
        Ok(ChangesPage { changes, compacted })
    }

    /// Number of changes kept in the log (for tests and metrics).
    pub(crate) fn log_len(&self) -> Result<u64, StoreError> {
        let txn = self.read("log length")?;
        let log = txn.open_table(LOG).map_err(self.err("open log table"))?;
        log.len().map_err(self.err("count the change log"))
    }
}
