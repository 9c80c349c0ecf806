//! The start-up and shut-down wiring every long-running component shares.
//!
//! A component (scheduler, controller-manager, kubelet, proxy) owns a few
//! tasks (its port, its work) that start together, stop together on one
//! shutdown or at the first failure, and report that failure; and its work
//! runs either only while this replica holds a coordination Lease or from
//! start-up on. That
//! wiring was written out once per component; here it lives once, so a
//! component's `start` says what its tasks are, not how they stop or how
//! leadership is followed.
//!
//! - [`Tasks`]: the shutdown token, the tasks it stops, and
//!   [`Tasks::stop`]. The first task to fail stops the rest and its error is
//!   the component's exit status: [`Tasks::stopping`] completes then, and
//!   [`Tasks::run_until`] is a component's whole `run`.
//! - [`Tasks::spawn_work`]: the component's work, run in terms under a
//!   [`capstan_runtime::LeaderElector`] or once at once, with the flag that
//!   says whether it runs now.
//! - [`shutdown_signal`]: SIGTERM or SIGINT, what every binary stops on.

mod signal;
mod tasks;
mod work;

pub use signal::shutdown_signal;
pub use tasks::Tasks;
