//! Authorization's side of the API server: what the request handling will
//! call once authentication lands (issue 12), kept here so that wiring is a
//! few lines in the server stack.
//!
//! - [`attributes`]: a `ResourceService` request in the terms authorizers
//!   judge (`capstan_auth::Attributes`), derived in one place for every RPC.
//! - [`bootstrap`]: the bootstrap roles and bindings reconciled into the
//!   store at every start.
//!
//! The authorizers themselves are `capstan_rbac::Rbac` and
//! `capstan_node_authorizer::NodeAuthorizer`; they answer from memory, fed
//! by the watch caches of the RBAC kinds and of pods.

pub mod attributes;
pub mod bootstrap;

pub use attributes::{attributes_for, Request};
pub use bootstrap::reconcile_bootstrap_policy;
