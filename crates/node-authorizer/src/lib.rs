//! `capstan-node-authorizer`: Kubernetes' Node authorizer and NodeRestriction
//! admission, so a kubelet holding `system:node:NAME` reaches its own Node,
//! Lease and pods and nothing of another node's — a stolen kubelet
//! credential is worth one node, not the cluster.
//!
//! Start at [`NodeAuthorizer`] (asked before RBAC, `--authorization-mode
//! Node,RBAC`); it answers from a [`graph`] of which pod is bound to which
//! node, fed by the pods' watch events ([`NodeAuthorizer::observe`]).
//! [`admit`] checks a kubelet's writes once their bodies are decoded.
//!
//! # Invariants
//! - A kubelet is refused (`Deny`, not `NoOpinion`) another node's Node,
//!   Lease and pods, whatever RBAC grants.
//! - Users who are not kubelets get no opinion from either check.

mod admission;
mod authorizer;
pub mod graph;

pub use admission::{admit, NodeRestrictionError, RESTRICTED_LABEL_DOMAIN};
pub use authorizer::{NodeAuthorizer, NODE_LEASE_NAMESPACE};
