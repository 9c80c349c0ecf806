//! The locks `capstan up` puts on its cluster, as a production cluster has
//! them: a PKI made (or completed) by `certs init` on every start, the API
//! server serving TLS with client certificates checked against the CA and
//! Node,RBAC authorization, an audit log, each kubelet serving TLS to the
//! API server's kubelet client only, and each component speaking with
//! its own identity from its own kubeconfig — so what works under `up`
//! works when the components run apart.
//!
//! The PKI is `~/.capstan/pki` by default (beside `~/.capstan/data`); with
//! `--data-dir DIR` it is `DIR/pki`, so a cluster in a directory of its own
//! (tests, a second cluster) never touches the user's home.

use crate::errors::CliError;
use capstan_apiserver::door::AuthorizationMode;
use capstan_apiserver::node_proxy::KubeletClientFiles;
use capstan_pki::{InitOptions, Kubeconfig, Layout};
use capstan_server::{AuditConfig, TlsFiles};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The component identities of `certs init`, by kubeconfig name.
pub const SCHEDULER: &str = "scheduler";
pub const CONTROLLER_MANAGER: &str = "controller-manager";
pub const PROXY: &str = "proxy";
pub const DNS: &str = "dns";
pub const ADMIN: &str = "admin";

/// The kubeconfig name of node `name`'s kubelet.
pub fn node_identity(name: &str) -> String {
    format!("node-{name}")
}

/// Makes the PKI at `dir`, or adds what it lacks (`nodes`' identities, an
/// expired leaf, the address `listen` names when it is neither a wildcard nor
/// loopback, which the serving certificate must then carry); an existing CA
/// is kept, so certificates issued before stay valid and kubeconfigs handed
/// out keep working.
pub fn ensure_pki(dir: &Path, nodes: &[String], listen: IpAddr) -> Result<Layout, CliError> {
    let mut options = InitOptions::new(dir);
    options.nodes = nodes.to_vec();
    if !listen.is_unspecified() && !listen.is_loopback() {
        options.sans.push(listen.to_string());
    }
    capstan_pki::init(&options)?;
    Ok(Layout::new(dir))
}

/// The API server's door: TLS with the PKI's serving certificate, client
/// certificates against its CA, Node,RBAC, anonymous callers refused, and
/// the audit log in the data directory.
pub fn secure_apiserver(config: &mut capstan_apiserver::Config, layout: &Layout, data_dir: &Path) {
    config.security.tls = Some(TlsFiles {
        cert: layout.cert("apiserver"),
        key: layout.key("apiserver"),
        client_ca: Some(layout.ca_cert()),
    });
    config.security.anonymous = false;
    config.security.authorization_modes = vec![AuthorizationMode::Node, AuthorizationMode::Rbac];
    config.security.audit = Some(AuditConfig { path: audit_log(data_dir), max_size_mb: 100, max_backups: 10 });
    // logs and exec reach kubelets as the API server's kubelet client, and
    // only a kubelet holding its node's certificate from this CA is believed
    config.kubelet_client = Some(KubeletClientFiles {
        cert: layout.cert("apiserver-kubelet-client"),
        key: layout.key("apiserver-kubelet-client"),
        certificate_authority: Some(layout.ca_cert()),
    });
}

/// Node `name`'s kubelet serving files: its `kubelet-NAME` certificate, and
/// the CA its callers' client certificates must come from.
pub fn kubelet_serving(layout: &Layout, name: &str) -> TlsFiles {
    let identity = format!("kubelet-{name}");
    TlsFiles { cert: layout.cert(&identity), key: layout.key(&identity), client_ca: Some(layout.ca_cert()) }
}

/// Where `up` writes the API server's audit log.
pub fn audit_log(data_dir: &Path) -> PathBuf {
    data_dir.join("audit.log")
}

/// The credentials of the identity `name` (`scheduler`, `node-NAME`, …)
/// from its kubeconfig; the server is the caller's (the port `up` bound).
pub fn credentials(layout: &Layout, name: &str) -> Result<capstan_client::Credentials, CliError> {
    let path = layout.kubeconfig(name);
    let resolved = Kubeconfig::load(&path).and_then(|k| k.resolve(None, &path))?;
    Ok(resolved.credentials)
}
