//! Authorization's side of the API server: what the authorization hook
//! (`crate::authorize`) asks, and what keeps the authorizers' answers current.
//!
//! - [`admission`]: the write checks that need the object (RBAC escalation,
//!   NodeRestriction), run by the registry on what a write would store.
//! - [`attributes`]: a `ResourceService` request in the terms authorizers
//!   judge (`capstan_auth::Attributes`), derived in one place for every RPC.
//! - [`bootstrap`]: the bootstrap roles and bindings reconciled into the
//!   store at every start.
//! - [`feed`]: the RBAC and Node authorizers' indexes, filled before the
//!   server serves and kept in step from the registry's watch caches.
//!
//! The authorizers themselves are `capstan_rbac::Rbac` and
//! `capstan_node_authorizer::NodeAuthorizer`; they answer from memory, fed
//! by the watch caches of the RBAC kinds and of pods.

pub mod admission;
pub mod attributes;
pub mod bootstrap;
pub mod feed;

pub use admission::Admission;
pub use attributes::{attributes_for, Request};
pub use bootstrap::reconcile_bootstrap_policy;
pub use feed::Authorizers;
