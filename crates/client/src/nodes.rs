//! Where a node's kubelet answers, read from the Node's status. The CLI
//! (logs, exec) and the autoscaler (pod usage) both dial kubelets.

use capstan_proto::core::v1::NodeStatus;

/// `host:port` of a node's kubelet: its InternalIP (else Hostname), and the
/// port the kubelet publishes in `daemonEndpoints`, else `default_port`;
/// `None` when neither says where.
pub fn kubelet_address(status: Option<&NodeStatus>, default_port: Option<u16>) -> Option<String> {
    let status = status?;
    let published = status.daemon_endpoints.as_ref().and_then(|d| d.kubelet_endpoint.as_ref()).map(|e| e.port);
    let port = published.and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0).or(default_port)?;
    let pick = |kind: &str| status.addresses.iter().find(|a| a.r#type == kind && !a.address.is_empty());
    let host = &pick("InternalIP").or_else(|| pick("Hostname"))?.address;
    Some(match host.parse::<std::net::Ipv6Addr>() {
        Ok(_) => format!("[{host}]:{port}"),
        Err(_) => format!("{host}:{port}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::core::v1::{DaemonEndpoint, NodeAddress, NodeDaemonEndpoints};

    fn status(port: i32, addresses: &[(&str, &str)]) -> NodeStatus {
        NodeStatus {
            addresses: addresses
                .iter()
                .map(|(t, a)| NodeAddress { r#type: t.to_string(), address: a.to_string() })
                .collect(),
            daemon_endpoints: Some(NodeDaemonEndpoints { kubelet_endpoint: Some(DaemonEndpoint { port }) }),
            ..Default::default()
        }
    }

    #[test]
    fn prefers_the_published_port_and_internal_ip() {
        let both = status(40123, &[("Hostname", "n1"), ("InternalIP", "10.0.0.5")]);
        assert_eq!(kubelet_address(Some(&both), Some(10250)).as_deref(), Some("10.0.0.5:40123"));
        let unpublished = status(0, &[("Hostname", "n1")]);
        assert_eq!(kubelet_address(Some(&unpublished), Some(10250)).as_deref(), Some("n1:10250"));
        assert_eq!(kubelet_address(Some(&unpublished), None), None, "no port known");
        let v6 = status(1, &[("InternalIP", "fd00::1")]);
        assert_eq!(kubelet_address(Some(&v6), Some(10250)).as_deref(), Some("[fd00::1]:1"));
        assert_eq!(kubelet_address(Some(&status(1, &[])), Some(10250)), None);
        assert_eq!(kubelet_address(None, Some(10250)), None);
    }
}
