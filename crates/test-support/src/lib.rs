//! The one shared harness that starts real daemons for Capstan's integration tests.
//!
//! Integration tests run against the real thing (etcd, Docker, containerd), never a stand-in, so every crate gets its daemons from here and
//! inherits one behaviour: free loopback ports, throwaway state in a temp dir, bounded
//! readiness waits, cleanup on drop, and the missing-daemon policy of [`require_daemon`].
//!
//! [`probe_server`] asks any Capstan server what every one must answer: health and `GET /metrics`.
//!
//! The one stand-in is the image registry ([`serve_registry`]): none is reachable from these
//! machines, so pull tests get a small one on the loopback that both shims' tests share.
//! [`LossyProxy`] is no stand-in: it sits in front of a real daemon and loses its answers on
//! cue, so a test can make a request apply without the client hearing of it.

mod binaries;
mod containerd;
mod daemon;
mod docker;
mod etcd;
mod etcd_cluster;
mod http;
mod lossy_proxy;
mod poll;
mod ports;
mod probe;
mod registry;
mod service_slot;
mod sweeper;

pub use binaries::workspace_binary;
pub use containerd::{
    containerd_inventory, ping_containerd, require_containerd, test_image_archive, ContainerdInventory,
    ContainerdSweeper, CONTAINERD_NAMESPACE, CONTAINERD_SOCKET,
};
pub use daemon::{find_binary, require_daemon, HarnessError};
pub use docker::{ensure_images, ping_docker, require_docker, DOCKER_SOCKET, PAUSE_IMAGE, TEST_IMAGE};
pub use etcd::EtcdServer;
pub use etcd_cluster::EtcdCluster;
pub use http::{http_get, http_get_unix, metric_sample, HttpResponse};
pub use lossy_proxy::LossyProxy;
pub use poll::{eventually, Probed};
pub use ports::free_ports;
pub use probe::{health_status, probe_server, ServerAddr, HEALTH_CHECKS_OK};
pub use registry::{
    self_signed_registry_tls, serve_registry, RegistryGuard, RegistryImage, REGISTRY_PASSWORD, REGISTRY_TAG,
    REGISTRY_TOKEN, REGISTRY_USER,
};
pub use service_slot::{service_slot, ServiceSlot};
pub use sweeper::{docker_containers, remove_docker_containers, DockerImageSweeper, DockerSweeper};
