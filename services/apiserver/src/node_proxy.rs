//! Reaching a pod's kubelet, as kube-apiserver does for `pods/log` and
//! `pods/exec`: the pod (its `spec.nodeName`), the Node (its kubelet's
//! address, `capstan_client::nodes::kubelet_address`), then a gRPC channel to
//! that kubelet with the API server's own kubelet-client identity
//! (`--kubelet-client-certificate`, `--kubelet-client-key`), verifying the
//! kubelet's serving certificate against `--kubelet-certificate-authority`.
//!
//! The kubelet's certificate is checked against the node's name, not the
//! address it publishes: `certs init` issues `kubelet-NAME` for the node
//! name, so only the kubelet holding that node's certificate can answer for
//! it, whatever address its Node reports. Without a CA the certificate is not
//! checked (kube-apiserver's behaviour without the flag; a warning at start).
//! Without a client certificate the kubelet is dialled in plaintext: an open
//! development cluster, whose kubelets listen on loopback.
//!
//! A kubelet's refusal is passed on in its own code and words; a kubelet that
//! cannot be reached is `ServiceUnavailable`, naming the node and address.

use crate::error::ApiError;
use crate::registry::Registry;
use capstan_client::connect::ClientChannel;
use capstan_client::Credentials;
use capstan_pki::{cert, PkiError};
use capstan_proto::core::v1::{Node, Pod};
use capstan_proto::kubelet::v1::kubelet_service_client::KubeletServiceClient;
use capstan_proto::Resource;
use std::error::Error as _;
use std::path::PathBuf;
use std::sync::Arc;
use tonic::Code;

/// The API server's flags for calling kubelets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeletClientFiles {
    /// `--kubelet-client-certificate`: certs init's `apiserver-kubelet-client.crt`.
    pub cert: PathBuf,
    /// `--kubelet-client-key`.
    pub key: PathBuf,
    /// `--kubelet-certificate-authority`: the CA kubelets' serving certificates chain to.
    pub certificate_authority: Option<PathBuf>,
}

/// Dials the kubelets of pods; see the [module](self) docs.
pub struct NodeProxy {
    registry: Arc<Registry>,
    /// `None`: plaintext (no client certificate configured)
    credentials: Option<Credentials>,
}

/// A pod's kubelet, connected (lazily: the first call dials).
pub struct PodKubelet {
    pub client: KubeletServiceClient<ClientChannel>,
    pub node: String,
    pub address: String,
}

impl NodeProxy {
    /// Reads the client certificate, key and CA; an unreadable or expired
    /// one refuses the API server's start, naming the file. `None`: plaintext.
    pub fn credentials(files: Option<&KubeletClientFiles>) -> Result<Option<Credentials>, PkiError> {
        let credentials = files.map(credentials).transpose()?;
        if credentials.as_ref().is_some_and(|c| c.insecure_skip_tls_verify) {
            tracing::warn!("no --kubelet-certificate-authority: the kubelets' serving certificates are not verified");
        }
        Ok(credentials)
    }

    /// A proxy reading pods and nodes from `registry`, dialling kubelets with
    /// `credentials` (from [`NodeProxy::credentials`]).
    pub fn new(registry: Arc<Registry>, credentials: Option<Credentials>) -> NodeProxy {
        NodeProxy { registry, credentials }
    }

    /// Pod `namespace/name`, as stored.
    pub async fn pod(&self, namespace: &str, name: &str) -> Result<Pod, ApiError> {
        let target = self.registry.target("pods", namespace, name)?;
        Pod::try_from_object(self.registry.get(&target).await?)
            .ok_or_else(|| ApiError::Internal(format!("pods {name:?} is stored as another kind")))
    }

