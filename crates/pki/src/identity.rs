//! Who gets a certificate, and what it says: Kubernetes' bootstrap identities
//! (the user is the CN, the group the O), so the authorizers and roles
//! written for Kubernetes recognise Capstan's components.

use crate::error::PkiError;
use crate::issue::{Profile, San, Usage};
use std::net::IpAddr;

pub const MASTERS: &str = "system:masters";
pub const NODES: &str = "system:nodes";
/// The service range the API server allocates from by default (`--service-cluster-ip-range`).
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";

/// One certificate `certs init` makes: its file stem, what it says, and
/// whether it gets a kubeconfig (client identities of components and users).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub name: String,
    pub profile: Profile,
    pub kubeconfig: bool,
}

fn client(name: &str, user: &str, group: Option<&str>, kubeconfig: bool) -> Piece {
    Piece {
        name: name.to_string(),
        profile: Profile {
            common_name: user.to_string(),
            group: group.map(str::to_string),
            sans: Vec::new(),
            usage: Usage::Client,
        },
        kubeconfig,
    }
}

/// `system:node:NAME`, the user a node's kubelet is.
pub fn node_user(node: &str) -> String {
    format!("system:node:{node}")
}

/// The SANs of the API server's serving certificate: loopback, the host, the
/// in-cluster names of the `kubernetes` Service, its cluster IP (the first
/// address of the service range) and the extra names asked for.
pub fn apiserver_sans(hostname: &str, service_cidr: &str, extra: &[San]) -> Result<Vec<San>, PkiError> {
    let mut sans = vec![San::Dns("localhost".into()), San::Ip(IpAddr::from([127, 0, 0, 1]))];
    if !hostname.is_empty() {
        sans.push(San::parse(hostname));
    }
    for name in ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"] {
        sans.push(San::Dns(name.into()));
    }
    sans.push(San::Ip(first_service_ip(service_cidr)?));
    sans.extend(extra.iter().cloned());
    Ok(dedup(sans))
}

/// Every piece for these nodes, API server SANs given.
pub fn pieces(apiserver_sans: Vec<San>, nodes: &[String], hostname: &str) -> Vec<Piece> {
    let mut pieces = vec![
        Piece {
            name: "apiserver".into(),
            profile: Profile {
                common_name: "kube-apiserver".into(),
                group: None,
                sans: apiserver_sans,
                usage: Usage::Server,
            },
            kubeconfig: false,
        },
        // as kubeadm: the API server calls kubelets as a member of system:masters
        client("apiserver-kubelet-client", "kube-apiserver-kubelet-client", Some(MASTERS), false),
        client("admin", "admin", Some(MASTERS), true),
        client("scheduler", "system:kube-scheduler", None, true),
        client("controller-manager", "system:kube-controller-manager", None, true),
        client("proxy", "system:kube-proxy", None, true),
        client("dns", "system:kube-dns", None, true),
    ];
    // the trace sink's serving certificate: its exporters dial it by role name
    let mut sink_sans =
        vec![San::Dns("trace-sink".into()), San::Dns("localhost".into()), San::Ip(IpAddr::from([127, 0, 0, 1]))];
    if !hostname.is_empty() {
        sink_sans.push(San::parse(hostname));
    }
    pieces.push(Piece {
        name: "trace-sink".into(),
        profile: Profile {
            common_name: "capstan-trace-sink".into(),
            group: None,
            sans: dedup(sink_sans),
            usage: Usage::Server,
        },
        kubeconfig: false,
    });
    for node in nodes {
        pieces.push(client(&format!("node-{node}"), &node_user(node), Some(NODES), true));
        let mut sans = vec![San::Dns(node.clone()), San::Ip(IpAddr::from([127, 0, 0, 1]))];
        if !hostname.is_empty() {
            sans.push(San::parse(hostname));
        }
        pieces.push(Piece {
            name: format!("kubelet-{node}"),
            profile: Profile { common_name: node_user(node), group: None, sans: dedup(sans), usage: Usage::Server },
            kubeconfig: false,
        });
    }
    pieces
}

fn dedup(sans: Vec<San>) -> Vec<San> {
    let mut out: Vec<San> = Vec::with_capacity(sans.len());
    for san in sans {
        if !out.contains(&san) {
            out.push(san);
        }
    }
    out
}

/// The first usable address of a CIDR: the `kubernetes` Service's cluster IP.
pub fn first_service_ip(cidr: &str) -> Result<IpAddr, PkiError> {
    let invalid = |message: &str| PkiError::InvalidInput {
        what: "service range",
        value: cidr.to_string(),
        message: message.to_string(),
    };
    let (addr, bits) = cidr.split_once('/').ok_or_else(|| invalid("expected ADDRESS/BITS"))?;
    let addr: IpAddr = addr.parse().map_err(|_| invalid("not an IP address"))?;
    let bits: u32 = bits.parse().map_err(|_| invalid("the prefix length is not a number"))?;
    match addr {
        IpAddr::V4(v4) if bits <= 30 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            Ok(IpAddr::V4(std::net::Ipv4Addr::from((u32::from(v4) & mask) + 1)))
        }
        IpAddr::V6(v6) if bits <= 126 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            Ok(IpAddr::V6(std::net::Ipv6Addr::from((u128::from(v6) & mask) + 1)))
        }
        _ => Err(invalid("the range is too small to hold a service address")),
    }
}

/// Checks a node name: it becomes a file name and a user name.
pub fn check_node_name(node: &str) -> Result<(), PkiError> {
    capstan_selectors::syntax::dns1123_subdomain(node).map_err(|message| PkiError::InvalidInput {
        what: "node name",
        value: node.to_string(),
        message,
    })
}

/// Parses a `--san`: an IP address, or a DNS name (a `*.` wildcard allowed).
pub fn parse_san(value: &str) -> Result<San, PkiError> {
    match San::parse(value.trim()) {
        San::Ip(ip) => Ok(San::Ip(ip)),
        San::Dns(name) => {
            let name = name.to_ascii_lowercase();
            let bare = name.strip_prefix("*.").unwrap_or(&name);
            capstan_selectors::syntax::dns1123_subdomain(bare).map_err(|message| PkiError::InvalidInput {
                what: "--san",
                value: value.to_string(),
                message: format!("neither an IP address nor a DNS name: {message}"),
            })?;
            Ok(San::Dns(name))
        }
    }
}
