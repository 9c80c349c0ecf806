//! `capstan-rbac`: Kubernetes' RBAC authorization over the API's Role,
//! ClusterRole, RoleBinding and ClusterRoleBinding objects.
//!
//! Start at [`Rbac`]: it implements `capstan_auth::Authorizer` and holds the
//! policy [`index`] it answers from. The API server feeds it the RBAC kinds'
//! watch events ([`Rbac::observe`], [`Rbac::replace`] on a relist) and asks
//! it on every request, so an answer never waits on the store.
//!
//! # Layout
//! - [`rules`]: whether a rule allows a request; whether rules cover rules.
//! - [`index`]: roles by name, bindings by subject.
//! - [`escalation`]: nobody grants what they do not hold (`escalate`, `bind`).
//! - [`bootstrap`]: the roles and bindings every cluster starts with, one
//!   least-privilege role per component; [`reconcile`]: what to write at
//!   start so they exist without undoing an operator's additions.
//!
//! # Invariants
//! - Authorizing reads memory only, and its cost grows with the bindings of
//!   the asking user and its groups, not with the cluster's.
//! - A RoleBinding grants only within its own namespace, even when it names
//!   a ClusterRole.
//! - The RBAC authorizer never denies: a request no rule allows is
//!   `NoOpinion`, as in Kubernetes, and the chain's end refuses it.

mod authorizer;
pub mod bootstrap;
mod error;
pub mod escalation;
pub mod index;
pub mod reconcile;
pub mod rules;

pub use authorizer::Rbac;
pub use error::RbacError;
