//! The kit every integration test above the API server starts from, so the
//! in-process cluster, the object builders and the bounded wait exist once.
//!
//! It is dev-only: nothing in a shipped binary depends on it. The daemons
//! themselves (etcd, Docker, containerd) come from `capstan-test-support`,
//! which sits below the API server; this crate adds what needs one.
//!
//! # Layout
//! - [`cluster`]: [`TestCluster`], a real API server on the embedded store
//!   (in a temp dir) or on a real etcd, with a client, restartable over the
//!   same store; by default behind [`Door::Secured`] (TLS with a fresh PKI,
//!   Node,RBAC, a token file and an audit log), its components each with
//!   their own identity and the audit log checked for their refusals.
//! - [`objects`]: [`pod`] and the other builders tests share.
//! - [`kubectl`]: the real kubectl as tests drive it, with a fresh
//!   discovery cache per runner.
//! - [`node_pki`]: a secured cluster's kubelet serving and kubelet-client
//!   files, and any identity's certificate as client credentials.
//! - [`eventually`] (from `capstan-test-support`): the one polling wait, for
//!   conditions no single watch reports.

pub mod cluster;
pub mod kubectl;
pub mod node_pki;
pub mod objects;

pub use capstan_test_support::eventually;
pub use cluster::{Backend, Door, TestCluster};
pub use objects::{at, container, forbidden, labels, manifest, pod, selector, PodBuilder};
