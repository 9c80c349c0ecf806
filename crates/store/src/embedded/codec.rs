//! Byte layouts of the embedded store's records.
//!
//! Hand-rolled rather than redb tuple types so the on-disk format is explicit, versioned (the
//! first byte of a log record) and decodes into a `Corrupt` error naming the key instead of a
//! panic. Integers are little-endian.
//!
//! - current value: `create_rev i64 | mod_rev i64 | value…`
//! - log record:    `version u8 | kind u8 | unix_millis i64 | create_rev i64 | key_len u32 |
//!   key | value_len u32 | value | has_prev u8 [| prev_create i64 | prev_mod i64 |
//!   prev_len u32 | prev_value]`

use bytes::Bytes;

use crate::{KeyValue, Revision, StoreError, WatchEvent};

const LOG_VERSION: u8 = 1;
const KIND_PUT: u8 = 1;
const KIND_DELETE: u8 = 2;

pub(crate) fn encode_value(create_revision: Revision, mod_revision: Revision, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + value.len());
    out.extend_from_slice(&create_revision.to_le_bytes());
    out.extend_from_slice(&mod_revision.to_le_bytes());
    out.extend_from_slice(value);
    out
}

pub(crate) fn decode_value(key: &str, raw: &[u8]) -> Result<KeyValue, StoreError> {
    let mut r = Reader { raw, key };
    let create_revision = r.i64()?;
    let mod_revision = r.i64()?;
    Ok(KeyValue { key: key.to_owned(), value: Bytes::copy_from_slice(r.raw), create_revision, mod_revision })
}

/// Encodes a Put; the revision is the log table's key (`kv.mod_revision`), not repeated.
pub(crate) fn encode_put(kv: &KeyValue, prev: Option<&KeyValue>, unix_millis: i64) -> Vec<u8> {
    encode_change(KIND_PUT, &kv.key, kv.create_revision, &kv.value, prev, unix_millis)
}

/// Encodes a Delete of `prev`.
pub(crate) fn encode_delete(prev: &KeyValue, unix_millis: i64) -> Vec<u8> {
    encode_change(KIND_DELETE, &prev.key, 0, &[], Some(prev), unix_millis)
}

fn encode_change(
    kind: u8,
    key: &str,
    create_revision: Revision,
    value: &[u8],
    prev: Option<&KeyValue>,
    unix_millis: i64,
) -> Vec<u8> {
    let prev_len = prev.map_or(0, |p| p.value.len());
    let mut out = Vec::with_capacity(48 + key.len() + value.len() + prev_len);
    out.push(LOG_VERSION);
    out.push(kind);
    out.extend_from_slice(&unix_millis.to_le_bytes());
    out.extend_from_slice(&create_revision.to_le_bytes());
    put_bytes(&mut out, key.as_bytes());
    put_bytes(&mut out, value);
    match prev {
        None => out.push(0),
        Some(prev) => {
            out.push(1);
            out.extend_from_slice(&prev.create_revision.to_le_bytes());
            out.extend_from_slice(&prev.mod_revision.to_le_bytes());
            put_bytes(&mut out, &prev.value);
        }
    }
    out
}

/// The wall-clock time a log record was written, read without decoding the rest.
pub(crate) fn change_time(revision: Revision, raw: &[u8]) -> Result<i64, StoreError> {
    let label = format!("change log revision {revision}");
    let mut r = Reader { raw, key: &label };
    r.header()?;
    r.i64()
}

pub(crate) fn decode_change(revision: Revision, raw: &[u8]) -> Result<WatchEvent, StoreError> {
    let label = format!("change log revision {revision}");
    let mut r = Reader { raw, key: &label };
    let kind = r.header()?;
    let _unix_millis = r.i64()?;
    let create_revision = r.i64()?;
    let key = String::from_utf8(r.bytes()?.to_vec()).map_err(|e| r.corrupt(format!("key is not utf-8: {e}")))?;
    let value = Bytes::copy_from_slice(r.bytes()?);
    let prev = match r.take(1)?[0] {
        0 => None,
        _ => Some(KeyValue {
            key: key.clone(),
            create_revision: r.i64()?,
            mod_revision: r.i64()?,
            value: Bytes::copy_from_slice(r.bytes()?),
        }),
    };
    match (kind, prev) {
        (KIND_PUT, prev) => {
            Ok(WatchEvent::Put { kv: KeyValue { key, value, create_revision, mod_revision: revision }, prev })
        }
        (KIND_DELETE, Some(prev)) => Ok(WatchEvent::Delete { key, revision, prev }),
        (KIND_DELETE, None) => Err(r.corrupt("delete record without the deleted value".into())),
        (other, _) => Err(r.corrupt(format!("unknown change kind {other}"))),
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Keys and values are bounded far below 4 GiB by redb itself (and by the API server).
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    raw: &'a [u8],
    key: &'a str,
}

impl<'a> Reader<'a> {
    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt { key: self.key.to_owned(), detail }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.raw.len() < n {
            return Err(self.corrupt(format!("record truncated: wanted {n} more bytes, {} left", self.raw.len())));
        }
        let (head, rest) = self.raw.split_at(n);
        self.raw = rest;
        Ok(head)
    }

    fn i64(&mut self) -> Result<i64, StoreError> {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(self.take(8)?);
        Ok(i64::from_le_bytes(buf))
    }

    fn bytes(&mut self) -> Result<&'a [u8], StoreError> {
        let mut len = [0u8; 4];
        len.copy_from_slice(self.take(4)?);
        self.take(u32::from_le_bytes(len) as usize)
    }

    /// Checks the version and returns the record kind.
    fn header(&mut self) -> Result<u8, StoreError> {
        let head = self.take(2)?;
        if head[0] != LOG_VERSION {
            return Err(self.corrupt(format!("unknown log record version {}", head[0])));
        }
        Ok(head[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &'static [u8], create: Revision, modified: Revision) -> KeyValue {
        KeyValue { key: key.into(), value: Bytes::from_static(value), create_revision: create, mod_revision: modified }
    }

    #[test]
    fn changes_round_trip() {
        let events = [
            WatchEvent::Put { kv: kv("/a", b"one", 3, 3), prev: None },
            WatchEvent::Put { kv: kv("/a", b"two", 3, 4), prev: Some(kv("/a", b"one", 3, 3)) },
            WatchEvent::Delete { key: "/a".into(), revision: 5, prev: kv("/a", b"two", 3, 4) },
        ];
        for event in events {
            let raw = match &event {
                WatchEvent::Put { kv, prev } => encode_put(kv, prev.as_ref(), 1234),
                WatchEvent::Delete { prev, .. } => encode_delete(prev, 1234),
                WatchEvent::Progress { .. } => continue,
            };
            assert_eq!(change_time(event.revision(), &raw).ok(), Some(1234));
            assert_eq!(decode_change(event.revision(), &raw).ok(), Some(event));
        }
    }

    #[test]
    fn values_round_trip_and_truncation_is_corrupt() {
        let raw = encode_value(7, 9, b"payload");
        assert_eq!(decode_value("/k", &raw).ok(), Some(kv("/k", b"payload", 7, 9)));
        assert!(matches!(decode_value("/k", &raw[..10]), Err(StoreError::Corrupt { key, .. }) if key == "/k"));
        let change = encode_put(&kv("/a", b"x", 1, 1), None, 0);
        assert!(matches!(decode_change(1, &change[..change.len() - 3]), Err(StoreError::Corrupt { .. })));
    }
}
