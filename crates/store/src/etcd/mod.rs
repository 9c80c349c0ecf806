//! The etcd backend, for HA control planes (one or three etcd members).
//!
//! Every conditional write is one etcd transaction, so etcd itself arbitrates races between
//! API servers: create = "create_revision == 0 then put", update and conditional delete =
//! "mod_revision == expected then write, else read the key" (the read tells NotFound from
//! Conflict without a second round trip). A small pool of clients (separate HTTP/2
//! connections) spreads many concurrent requests, since one connection serializes a lot of
//! its work in etcd's per-connection gRPC handling.

mod api;
mod convert;
mod watch;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use etcd_client::{Client, ConnectOptions, KvClient, Txn, TxnOpResponse, TxnResponse};

use crate::{KeyValue, Revision, Store, StoreError};
use convert::{key_value, Op};

/// Tuning for [`EtcdStore`]; `Default` is what the API server uses.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// Client connections to spread requests over.
    pub connections: usize,
    /// How often an idle watch asks etcd for a progress notification.
    pub progress_interval: Duration,
    pub connect_timeout: Duration,
    /// Bound on each unary request (watches are unbounded); exceeding it is `Unavailable`.
    pub request_timeout: Duration,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        EtcdOptions {
            connections: 4,
            progress_interval: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A [`Store`] backed by an etcd cluster.
pub struct EtcdStore {
    clients: Vec<Client>,
    next: AtomicUsize,
    endpoints: String,
    options: EtcdOptions,
}

impl EtcdStore {
    /// Connects to `endpoints` (e.g. `http://127.0.0.1:2379`) and checks that etcd answers.
    pub async fn connect(endpoints: &[String], options: EtcdOptions) -> Result<Self, StoreError> {
        if endpoints.is_empty() {
            return Err(StoreError::InvalidConfig("etcd backend needs at least one endpoint".into()));
        }
        let joined = endpoints.join(",");
        let connect = ConnectOptions::new()
            .with_connect_timeout(options.connect_timeout)
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        let mut clients = Vec::new();
        for _ in 0..options.connections.max(1) {
            let client = Client::connect(endpoints, Some(connect.clone()))
                .await
                .map_err(|e| Op { name: "connect", key: "", endpoints: &joined }.err(e))?;
            clients.push(client);
        }
        let store = EtcdStore { clients, next: AtomicUsize::new(0), endpoints: joined, options };
        // The client connects lazily: make a bad endpoint fail here, not on the first request.
        store.current_revision().await?;
        Ok(store)
    }

    /// One of the pooled clients, for callers that need raw etcd (benchmarks, diagnostics).
    pub fn client(&self) -> Client {
        self.clients[self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len()].clone()
    }

    /// A plain unconditional put, bypassing the store's transactions: the baseline a
    /// benchmark compares the API server's write path against.
    pub async fn raw_put(&self, key: &str, value: Bytes) -> Result<Revision, StoreError> {
        let op = self.op("raw put", key);
        let response = self.call(op, self.kv().put(key, Vec::from(value), None)).await?;
        op.revision(response.header())
    }

    pub fn endpoints(&self) -> &str {
        &self.endpoints
    }

    fn kv(&self) -> KvClient {
        self.client().kv_client()
    }

    fn op<'a>(&'a self, name: &'static str, key: &'a str) -> Op<'a> {
        Op { name, key, endpoints: &self.endpoints }
    }

    /// Runs one unary request under the request timeout, mapping its error.
    async fn call<T>(
        &self,
        op: Op<'_>,
        request: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.options.request_timeout, request).await {
            Ok(result) => result.map_err(|e| op.err(e)),
            Err(_) => Err(op.timed_out()),
        }
    }

    /// Runs a compare-then-write transaction whose else-branch reads the key; on failure
    /// returns what the read found (None: the key is absent).
    async fn cas(&self, op: Op<'_>, txn: Txn) -> Result<Result<TxnResponse, Option<KeyValue>>, StoreError> {
        let response = self.call(op, self.kv().txn(txn)).await?;
        if response.succeeded() {
            return Ok(Ok(response));
        }
        let current = match response.op_responses().first() {
            Some(TxnOpResponse::Get(get)) => get.kvs().first().map(key_value).transpose()?,
            _ => None,
        };
        Ok(Err(current))
    }
}
