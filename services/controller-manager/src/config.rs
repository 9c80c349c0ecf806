//! What the controller-manager runs and how fast its controllers move.
//! `Default` is what `capstan up` and a flagless start use; tests shorten
//! the periods here, never by changing the defaults.

use crate::error::ControllerError;
use std::net::SocketAddr;
use std::time::Duration;

/// Every controller, by the name `--controllers` uses (Kubernetes' names).
pub const CONTROLLERS: &[&str] = &[
    "replicaset",
    "deployment",
    "nodelifecycle",
    "endpoints",
    "endpointslice",
    "garbagecollector",
    "namespace",
    "horizontalpodautoscaling",
];

/// The controller-manager's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The API server's URL.
    pub server: String,
    /// Who the component is to the API server (from `--kubeconfig`): TLS
    /// material and token; empty for plain `http://` without credentials.
    pub credentials: capstan_client::Credentials,
    /// Where to serve health and metrics; `None` serves nothing.
    pub listen: Option<SocketAddr>,
    /// Which controllers run (names from [`CONTROLLERS`]).
    pub controllers: Vec<String>,
    /// Work only while holding the `kube-system/capstan-controller-manager` Lease.
    pub leader_elect: bool,
    /// Workers per controller.
    pub workers: usize,
    /// How long a node's Lease may go unrenewed before the node is Unknown.
    pub node_monitor_grace_period: Duration,
    /// How often node health is checked.
    pub node_monitor_period: Duration,
    /// How often each HorizontalPodAutoscaler is evaluated.
    pub hpa_sync_period: Duration,
    /// How far back the autoscaler looks before it scales down.
    pub hpa_downscale_stabilization: Duration,
    /// The kubelets' gRPC port, where pod CPU usage is read.
    pub kubelet_port: u16,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: "http://127.0.0.1:6443".into(),
            credentials: capstan_client::Credentials::default(),
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 10257))),
            controllers: CONTROLLERS.iter().map(|c| c.to_string()).collect(),
            leader_elect: false,
            workers: 5,
            node_monitor_grace_period: Duration::from_secs(40),
            node_monitor_period: Duration::from_secs(5),
            hpa_sync_period: Duration::from_secs(15),
            hpa_downscale_stabilization: Duration::from_secs(300),
            kubelet_port: 10250,
        }
    }
}

impl Config {
    /// Whether `name` is among the controllers to run.
    pub fn runs(&self, name: &str) -> bool {
        self.controllers.iter().any(|c| c == name)
    }
}

/// Parse `--controllers` like Kubernetes: a comma-separated list where `*`
/// means every controller and `-name` removes one (`*,-namespace`).
pub fn parse_controllers(flag: &str) -> Result<Vec<String>, ControllerError> {
    let mut chosen: Vec<String> = Vec::new();
    for item in flag.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item == "*" {
            for name in CONTROLLERS {
                if !chosen.iter().any(|c| c == name) {
                    chosen.push(name.to_string());
                }
            }
            continue;
        }
        let (remove, name) = match item.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, item),
        };
        if !CONTROLLERS.contains(&name) {
            return Err(ControllerError::UnknownController { name: name.into(), known: CONTROLLERS.join(", ") });
        }
        if remove {
            chosen.retain(|c| c != name);
        } else if !chosen.iter().any(|c| c == name) {
            chosen.push(name.to_string());
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controllers_flag_selects_like_kubernetes() {
        let all: Vec<String> = CONTROLLERS.iter().map(|c| c.to_string()).collect();
        assert_eq!(parse_controllers("*").ok(), Some(all.clone()));
        assert_eq!(
            parse_controllers("replicaset, deployment").ok(),
            Some(vec!["replicaset".into(), "deployment".into()])
        );
        let without_ns = parse_controllers("*,-namespace").ok().unwrap_or_default();
        assert_eq!(without_ns.len(), all.len() - 1);
        assert!(!without_ns.iter().any(|c| c == "namespace"));
        assert_eq!(parse_controllers("").ok(), Some(vec![]));
        let err = parse_controllers("replicaset,replicasets").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("unknown controller \"replicasets\""), "{err}");
        assert!(err.contains("replicaset, deployment"), "lists the known ones: {err}");
    }
}
