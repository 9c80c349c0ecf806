//! The last line of cleanup: when dropped — after a normal run, an error, a
//! panic or Ctrl-C — force-removes any container left of the run's node or
//! labelled with the run, with the Docker CLI (blocking, as drop must be).

use std::process::Command;

/// Removes the run's leftovers when dropped.
pub struct Sweep {
    filters: Vec<String>,
}

impl Sweep {
    pub fn new(node: &str, run_id: &str) -> Sweep {
        Sweep {
            filters: vec![
                format!("label={}={node}", capstan_cri::labels::NODE_NAME),
                format!("label={}={run_id}", crate::raw::RUN_LABEL),
            ],
        }
    }
}

impl Drop for Sweep {
    fn drop(&mut self) {
        for filter in &self.filters {
            let Ok(listed) = Command::new("docker").args(["ps", "-aq", "--filter", filter]).output() else {
                continue;
            };
            let ids: Vec<String> =
                String::from_utf8_lossy(&listed.stdout).split_whitespace().map(String::from).collect();
            if ids.is_empty() {
                continue;
            }
            eprintln!("pod-start: removing {} leftover container(s) ({filter})", ids.len());
            if let Err(error) = Command::new("docker").args(["rm", "-f"]).args(&ids).output() {
                eprintln!("pod-start: docker rm -f failed: {error}");
            }
        }
    }
}
