//! Probe result bookkeeping: a probe's verdict changes only after
//! `successThreshold` consecutive successes or `failureThreshold` consecutive
//! failures, as in Kubernetes. Pure, tested below.

/// The settled verdict of one probe and the streak that may change it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracker {
    success_threshold: u32,
    failure_threshold: u32,
    successes: u32,
    failures: u32,
    verdict: bool,
}

impl Tracker {
    /// A tracker starting at `initial` (liveness starts healthy, readiness and
    /// startup start failed); thresholds below 1 count as 1.
    pub fn new(success_threshold: i32, failure_threshold: i32, initial: bool) -> Self {
        let at_least_one = |n: i32| u32::try_from(n).unwrap_or(0).max(1);
        Tracker {
            success_threshold: at_least_one(success_threshold),
            failure_threshold: at_least_one(failure_threshold),
            successes: 0,
            failures: 0,
            verdict: initial,
        }
    }

    /// Records one probe result; returns the new verdict when it changed.
    pub fn record(&mut self, ok: bool) -> Option<bool> {
        if ok {
            self.successes += 1;
            self.failures = 0;
        } else {
            self.failures += 1;
            self.successes = 0;
        }
        let next = match ok {
            true if self.successes >= self.success_threshold => true,
            false if self.failures >= self.failure_threshold => false,
            _ => self.verdict,
        };
        let changed = next != self.verdict;
        self.verdict = next;
        changed.then_some(next)
    }

    pub fn verdict(&self) -> bool {
        self.verdict
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        // (success threshold, failure threshold, initial, results, verdict changes)
        type Row = (i32, i32, bool, &'static [bool], &'static [Option<bool>]);
        let rows: &[Row] = &[
            (1, 3, true, &[false, false, false], &[None, None, Some(false)]),
            (1, 3, true, &[false, false, true, false, false], &[None, None, None, None, None]),
            (1, 3, false, &[true], &[Some(true)]),
            (2, 1, false, &[true, false, true, true], &[None, None, None, Some(true)]),
            (1, 1, true, &[false, true], &[Some(false), Some(true)]),
            (0, 0, false, &[true, false], &[Some(true), Some(false)]),
        ];
        for (success, failure, initial, results, want) in rows {
            let mut tracker = Tracker::new(*success, *failure, *initial);
            let got: Vec<Option<bool>> = results.iter().map(|ok| tracker.record(*ok)).collect();
            assert_eq!(&got, want, "thresholds {success}/{failure} from {initial} with {results:?}");
        }
    }
}