    /// The kubelet of `pod`: refused when it has no node yet, or its node
    /// does not say where its kubelet is.
    pub async fn kubelet_for(&self, pod: &Pod) -> Result<PodKubelet, ApiError> {
        let name = pod.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default();
        let node = pod.spec.as_ref().map(|s| s.node_name.clone()).unwrap_or_default();
        if node.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "pod {name} does not have a host assigned: it is not scheduled to a node yet, so no kubelet runs it"
            )));
        }
        let node_target = self.registry.target("nodes", "", &node)?;
        let node_object = match self.registry.get(&node_target).await {
            Ok(object) => Node::try_from_object(object),
            Err(ApiError::NotFound { .. }) => {
                return Err(ApiError::KubeletUnreachable {
                    node: node.clone(),
                    address: String::new(),
                    cause: format!("pod {name} is bound to node {node}, which is not registered"),
                })
            }
            Err(other) => return Err(other),
        };
        let address =
            node_object.as_ref().and_then(|n| capstan_client::nodes::kubelet_address(n.status.as_ref(), None));
        let Some(address) = address else {
            return Err(ApiError::KubeletUnreachable {
                node: node.clone(),
                address: String::new(),
                cause: format!(
                    "node {node} does not report its kubelet's address and port (has its kubelet registered?)"
                ),
            });
        };
        let client = self.dial(&node, &address)?;
        Ok(PodKubelet { client, node, address })
    }

    fn dial(&self, node: &str, address: &str) -> Result<KubeletServiceClient<ClientChannel>, ApiError> {
        let (url, credentials) = match &self.credentials {
            Some(credentials) => {
                let credentials = Credentials { tls_server_name: Some(node.to_string()), ..credentials.clone() };
                (format!("https://{address}"), credentials)
            }
            None => (format!("http://{address}"), Credentials::default()),
        };
        let channel = capstan_client::connect::channel(&url, &credentials).map_err(|e| {
            ApiError::KubeletUnreachable { node: node.to_string(), address: address.to_string(), cause: e.to_string() }
        })?;
        Ok(KubeletServiceClient::new(channel))
    }
}

impl PodKubelet {
    /// A failed kubelet call as the user should see it: the kubelet's own
    /// refusal in its code and words; a connection that failed (tonic's own
    /// status, carrying the transport error as its source) as unreachable.
    pub fn fail(&self, status: tonic::Status) -> ApiError {
        if status.source().is_some() || (status.code() == Code::Unknown && status.message().contains("transport")) {
            return ApiError::KubeletUnreachable {
                node: self.node.clone(),
                address: self.address.clone(),
                cause: innermost(&status),
            };
        }
        match status.code() {
            // the kubelet refused the API server itself: the user can do
            // nothing about it, the operator can
            Code::Unauthenticated => ApiError::Internal(format!(
                "the kubelet of node {} at {} refused the API server's credentials ({}): \
                 check --kubelet-client-certificate and the kubelet's --client-ca-file",
                self.node,
                self.address,
                status.message()
            )),
            code => ApiError::FromKubelet { code, message: status.message().to_string() },
        }
    }
}

/// The deepest cause of a transport failure (tonic's own text is just
/// "transport error").
fn innermost(status: &tonic::Status) -> String {
    let mut text = status.message().to_string();
    let mut source = status.source();
    while let Some(cause) = source {
        text = cause.to_string();
        source = cause.source();
    }
    text
}

/// The API server's kubelet-client credentials from its files, checked as
/// rustls will use them (the key goes with the certificate).
fn credentials(files: &KubeletClientFiles) -> Result<Credentials, PkiError> {
    let now = cert::unix_now();
    let client = cert::load_certificate(&files.cert, now)?;
    let key = std::fs::read(&files.key).map_err(|source| PkiError::Io { path: files.key.clone(), source })?;
    cert::parse_pem_key(&key, &files.key.display().to_string())?;
    let ca_pem = match &files.certificate_authority {
        Some(path) => Some(cert::load_certificate(path, now)?.pem.into_bytes()),
        None => None,
    };
    let credentials = Credentials {
        insecure_skip_tls_verify: ca_pem.is_none(),
        ca_pem,
        client_cert_pem: Some(client.pem.into_bytes()),
        client_key_pem: Some(key),
        source: files.cert.clone(),
        ..Credentials::default()
    };
    capstan_pki::tls::client_config(&credentials)?;
    Ok(credentials)
}
