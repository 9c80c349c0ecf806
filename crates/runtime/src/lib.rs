//! Capstan's controller runtime, on kube-runtime's model: the machinery
//! every long-running component builds on top of the API client
//! (`capstan-client`), so the scheduler, the controllers, the kubelet and
//! the proxy share one loop instead of each writing its own.
//!
//! Start with [`informer::Informer`] (list + watch into a cache, events to
//! subscribers), then [`WorkQueue`] and [`run_workers`] (keys in, reconciles
//! out), and [`LeaderElector`] for components that run as one active replica.
//!
//! # Layout
//! - [`informer`]: the watcher state machine, the reflector store (one
//!   writer, many readers) and per-subscriber event queues.
//! - [`workqueue`]: [`WorkQueue`], de-duplicating keys, per-key back-off and
//!   delayed re-queues on one `DelayQueue`.
//! - [`workers`]: [`run_workers`] (and [`run_workers_in_spans`], for
//!   reconciles that continue their object's trace), [`Requeue`], [`ReconcileError`] and the
//!   workqueue metrics.
//! - [`leader`]: leader election through a Lease.
//! - [`events`]: the Event recorder every component writes through.
//! - [`wait`]: watch one object until a predicate holds.
//! - [`retry`]: retry a call while its [`capstan_client::ClientError`] says
//!   trying again can help.
//!
//! The delays between attempts are `capstan-backoff`'s [`Backoff`], the
//! workspace's one back-off, re-exported here.
//!
//! # Invariants
//! - Nothing here spawns a detached task: informers, workers and leader
//!   election run inside the caller's future and stop with its shutdown
//!   future or token; delayed keys wait in the queue's own `DelayQueue`.
//! - A key is never handed to two workers at once.
//! - Every retry waits on a [`Backoff`]; nothing retries in a tight loop.
//! - Leader election judges a lease's expiry by this process's own clock
//!   (when it last saw the record change), never by the holder's
//!   `renewTime`, so machines with skewed clocks never both lead.

pub mod events;
pub mod informer;
pub mod leader;
pub mod retry;
pub mod wait;
pub mod workers;
pub mod workqueue;

pub use capstan_backoff::Backoff;
pub use events::EventRecorder;
pub use leader::{LeaderElector, LeaseConfig};
pub use retry::retry;
pub use wait::{wait_for, WaitError};
pub use workers::{run_workers, run_workers_in_spans, QueueMetrics, ReconcileError, Requeue, Workers};
pub use workqueue::WorkQueue;
