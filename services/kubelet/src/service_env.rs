//! The environment variables that tell a container where the Services of its
//! namespace are (`REDIS_MASTER_SERVICE_HOST`, `REDIS_MASTER_PORT_6379_TCP`, …),
//! after Kubernetes' kubelet (`pkg/kubelet/envvars` and `getServiceEnvVarMap`):
//! software written for Kubernetes (or for Docker links) finds its backends
//! through them without DNS.
//!
//! Pure: the caller passes the Services it knows when the container is created.

use std::collections::BTreeSet;
use std::sync::Arc;

use capstan_proto::core::v1::{Pod, Service};
use capstan_proto::runtime::v1::KeyValue;

/// Services whose variables every pod gets, from the `default` namespace,
/// whatever its `enableServiceLinks` (the API server's own Service).
const MASTER_SERVICES: &[&str] = &["kubernetes"];
const MASTER_NAMESPACE: &str = "default";

/// The variables `pod` gets from `services` (every namespace's; the function
/// picks): its namespace's Services with a cluster IP when `enableServiceLinks`
/// is true or left out, and `default/kubernetes` always. A Service of the pod's
/// own namespace wins over a master Service of the same name. Sorted by
/// Service name, each Service's variables in kubelet's order.
pub fn service_env(pod: &Pod, services: &[Arc<Service>]) -> Vec<KeyValue> {
    let namespace = pod.metadata.as_ref().map(|m| m.namespace.as_str()).unwrap_or_default();
    let links = pod.spec.as_ref().and_then(|s| s.enable_service_links).unwrap_or(true);
    let mut chosen: std::collections::BTreeMap<&str, &Service> = std::collections::BTreeMap::new();
    for service in services.iter().filter(|s| has_cluster_ip(s)) {
        let Some(meta) = service.metadata.as_ref() else { continue };
        if meta.namespace == MASTER_NAMESPACE && MASTER_SERVICES.contains(&meta.name.as_str()) {
            chosen.entry(meta.name.as_str()).or_insert(service);
        } else if meta.namespace == namespace && links {
            chosen.insert(meta.name.as_str(), service);
        }
    }
    chosen.values().flat_map(|service| variables(service)).collect()
}

/// `env` (the container's own, already resolved) followed by those of
/// `service_env` it does not set itself: the container's own value wins.
pub fn with_service_env(mut env: Vec<KeyValue>, service_env: &[KeyValue]) -> Vec<KeyValue> {
    let own: BTreeSet<String> = env.iter().map(|kv| kv.key.clone()).collect();
    let mut service: Vec<KeyValue> = service_env.iter().filter(|kv| !own.contains(&kv.key)).cloned().collect();
    // the service variables first, as the kubelet lists them, then the container's
    service.append(&mut env);
    service
}

/// Headless (`None`) and ExternalName (no cluster IP) Services have no address to give.
fn has_cluster_ip(service: &Service) -> bool {
    let ip = service.spec.as_ref().map(|s| s.cluster_ip.as_str()).unwrap_or_default();
    !ip.is_empty() && ip != "None"
}

/// `redis-master` → `REDIS_MASTER`.
fn variable_name(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

fn variables(service: &Service) -> Vec<KeyValue> {
    let name = service.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default();
    let Some(spec) = service.spec.as_ref() else { return Vec::new() };
    let prefix = variable_name(name);
    let ip = spec.cluster_ip.as_str();
    let var = |key: String, value: String| KeyValue { key, value };
    let mut vars = vec![var(format!("{prefix}_SERVICE_HOST"), ip.to_string())];
    let Some(first) = spec.ports.first() else { return vars };
    let service_port = format!("{prefix}_SERVICE_PORT");
    vars.push(var(service_port.clone(), first.port.to_string()));
    for port in spec.ports.iter().filter(|p| !p.name.is_empty()) {
        vars.push(var(format!("{service_port}_{}", variable_name(&port.name)), port.port.to_string()));
    }
    // Docker links' variables; Docker names the first port's address alone
    for (i, port) in spec.ports.iter().enumerate() {
        let protocol = if port.protocol.is_empty() { "TCP" } else { port.protocol.as_str() };
        let address = match ip.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("[{ip}]:{}", port.port),
            Err(_) => format!("{ip}:{}", port.port),
        };
        let url = format!("{}://{address}", protocol.to_lowercase());
        if i == 0 {
            vars.push(var(format!("{prefix}_PORT"), url.clone()));
        }
        let port_prefix = format!("{prefix}_PORT_{}_{}", port.port, protocol.to_uppercase());
        vars.push(var(port_prefix.clone(), url));
        vars.push(var(format!("{port_prefix}_PROTO"), protocol.to_lowercase()));
        vars.push(var(format!("{port_prefix}_PORT"), port.port.to_string()));
        vars.push(var(format!("{port_prefix}_ADDR"), ip.to_string()));
    }
    vars
}
