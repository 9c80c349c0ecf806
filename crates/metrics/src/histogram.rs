//! Histograms: observations counted into fixed buckets, rendered as
//! cumulative `_bucket{le=…}` lines plus `_sum` and `_count`, so a query can
//! compute quantiles with `histogram_quantile`.

use crate::error::MetricsError;
use crate::registry::Sample;
use crate::text::{format_value, sample};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Prometheus' default buckets (seconds): 5 ms to 10 s.
pub const DEFAULT_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// `count` buckets: `start`, `start * factor`, `start * factor²`, …
/// (checked when the histogram is registered).
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Vec<f64> {
    std::iter::successors(Some(start), |b| Some(b * factor)).take(count).collect()
}

/// `count` buckets: `start`, `start + width`, `start + 2·width`, …
pub fn linear_buckets(start: f64, width: f64, count: usize) -> Vec<f64> {
    (0..count).map(|i| start + width * i as f64).collect()
}

/// Buckets must be finite and strictly increasing; `+Inf` is always added.
pub(crate) fn check_buckets(name: &str, bounds: &[f64]) -> Result<Arc<[f64]>, MetricsError> {
    let bad = |message: &str| Err(MetricsError::Buckets { name: name.into(), message: message.into() });
    if bounds.is_empty() {
        return bad("no buckets");
    }
    if bounds.iter().any(|b| !b.is_finite()) {
        return bad("every bucket must be a finite number (+Inf is added by itself)");
    }
    if bounds.windows(2).any(|w| w[0] >= w[1]) {
        return bad("buckets must be strictly increasing");
    }
    Ok(bounds.into())
}

#[derive(Debug)]
struct Inner {
    bounds: Arc<[f64]>,
    /// One count per bucket (not cumulative) and a last one for `+Inf`.
    counts: Box<[AtomicU64]>,
    sum_bits: AtomicU64,
}

/// Observations in buckets; a cheap-to-clone handle.
#[derive(Debug, Clone)]
pub struct Histogram {
    inner: Arc<Inner>,
}

impl Histogram {
    pub(crate) fn new(bounds: Arc<[f64]>) -> Histogram {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Histogram { inner: Arc::new(Inner { bounds, counts, sum_bits: AtomicU64::new(0f64.to_bits()) }) }
    }

    pub fn observe(&self, value: f64) {
        let inner = &self.inner;
        // the first bucket whose upper bound is >= value; NaN lands in +Inf
        let index = if value.is_nan() { inner.bounds.len() } else { inner.bounds.partition_point(|b| *b < value) };
        if let Some(count) = inner.counts.get(index) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        let _ = inner
            .sum_bits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some((f64::from_bits(bits) + value).to_bits()));
    }

    /// Observe a duration in seconds (the unit of every `_seconds` metric).
    pub fn observe_duration(&self, duration: Duration) {
        self.observe(duration.as_secs_f64());
    }

    pub fn count(&self) -> u64 {
        self.inner.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    pub fn sum(&self) -> f64 {
        f64::from_bits(self.inner.sum_bits.load(Ordering::Relaxed))
    }
}

impl crate::registry::sealed::Sealed for Histogram {}

impl Sample for Histogram {
    const TYPE: &'static str = "histogram";

    fn write(&self, name: &str, labels: &str, out: &mut String) {
        let sep = if labels.is_empty() { "" } else { "," };
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        let bounds = self.inner.bounds.iter().map(|b| format_value(*b)).chain(std::iter::once("+Inf".to_string()));
        for (bound, count) in bounds.zip(self.inner.counts.iter()) {
            cumulative += count.load(Ordering::Relaxed);
            sample(out, &bucket, &format!("{labels}{sep}le=\"{bound}\""), &cumulative.to_string());
        }
        sample(out, &format!("{name}_sum"), labels, &format_value(self.sum()));
        // from the same loads as the buckets, so `_count` always equals the +Inf bucket
        sample(out, &format!("{name}_count"), labels, &cumulative.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_helpers_and_checks() {
        assert_eq!(exponential_buckets(0.001, 2.0, 4), [0.001, 0.002, 0.004, 0.008]);
        assert_eq!(linear_buckets(1.0, 0.5, 3), [1.0, 1.5, 2.0]);
        let err = |b: &[f64]| check_buckets("h", b).err().map(|e| e.to_string());
        assert_eq!(err(&[]).as_deref(), Some("histogram \"h\": bad buckets: no buckets"));
        assert!(err(&[1.0, 1.0]).is_some_and(|e| e.contains("strictly increasing")));
        assert!(err(&[1.0, f64::INFINITY]).is_some_and(|e| e.contains("finite")));
        assert!(err(&[0.1, 1.0]).is_none());
    }

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let h = Histogram::new(Arc::from([0.125, 1.0].as_slice()));
        for v in [0.0625, 0.125, 0.5, 1.0, 7.0] {
            h.observe(v);
        }
        h.observe_duration(Duration::from_millis(250));
        let mut out = String::new();
        h.write("d", "", &mut out);
        let want = "d_bucket{le=\"0.125\"} 2\nd_bucket{le=\"1\"} 5\nd_bucket{le=\"+Inf\"} 6\nd_sum 8.9375\nd_count 6\n";
        assert_eq!(out, want);
        assert_eq!(h.count(), 6);
    }
}
