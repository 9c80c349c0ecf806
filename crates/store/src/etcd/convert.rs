//! Translations between etcd-client's types and the store's.
//!
//! Kept apart so the mapping of etcd's failure modes onto [`StoreError`] lives in one place:
//! transport failures and "unavailable"-class gRPC codes become `Unavailable` (the API server
//! answers 503 and clients retry), etcd's compaction errors become `Compacted` / a no-op, and
//! anything else keeps etcd's own message together with the operation and key.

use std::error::Error as _;
use std::time::Duration;

use bytes::Bytes;
use etcd_client::{Error as EtcdError, ResponseHeader};
use tonic::Code;

use crate::{KeyValue, Revision, StoreError};

/// What a failed request was doing, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Op<'a> {
    pub(crate) name: &'static str,
    pub(crate) key: &'a str,
    pub(crate) endpoints: &'a str,
}

impl<'a> Op<'a> {
    pub(crate) fn err(self, error: EtcdError) -> StoreError {
        let (name, key, endpoints) = (self.name, self.key, self.endpoints);
        match &error {
            // A status with a source was made on this side from a transport failure (a cut
            // connection reads "transport error", code Unknown); etcd's own carry none.
            EtcdError::GRpcStatus(status) if unavailable(status.code()) || status.source().is_some() => {
                StoreError::Unavailable(format!("etcd at {endpoints}: {name} {key}: {}", status.message()))
            }
            EtcdError::GRpcStatus(status) => {
                StoreError::Etcd { op: name, key: key.to_owned(), detail: status.message().to_owned() }
            }
            EtcdError::TransportError(_) | EtcdError::IoError(_) | EtcdError::EndpointError(_) => {
                StoreError::Unavailable(format!("etcd at {endpoints}: {name} {key}: {error}"))
            }
            _ => StoreError::Etcd { op: name, key: key.to_owned(), detail: error.to_string() },
        }
    }

    /// The same operation, on one member.
    pub(crate) fn at<'b>(self, endpoint: &'b str) -> Op<'b>
    where
        'a: 'b,
    {
        Op { endpoints: endpoint, ..self }
    }

    pub(crate) fn timed_out(self, after: Duration) -> StoreError {
        StoreError::Unavailable(format!(
            "etcd at {}: {} {} timed out after {after:?}",
            self.endpoints, self.name, self.key
        ))
    }

    /// No member answered: names every endpoint, and the last member's failure.
    pub(crate) fn gave_up(self, last: StoreError, attempts: usize, budget: Duration) -> StoreError {
        let last = match last {
            StoreError::Unavailable(detail) => detail,
            other => other.to_string(),
        };
        StoreError::Unavailable(format!(
            "etcd at {}: {} {}: no member answered in {attempts} attempts within {budget:?}; last: {last}",
            self.endpoints, self.name, self.key
        ))
    }

    /// A response etcd always sends with a header arrived without one.
    pub(crate) fn no_header(self) -> StoreError {
        StoreError::Etcd { op: self.name, key: self.key.to_owned(), detail: "response has no header".into() }
    }

    pub(crate) fn revision(self, header: Option<&ResponseHeader>) -> Result<Revision, StoreError> {
        header.map(ResponseHeader::revision).ok_or_else(|| self.no_header())
    }
}

fn unavailable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Aborted | Code::ResourceExhausted
    )
}

/// Whether a gRPC error is etcd's "required revision has been compacted".
pub(crate) fn is_compacted(error: &EtcdError) -> bool {
    matches!(error, EtcdError::GRpcStatus(s) if s.code() == Code::OutOfRange && s.message().contains("compacted"))
}

/// Whether a gRPC error is etcd's "required revision is a future revision".
pub(crate) fn is_future_revision(error: &EtcdError) -> bool {
    matches!(error, EtcdError::GRpcStatus(s) if s.code() == Code::OutOfRange && s.message().contains("future revision"))
}

pub(crate) fn key_value(kv: &etcd_client::KeyValue) -> Result<KeyValue, StoreError> {
    let key = kv.key_str().map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(kv.key()).into_owned(),
        detail: format!("etcd key is not utf-8: {e}"),
    })?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: Bytes::copy_from_slice(kv.value()),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_and_unavailable_codes_are_unavailable_others_keep_etcds_message() {
        let op = Op { name: "create", key: "/k", endpoints: "http://127.0.0.1:2379" };
        let cut = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
        let cases = [
            ("a cut connection", tonic::Status::from_error(Box::new(cut)), true),
            ("etcd has no leader", tonic::Status::unavailable("etcdserver: no leader"), true),
            ("etcd timed out", tonic::Status::deadline_exceeded("etcdserver: request timed out"), true),
            ("etcd refused the request", tonic::Status::invalid_argument("etcdserver: key is not provided"), false),
            ("etcd's own unknown error", tonic::Status::unknown("etcdserver: unknown"), false),
        ];
        for (case, status, retryable) in cases {
            let error = op.err(EtcdError::GRpcStatus(status));
            assert_eq!(error.is_retryable(), retryable, "{case}: {error}");
            let text = error.to_string();
            assert!(text.contains("/k") && text.contains("create"), "{case}: names what failed: {text}");
            if retryable {
                assert!(text.contains("http://127.0.0.1:2379"), "{case}: names where: {text}");
            }
        }
    }
}
