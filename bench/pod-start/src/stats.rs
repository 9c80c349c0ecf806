//! Percentiles of a handful of samples (nearest rank: with 30 samples, p99 is
//! the largest), kept exact rather than bucketed.

use std::time::Duration;

/// p50, p99 and max of one series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Summary {
    /// The summary of `samples`; `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        let mut sorted = samples.to_vec();
        sorted.sort();
        let max = *sorted.last()?;
        Some(Summary { n: sorted.len(), p50: percentile(&sorted, 0.50), p99: percentile(&sorted, 0.99), max })
    }
}

/// The nearest-rank percentile `p` (0..=1) of ascending `sorted`; zero when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of unsorted `samples`.
pub fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    percentile(&sorted, 0.5)
}

/// Milliseconds with one decimal, for tables.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_list(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples = ms_list(&[5, 1, 4, 2, 3]);
        let s = Summary::of(&samples).expect("samples");
        assert_eq!(
            (s.n, s.p50, s.p99, s.max),
            (5, Duration::from_millis(3), Duration::from_millis(5), Duration::from_millis(5))
        );
        assert_eq!(median(&ms_list(&[10, 30, 20, 40])), Duration::from_millis(20));
        assert!(Summary::of(&[]).is_none());
    }
}
