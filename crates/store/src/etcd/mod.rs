//! The etcd backend, for HA control planes (one or three etcd members).
//!
//! Every conditional write is one etcd transaction, so etcd itself arbitrates races between
//! API servers: create = "create_revision == 0 then put", update and conditional delete =
//! "mod_revision == expected then write, else read the key" (the read tells NotFound from
//! Conflict without a second round trip).
//!
//! Each member has its own small pool of clients (separate HTTP/2 connections: one
//! connection serializes a lot of its work in etcd's per-connection gRPC handling), and every
//! request is routed around members that are down (`failover`): a read is retried on another
//! member; a write whose attempt failed is retried as the same transaction, and when it then
//! finds its compare failed, the store reads what is there to tell "an earlier attempt of
//! mine applied" from a real conflict (`api.rs`), so no write is applied twice.
//!
//! # Layout
//! - `api.rs`: the [`Store`](crate::Store) operations and how each resolves an uncertain write.
//! - `failover.rs`: member health and the retry loop (logic only, tested on a paused clock).
//! - `watch.rs`: etcd's watch adapted to the store's contract.
//! - `convert.rs`: etcd's types and errors mapped onto the store's.

mod api;
mod convert;
mod failover;
mod watch;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use etcd_client::{Client, ConnectOptions, Txn, TxnOpResponse, TxnResponse};

use crate::{KeyValue, Revision, StoreError};
use convert::{key_value, Op};
use failover::{Health, Outcome, Policy};

/// Tuning for [`EtcdStore`]; `Default` is what the API server uses.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// Client connections to each member, to spread many concurrent requests.
    pub connections: usize,
    /// How often an idle watch asks etcd for a progress notification.
    pub progress_interval: Duration,
    pub connect_timeout: Duration,
    /// Bound on each unary request over all its attempts (watches are unbounded); exceeding
    /// it is `Unavailable`.
    pub request_timeout: Duration,
    /// Bound on one attempt on one member; past it the next member is tried. Long enough for
    /// etcd to commit under load, short enough that a hung member costs less than the request.
    pub attempt_timeout: Duration,
    /// Pause before trying the members again after each failed once (a leader election).
    pub retry_interval: Duration,
    /// How long a member whose attempt failed is passed over before it is tried again.
    pub member_probation: Duration,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        EtcdOptions {
            connections: 4,
            progress_interval: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(5),
            retry_interval: Duration::from_millis(100),
            member_probation: Duration::from_secs(1),
        }
    }
}

/// One etcd member's client connections.
struct Member {
    endpoint: String,
    clients: Vec<Client>,
    next: AtomicUsize,
}

impl Member {
    fn client(&self) -> &Client {
        &self.clients[self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len()]
    }
}

/// A [`Store`](crate::Store) backed by an etcd cluster.
pub struct EtcdStore {
    members: Vec<Member>,
    health: Health,
    endpoints: String,
    options: EtcdOptions,
}

impl EtcdStore {
    /// Connects to `endpoints` (e.g. `http://127.0.0.1:2379`, one per member) and checks that
    /// etcd answers.
    pub async fn connect(endpoints: &[String], options: EtcdOptions) -> Result<Self, StoreError> {
        if endpoints.is_empty() {
            return Err(StoreError::InvalidConfig("etcd backend needs at least one endpoint".into()));
        }
        let joined = endpoints.join(",");
        let connect = ConnectOptions::new()
            .with_connect_timeout(options.connect_timeout)
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        let mut members = Vec::new();
        for endpoint in endpoints {
            let mut clients = Vec::new();
            for _ in 0..options.connections.max(1) {
                // One endpoint per client: etcd-client's own balancing keeps dead members.
                let client = Client::connect([endpoint], Some(connect.clone()))
                    .await
                    .map_err(|e| Op { name: "connect", key: "", endpoints: endpoint }.err(e))?;
                clients.push(client);
            }
            members.push(Member { endpoint: endpoint.clone(), clients, next: AtomicUsize::new(0) });
        }
        let health = Health::new(members.len());
        let store = EtcdStore { members, health, endpoints: joined, options };
        // The client connects lazily: make a bad endpoint fail here, not on the first request.
        let policy = Policy { budget: store.options.connect_timeout, ..store.policy() };
        store.read_revision(policy).await?;
        Ok(store)
    }

