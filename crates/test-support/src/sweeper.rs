//! Removes what a test left in Docker when dropped — also when an assertion
//! fails halfway — so tests sharing one engine never leave containers or images behind.

/// Removes every container carrying `label=value` on drop, with the Docker
/// CLI (blocking, as drop must be).
pub struct DockerSweeper {
    filter: String,
}

impl DockerSweeper {
    /// E.g. `DockerSweeper::new("io.capstan.node.name", "t-my-test-123")`.
    pub fn new(label: &str, value: &str) -> DockerSweeper {
        DockerSweeper { filter: format!("label={label}={value}") }
    }
}

impl Drop for DockerSweeper {
    fn drop(&mut self) {
        remove_docker_containers(&self.filter);
    }
}

/// The full IDs of the Docker containers, running or not, that `filter` matches
/// (`docker ps --filter`'s syntax: `label=K=V`, `network=NAME`, …), with the
/// Docker CLI (blocking, so a `Drop` may call it); none when the CLI fails.
pub fn docker_containers(filter: &str) -> Vec<String> {
    let Ok(listed) =
        std::process::Command::new("docker").args(["ps", "-aq", "--no-trunc", "--filter", filter]).output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&listed.stdout).split_whitespace().map(String::from).collect()
}

/// Removes, with their anonymous volumes, the Docker containers `filter` matches
/// (blocking; an engine that does not answer leaves nothing to remove).
pub fn remove_docker_containers(filter: &str) {
    let ids = docker_containers(filter);
    if !ids.is_empty() {
        let _ = std::process::Command::new("docker").args(["rm", "-f", "-v"]).args(&ids).output();
    }
}

/// Removes the named Docker images (references or IDs) on drop, with the
/// Docker CLI, so an image a test pulled is gone also when it fails halfway.
pub struct DockerImageSweeper {
    images: Vec<String>,
}

impl DockerImageSweeper {
    pub fn new<S: AsRef<str>>(images: impl IntoIterator<Item = S>) -> DockerImageSweeper {
        DockerImageSweeper { images: images.into_iter().map(|i| i.as_ref().to_string()).collect() }
    }
}

impl Drop for DockerImageSweeper {
    fn drop(&mut self) {
        // an image that is already gone is what we want: the CLI's complaint is ignored
        let _ = std::process::Command::new("docker").args(["rmi", "-f"]).args(&self.images).output();
    }
}
