//! When this candidate last saw the lease record change, by its own clock.
//!
//! Holders write `renewTime` with their clocks, which may be off from ours
//! by any amount: a lease judged by `renewTime + duration < our now` looks
//! expired while its holder still renews (holder behind) or stays valid
//! long after its holder died (holder ahead). As client-go's leaderelection
//! does with `observedTime`, a candidate instead notes the local instant at
//! which the record last changed (holder, renewTime or resourceVersion) and
//! treats the lease as held until `lease_duration` has passed on its own
//! clock since then. `renewTime` is only compared with itself.

use capstan_proto::coordination::v1::Lease;
use std::time::Duration;
use tokio::time::Instant;

/// The parts of a lease record whose change proves its holder is alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) holder: String,
    /// `renewTime` as written, in the holder's clock (seconds, nanos)
    renew_time: Option<(i64, i32)>,
    resource_version: String,
}

impl Record {
    pub(crate) fn of(lease: &Lease) -> Self {
        let spec = lease.spec.as_ref();
        Record {
            holder: spec.and_then(|s| s.holder_identity.clone()).unwrap_or_default(),
            renew_time: spec.and_then(|s| s.renew_time).map(|t| (t.seconds, t.nanos)),
            resource_version: lease.metadata.as_ref().map(|m| m.resource_version.clone()).unwrap_or_default(),
        }
    }
}

/// The last record seen and when (local time) it was first seen as it is.
#[derive(Debug, Default)]
pub(crate) struct Observation {
    last: Option<(Record, Instant)>,
}

impl Observation {
    /// Notes `record` as read at `now`: the clock restarts only if it differs
    /// from the last one seen.
    pub(crate) fn observe(&mut self, record: Record, now: Instant) {
        match &self.last {
            Some((last, _)) if *last == record => {}
            _ => self.last = Some((record, now)),
        }
    }

    /// True while the observed record is younger than `duration` on the
    /// local clock: its holder may still be renewing.
    pub(crate) fn fresh(&self, duration: Duration, now: Instant) -> bool {
        self.last.as_ref().is_some_and(|(_, seen)| now < *seen + duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::coordination::v1::LeaseSpec;
    use capstan_proto::meta::v1::{MicroTime, ObjectMeta};

    fn lease(holder: &str, renewed: i64, rv: &str) -> Lease {
        Lease {
            metadata: Some(ObjectMeta { resource_version: rv.into(), ..Default::default() }),
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                renew_time: Some(MicroTime { seconds: renewed, nanos: 0 }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn freshness_follows_the_local_time_of_the_last_change() {
        let t0 = Instant::now();
        let secs = Duration::from_secs;
        let duration = secs(15);
        // (lease read, at local second, fresh at that second?)
        let steps = [
            (lease("a", 1_000, "1"), 0, true),
            // unchanged: the clock keeps running from second 0
            (lease("a", 1_000, "1"), 14, true),
            (lease("a", 1_000, "1"), 15, false),
            // renewed with a renewTime far in the past (a holder 1 h behind)
            (lease("a", -2_600, "2"), 16, true),
            (lease("a", -2_600, "2"), 30, true),
            (lease("a", -2_600, "2"), 31, false),
            // only the resourceVersion moved: still a change
            (lease("a", -2_600, "3"), 31, true),
            // a new holder is a change too
            (lease("b", -2_600, "3"), 50, true),
            (lease("b", -2_600, "3"), 65, false),
        ];
        let mut seen = Observation::default();
        assert!(!seen.fresh(duration, t0), "nothing seen yet");
        for (n, (lease, at, fresh)) in steps.into_iter().enumerate() {
            let now = t0 + secs(at);
            seen.observe(Record::of(&lease), now);
            assert_eq!(seen.fresh(duration, now), fresh, "step {n} at second {at}");
        }
    }
}
