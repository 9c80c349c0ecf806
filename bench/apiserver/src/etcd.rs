//! A throwaway single-member etcd that fsyncs, for the etcd figures.
//!
//! `capstan_test_support::EtcdServer` passes `--unsafe-no-fsync` where etcd supports it
//! (3.5+), which is right for tests and wrong for a benchmark: without fsync etcd's puts/s
//! say nothing about a real cluster. So the benchmark starts its own etcd with the same
//! flags minus that one, data in a temp dir on the same disk as the embedded store's,
//! killed and deleted on drop. Ports and the binary are found with the test-support
//! helpers.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use capstan_store::{EtcdOptions, EtcdStore};
use capstan_test_support::{find_binary, free_ports};

use crate::BenchError;

/// A cold start on a busy 2-core machine can take a while.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Fresh ports are tried this many times if another process takes ours first.
const ATTEMPTS: usize = 3;

/// A running etcd with fsync on; see the module docs.
pub struct DurableEtcd {
    child: Child,
    endpoint: String,
    _dir: tempfile::TempDir,
}

impl DurableEtcd {
    /// Starts etcd on free loopback ports and waits until it answers.
    pub async fn start() -> Result<DurableEtcd, BenchError> {
        let binary = find_binary("etcd", "CAPSTAN_ETCD_BIN", &["/usr/bin", "/usr/local/bin"])
            .ok_or_else(|| BenchError::Etcd("no etcd binary found: install Debian's etcd-server".into()))?;
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            match Self::start_once(&binary).await {
                Ok(etcd) => return Ok(etcd),
                Err(error) => last = error.to_string(),
            }
        }
        Err(BenchError::Etcd(format!("did not start after {ATTEMPTS} attempts: {last}")))
    }

    /// The etcd process's id, for CPU accounting.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The client URL as the endpoint list etcd clients take.
    pub fn endpoints(&self) -> Vec<String> {
        vec![self.endpoint.clone()]
    }

    async fn start_once(binary: &Path) -> Result<DurableEtcd, BenchError> {
        let ports = free_ports(2).map_err(|e| BenchError::Etcd(e.to_string()))?;
        let [client_port, peer_port] = ports[..] else {
            return Err(BenchError::Etcd(format!("asked for 2 free ports, got {ports:?}")));
        };
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let dir = tempfile::Builder::new()
            .prefix("capstan-bench-etcd-")
            .tempdir()
            .map_err(|e| BenchError::io("create etcd's temp dir", e))?;
        let log_path = dir.path().join("etcd.log");
        let log = File::create(&log_path).map_err(|e| BenchError::io("create etcd.log", e))?;
        let log_err = log.try_clone().map_err(|e| BenchError::io("reopen etcd.log", e))?;
        // A name unique to this start proves that whoever answers on the port is ours.
        static STARTS: AtomicUsize = AtomicUsize::new(0);
        let start = STARTS.fetch_add(1, Ordering::Relaxed);
        let name = format!("capstan-bench-{}-{start}", std::process::id());
        let mut command = Command::new(binary);
        command
            .args(["--name", &name])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("{name}={peer_url}")])
            .args(["--initial-cluster-state", "new"])
            .args(["--logger", "zap", "--log-level", "warn"]);
        // ETCD_* variables would override the flags above (ETCD_UNSAFE_NO_FSYNC among them).
        for (var, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("ETCD_")) {
            command.env_remove(var);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| BenchError::io(format!("spawn {}", binary.display()), e))?;
        let mut etcd = DurableEtcd { child, endpoint: client_url, _dir: dir };
        etcd.wait_ready(&name, &log_path).await?;
        Ok(etcd)
    }

    /// Waits until the etcd on our port answers and is the member called `name` (not
    /// another process that took the port first).
    async fn wait_ready(&mut self, name: &str, log_path: &Path) -> Result<(), BenchError> {
        let started = Instant::now();
        let options = EtcdOptions {
            connections: 1,
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(2),
            ..EtcdOptions::default()
        };
        let mut last = String::from("no answer yet");
        while started.elapsed() < READY_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(BenchError::Etcd(format!("exited with {status}: {}", log_tail(log_path))));
            }
            match answers_as(&self.endpoints(), name, &options).await {
                Ok(true) => return Ok(()),
                Ok(false) => return Err(BenchError::Etcd(format!("another etcd answered on {}", self.endpoint))),
                Err(error) => last = error,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(BenchError::Etcd(format!("not ready within {READY_TIMEOUT:?}: {last}; log: {}", log_tail(log_path))))
    }
}

impl Drop for DurableEtcd {
    fn drop(&mut self) {
        // Already exited is fine; the temp dir is removed after this.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether etcd at `endpoints` answers and is the member called `name`.
async fn answers_as(endpoints: &[String], name: &str, options: &EtcdOptions) -> Result<bool, String> {
    let store = EtcdStore::connect(endpoints, options.clone()).await.map_err(|e| e.to_string())?;
    let members = store.client().member_list().await.map_err(|e| e.to_string())?;
    Ok(members.members().iter().any(|m| m.name() == name))
}

/// The last lines of etcd's log, for start-failure messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}
