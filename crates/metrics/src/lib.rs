//! Prometheus metrics for every Capstan component (DESIGN.md: every service
//! serves `grpc.health.v1` and Prometheus metrics), small and without a
//! metrics framework behind it. Serving them (`GET /metrics`) is
//! `capstan-server`'s: this crate knows no network.
//!
//! ```
//! # fn demo() -> Result<(), capstan_metrics::MetricsError> {
//! use capstan_metrics::{exponential_buckets, Registry};
//! let registry = Registry::new();
//! let attempts = registry.counter_vec("x_attempts_total", "Attempts by result.", ["result"])?;
//! let scheduled = attempts.with(["scheduled"]); // keep the handle; updates are lock-free
//! scheduled.inc();
//! let latency = registry.histogram("x_duration_seconds", "How long.", &exponential_buckets(0.001, 2.0, 15))?;
//! latency.observe(0.003);
//! assert!(registry.render().contains("x_attempts_total{result=\"scheduled\"} 1"));
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//! - [`counter`] ([`Counter`], [`Gauge`]), [`histogram`] ([`Histogram`] and
//!   bucket helpers), [`family`] (the same metric by label values:
//!   [`CounterVec`], [`GaugeVec`], [`HistogramVec`]).
//! - [`registry`]: names, HELP and TYPE, and the scrape's text.
//! - [`text`]: the exposition format (name rules, escaping, values).
//!
//! # Invariants
//! - A registered name is valid and unique, label names are valid and the
//!   number of label values is checked by the type system, so updating a
//!   metric can never fail.
//! - A histogram's `_count` equals its `+Inf` bucket in every scrape.

pub mod counter;
pub mod error;
pub mod family;
pub mod histogram;
pub mod registry;
pub mod text;

pub use counter::{Counter, Gauge};
pub use error::MetricsError;
pub use family::{CounterVec, Family, GaugeVec, HistogramVec};
pub use histogram::{exponential_buckets, linear_buckets, Histogram, DEFAULT_BUCKETS};
pub use registry::Registry;
pub use text::CONTENT_TYPE;
