//! The one shared harness that starts real daemons for Capstan's integration tests.
//!
//! Integration tests run against the real thing (etcd today; the API server, Docker and
//! containerd later), never a stand-in, so every crate gets its daemons from here and
//! inherits one behaviour: free loopback ports, throwaway state in a temp dir, bounded
//! readiness waits, cleanup on drop, and the missing-daemon policy of [`require_daemon`].

mod daemon;
mod docker;
mod etcd;
mod ports;
mod sweeper;

pub use daemon::{find_binary, require_daemon, HarnessError};
pub use docker::{ensure_images, ping_docker, require_docker, DOCKER_SOCKET, PAUSE_IMAGE, TEST_IMAGE};
pub use etcd::EtcdServer;
pub use ports::free_ports;
pub use sweeper::DockerSweeper;
