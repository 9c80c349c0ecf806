//! The Docker engine for integration tests: whether it answers, and the
//! locally built images the node tests run (no registry is reachable, so
//! `scripts/images.sh` builds them from Debian's busybox-static).

use crate::daemon::{require_daemon, HarnessError};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::OnceCell;

pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";
pub const PAUSE_IMAGE: &str = "capstan/pause:1";
pub const TEST_IMAGE: &str = "capstan/test:1";

/// Whether the engine answers `GET /_ping` on its socket: `NotInstalled` when
/// there is no socket (a skip outside CI), `NotReady` when it does not answer.
pub fn ping_docker() -> Result<(), HarnessError> {
    let not_ready =
        |detail: String| HarnessError::NotReady { daemon: "docker", waited: Duration::from_secs(5), detail };
    let mut socket = UnixStream::connect(DOCKER_SOCKET).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => {
            HarnessError::NotInstalled { daemon: "docker", hint: "install Debian's docker.io and start dockerd" }
        }
        _ => not_ready(format!("connecting to {DOCKER_SOCKET}: {error}")),
    })?;
    let io = |e: std::io::Error| not_ready(format!("pinging {DOCKER_SOCKET}: {e}"));
    socket.set_read_timeout(Some(Duration::from_secs(5))).map_err(io)?;
    socket.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n").map_err(io)?;
    let mut answer = String::new();
    socket.read_to_string(&mut answer).map_err(io)?;
    if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(not_ready(format!("unexpected answer to /_ping: {answer:?}")))
    }
}

/// `Some(())` when the engine answers; `None` (after a printed skip) when there
/// is no engine outside CI; a panic in CI or when it is broken.
pub fn require_docker() -> Option<()> {
    require_daemon(ping_docker())
}

static IMAGES: OnceCell<()> = OnceCell::const_new();

/// Builds the pause and test images with `scripts/images.sh`, once per test
/// process (the script is idempotent and serialises concurrent runs).
pub async fn ensure_images() {
    IMAGES
        .get_or_init(|| async {
            let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/images.sh");
            let output =
                tokio::process::Command::new("bash").arg(&script).output().await.expect("running scripts/images.sh");
            assert!(output.status.success(), "scripts/images.sh failed: {}", String::from_utf8_lossy(&output.stderr));
        })
        .await;
}
