//! The real kubectl (v1.32, `/usr/bin/kubectl` or `$CAPSTAN_KUBECTL`) as a
//! test drives it: with a kubeconfig, pointed at one server, and a fresh
//! discovery cache per runner, so a cached answer never hides a change.
//!
//! Every test of the REST face, and the end-to-end suite, runs kubectl
//! through this one runner.

use crate::TestCluster;
use std::path::{Path, PathBuf};
use std::process::Output;
use tempfile::TempDir;

/// kubectl with a kubeconfig, pointed at one server.
pub struct Kubectl {
    binary: PathBuf,
    /// the discovery cache and any file a test writes for kubectl
    dir: TempDir,
    server: String,
    kubeconfig: PathBuf,
    /// extra flags: another user's credentials
    flags: Vec<String>,
}

impl Kubectl {
    /// kubectl reading `kubeconfig`, pointed at `server` (an `https://` URL).
    ///
    /// # Panics
    /// When kubectl is not installed: a test that needs it cannot run.
    #[allow(clippy::expect_used)]
    pub fn new(server: impl Into<String>, kubeconfig: impl Into<PathBuf>) -> Kubectl {
        let binary = capstan_test_support::find_binary("kubectl", "CAPSTAN_KUBECTL", &["/usr/bin"])
            .expect("kubectl v1.32 is installed (/usr/bin/kubectl) or named by $CAPSTAN_KUBECTL");
        Kubectl {
            binary,
            dir: tempfile::tempdir().expect("a temp dir for kubectl's cache"),
            server: server.into(),
            kubeconfig: kubeconfig.into(),
            flags: Vec::new(),
        }
    }

    /// The admin's kubeconfig of the cluster's PKI (a client certificate in
    /// `system:masters`), as `capstan up` writes it.
    pub fn admin(cluster: &TestCluster) -> Kubectl {
        Kubectl::new(cluster.url(), capstan_pki::Layout::new(cluster.pki()).kubeconfig("admin"))
    }

    /// No credentials: an empty kubeconfig.
    #[allow(clippy::expect_used)]
    pub fn anonymous(cluster: &TestCluster) -> Kubectl {
        let mut kubectl = Kubectl::admin(cluster);
        let empty = kubectl.dir.path().join("empty-kubeconfig");
        std::fs::write(&empty, "apiVersion: v1\nkind: Config\n").expect("an empty kubeconfig");
        kubectl.kubeconfig = empty;
        kubectl
    }

    /// A caller with only a bearer token: the CA and the token as flags.
    pub fn with_token(cluster: &TestCluster, token: &str) -> Kubectl {
        let mut kubectl = Kubectl::anonymous(cluster);
        let ca = capstan_pki::Layout::new(cluster.pki()).ca_cert();
        kubectl.flags = vec![format!("--certificate-authority={}", ca.display()), format!("--token={token}")];
        kubectl
    }

    /// A directory of this runner's own, for manifests a test writes.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The command, for a test that reads its output as it comes (`-w`, `logs -f`).
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(&self.binary);
        command
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .arg(format!("--server={}", self.server))
            .arg(format!("--cache-dir={}", self.dir.path().join("cache").display()))
            .args(&self.flags)
            .args(args);
        command
    }

    /// Runs kubectl to its end.
    #[allow(clippy::expect_used)]
    pub async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        // the API server may run on the test's runtime: kubectl waits on a thread of its own
        tokio::task::spawn_blocking(move || command.output()).await.expect("the kubectl task").expect("kubectl runs")
    }

    /// stdout of a run that must succeed.
    #[allow(clippy::expect_used)]
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "kubectl {args:?} failed: {stderr}");
        String::from_utf8(out.stdout).expect("kubectl prints UTF-8")
    }

    /// stderr of a run that must fail.
    #[allow(clippy::expect_used)]
    pub async fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(!out.status.success(), "kubectl {args:?} succeeded: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8(out.stderr).expect("kubectl prints UTF-8")
    }
}
