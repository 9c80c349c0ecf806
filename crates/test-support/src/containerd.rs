//! containerd for integration tests: whether the standalone containerd that
//! `scripts/setup.sh` starts answers on the default socket, the test images as a
//! `docker save` archive to import into it (no registry is reachable), and a
//! sweeper that removes a test's containers, tasks, snapshots and pod networks.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::daemon::{find_binary, require_daemon, HarnessError};

pub const CONTAINERD_SOCKET: &str = "/run/containerd/containerd.sock";
/// The containerd namespace the shim (and so every test) uses.
pub const CONTAINERD_NAMESPACE: &str = "capstan";

const HINT: &str = "run scripts/setup.sh (it installs containerd and starts it on /run/containerd/containerd.sock)";

/// Whether containerd answers on [`CONTAINERD_SOCKET`]: `NotInstalled` when there is
/// no containerd (a skip outside CI), `NotReady` when it does not answer.
pub fn ping_containerd() -> Result<(), HarnessError> {
    let ctr = find_binary("ctr", "CAPSTAN_CTR_BIN", &["/usr/bin", "/usr/local/bin"])
        .ok_or(HarnessError::NotInstalled { daemon: "containerd", hint: HINT })?;
    if !std::path::Path::new(CONTAINERD_SOCKET).exists() {
        return Err(HarnessError::NotInstalled { daemon: "containerd", hint: HINT });
    }
    let output = Command::new(ctr)
        .args(["--address", CONTAINERD_SOCKET, "--timeout", "5s", "version"])
        .output()
        .map_err(|source| HarnessError::Io { what: "running ctr version".into(), source })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(HarnessError::NotReady {
            daemon: "containerd",
            waited: Duration::from_secs(5),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// `Some(())` when containerd answers; `None` (after a printed skip) when there is
/// none outside CI; a panic in CI or when it is broken.
pub fn require_containerd() -> Option<()> {
    require_daemon(ping_containerd())
}

static ARCHIVE: OnceCell<PathBuf> = OnceCell::const_new();

/// The pause and test images as one `docker save` archive (built with
/// `scripts/images.sh --save`, once per test process, into a directory of its own
/// and then renamed over one shared path, so concurrent test processes never read
/// a half-written archive and none is left behind per process).
pub async fn test_image_archive() -> PathBuf {
    ARCHIVE
        .get_or_init(|| async {
            crate::ensure_images().await;
            let dir = std::env::temp_dir().join(format!("capstan-images-{}", std::process::id()));
            let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/images.sh");
            let output = tokio::process::Command::new("bash")
                .arg(&script)
                .arg("--save")
                .arg(&dir)
                .output()
                .await
                .expect("running scripts/images.sh --save");
            assert!(
                output.status.success(),
                "scripts/images.sh --save failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let shared = std::env::temp_dir().join("capstan-test-images.tar");
            std::fs::rename(dir.join("capstan-images.tar"), &shared).expect("moving the image archive into place");
            let _ = std::fs::remove_dir_all(&dir);
            shared
        })
        .await
        .clone()
}

/// Removes, on drop, every containerd container labelled `label=value` in the
/// `capstan` namespace — its task, its snapshot, and for a sandbox its network
/// namespace and CNI address — with `ctr` and `ip` (blocking, as drop must be).
pub struct ContainerdSweeper {
    filter: String,
}

impl ContainerdSweeper {
    /// E.g. `ContainerdSweeper::new("io.capstan.node.name", "t-my-test-123")`.
    pub fn new(label: &str, value: &str) -> ContainerdSweeper {
        ContainerdSweeper { filter: format!("labels.\"{label}\"==\"{value}\"") }
    }
}

/// What containerd holds for the containers labelled `label=value` in the
/// `capstan` namespace: every container's ID (sandboxes included), and each
/// running task's PID by container ID. Both sorted, for comparing runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerdInventory {
    pub containers: Vec<String>,
    pub tasks: std::collections::BTreeMap<String, u32>,
}

/// Lists [`ContainerdInventory`] with `ctr` (panics when `ctr` fails: the
/// test cannot judge what it cannot see).
///
/// containerd reports a task `UNKNOWN` when its runtime shim does not answer
/// a state query within 2 s, which happens on a loaded machine; such a read
/// says nothing either way, so it is made again (for up to 20 s) rather than
/// counted as a task that is not running.
pub fn containerd_inventory(label: &str, value: &str) -> ContainerdInventory {
    let mut reads = 0;
    loop {
        let (inventory, unknown) = read_inventory(label, value);
        reads += 1;
        if unknown.is_empty() || reads >= INVENTORY_READS {
            return inventory;
        }
        // called from synchronous test code (and from drop), never on a runtime's worker
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// How many times [`containerd_inventory`] reads while a task's state is unknown.
const INVENTORY_READS: u32 = 100;

/// One reading: the inventory, and our tasks whose state containerd could not tell.
fn read_inventory(label: &str, value: &str) -> (ContainerdInventory, Vec<String>) {
    let filter = format!("labels.\"{label}\"==\"{value}\"");
    let listed = ctr(&["containers", "ls", "-q", &filter]).expect("running ctr containers ls");
    assert!(listed.status.success(), "ctr containers ls: {}", String::from_utf8_lossy(&listed.stderr));
    let mut containers: Vec<String> =
        String::from_utf8_lossy(&listed.stdout).split_whitespace().map(str::to_string).collect();
    containers.sort();
    let listed = ctr(&["tasks", "ls"]).expect("running ctr tasks ls");
    assert!(listed.status.success(), "ctr tasks ls: {}", String::from_utf8_lossy(&listed.stderr));
    let (mut tasks, mut unknown) = (std::collections::BTreeMap::new(), Vec::new());
    for line in String::from_utf8_lossy(&listed.stdout).lines().skip(1) {
        let mut fields = line.split_whitespace();
        let (Some(id), Some(pid), Some(status)) = (fields.next(), fields.next(), fields.next()) else { continue };
        if !containers.iter().any(|c| c == id) {
            continue;
        }
        match status {
            "RUNNING" => {
                if let Ok(pid) = pid.parse() {
                    tasks.insert(id.to_string(), pid);
                }
            }
            "UNKNOWN" => unknown.push(id.to_string()),
            _ => {}
        }
    }
    (ContainerdInventory { containers, tasks }, unknown)
}

fn ctr(args: &[&str]) -> Option<std::process::Output> {
    Command::new("ctr").args(["--address", CONTAINERD_SOCKET, "-n", CONTAINERD_NAMESPACE]).args(args).output().ok()
}

impl Drop for ContainerdSweeper {
    fn drop(&mut self) {
        let Some(listed) = ctr(&["containers", "ls", "-q", &self.filter]) else { return };
        for id in String::from_utf8_lossy(&listed.stdout).split_whitespace() {
            let _ = ctr(&["tasks", "kill", "-a", "-s", "SIGKILL", id]);
            let _ = ctr(&["tasks", "rm", "-f", id]);
            let _ = ctr(&["containers", "rm", id]);
            let netns = format!("capstan-{id}");
            if std::path::Path::new("/var/run/netns").join(&netns).exists() {
                let _ = Command::new("ip").args(["netns", "delete", &netns]).output();
            }
            release_cni_addresses(id);
        }
    }
}

/// host-local keeps one file per leased address naming its container: drop this
/// sandbox's (what CNI DEL would have done).
fn release_cni_addresses(sandbox: &str) {
    let Ok(networks) = std::fs::read_dir("/var/lib/cni/networks") else { return };
    for network in networks.flatten() {
        let Ok(leases) = std::fs::read_dir(network.path()) else { continue };
        for lease in leases.flatten() {
            let owned = std::fs::read_to_string(lease.path()).is_ok_and(|text| text.lines().next() == Some(sandbox));
            if owned {
                let _ = std::fs::remove_file(lease.path());
            }
        }
    }
}
