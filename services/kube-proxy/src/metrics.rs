//! Per service port and backend counters, rendered as Prometheus text.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::model::PortKey;

/// A counter family: name, help text, and which counter it reads.
type Family = (&'static str, &'static str, fn(&Counters) -> &AtomicU64);

/// The label used when a failure happened before a backend was chosen.
pub const NO_BACKEND: &str = "none";

/// Counters of one (service port, backend) pair.
#[derive(Debug, Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub bytes_to_backend: AtomicU64,
    pub bytes_from_backend: AtomicU64,
    pub errors: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Every pair's counters; a pair appears on first use.
#[derive(Debug, Default)]
pub struct Metrics {
    pairs: Mutex<BTreeMap<(String, String), Arc<Counters>>>,
}

impl Metrics {
    /// The counters for `port` and `backend` (or [`NO_BACKEND`]).
    pub fn counters(&self, port: &PortKey, backend: &str) -> Arc<Counters> {
        let mut pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        pairs.entry((port.to_string(), backend.to_string())).or_default().clone()
    }

    /// The counters of a pair, if it has been used.
    pub fn get(&self, port: &PortKey, backend: &str) -> Option<Arc<Counters>> {
        let pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        pairs.get(&(port.to_string(), backend.to_string())).cloned()
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let pairs: Vec<_> = {
            let pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
            pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let families: [Family; 4] = [
            ("capstan_proxy_connections_total", "connections (TCP) or flows (UDP) forwarded", |c| &c.connections),
            ("capstan_proxy_bytes_to_backend_total", "bytes sent from clients to backends", |c| &c.bytes_to_backend),
            ("capstan_proxy_bytes_from_backend_total", "bytes sent from backends to clients", |c| {
                &c.bytes_from_backend
            }),
            ("capstan_proxy_errors_total", "connections that failed (refused, reset, no backend)", |c| &c.errors),
        ];
        let mut out = String::new();
        for (name, help, field) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for ((service, backend), counters) in &pairs {
                let value = field(counters).load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}{{service=\"{service}\",backend=\"{backend}\"}} {value}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;

    #[test]
    fn renders_each_pair() {
        let metrics = Metrics::default();
        let key = PortKey { namespace: "ns".into(), name: "web".into(), port: "http".into(), protocol: Protocol::Tcp };
        Counters::add(&metrics.counters(&key, "10.0.0.1:80").connections, 2);
        Counters::add(&metrics.counters(&key, NO_BACKEND).errors, 1);
        let text = metrics.render();
        assert!(
            text.contains("capstan_proxy_connections_total{service=\"ns/web:http/tcp\",backend=\"10.0.0.1:80\"} 2"),
            "{text}"
        );
        assert!(text.contains("capstan_proxy_errors_total{service=\"ns/web:http/tcp\",backend=\"none\"} 1"), "{text}");
    }
}
