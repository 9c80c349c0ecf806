//! Capstan's API client, used by every component: the scheduler, the
//! controllers, the kubelet, the proxy and the CLI.
//!
//! Start with [`Client`] (one connection, dynamic calls on the `Object`
//! envelope) and [`Api`] (`client.api::<Pod>(Some("default"))`, the typed
//! calls). Long-running components read through an [`informer::Informer`]
//! instead of polling.
//!
//! # Layout
//! - [`client`]: the connection, the trace layer and the dynamic calls.
//! - [`api`]: the typed calls of one kind, subresources included.
//! - [`params`], [`watch`]: call options and watch events.
//! - [`error`]: [`ClientError`], built from a gRPC status in one place.
//! - [`backoff`]: the project's one retry delay.
//! - [`leader`]: leader election through a Lease.
//! - [`events`]: the Event recorder every component writes through.
//! - [`wait`]: watch one object until a predicate holds.
//! - [`nodes`]: where a node's kubelet answers.
//! - [`informer`]: the list+watch cache with its store and subscriptions.
//!
//! # Invariants
//! - Every call passes through `capstan_telemetry`'s client trace layer.
//! - Only [`error`] looks at gRPC status codes.
//! - The informer owns no detached task: it runs inside the caller's
//!   future and stops with the caller's shutdown future.

pub mod api;
pub mod backoff;
pub mod client;
pub mod error;
pub mod events;
pub mod informer;
pub mod leader;
pub mod nodes;
pub mod params;
pub mod wait;
pub mod watch;

pub use api::{Api, Deletion};
pub use backoff::Backoff;
pub use client::{resource_ref, Client, MERGE_PATCH};
pub use error::{ClientError, FieldCause};
pub use events::EventRecorder;
pub use leader::{LeaderElector, LeaseConfig};
pub use params::{DeleteParams, ListParams, PropagationPolicy};
pub use wait::{wait_for, WaitError};
pub use watch::{WatchEvent, WatchStream};
