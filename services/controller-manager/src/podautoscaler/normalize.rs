//! From what the metrics ask for to what the autoscaler sets: stabilization
//! over recent recommendations, rate limits and the min/max clamp, as
//! Kubernetes' HPA normalizes, with the reasons its conditions carry.
//!
//! Without `behavior`, the count is the highest recommendation of the last
//! scale-down window (the controller's flag, 5 minutes by default) and may
//! at most double (or reach 4) per step. With `behavior`, each direction has
//! its own window and its policies (`Pods`/`Percent` per period, chosen by
//! `selectPolicy`) limit the change against the scale events of the period.
//! The per-HPA [`History`] is the only state; every function takes `now`.

use std::time::Duration;
use tokio::time::Instant;

/// Without `behavior`: a step may at most reach max(2 × current, 4).
const SCALE_UP_LIMIT_FACTOR: f64 = 2.0;
const SCALE_UP_LIMIT_MINIMUM: f64 = 4.0;

/// How a policy limits a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Pods,
    Percent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub kind: PolicyKind,
    pub value: i32,
    pub period: Duration,
}

/// Which policy wins when several allow different changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// the one allowing the largest change
    Max,
    /// the one allowing the smallest change
    Min,
    /// no change in this direction
    Disabled,
}

/// One direction's rules (`behavior.scaleUp` / `scaleDown`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub window: Duration,
    pub select: Select,
    pub policies: Vec<Policy>,
}

/// The HPA's settings that normalization needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounds {
    pub min: i32,
    pub max: i32,
    /// `None`: no `behavior`, the legacy rules with this scale-down window
    pub behavior: Option<(Rules, Rules)>,
    /// the scale-down window without `behavior`
    pub downscale_window: Duration,
}

/// The reason and message of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    pub reason: &'static str,
    pub message: &'static str,
}

/// What normalization decided, with the conditions it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    pub replicas: i32,
    /// `AbleToScale=True` with this reason
    pub able: Why,
    /// `ScalingLimited`: whether the clamp or a rate limit changed the count
    pub limited: bool,
    pub limit: Why,
}

/// One HPA's recent recommendations and scale events.
#[derive(Debug, Clone, Default)]
pub struct History {
    recommendations: Vec<(Instant, i32)>,
    scale_ups: Vec<(Instant, i32)>,
    scale_downs: Vec<(Instant, i32)>,
}

impl History {
    /// A new HPA starts from the target's current count, so it does not
    /// scale down before a whole window has passed.
    pub fn record_initial(&mut self, current: i32, now: Instant) {
        if self.recommendations.is_empty() {
            self.recommendations.push((now, current));
        }
    }

    /// Records a change of the target's replicas (kept for rate limits).
    pub fn record_scale(&mut self, from: i32, to: i32, now: Instant, bounds: &Bounds) {
        let Some((up, down)) = &bounds.behavior else { return };
        let (events, rules, change) =
            if to > from { (&mut self.scale_ups, up, to - from) } else { (&mut self.scale_downs, down, from - to) };
        let longest = rules.policies.iter().map(|p| p.period).max().unwrap_or_default();
        events.retain(|(at, _)| now.saturating_duration_since(*at) <= longest);
        events.push((now, change));
    }

    /// The count to set, from `current` replicas and what the metrics ask.
    pub fn normalize(&mut self, current: i32, desired: i32, bounds: &Bounds, now: Instant) -> Normalized {
        match &bounds.behavior {
            None => self.normalize_legacy(current, desired, bounds, now),
            Some((up, down)) => self.normalize_with_behavior(current, desired, bounds, up, down, now),
        }
    }

