//! Prometheus metrics for every Capstan component (DESIGN.md: every service
//! serves `grpc.health.v1` and Prometheus metrics). The metric types, label
//! families and the text format are the Prometheus project's own client,
//! `prometheus-client`, re-exported here so every crate uses one version.
//! This crate adds only what that client leaves to its user: one registry
//! that every clone shares (its own is registered into through `&mut` by a
//! single owner), names scraped exactly as dashboards know them, duplicates
//! refused, and Prometheus' default buckets. Serving the scrape
//! (`GET /metrics`) is `capstan-server`'s: this crate knows no network.
//!
//! ```
//! # fn main() -> Result<(), capstan_metrics::MetricsError> {
//! use capstan_metrics::{exponential_buckets, Counter, Family, Histogram, Registry};
//! let registry = Registry::new();
//! // a label set is usually a `#[derive(prometheus_client::encoding::EncodeLabelSet)]`
//! // struct (the derive names `prometheus_client` by path, so its crate depends on it
//! // too); a list of pairs works as well
//! let attempts: Family<Vec<(&str, String)>, Counter> =
//!     registry.register("x_attempts_total", "Attempts by result.", Family::default())?;
//! attempts.get_or_create(&vec![("result", "scheduled".into())]).inc();
//! let latency = registry.register(
//!     "x_duration_seconds",
//!     "How long.",
//!     Histogram::new(exponential_buckets(0.001, 2.0, 15)),
//! )?;
//! latency.observe(0.003);
//! assert!(registry.render()?.contains("x_attempts_total{result=\"scheduled\"} 1\n"));
//! # Ok(())
//! # }
//! ```
//!
//! # Invariants
//! - A name is registered once, and scraped exactly as registered: a
//!   counter's name is given with its `_total`, which the text format adds
//!   itself, so it is never doubled nor dropped.
//! - The scrape is the Prometheus text format 0.0.4 ([`CONTENT_TYPE`]), not
//!   OpenMetrics: it is what Capstan has always served, every scraper
//!   accepts it, and its `# TYPE` lines keep a counter's `_total` name, so
//!   scrapes and the tests that read them line by line are unchanged.

pub mod error;
pub mod registry;

pub use error::MetricsError;
pub use registry::Registry;

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
pub use prometheus_client::metrics::counter::Counter;
pub use prometheus_client::metrics::family::Family;
pub use prometheus_client::metrics::gauge::Gauge;
pub use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

/// Prometheus' default buckets (seconds), 5 ms to 10 s, as every client
/// library but this one names them; grpc-go's latency histogram uses them.
pub const DEFAULT_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
