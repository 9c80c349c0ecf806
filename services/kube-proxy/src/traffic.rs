//! What the proxy counts, per service port and backend: connections (TCP)
//! or flows (UDP), bytes each way, and failures. The series live in a
//! shared [`capstan_metrics::Registry`], so the scrape is written (and its
//! label values escaped) as every Capstan component's is.

use capstan_metrics::{Counter, Family, Registry};
use prometheus_client::encoding::EncodeLabelSet;

use crate::model::PortKey;
use crate::ProxyError;

/// The `backend` label when a failure happened before a backend was chosen.
pub const NO_BACKEND: &str = "none";

/// Every family's labels: the port key (`namespace/name:port/protocol`)
/// and the backend (`ip:port` or [`NO_BACKEND`]).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Pair {
    service: String,
    backend: String,
}

impl Pair {
    fn new(port: &PortKey, backend: &str) -> Pair {
        Pair { service: port.to_string(), backend: backend.into() }
    }
}

/// The counters of one (service port, backend) pair; cheap to clone, and
/// updates are lock-free.
#[derive(Debug, Clone)]
pub struct BackendCounters {
    pub connections: Counter,
    pub bytes_to_backend: Counter,
    pub bytes_from_backend: Counter,
    pub errors: Counter,
}

/// The proxy's four counter families, labelled by [`Pair`].
#[derive(Debug, Clone)]
pub struct TrafficMetrics {
    registry: Registry,
    connections: Family<Pair, Counter>,
    bytes_to_backend: Family<Pair, Counter>,
    bytes_from_backend: Family<Pair, Counter>,
    errors: Family<Pair, Counter>,
}

impl TrafficMetrics {
    /// Registers the proxy's metrics in `registry`.
    pub fn register(registry: &Registry) -> Result<TrafficMetrics, ProxyError> {
        let family = |name, help| registry.register(name, help, Family::default());
        Ok(TrafficMetrics {
            registry: registry.clone(),
            connections: family("capstan_proxy_connections_total", "connections (TCP) or flows (UDP) forwarded.")?,
            bytes_to_backend: family("capstan_proxy_bytes_to_backend_total", "bytes sent from clients to backends.")?,
            bytes_from_backend: family(
                "capstan_proxy_bytes_from_backend_total",
                "bytes sent from backends to clients.",
            )?,
            errors: family("capstan_proxy_errors_total", "connections that failed (refused, reset, no backend).")?,
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The counters for `port` and `backend` (or [`NO_BACKEND`]); the pair's
    /// series appear in every family at once, on first use.
    pub fn counters(&self, port: &PortKey, backend: &str) -> BackendCounters {
        let pair = Pair::new(port, backend);
        BackendCounters {
            connections: self.connections.get_or_create_owned(&pair),
            bytes_to_backend: self.bytes_to_backend.get_or_create_owned(&pair),
            bytes_from_backend: self.bytes_from_backend.get_or_create_owned(&pair),
            errors: self.errors.get_or_create_owned(&pair),
        }
    }

    /// The counters of a pair that has carried traffic; reading never adds
    /// a series to the scrape.
    pub fn get(&self, port: &PortKey, backend: &str) -> Option<BackendCounters> {
        let pair = Pair::new(port, backend);
        let read = |family: &Family<Pair, Counter>| family.get(&pair).map(|counter| counter.clone());
        Some(BackendCounters {
            connections: read(&self.connections)?,
            bytes_to_backend: read(&self.bytes_to_backend)?,
            bytes_from_backend: read(&self.bytes_from_backend)?,
            errors: read(&self.errors)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;
    use capstan_test_support::metric_sample;

    fn web() -> PortKey {
        PortKey { namespace: "ns".into(), name: "web".into(), port: "http".into(), protocol: Protocol::Tcp }
    }

    #[test]
    fn renders_each_pair() -> Result<(), ProxyError> {
        let metrics = TrafficMetrics::register(&Registry::new())?;
        metrics.counters(&web(), "10.0.0.1:80").connections.inc_by(2);
        metrics.counters(&web(), NO_BACKEND).errors.inc();
        let text = metrics.registry().render()?;
        let sample = |series: &str| metric_sample(&text, series);
        let connections = "capstan_proxy_connections_total{service=\"ns/web:http/tcp\",backend=\"10.0.0.1:80\"}";
        assert_eq!(sample(connections), Some(2.0), "{text}");
        let errors = "capstan_proxy_errors_total{service=\"ns/web:http/tcp\",backend=\"none\"}";
        assert_eq!(sample(errors), Some(1.0), "{text}");
        // a pair's series appear in every family, at zero where nothing was counted
        let untouched = "capstan_proxy_bytes_from_backend_total{service=\"ns/web:http/tcp\",backend=\"none\"}";
        assert_eq!(sample(untouched), Some(0.0), "{text}");
        assert!(text.contains("# TYPE capstan_proxy_bytes_to_backend_total counter\n"), "{text}");
        Ok(())
    }

    #[test]
    fn reading_a_pair_does_not_create_it() -> Result<(), ProxyError> {
        let metrics = TrafficMetrics::register(&Registry::new())?;
        assert!(metrics.get(&web(), "10.0.0.1:80").is_none());
        assert!(!metrics.registry().render()?.contains("10.0.0.1:80"));
        metrics.counters(&web(), "10.0.0.1:80").bytes_to_backend.inc_by(5);
        assert_eq!(metrics.get(&web(), "10.0.0.1:80").map(|c| c.bytes_to_backend.get()), Some(5));
        Ok(())
    }
}
