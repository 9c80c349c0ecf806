//! Capstan's API client, used by every component: the scheduler, the
//! controllers, the kubelet, the proxy and the CLI.
//!
//! Start with [`Client`] (one connection, dynamic calls on the `Object`
//! envelope) and [`Api`] (`client.api::<Pod>(Some("default"))`, the typed
//! calls). This crate is only the API client: the machinery built on it
//! (informers, work queue, leader election, Events, waiting for a state)
//! lives in `capstan-runtime`, and the retry delay in `capstan-backoff`.
//!
//! # Layout
//! - [`client`]: the client, the trace layer and the dynamic calls.
//! - [`connect`]: reaching the server: plain or TLS from a kubeconfig
//!   ([`Target`]), and the bearer token on every call.
//! - [`api`]: the typed calls of one kind, subresources included.
//! - [`params`], [`watch`]: call options and watch events.
//! - [`error`]: [`ClientError`], built from a gRPC status in one place.
//! - [`nodes`]: where a node's kubelet answers.
//!
//! # Invariants
//! - Every call passes through `capstan_telemetry`'s client trace layer, and
//!   carries the user's bearer token when the kubeconfig has one, and the
//!   impersonation metadata when the credentials name someone to act as.
//! - Only [`error`] looks at gRPC status codes.
//! - Every call is one request (or one watch stream): nothing here retries,
//!   caches or spawns a task.

pub mod api;
pub mod client;
pub mod connect;
pub mod error;
pub mod nodes;
pub mod params;
pub mod watch;

pub use api::{Api, Deletion};
pub use capstan_pki::{Credentials, Impersonation};
pub use client::{resource_ref, Client, MERGE_PATCH};
pub use connect::{Target, DEFAULT_SERVER};
pub use error::{ClientError, FieldCause};
pub use params::{DeleteParams, ListParams, PropagationPolicy};
pub use watch::{WatchEvent, WatchStream};