    fn normalize_legacy(&mut self, current: i32, desired: i32, bounds: &Bounds, now: Instant) -> Normalized {
        let window = bounds.downscale_window;
        let stabilized = self
            .recommendations
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= window)
            .map(|(_, r)| *r)
            .fold(desired, i32::max);
        self.remember(desired, now, window);
        let able = if stabilized != desired { DOWN_STABILIZED } else { READY };
        let up_limit = (SCALE_UP_LIMIT_FACTOR * f64::from(current)).max(SCALE_UP_LIMIT_MINIMUM) as i32;
        let (replicas, limit) = clamp(stabilized, floor(bounds.min, i32::MIN), ceiling(bounds.max, up_limit));
        Normalized { replicas, able, limited: replicas != stabilized, limit }
    }

    fn normalize_with_behavior(
        &mut self,
        current: i32,
        desired: i32,
        bounds: &Bounds,
        up: &Rules,
        down: &Rules,
        now: Instant,
    ) -> Normalized {
        let recent = |window: Duration| {
            self.recommendations.iter().filter(move |(at, _)| now.saturating_duration_since(*at) <= window)
        };
        // up only as far as every recommendation of the up window agrees,
        // down only as far as every one of the down window agrees
        let up_to = recent(up.window).map(|(_, r)| *r).fold(desired, i32::min);
        let down_to = recent(down.window).map(|(_, r)| *r).fold(desired, i32::max);
        let stabilized = current.max(up_to).min(down_to);
        self.remember(desired, now, up.window.max(down.window));
        let able = if stabilized == desired {
            READY
        } else if desired >= current {
            UP_STABILIZED
        } else {
            DOWN_STABILIZED
        };
        let (replicas, limit) = if stabilized > current {
            let rate = self.up_limit(current, up, now).max(current);
            clamp(stabilized, (i32::MIN, WITHIN_RANGE), ceiling(bounds.max, rate))
        } else if stabilized < current {
            let rate = self.down_limit(current, down, now).min(current);
            clamp(stabilized, floor(bounds.min, rate), (i32::MAX, WITHIN_RANGE))
        } else {
            (stabilized, WITHIN_RANGE)
        };
        Normalized { replicas, able, limited: replicas != stabilized, limit }
    }

    /// Keeps `desired` and forgets what no window looks at any more.
    fn remember(&mut self, desired: i32, now: Instant, window: Duration) {
        self.recommendations.retain(|(at, _)| now.saturating_duration_since(*at) <= window);
        self.recommendations.push((now, desired));
    }

    /// The replicas at the start of `period`: now's minus the changes within it.
    fn period_start(&self, current: i32, period: Duration, now: Instant) -> i32 {
        let within = |events: &[(Instant, i32)]| -> i32 {
            events.iter().filter(|(at, _)| now.saturating_duration_since(*at) < period).map(|(_, c)| *c).sum()
        };
        current - within(&self.scale_ups) + within(&self.scale_downs)
    }

    fn up_limit(&self, current: i32, rules: &Rules, now: Instant) -> i32 {
        let proposals = rules.policies.iter().map(|p| {
            let start = self.period_start(current, p.period, now);
            match p.kind {
                PolicyKind::Pods => start.saturating_add(p.value),
                PolicyKind::Percent => (f64::from(start) * (1.0 + f64::from(p.value) / 100.0)).ceil() as i32,
            }
        });
        match rules.select {
            Select::Disabled => current,
            Select::Max => proposals.max().unwrap_or(current),
            Select::Min => proposals.min().unwrap_or(current),
        }
    }

    fn down_limit(&self, current: i32, rules: &Rules, now: Instant) -> i32 {
        let proposals = rules.policies.iter().map(|p| {
            let start = self.period_start(current, p.period, now);
            match p.kind {
                PolicyKind::Pods => start.saturating_sub(p.value),
                PolicyKind::Percent => (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32,
            }
        });
        // the largest change down is the lowest count
        match rules.select {
            Select::Disabled => current,
            Select::Max => proposals.min().unwrap_or(current),
            Select::Min => proposals.max().unwrap_or(current),
        }
    }
}

