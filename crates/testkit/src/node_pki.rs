//! The node side of a secured cluster's PKI, for tests that call kubelets:
//! a kubelet's serving files, the API server's kubelet-client files, and any
//! identity's certificate as client credentials (`certs init` writes no
//! kubeconfig for the API server's kubelet client).

use capstan_apiserver::node_proxy::KubeletClientFiles;
use capstan_client::Credentials;
use capstan_pki::Layout;
use capstan_server::TlsFiles;
use std::path::Path;

/// `--tls-cert-file`, `--tls-private-key-file`, `--client-ca-file` of node
/// `node`'s kubelet, from the PKI in `pki`.
pub fn kubelet_serving(pki: &Path, node: &str) -> TlsFiles {
    let layout = Layout::new(pki);
    let name = format!("kubelet-{node}");
    TlsFiles { cert: layout.cert(&name), key: layout.key(&name), client_ca: Some(layout.ca_cert()) }
}

/// The API server's `--kubelet-client-certificate`, `--kubelet-client-key`
/// and `--kubelet-certificate-authority` from the PKI in `pki`.
pub fn kubelet_client(pki: &Path) -> KubeletClientFiles {
    let layout = Layout::new(pki);
    KubeletClientFiles {
        cert: layout.cert("apiserver-kubelet-client"),
        key: layout.key("apiserver-kubelet-client"),
        certificate_authority: Some(layout.ca_cert()),
    }
}

/// Client credentials holding the certificate `name` (`apiserver-kubelet-client`,
/// `controller-manager`, `node-NAME`…) of the PKI in `pki`, trusting that
/// PKI's CA; `None` for `name` presents no certificate.
pub fn credentials(pki: &Path, name: Option<&str>) -> Credentials {
    let layout = Layout::new(pki);
    let read = |path: &Path| std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Credentials {
        ca_pem: Some(read(&layout.ca_cert())),
        client_cert_pem: name.map(|n| read(&layout.cert(n))),
        client_key_pem: name.map(|n| read(&layout.key(n))),
        source: layout.ca_cert(),
        ..Credentials::default()
    }
}

/// A secured API server (Node,RBAC) on the embedded store that dials
/// kubelets with its kubelet-client certificate, as kube-apiserver does for
/// `pods/log` and `pods/exec`; its kubelets serve with [`kubelet_serving`].
pub async fn cluster_reaching_kubelets() -> crate::TestCluster {
    use capstan_apiserver::door::AuthorizationMode;
    crate::TestCluster::start_behind(crate::Backend::Embedded, crate::Door::Secured, |config| {
        config.security.authorization_modes = vec![AuthorizationMode::Node, AuthorizationMode::Rbac];
        let ca = config.security.tls.as_ref().and_then(|t| t.client_ca.clone()).expect("a secured door has a CA");
        let pki = ca.parent().expect("the CA is in the PKI directory").to_path_buf();
        config.kubelet_client = Some(kubelet_client(&pki));
    })
    .await
    .expect("the embedded store needs no daemon")
}
