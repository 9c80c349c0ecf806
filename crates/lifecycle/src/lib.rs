//! The start-up and shut-down wiring every long-running component shares.
//!
//! A component such as the scheduler or the controller-manager owns a few
//! tasks (its port, its work) that start together, stop together on one
//! shutdown, and report the first failure; and its work runs either only
//! while this replica holds a coordination Lease or from start-up on. That
//! wiring was written out once per component; here it lives once, so a
//! component's `start` says what its tasks are, not how they stop or how
//! leadership is followed.
//!
//! - [`Tasks`]: the shutdown token, the tasks it stops, and
//!   [`Tasks::stop`], where the first error wins.
//! - [`Tasks::spawn_work`]: the component's work, run in terms under a
//!   [`capstan_runtime::LeaderElector`] or once at once, with the flag that
//!   says whether it runs now.

mod tasks;
mod work;

pub use tasks::Tasks;
