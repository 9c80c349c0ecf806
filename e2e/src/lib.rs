//! Capstan's end-to-end suite: every component in its own container, as users
//! deploy it, on a Docker network of the cluster's own.
//!
//! A [`Cluster`] is three etcd members, two API servers on them (components
//! use the first; `apiserver-2`, with its own serving certificate, serves the
//! restart scenario's watcher), two schedulers and two controller-managers
//! (leader election), the cluster DNS (`capstan-dns` behind
//! `kube-system/kube-dns`), and two nodes: `docker-1` (the Docker shim, its
//! pods sibling containers on the cluster's network) and `containerd-1` (its
//! own containerd inside the node container). Every component has its own
//! certificate and kubeconfig from `capstan certs init`; every container
//! carries the cluster's label. Every component exports its spans to the
//! cluster's `trace-sink` container (TLS, client certificates).
//!
//! The cluster has a service range of its own (`10.254.0.0/16`), routed on the
//! engine's host via `docker-1`'s address so that `docker-1`'s pods, whose
//! gateway is the host's bridge, reach cluster IPs served by the proxy inside
//! `docker-1`; the teardown deletes the route.
//!
//! Nothing is left behind: the cluster is torn down on drop (every component's
//! `docker logs` printed first when a test failed), and a start sweeps what a
//! killed run left (clusters whose test process is gone). Clusters on one
//! engine run one at a time (a lock file): nodes are named as the issue names
//! them, and two Docker shims pinned to one node name would adopt each other's pods.
//!
//! # Layout
//! - [`engine`]: the Docker engine through bollard: the network, containers, sweeps, logs.
//! - [`cluster`]: the topology, its PKI, and the CLIs (`capstan`, kubectl)
//!   pointed at it (the trace sink read with `capstan trace`, over TLS as the admin).

pub mod cluster;
pub mod engine;

pub use cluster::{Cluster, NODES};
pub use engine::Engine;
