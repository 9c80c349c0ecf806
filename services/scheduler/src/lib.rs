//! Capstan's scheduler: watches pending pods and binds each to the node
//! that fits it best. Start at [`Scheduler::start`] (or [`run`]).
//!
//! # Layout
//! - Placement, pure and tested without a server: [`resources`] (what a
//!   pod asks), [`node_info`] (what a node offers and holds), [`filters`],
//!   [`scores`], [`taints`], [`affinity`], [`placement`] (one decision and
//!   Kubernetes' unschedulable message), [`explain`] (every node's verdict
//!   and scores), [`profile`] (weights per scheduler name).
//! - The loop: [`cache`] (nodes with bound and assumed pods), [`queue`]
//!   (active, backoff and unschedulable pods), [`scheduling`] (events in,
//!   binds out), [`actions`] (bind, status), [`loop_handle`] (questions to
//!   the loop), [`metrics`].
//! - Wiring: [`start`] ([`Config`], [`Scheduler`]), the Lease (through
//!   `capstan_runtime::leader`), Events (through `capstan_runtime::EventRecorder`),
//!   [`grpc`] (health, `SchedulerService`, `/metrics` on one port),
//!   [`error`] ([`SchedulerError`]).
//!
//! # Invariants
//! - Placement never sees tonic: it takes plain values.
//! - A pod is assumed on its node before its bind is sent, and forgotten
//!   if the bind fails, so concurrent binds never double-book a node.
//! - Every task lives in a `JoinSet` that shutdown drains.

pub mod actions;
pub mod affinity;
pub mod cache;
pub mod error;
pub mod explain;
pub mod filters;
pub mod grpc;
pub mod loop_handle;
pub mod metrics;
pub mod node_info;
pub mod placement;
pub mod profile;
pub mod queue;
pub mod resources;
pub mod scheduling;
pub mod scores;
pub mod start;
pub mod taints;

#[cfg(test)]
mod filter_tests;
#[cfg(test)]
mod testing;

pub use error::SchedulerError;
pub use placement::{place, FitError};
pub use profile::{Profiles, DEFAULT_SCHEDULER};
pub use start::{run, Config, Scheduler};