    /// A client of a member that is not known to be down, for callers that need raw etcd
    /// (benchmarks, diagnostics).
    pub fn client(&self) -> Client {
        let member = self.health.order().first().copied().unwrap_or(0);
        self.members[member].client().clone()
    }

    /// A plain unconditional put, bypassing the store's transactions: the baseline a
    /// benchmark compares the API server's write path against.
    pub async fn raw_put(&self, key: &str, value: Bytes) -> Result<Revision, StoreError> {
        let op = self.op("raw put", key);
        let value = Vec::from(value);
        let response = self
            .request(op, |client| {
                let (mut kv, value) = (client.kv_client(), value.clone());
                async move { kv.put(key, value, None).await }
            })
            .await?;
        op.revision(response.value.header())
    }

    pub fn endpoints(&self) -> &str {
        &self.endpoints
    }

    fn op<'a>(&'a self, name: &'static str, key: &'a str) -> Op<'a> {
        Op { name, key, endpoints: &self.endpoints }
    }

    fn policy(&self) -> Policy {
        Policy {
            attempt_timeout: self.options.attempt_timeout,
            budget: self.options.request_timeout,
            pause: self.options.retry_interval,
            probation: self.options.member_probation,
        }
    }

    /// Runs one unary request on one member after another until one answers (see
    /// `failover`), mapping etcd's errors.
    async fn request<T, F, Fut>(&self, op: Op<'_>, send: F) -> Result<Outcome<T>, StoreError>
    where
        F: FnMut(&Client) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        self.request_with(op, self.policy(), send).await
    }

    async fn request_with<T, F, Fut>(&self, op: Op<'_>, policy: Policy, mut send: F) -> Result<Outcome<T>, StoreError>
    where
        F: FnMut(&Client) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        self.on_members(op, policy, |client, member_op| {
            let request = send(client);
            async move { request.await.map_err(|e| member_op.err(e)) }
        })
        .await
    }

    /// Runs `attempt` with one member's client after another until one answers (see
    /// `failover`); the `Op` it is given names that member.
    async fn on_members<'s, T, F, Fut>(
        &'s self,
        op: Op<'s>,
        policy: Policy,
        mut attempt: F,
    ) -> Result<Outcome<T>, StoreError>
    where
        F: FnMut(&'s Client, Op<'s>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        failover::run(
            &self.health,
            policy,
            |m| op.at(&self.members[m].endpoint).timed_out(policy.attempt_timeout),
            |last, attempts| op.gave_up(last, attempts, policy.budget),
            |m| attempt(self.members[m].client(), op.at(&self.members[m].endpoint)),
        )
        .await
    }

    /// Runs a compare-then-write transaction whose else-branch reads the key; on failure
    /// the value is what the read found (None: the key is absent). `uncertain` says an
    /// earlier attempt may have been applied (the caller resolves what that means).
    async fn cas(&self, op: Op<'_>, txn: Txn) -> Result<Outcome<Result<TxnResponse, Option<KeyValue>>>, StoreError> {
        let outcome = self
            .request(op, |client| {
                let (mut kv, txn) = (client.kv_client(), txn.clone());
                async move { kv.txn(txn).await }
            })
            .await?;
        let Outcome { value: response, uncertain } = outcome;
        if response.succeeded() {
            return Ok(Outcome { value: Ok(response), uncertain });
        }
        let current = match response.op_responses().first() {
            Some(TxnOpResponse::Get(get)) => get.kvs().first().map(key_value).transpose()?,
            _ => None,
        };
        Ok(Outcome { value: Err(current), uncertain })
    }
}
