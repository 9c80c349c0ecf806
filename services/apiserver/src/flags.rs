//! The `capstan-apiserver` binary's flags. A module of the binary, not of
//! the library, kept in its own file so that `services/capstan/tests/component_flags.rs`
//! can compile every component's flags side by side and check that no two
//! components read the same environment variable.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "capstan-apiserver", about = "Capstan's API server", version)]
pub struct Flags {
    /// Address to serve the gRPC API on. Loopback by default: without
    /// certificates nothing authenticates requests, so only this machine
    /// should reach it; open it once --client-ca-file or --token-auth-file is set.
    #[arg(long, env = "CAPSTAN_APISERVER_LISTEN", default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Directory of the embedded store (the default backend).
    #[arg(long, env = "CAPSTAN_APISERVER_DATA_DIR", default_value = "/var/lib/capstan/apiserver")]
    pub data_dir: PathBuf,
    /// Comma-separated etcd endpoints; when given, etcd is the store instead of the data directory.
    #[arg(long, env = "CAPSTAN_APISERVER_ETCD_SERVERS", value_delimiter = ',')]
    pub etcd_servers: Vec<String>,
    /// CIDR that Service cluster IPs are allocated from.
    #[arg(long, env = "CAPSTAN_APISERVER_SERVICE_CLUSTER_IP_RANGE", default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,
    /// Inclusive range node ports are allocated from, e.g. 30000-32767.
    #[arg(long, env = "CAPSTAN_APISERVER_SERVICE_NODE_PORT_RANGE", default_value = "30000-32767")]
    pub service_node_port_range: String,
    /// tolerationSeconds new pods get for the node.kubernetes.io/not-ready:NoExecute taint.
    #[arg(long, env = "CAPSTAN_APISERVER_DEFAULT_NOT_READY_TOLERATION_SECONDS", default_value_t = 300)]
    pub default_not_ready_toleration_seconds: i64,
    /// tolerationSeconds new pods get for the node.kubernetes.io/unreachable:NoExecute taint.
    #[arg(long, env = "CAPSTAN_APISERVER_DEFAULT_UNREACHABLE_TOLERATION_SECONDS", default_value_t = 300)]
    pub default_unreachable_toleration_seconds: i64,
    /// The API server's serving certificate (PEM); with --tls-private-key-file, the port serves TLS.
    #[arg(long, env = "CAPSTAN_APISERVER_TLS_CERT_FILE", requires = "tls_private_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// The serving certificate's private key (PEM).
    #[arg(long, env = "CAPSTAN_APISERVER_TLS_PRIVATE_KEY_FILE", requires = "tls_cert_file")]
    pub tls_private_key_file: Option<PathBuf>,
    /// CA whose client certificates authenticate their holder (CN the user, each O a group).
    #[arg(long, env = "CAPSTAN_APISERVER_CLIENT_CA_FILE", requires = "tls_cert_file")]
    pub client_ca_file: Option<PathBuf>,
    /// Kubernetes' static token file: one token,user,uid,"group1,group2" per line.
    #[arg(long, env = "CAPSTAN_APISERVER_TOKEN_AUTH_FILE")]
    pub token_auth_file: Option<PathBuf>,
    /// Let callers without credentials in as system:anonymous (group system:unauthenticated).
    #[arg(long, env = "CAPSTAN_APISERVER_ANONYMOUS_AUTH", default_value_t = false, action = clap::ArgAction::Set)]
    pub anonymous_auth: bool,
    /// Authorizers in order: AlwaysAllow, Node, RBAC. Default: Node,RBAC once a client CA or
    /// token file is set, else AlwaysAllow.
    #[arg(long, env = "CAPSTAN_APISERVER_AUTHORIZATION_MODE", value_delimiter = ',')]
    pub authorization_mode: Vec<capstan_apiserver::door::AuthorizationMode>,
    /// Calls other than writes handled at once before the next is refused with 429.
    #[arg(long, env = "CAPSTAN_APISERVER_MAX_REQUESTS_INFLIGHT", default_value_t = 400)]
    pub max_requests_inflight: usize,
    /// Writes (create, update, patch, delete) handled at once before the next is refused with 429.
    #[arg(long, env = "CAPSTAN_APISERVER_MAX_MUTATING_REQUESTS_INFLIGHT", default_value_t = 200)]
    pub max_mutating_requests_inflight: usize,
    /// How long a call may take to answer, in seconds (watches are bounded by their timeoutSeconds).
    #[arg(long, env = "CAPSTAN_APISERVER_REQUEST_TIMEOUT", default_value_t = 60)]
    pub request_timeout: u64,
    /// The API server's client certificate for kubelets (certs init's
    /// apiserver-kubelet-client.crt): pods/log and pods/exec dial kubelets over TLS with it.
    #[arg(long, env = "CAPSTAN_APISERVER_KUBELET_CLIENT_CERTIFICATE", requires = "kubelet_client_key")]
    pub kubelet_client_certificate: Option<PathBuf>,
    /// The key of --kubelet-client-certificate.
    #[arg(long, env = "CAPSTAN_APISERVER_KUBELET_CLIENT_KEY", requires = "kubelet_client_certificate")]
    pub kubelet_client_key: Option<PathBuf>,
    /// The CA kubelets' serving certificates are checked against (each must name its node);
    /// without it they are not checked.
    #[arg(long, env = "CAPSTAN_APISERVER_KUBELET_CERTIFICATE_AUTHORITY", requires = "kubelet_client_certificate")]
    pub kubelet_certificate_authority: Option<PathBuf>,
    /// Write one audit.k8s.io/v1 Event per call, as a JSON line, to this file.
    #[arg(long, env = "CAPSTAN_APISERVER_AUDIT_LOG_PATH")]
    pub audit_log_path: Option<PathBuf>,
    /// Rotate the audit log once it passes this many megabytes (0: never).
    #[arg(long, env = "CAPSTAN_APISERVER_AUDIT_LOG_MAXSIZE", default_value_t = 100)]
    pub audit_log_maxsize: u64,
    /// How many rotated audit logs to keep (0: all).
    #[arg(long, env = "CAPSTAN_APISERVER_AUDIT_LOG_MAXBACKUP", default_value_t = 10)]
    pub audit_log_maxbackup: usize,
}
