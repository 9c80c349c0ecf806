//! Capstan's controller-manager: the reconcile loops that move the cluster
//! toward what its objects ask for. Start at [`ControllerManager::start`]
//! (or [`run`]).
//!
//! # Layout
//! - The machinery every controller shares: [`context`] (the client and
//!   one informer per kind), [`ownership`] (ownerReferences); the work
//!   queue and the worker loop are `capstan-runtime`'s (`WorkQueue`,
//!   `run_workers`).
//! - One module per controller, each a small reconcile loop over informers:
//!   [`replicaset`], [`deployment`], [`nodelifecycle`], [`endpoints`],
//!   [`endpointslice`],
//!   [`garbagecollector`], [`namespace`], [`podautoscaler`].
//! - [`trace`]: the span of each reconcile, continuing the trace of the
//!   write it acts on.
//! - Wiring: [`config`] ([`Config`], the `--controllers` names), [`start`]
//!   ([`ControllerManager`], leader election), [`server`] (health),
//!   [`error`] ([`ControllerError`]).
//!
//! # Invariants
//! - A controller reads from the shared caches and writes through the API;
//!   it never lists or watches on its own.
//! - An event only queues a key; every decision is made by a reconcile
//!   from the caches, so reconciles are idempotent and bursts fold.
//! - A controller only changes objects it controls (ownerReferences with
//!   `controller: true`), or adopts orphans its selector matches.
//! - Decision logic takes plain values and is tested without a server.

pub mod config;
pub mod context;
pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod error;
pub mod garbagecollector;
pub mod namespace;
pub mod nodelifecycle;
pub mod ownership;
pub mod podautoscaler;
pub mod replicaset;
pub mod server;
pub mod start;
pub mod trace;

pub use config::{parse_controllers, Config, CONTROLLERS};
pub use error::ControllerError;
pub use start::{run, ControllerManager};
