//! A real, throwaway single-member etcd for one test.
//!
//! Each test gets its own server (it starts in well under a second) so tests share no
//! revisions, compactions or keys and can run in parallel. The server lives in a temporary
//! directory and is killed and deleted on drop.

use std::fs::File;
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
        let binary = find_binary("etcd", "CAPSTAN_ETCD_BIN", &["/usr/bin", "/usr/local/bin"])
            .ok_or(HarnessError::NotInstalled { daemon: DAEMON, hint: HINT })?;
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
        let dir = tempfile::Builder::new()
            .prefix("capstan-etcd-")
            .tempdir()
            .map_err(|source| HarnessError::Io { what: "create etcd temp dir".into(), source })?;
        let log_path = dir.path().join("etcd.log");
        let log = File::create(&log_path)
            .map_err(|source| HarnessError::Io { what: format!("create {}", log_path.display()), source })?;
        let log_err = log
            .try_clone()
            .map_err(|source| HarnessError::Io { what: format!("reopen {}", log_path.display()), source })?;
        // A name unique to this instance proves that whoever answers on the port is ours.
        static INSTANCE: AtomicUsize = AtomicUsize::new(0);
        let name = format!("capstan-test-{}-{}", std::process::id(), INSTANCE.fetch_add(1, Ordering::Relaxed));
        let mut command = Command::new(binary);
        command
            .arg("--name")
            .arg(&name)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--listen-client-urls")
            .arg(&client_url)
            .arg("--advertise-client-urls")
            .arg(&client_url)
            .arg("--listen-peer-urls")
            .arg(&peer_url)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer_url)
            .arg("--initial-cluster")
            .arg(format!("{name}={peer_url}"))
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
        let child = command.stdin(Stdio::null()).stdout(log).stderr(log_err).spawn().map_err(|e| {
            HarnessError::StartFailed { daemon: DAEMON, detail: format!("spawn {}: {e}", binary.display()) }
        })?;
        let mut server = EtcdServer { child, endpoint: client_url, dir };
        server.wait_ready(&name, &log_path).await?;
        Ok(server)
    }

    async fn wait_ready(&mut self, name: &str, log_path: &Path) -> Result<(), HarnessError> {
        let started = Instant::now();
        let mut last = String::from("no answer yet");
        while started.elapsed() < READY_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                let detail = format!("exited with {status}: {}", log_tail(log_path));
                return Err(HarnessError::StartFailed { daemon: DAEMON, detail });
            }
            match answers_as(&self.endpoint, name).await {
                Ok(true) => return Ok(()),
                Ok(false) => {
                    let detail = format!("another etcd answered on {}", self.endpoint);
                    return Err(HarnessError::StartFailed { daemon: DAEMON, detail });
                }
                Err(error) => last = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let detail = format!("{last}; log: {}", log_tail(log_path));
        Err(HarnessError::NotReady { daemon: DAEMON, waited: READY_TIMEOUT, detail })
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        // Already-exited is fine; the temp dir is removed after this when `dir` drops.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn loopback(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Whether etcd at `endpoint` answers and is the member called `name`.
async fn answers_as(endpoint: &str, name: &str) -> Result<bool, etcd_client::Error> {
    let options =
        ConnectOptions::new().with_connect_timeout(Duration::from_secs(1)).with_timeout(Duration::from_secs(2));
    let mut client = Client::connect([endpoint], Some(options)).await?;
    let members = client.member_list().await?;
    Ok(members.members().iter().any(|m| m.name() == name))
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