const READY: Why = Why { reason: "ReadyForNewScale", message: "recommended size matches current size" };
const UP_STABILIZED: Why = Why {
    reason: "ScaleUpStabilized",
    message: "recent recommendations were lower than current one, applying the lowest recent recommendation",
};
const DOWN_STABILIZED: Why = Why {
    reason: "ScaleDownStabilized",
    message: "recent recommendations were higher than current one, applying the highest recent recommendation",
};
const WITHIN_RANGE: Why =
    Why { reason: "DesiredWithinRange", message: "the desired count is within the acceptable range" };

/// The highest count allowed: `max`, or the rate limit when it is lower.
fn ceiling(max: i32, rate: i32) -> (i32, Why) {
    if max > rate {
        let message = "the desired replica count is increasing faster than the maximum scale rate";
        (rate, Why { reason: "ScaleUpLimit", message })
    } else {
        let message = "the desired replica count is more than the maximum replica count";
        (max, Why { reason: "TooManyReplicas", message })
    }
}

/// The lowest count allowed: `min`, or the rate limit when it is higher.
fn floor(min: i32, rate: i32) -> (i32, Why) {
    if min < rate {
        let message = "the desired replica count is decreasing faster than the maximum scale rate";
        (rate, Why { reason: "ScaleDownLimit", message })
    } else {
        let message = "the desired replica count is less than the minimum replica count";
        (min, Why { reason: "TooFewReplicas", message })
    }
}

