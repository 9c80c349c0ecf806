//! Pod resource usage, read from each pod's kubelet (`KubeletService/PodUsage`).
//!
//! A controller-manager whose kubeconfig holds a client certificate dials
//! kubelets over TLS with it (the kubelet allows `system:kube-controller-manager`
//! to read usage and nothing else), trusting the kubeconfig's cluster CA and
//! checking the kubelet's certificate against the node's name, as the API
//! server does; one with no certificate (an open development cluster, whose
//! kubelets serve plaintext on loopback) dials in plaintext.
//!
//! The kubelet reports cumulative CPU time, so a rate needs two readings:
//! [`CpuRates`] keeps each container's last reading and answers the rate
//! between it and the next one at least [`MIN_RATE_WINDOW`] later (a reading
//! sooner than that answers the previous rate, so several autoscalers over
//! the same pods do not shrink each other's windows). A pod's first reading
//! therefore has no CPU figure yet and counts as missing, as a pod the
//! metrics pipeline has not scraped twice does in Kubernetes.

use crate::error::ControllerError;
use capstan_client::connect::ClientChannel;
use capstan_client::Credentials;
use capstan_proto::core::v1::Pod;
use capstan_proto::kubelet::v1::kubelet_service_client::KubeletServiceClient;
use capstan_proto::kubelet::v1::{ContainerUsage, PodUsageRequest};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The shortest span a CPU rate is computed over.
pub const MIN_RATE_WINDOW: Duration = Duration::from_millis(500);
/// Readings not refreshed for this long belong to pods that are gone.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// How long one kubelet call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A pod's usage, in thousandths (millicores; bytes × 1000).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodUsage {
    /// `None` until two readings of every container span a window
    pub cpu: Option<i64>,
    pub memory: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
struct Reading {
    cpu_nanos: u64,
    at_nanos: i64,
    rate: Option<i64>,
    seen: Instant,
}

/// Each container's last CPU reading and rate, keyed by (pod uid, container).
#[derive(Debug, Default)]
pub struct CpuRates {
    readings: HashMap<(String, String), Reading>,
}

impl CpuRates {
    /// Takes a reading; answers the container's CPU use in millicores once
    /// there are two readings far enough apart. A counter that went back (a
    /// restarted container) starts over.
    pub fn observe(
        &mut self,
        pod_uid: &str,
        container: &str,
        cpu_nanos: u64,
        at_nanos: i64,
        now: Instant,
    ) -> Option<i64> {
        let key = (pod_uid.to_string(), container.to_string());
        let fresh = Reading { cpu_nanos, at_nanos, rate: None, seen: now };
        let Some(last) = self.readings.get_mut(&key) else {
            self.readings.insert(key, fresh);
            return None;
        };
        last.seen = now;
        let span = at_nanos.saturating_sub(last.at_nanos);
        if span >= 0 && u128::from(span.unsigned_abs()) < MIN_RATE_WINDOW.as_nanos() && cpu_nanos >= last.cpu_nanos {
            return last.rate;
        }
        if span <= 0 || cpu_nanos < last.cpu_nanos {
            *last = fresh;
            return None;
        }
        let used = u128::from(cpu_nanos - last.cpu_nanos);
        let rate = i64::try_from(used * 1000 / u128::from(span.unsigned_abs())).unwrap_or(i64::MAX);
        *last = Reading { rate: Some(rate), ..fresh };
        Some(rate)
    }

    /// Forgets containers not read for a long while.
    pub fn prune(&mut self, now: Instant) {
        self.readings.retain(|_, r| now.saturating_duration_since(r.seen) < FORGET_AFTER);
    }

    pub fn len(&self) -> usize {
        self.readings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.readings.is_empty()
    }
}

/// A pod's usage from the kubelet's per-container figures: CPU only when
/// every container has a rate.
pub fn pod_usage(rates: &mut CpuRates, pod_uid: &str, containers: &[ContainerUsage], now: Instant) -> PodUsage {
    if containers.is_empty() {
        return PodUsage::default();
    }
    let mut cpu = Some(0i64);
    let mut memory = 0i64;
    for c in containers {
        let rate = rates.observe(pod_uid, &c.name, c.cpu_usage_core_nanoseconds, c.timestamp, now);
        cpu = cpu.zip(rate).map(|(sum, r)| sum.saturating_add(r));
        memory = memory
            .saturating_add(i64::try_from(c.memory_working_set_bytes).unwrap_or(i64::MAX / 1000).saturating_mul(1000));
    }
    PodUsage { cpu, memory: Some(memory) }
}

/// Reads pod usage from kubelets, keeping one connection per kubelet.
#[derive(Default)]
pub struct UsageReader {
    /// the TLS material kubelets are dialled with; `None`: plaintext
    tls: Option<Credentials>,
    kubelets: Mutex<HashMap<(String, String), KubeletServiceClient<ClientChannel>>>,
    rates: Mutex<CpuRates>,
}

