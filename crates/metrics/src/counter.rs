//! Counters (only go up) and gauges (go either way): lock-free handles that
//! are cheap to clone and keep in the struct that updates them.

use crate::registry::Sample;
use crate::text::{format_value, sample};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A count that only grows (resets only when the process restarts).
#[derive(Debug, Clone, Default)]
pub struct Counter {
    value: Arc<AtomicU64>,
}

impl Counter {
    pub fn inc(&self) {
        self.inc_by(1);
    }

    pub fn inc_by(&self, n: u64) {
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

impl crate::registry::sealed::Sealed for Counter {}

impl Sample for Counter {
    const TYPE: &'static str = "counter";

    fn write(&self, name: &str, labels: &str, out: &mut String) {
        sample(out, name, labels, &self.get().to_string());
    }
}

/// A value that can go up and down (queue lengths, in-flight work).
#[derive(Debug, Clone, Default)]
pub struct Gauge {
    /// The `f64`'s bits, so updates stay lock-free.
    bits: Arc<AtomicU64>,
}

impl Gauge {
    pub fn set(&self, value: f64) {
        self.bits.store(value.to_bits(), Ordering::Relaxed);
    }

    pub fn add(&self, delta: f64) {
        let _ = self
            .bits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some((f64::from_bits(bits) + delta).to_bits()));
    }

    pub fn inc(&self) {
        self.add(1.0);
    }

    pub fn dec(&self) {
        self.add(-1.0);
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

impl crate::registry::sealed::Sealed for Gauge {}

impl Sample for Gauge {
    const TYPE: &'static str = "gauge";

    fn write(&self, name: &str, labels: &str, out: &mut String) {
        sample(out, name, labels, &format_value(self.get()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_and_gauge_arithmetic() {
        let c = Counter::default();
        let shared = c.clone();
        c.inc();
        shared.inc_by(4);
        assert_eq!(c.get(), 5);
        let g = Gauge::default();
        g.set(2.5);
        g.inc();
        g.dec();
        g.dec();
        g.add(0.25);
        assert_eq!(g.get(), 1.75);
    }
}
