//! The `capstan-kubelet` binary's flags. A module of the binary, not of the
//! library, kept in its own file so that `services/capstan/tests/component_flags.rs`
//! can compile every component's flags side by side and check that no two
//! components read the same environment variable.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-kubelet", about = "Capstan's node agent")]
pub struct Flags {
    /// The API server's URL (default: the kubeconfig's server, else
    /// http://127.0.0.1:6443); overrides the kubeconfig's address.
    #[arg(long, env = "CAPSTAN_KUBELET_SERVER")]
    pub server: Option<String>,
    /// A kubeconfig: the server, its CA and this component's credentials.
    #[arg(long, env = "CAPSTAN_KUBELET_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// this node's name (default: the hostname)
    #[arg(long, env = "CAPSTAN_KUBELET_NODE_NAME")]
    pub node_name: Option<String>,
    /// the runtime: unix:///run/capstan/docker-shim.sock, or memory:// (only in a
    /// kubelet built with the memory-runtime feature); waited for if not serving yet
    #[arg(long, env = "CAPSTAN_KUBELET_RUNTIME_ENDPOINT", default_value = "unix:///run/capstan/docker-shim.sock")]
    pub runtime_endpoint: String,
    /// the address the kubelet's own gRPC service (logs, exec, usage) listens on;
    /// loopback by default; any other address (0.0.0.0 serves every interface)
    /// needs --tls-cert-file, --tls-private-key-file and --client-ca-file
    #[arg(long, env = "CAPSTAN_KUBELET_ADDRESS", default_value = "127.0.0.1")]
    pub address: IpAddr,
    /// the port of the kubelet's own gRPC service
    #[arg(long, env = "CAPSTAN_KUBELET_PORT", default_value_t = 10250)]
    pub port: u16,
    /// the kubelet's serving certificate (PEM; certs init's kubelet-NODE.crt);
    /// with --tls-private-key-file, the port serves TLS
    #[arg(long, env = "CAPSTAN_KUBELET_TLS_CERT_FILE", requires = "tls_private_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// the serving certificate's private key (PEM)
    #[arg(long, env = "CAPSTAN_KUBELET_TLS_PRIVATE_KEY_FILE", requires = "tls_cert_file")]
    pub tls_private_key_file: Option<PathBuf>,
    /// the CA whose client certificates authenticate callers; then only the API
    /// server's kubelet client (kube-apiserver-kubelet-client, or any member of
    /// system:masters) may read logs and exec, and system:kube-controller-manager
    /// may also read pod usage
    #[arg(long, env = "CAPSTAN_KUBELET_CLIENT_CA_FILE", requires = "tls_cert_file")]
    pub client_ca_file: Option<PathBuf>,
    /// the node's InternalIP (default: the address towards the API server)
    #[arg(long, env = "CAPSTAN_KUBELET_NODE_IP")]
    pub node_ip: Option<IpAddr>,
    /// the cluster DNS server(s) that pods with dnsPolicy ClusterFirst use
    /// (repeat the flag or separate with commas); without it such pods get
    /// the node's resolver, with a warning event
    #[arg(long, env = "CAPSTAN_KUBELET_CLUSTER_DNS", value_delimiter = ',', value_name = "IP")]
    pub cluster_dns: Vec<IpAddr>,
    /// the cluster's DNS zone: ClusterFirst pods search `<namespace>.svc.<zone>`,
    /// `svc.<zone>` and `<zone>`; "" for no cluster search domains
    #[arg(long, env = "CAPSTAN_KUBELET_CLUSTER_DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,
    /// the node's resolver file, copied by pods with dnsPolicy Default (and
    /// searched after the cluster's domains by ClusterFirst pods); "" for none
    /// [default: /etc/resolv.conf, or systemd-resolved's upstream file when
    /// /etc/resolv.conf names only its loopback stub]
    #[arg(long, env = "CAPSTAN_KUBELET_RESOLV_CONF")]
    pub resolv_conf: Option<PathBuf>,
}