impl UsageReader {
    /// A reader dialling kubelets with the client certificate and CA of
    /// `credentials` (the controller-manager's kubeconfig) when it has a
    /// certificate, in plaintext otherwise. A bearer token is never sent to
    /// a kubelet.
    pub fn new(credentials: &Credentials) -> UsageReader {
        let tls = credentials.client_cert_pem.is_some().then(|| Credentials {
            token: None,
            tls_server_name: None,
            ..credentials.clone()
        });
        UsageReader { tls, ..UsageReader::default() }
    }

    /// The usage of `pod`, whose kubelet (of node `node`) listens at `address`.
    pub async fn read(&self, node: &str, address: &str, pod: &Pod) -> Result<PodUsage, ControllerError> {
        let meta = pod.metadata.as_ref().cloned().unwrap_or_default();
        let mut client = self.kubelet(node, address)?;
        let request = PodUsageRequest { namespace: meta.namespace.clone(), pod: meta.name.clone() };
        let failed = |message: String| ControllerError::Kubelet {
            action: format!(
                "read the usage of pod {}/{} from the kubelet of node {node} at {address}",
                meta.namespace, meta.name
            ),
            message,
        };
        let reply = tokio::time::timeout(CALL_TIMEOUT, client.pod_usage(request))
            .await
            .map_err(|_| failed(format!("no answer within {CALL_TIMEOUT:?}")))?
            .map_err(|status| failed(status.message().to_string()))?;
        let containers = reply.into_inner().containers;
        let now = Instant::now();
        let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        rates.prune(now);
        Ok(pod_usage(&mut rates, &meta.uid, &containers, now))
    }

    fn kubelet(&self, node: &str, address: &str) -> Result<KubeletServiceClient<ClientChannel>, ControllerError> {
        let key = (node.to_string(), address.to_string());
        let mut kubelets = self.kubelets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = kubelets.get(&key) {
            return Ok(client.clone());
        }
        let (url, credentials) = match &self.tls {
            // the kubelet's serving certificate names its node
            Some(tls) => {
                (format!("https://{address}"), Credentials { tls_server_name: Some(node.to_string()), ..tls.clone() })
            }
            None => (format!("http://{address}"), Credentials::default()),
        };
        let channel = capstan_client::connect::channel(&url, &credentials).map_err(|e| ControllerError::Kubelet {
            action: format!("connect to the kubelet of node {node} at {address}"),
            message: e.to_string(),
        })?;
        let client = KubeletServiceClient::new(channel);
        kubelets.insert(key, client.clone());
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn cpu_rate_needs_two_readings_a_window_apart() {
        let now = Instant::now();
        let mut rates = CpuRates::default();
        assert_eq!(rates.observe("p", "app", 0, 10 * S, now), None, "one reading is no rate");
        // half a core for two seconds
        assert_eq!(rates.observe("p", "app", S as u64, 12 * S, now), Some(500));
        // too soon after: the previous rate stands, the reading is not taken
        assert_eq!(rates.observe("p", "app", S as u64 + 1_000, 12 * S + S / 10, now), Some(500));
        // a quarter of a core since the last taken reading
        assert_eq!(rates.observe("p", "app", S as u64 + S as u64 / 2, 14 * S, now), Some(250));
        // the counter went back (a restart): start over
        assert_eq!(rates.observe("p", "app", 5, 16 * S, now), None);
        assert_eq!(rates.observe("p", "app", 5 + 2 * S as u64, 17 * S, now), Some(2000));
        assert_eq!(rates.observe("q", "app", 0, 17 * S, now), None, "per pod");
        rates.prune(now + FORGET_AFTER);
        assert!(rates.is_empty());
    }

    #[test]
    fn a_pod_has_cpu_only_when_every_container_has_a_rate() {
        let now = Instant::now();
        let usage = |name: &str, cpu: u64, at: i64| ContainerUsage {
            name: name.into(),
            cpu_usage_core_nanoseconds: cpu,
            memory_working_set_bytes: 4096,
            timestamp: at,
        };
        let mut rates = CpuRates::default();
        let first = pod_usage(&mut rates, "p", &[usage("a", 0, 0)], now);
        assert_eq!(first, PodUsage { cpu: None, memory: Some(4_096_000) });
        let both = [usage("a", S as u64, S), usage("b", 0, S)];
        assert_eq!(pod_usage(&mut rates, "p", &both, now).cpu, None, "b has one reading");
        let both = [usage("a", 2 * S as u64, 2 * S), usage("b", S as u64 / 10, 2 * S)];
        assert_eq!(pod_usage(&mut rates, "p", &both, now).cpu, Some(1100));
        assert_eq!(pod_usage(&mut rates, "p", &[], now), PodUsage::default(), "no containers, no figures");
    }
}
