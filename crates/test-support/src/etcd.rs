//! A real, throwaway single-member etcd for one test.
//!
//! Each test gets its own server (it starts in well under a second) so tests share no
//! revisions, compactions or keys and can run in parallel. The server lives in a temporary
//! directory and is killed and deleted on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use etcd_client::{Client, ConnectOptions};

use crate::daemon::{find_binary, HarnessError};
use crate::ports::free_ports;

const DAEMON: &str = "etcd";
const HINT: &str = "install Debian's etcd-server (scripts/setup.sh does it)";
/// Generous: the machine is shared and a cold start under load can be slow.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Fresh ports are tried this many times if another process takes ours first.
const ATTEMPTS: usize = 3;

/// A running etcd; see the module docs.
pub struct EtcdServer {
    child: Child,
    endpoint: String,
    dir: tempfile::TempDir,
}

impl EtcdServer {
    /// Starts etcd on free loopback ports and waits until it answers.
    /// `Err(NotInstalled)` if there is no etcd binary (pass the result to `require_daemon`).
    pub async fn start() -> Result<EtcdServer, HarnessError> {
        let binary = etcd_binary()?;
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            match Self::start_once(&binary).await {
                Ok(server) => return Ok(server),
                Err(error @ HarnessError::StartFailed { .. }) => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or(HarnessError::StartFailed { daemon: DAEMON, detail: "no attempt made".into() }))
    }

    /// The client URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The client URL as the endpoint list etcd clients take.
    pub fn endpoints(&self) -> Vec<String> {
        vec![self.endpoint.clone()]
    }

    /// Where etcd keeps its data and its log (`etcd.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    async fn start_once(binary: &Path) -> Result<EtcdServer, HarnessError> {
        let ports = free_ports(2)?;
        let (client_url, peer_url) = (loopback(ports[0]), loopback(ports[1]));
        let dir = temp_dir()?;
        let name = instance_name();
        let member = Member {
            initial_cluster: format!("{name}={peer_url}"),
            name,
            data_dir: dir.path().join("data"),
            log_path: dir.path().join("etcd.log"),
            client_url,
            peer_url,
        };
        let child = member.spawn(binary)?;
        let mut server = EtcdServer { child, endpoint: member.client_url.clone(), dir };
        member.wait_ready(&mut server.child).await?;
        Ok(server)
    }
}

/// How one etcd member is run: everything needed to start it, and to start it again over
/// the same data after it was killed.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) data_dir: PathBuf,
    pub(crate) log_path: PathBuf,
    pub(crate) client_url: String,
    pub(crate) peer_url: String,
    /// etcd's `--initial-cluster`: `name=peer_url` of every member (ignored on a restart,
    /// when the data directory already names the cluster).
    pub(crate) initial_cluster: String,
}

impl Member {
    pub(crate) fn spawn(&self, binary: &Path) -> Result<Child, HarnessError> {
        // Appending keeps the log of a member's earlier lives for a failing test to read.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|source| HarnessError::Io { what: format!("open {}", self.log_path.display()), source })?;
        let log_err = log
            .try_clone()
            .map_err(|source| HarnessError::Io { what: format!("reopen {}", self.log_path.display()), source })?;
        let mut command = Command::new(binary);
        command
            .arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--listen-client-urls")
            .arg(&self.client_url)
            .arg("--advertise-client-urls")
            .arg(&self.client_url)
            .arg("--listen-peer-urls")
            .arg(&self.peer_url)
            .arg("--initial-advertise-peer-urls")
            .arg(&self.peer_url)
            .arg("--initial-cluster")
            .arg(&self.initial_cluster)
            .arg("--initial-cluster-state")
            .arg("new")
            .arg("--logger")
            .arg("zap")
            .arg("--log-level")
            .arg("warn");
        if supports_no_fsync(binary) {
            command.arg("--unsafe-no-fsync"); // test speed only; etcd ≥ 3.5
        }
        for (var, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("ETCD_")) {
            command.env_remove(var);
        }
        command.stdin(Stdio::null()).stdout(log).stderr(log_err).spawn().map_err(|e| HarnessError::StartFailed {
            daemon: DAEMON,
            detail: format!("spawn {}: {e}", binary.display()),
        })
    }

    /// Waits until the member answers as itself and serves a linearizable read (so it has
    /// joined a cluster that has a leader).
    pub(crate) async fn wait_ready(&self, child: &mut Child) -> Result<(), HarnessError> {
        let started = Instant::now();
        let mut last = String::from("no answer yet");
        while started.elapsed() < READY_TIMEOUT {
            if let Ok(Some(status)) = child.try_wait() {
                let detail = format!("{} exited with {status}: {}", self.name, log_tail(&self.log_path));
                return Err(HarnessError::StartFailed { daemon: DAEMON, detail });
            }
            match answers_as(&self.client_url, &self.name).await {
                Ok(true) => return Ok(()),
                Ok(false) => {
                    let detail = format!("another etcd answered on {}", self.client_url);
                    return Err(HarnessError::StartFailed { daemon: DAEMON, detail });
                }
                Err(error) => last = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let detail = format!("{}: {last}; log: {}", self.name, log_tail(&self.log_path));
        Err(HarnessError::NotReady { daemon: DAEMON, waited: READY_TIMEOUT, detail })
    }
}

/// The etcd binary, or `NotInstalled` (for `require_daemon`).
pub(crate) fn etcd_binary() -> Result<PathBuf, HarnessError> {
    find_binary("etcd", "CAPSTAN_ETCD_BIN", &["/usr/bin", "/usr/local/bin"])
        .ok_or(HarnessError::NotInstalled { daemon: DAEMON, hint: HINT })
}

pub(crate) fn temp_dir() -> Result<tempfile::TempDir, HarnessError> {
    tempfile::Builder::new()
        .prefix("capstan-etcd-")
        .tempdir()
        .map_err(|source| HarnessError::Io { what: "create etcd temp dir".into(), source })
}

/// A name unique to this instance: it proves that whoever answers on a port is ours.
pub(crate) fn instance_name() -> String {
    static INSTANCE: AtomicUsize = AtomicUsize::new(0);
    format!("capstan-test-{}-{}", std::process::id(), INSTANCE.fetch_add(1, Ordering::Relaxed))
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        // Already-exited is fine; the temp dir is removed after this when `dir` drops.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn loopback(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Whether etcd at `endpoint` answers, is the member called `name`, and serves a
/// linearizable read (which needs a leader).
async fn answers_as(endpoint: &str, name: &str) -> Result<bool, etcd_client::Error> {
    let options =
        ConnectOptions::new().with_connect_timeout(Duration::from_secs(1)).with_timeout(Duration::from_secs(2));
    let mut client = Client::connect([endpoint], Some(options)).await?;
    let members = client.member_list().await?;
    if !members.members().iter().any(|m| m.name() == name) {
        return Ok(false);
    }
    client.get("/capstan-test/ready", None).await?;
    Ok(true)
}

/// The last lines of etcd's log, for start-failure messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// `--unsafe-no-fsync` only exists from etcd 3.5 on; older ones refuse to start with it.
fn supports_no_fsync(binary: &Path) -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let help = Command::new(PathBuf::from(binary)).arg("--help").output();
        help.is_ok_and(|out| {
            let text = [out.stdout, out.stderr].concat();
            String::from_utf8_lossy(&text).contains("unsafe-no-fsync")
        })
    })
}
