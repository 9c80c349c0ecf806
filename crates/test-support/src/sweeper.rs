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
        let Ok(listed) = std::process::Command::new("docker").args(["ps", "-aq", "--filter", &self.filter]).output()
        else {
            return;
        };
        let ids: Vec<String> = String::from_utf8_lossy(&listed.stdout).split_whitespace().map(String::from).collect();
        if !ids.is_empty() {
            let _ = std::process::Command::new("docker").args(["rm", "-f"]).args(&ids).output();
        }
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