/// `value` within `[low, high]`, with the reason of the bound that cut it.
fn clamp(value: i32, (low, below): (i32, Why), (high, above): (i32, Why)) -> (i32, Why) {
    if value < low {
        (low, below)
    } else if value > high {
        (high, above)
    } else {
        (value, WITHIN_RANGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn legacy(min: i32, max: i32, window: Duration) -> Bounds {
        Bounds { min, max, behavior: None, downscale_window: window }
    }

    fn rules(window: Duration, select: Select, policies: &[(PolicyKind, i32, u64)]) -> Rules {
        let policies = policies
            .iter()
            .map(|(kind, value, period)| Policy { kind: *kind, value: *value, period: Duration::from_secs(*period) })
            .collect();
        Rules { window, select, policies }
    }

    #[test]
    fn clamps_to_min_and_max_and_the_legacy_step() {
        let t0 = Instant::now();
        let cases = [
            ("within range", 3, 5, 1, 10, 5, false, "DesiredWithinRange"),
            ("above max", 3, 12, 1, 10, 6, true, "ScaleUpLimit"),
            ("above max, step allows it", 8, 12, 1, 10, 10, true, "TooManyReplicas"),
            ("below min", 3, 1, 2, 10, 2, true, "TooFewReplicas"),
            ("one replica may grow to four", 1, 9, 1, 10, 4, true, "ScaleUpLimit"),
        ];
        for (name, current, desired, min, max, want, limited, reason) in cases {
            let mut h = History::default();
            // an old enough start, so stabilization does not hold the count
            h.record_initial(current, t0);
            let n = h.normalize(current, desired, &legacy(min, max, 5 * SEC), t0 + 10 * SEC);
            assert_eq!((n.replicas, n.limited, n.limit.reason), (want, limited, reason), "{name}");
        }
    }

    #[test]
    fn scale_down_waits_for_the_window_and_takes_its_highest_recommendation() {
        let t0 = Instant::now();
        let bounds = legacy(1, 10, 10 * SEC);
        let mut h = History::default();
        h.record_initial(4, t0);
        let n = h.normalize(4, 1, &bounds, t0 + 2 * SEC);
        assert_eq!((n.replicas, n.able.reason), (4, "ScaleDownStabilized"), "held by the initial recommendation");
        let n = h.normalize(4, 3, &bounds, t0 + 6 * SEC);
        assert_eq!(n.replicas, 4);
        // t0's 4 has left the window; 3 (t0+6) is still in it
        let n = h.normalize(4, 1, &bounds, t0 + 11 * SEC);
        assert_eq!((n.replicas, n.able.reason), (3, "ScaleDownStabilized"));
        let n = h.normalize(3, 1, &bounds, t0 + 17 * SEC);
        assert_eq!((n.replicas, n.able.reason), (1, "ReadyForNewScale"));
        // scaling up is never held back
        let n = h.normalize(1, 4, &bounds, t0 + 18 * SEC);
        assert_eq!((n.replicas, n.able.reason), (4, "ReadyForNewScale"));
    }

    #[test]
    fn behavior_windows_stabilize_each_direction() {
        let t0 = Instant::now();
        let up = rules(3 * SEC, Select::Max, &[(PolicyKind::Percent, 1000, 15)]);
        let down = rules(10 * SEC, Select::Max, &[(PolicyKind::Percent, 100, 15)]);
        let bounds = Bounds { min: 1, max: 20, behavior: Some((up, down)), downscale_window: 300 * SEC };
        let mut h = History::default();
        h.record_initial(2, t0);
        // up: the lowest of the last 3 s (2, from the start) holds it
        let n = h.normalize(2, 6, &bounds, t0 + SEC);
        assert_eq!((n.replicas, n.able.reason), (2, "ScaleUpStabilized"));
        let n = h.normalize(2, 6, &bounds, t0 + 4 * SEC + SEC / 2);
        assert_eq!(n.replicas, 6, "every recommendation of the up window agrees");
        // down: the highest of the last 10 s holds it
        let n = h.normalize(6, 1, &bounds, t0 + 6 * SEC);
        assert_eq!((n.replicas, n.able.reason), (6, "ScaleDownStabilized"));
        let n = h.normalize(6, 1, &bounds, t0 + 15 * SEC);
        assert_eq!(n.replicas, 1);
    }

    #[test]
    fn behavior_policies_limit_the_rate_per_period() {
        let t0 = Instant::now();
        let up = rules(Duration::ZERO, Select::Max, &[(PolicyKind::Pods, 4, 15), (PolicyKind::Percent, 100, 15)]);
        let down = rules(Duration::ZERO, Select::Max, &[(PolicyKind::Pods, 1, 60)]);
        let bounds = Bounds { min: 1, max: 50, behavior: Some((up, down)), downscale_window: 300 * SEC };
        let mut h = History::default();
        // from 2: +4 pods beats +100 % (4)
        let n = h.normalize(2, 30, &bounds, t0);
        assert_eq!((n.replicas, n.limited, n.limit.reason), (6, true, "ScaleUpLimit"));
        h.record_scale(2, 6, t0, &bounds);
        // within the same 15 s period the start is still 2: no more room
        let n = h.normalize(6, 30, &bounds, t0 + 5 * SEC);
        assert_eq!(n.replicas, 6);
        // a new period: from 6, +100 % (12) beats +4 (10)
        let n = h.normalize(6, 30, &bounds, t0 + 16 * SEC);
        assert_eq!(n.replicas, 12);
        // down by one pod a minute
        let mut h = History::default();
        let n = h.normalize(12, 1, &bounds, t0);
        assert_eq!((n.replicas, n.limit.reason), (11, "ScaleDownLimit"));
        h.record_scale(12, 11, t0, &bounds);
        assert_eq!(h.normalize(11, 1, &bounds, t0 + 30 * SEC).replicas, 11, "one per minute");
        assert_eq!(h.normalize(11, 1, &bounds, t0 + 61 * SEC).replicas, 10);

        let min_up = rules(Duration::ZERO, Select::Min, &[(PolicyKind::Pods, 4, 15), (PolicyKind::Percent, 100, 15)]);
        let off = rules(Duration::ZERO, Select::Disabled, &[]);
        let bounds = Bounds { min: 1, max: 50, behavior: Some((min_up, off)), downscale_window: 300 * SEC };
        let mut h = History::default();
        assert_eq!(h.normalize(10, 40, &bounds, t0).replicas, 14, "Min picks +4 over +100 %");
        assert_eq!(h.normalize(10, 1, &bounds, t0 + SEC).replicas, 10, "a disabled direction never moves");
    }
}
