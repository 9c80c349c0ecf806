//! Where `certs init` puts each file, in one place, so the CLI, `capstan up`
//! and the components agree on it:
//!
//! ```text
//! DIR/ca.crt, ca.key                        the cluster CA
//! DIR/apiserver.crt, apiserver.key          the API server's serving certificate
//! DIR/apiserver-kubelet-client.crt, .key    the API server's client certificate for kubelets
//! DIR/admin.crt, .key                       admin (system:masters)
//! DIR/scheduler.crt, .key                   system:kube-scheduler
//! DIR/controller-manager.crt, .key          system:kube-controller-manager
//! DIR/trace-sink.crt, .key                  capstan-trace-sink's serving certificate
//! DIR/proxy.crt, .key                       system:kube-proxy
//! DIR/dns.crt, .key                         system:kube-dns (capstan-dns)
//! DIR/node-NAME.crt, .key                   system:node:NAME (system:nodes), the kubelet's client identity
//! DIR/kubelet-NAME.crt, .key                the kubelet's serving certificate
//! DIR/kubeconfigs/admin.conf, scheduler.conf, controller-manager.conf, proxy.conf, dns.conf,
//!                                           node-NAME.conf
//! ```
//!
//! Keys and kubeconfigs are 0600, certificates 0644, the directories 0700.

use std::path::{Path, PathBuf};

/// The files of a PKI directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    pub fn new(dir: impl Into<PathBuf>) -> Layout {
        Layout { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ca_cert(&self) -> PathBuf {
        self.cert("ca")
    }

    pub fn ca_key(&self) -> PathBuf {
        self.key("ca")
    }

    /// `DIR/NAME.crt`
    pub fn cert(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.crt"))
    }

    /// `DIR/NAME.key`
    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    pub fn kubeconfig_dir(&self) -> PathBuf {
        self.dir.join("kubeconfigs")
    }

    /// `DIR/kubeconfigs/NAME.conf`
    pub fn kubeconfig(&self, name: &str) -> PathBuf {
        self.kubeconfig_dir().join(format!("{name}.conf"))
    }

    /// The nodes whose client certificates are already in the directory.
    pub fn existing_nodes(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut nodes: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix("node-").and_then(|n| n.strip_suffix(".crt")).map(str::to_string)
            })
            .collect();
        nodes.sort();
        nodes
    }
}
