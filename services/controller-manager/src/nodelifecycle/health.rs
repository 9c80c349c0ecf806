//! When a node counts as lost, and what its status says then.
//!
//! A kubelet proves it is alive by renewing its Lease (and by posting its
//! Ready condition's heartbeat). The controller does not compare those
//! timestamps with its own clock — a node's clock may be off — but notes,
//! on its own monotonic clock, when it last saw either of them change, as
//! Kubernetes' `probeTimestamp` does. A node silent for longer than the
//! grace period gets every monitored condition set to `Unknown`.

use capstan_proto::coordination::v1::Lease;
use capstan_proto::core::v1::{Node, NodeCondition};
use capstan_proto::meta::v1::{MicroTime, Time};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// The conditions the controller speaks for once a kubelet goes silent
/// (Kubernetes' list); missing ones are added as never updated.
pub const MONITORED_CONDITIONS: &[&str] = &["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

pub const REASON_UNKNOWN: &str = "NodeStatusUnknown";
pub const MESSAGE_UNKNOWN: &str = "Kubelet stopped posting node status.";
pub const REASON_NEVER_UPDATED: &str = "NodeStatusNeverUpdated";
pub const MESSAGE_NEVER_UPDATED: &str = "Kubelet never posted node status.";

/// The status of the node's Ready condition (`True`, `False`, `Unknown`), if it has one.
pub fn ready_status(node: &Node) -> Option<&str> {
    node.status.as_ref()?.conditions.iter().find(|c| c.r#type == "Ready").map(|c| c.status.as_str())
}

/// What a kubelet last said that proves it alive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Heartbeat {
    /// The Ready condition's `lastHeartbeatTime` (the controller never changes it).
    pub ready: Option<Time>,
    /// The node Lease's `renewTime`.
    pub lease: Option<MicroTime>,
}

impl Heartbeat {
    pub fn of(node: &Node, lease: Option<&Lease>) -> Heartbeat {
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.r#type == "Ready"))
            .and_then(|c| c.last_heartbeat_time);
        Heartbeat { ready, lease: lease.and_then(|l| l.spec.as_ref()).and_then(|s| s.renew_time) }
    }
}

/// When the controller last saw each node's heartbeat change, on its own clock.
#[derive(Debug, Default)]
pub struct HealthBook {
    seen: HashMap<String, (Heartbeat, Instant)>,
}

impl HealthBook {
    /// Records `heartbeat` for `node` at `now` and answers how long the node
    /// has been silent. A node seen for the first time starts its grace
    /// period now.
    pub fn observe(&mut self, node: &str, heartbeat: Heartbeat, now: Instant) -> Duration {
        match self.seen.get(node) {
            Some((last, since)) if *last == heartbeat => now.saturating_duration_since(*since),
            _ => {
                self.seen.insert(node.to_string(), (heartbeat, now));
                Duration::ZERO
            }
        }
    }

    /// Drops a deleted node.
    pub fn forget(&mut self, node: &str) {
        self.seen.remove(node);
    }
}

/// The node's conditions once its kubelet has been silent past the grace
/// period: every monitored condition `Unknown`, as Kubernetes writes them
/// (the heartbeat time is kept; a condition the kubelet never posted is
/// added). `None` when they already say so.
pub fn unknown_conditions(node: &Node, now: Time) -> Option<Vec<NodeCondition>> {
    let mut conditions = node.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default();
    let mut changed = false;
    for kind in MONITORED_CONDITIONS {
        match conditions.iter_mut().find(|c| c.r#type == *kind) {
            Some(condition) if condition.status == "Unknown" => {}
            Some(condition) => {
                condition.status = "Unknown".into();
                condition.reason = REASON_UNKNOWN.into();
                condition.message = MESSAGE_UNKNOWN.into();
                condition.last_transition_time = Some(now);
                changed = true;
            }
            None => {
                conditions.push(NodeCondition {
                    r#type: kind.to_string(),
                    status: "Unknown".into(),
                    last_heartbeat_time: node.metadata.as_ref().and_then(|m| m.creation_timestamp),
                    last_transition_time: Some(now),
                    reason: REASON_NEVER_UPDATED.into(),
                    message: MESSAGE_NEVER_UPDATED.into(),
                });
                changed = true;
            }
        }
    }
    changed.then_some(conditions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::coordination::v1::LeaseSpec;
    use capstan_proto::core::v1::NodeStatus;

    fn time(seconds: i64) -> Time {
        Time { seconds, nanos: 0 }
    }

    fn node(conditions: Vec<NodeCondition>) -> Node {
        Node { status: Some(NodeStatus { conditions, ..Default::default() }), ..Default::default() }
    }

    fn condition(kind: &str, status: &str, heartbeat: i64) -> NodeCondition {
        NodeCondition {
            r#type: kind.into(),
            status: status.into(),
            last_heartbeat_time: Some(time(heartbeat)),
            last_transition_time: Some(time(1)),
            reason: "KubeletReady".into(),
            message: "kubelet is posting ready status".into(),
        }
    }

    fn lease(renewed: i64) -> Lease {
        let spec = LeaseSpec { renew_time: Some(MicroTime { seconds: renewed, nanos: 0 }), ..Default::default() };
        Lease { spec: Some(spec), ..Default::default() }
    }

    #[test]
    fn silence_is_measured_on_the_controllers_clock_from_the_last_change() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let ready = node(vec![condition("Ready", "True", 100)]);
        let mut book = HealthBook::default();
        // (seconds on the controller's clock, lease renewTime, silence expected)
        let steps = [
            (0, 10, 0),   // first sight starts the clock
            (5, 10, 5),   // nothing new
            (8, 11, 0),   // renewed
            (20, 11, 12), // silent since 8
            (50, 11, 42),
        ];
        for (now, renewed, silent) in steps {
            let heartbeat = Heartbeat::of(&ready, Some(&lease(renewed)));
            assert_eq!(book.observe("n1", heartbeat, at(now)), Duration::from_secs(silent), "at {now}s");
        }
        // a status heartbeat counts as much as a lease renewal
        let posted = node(vec![condition("Ready", "True", 101)]);
        assert_eq!(book.observe("n1", Heartbeat::of(&posted, Some(&lease(11))), at(60)), Duration::ZERO);
        book.forget("n1");
        assert_eq!(book.observe("n1", Heartbeat::of(&posted, Some(&lease(11))), at(90)), Duration::ZERO, "forgotten");
    }

    #[test]
    fn a_silent_node_turns_unknown_once() {
        let now = time(500);
        let before = node(vec![condition("Ready", "True", 100), condition("MemoryPressure", "False", 100)]);
        let conditions = unknown_conditions(&before, now).expect("changes");
        let by_type = |t: &str| conditions.iter().find(|c| c.r#type == t).cloned().expect("condition");
        let ready = by_type("Ready");
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("Unknown", REASON_UNKNOWN));
        assert_eq!(ready.message, MESSAGE_UNKNOWN);
        assert_eq!(ready.last_heartbeat_time, Some(time(100)), "the kubelet's last heartbeat stays");
        assert_eq!(ready.last_transition_time, Some(now));
        assert_eq!(by_type("MemoryPressure").reason, REASON_UNKNOWN, "the other conditions likewise");
        let never = by_type("DiskPressure");
        assert_eq!((never.status.as_str(), never.reason.as_str()), ("Unknown", REASON_NEVER_UPDATED));
        assert_eq!(conditions.len(), MONITORED_CONDITIONS.len());
        let after = node(conditions);
        assert_eq!(unknown_conditions(&after, time(900)), None, "already Unknown: nothing to write");
        assert_eq!(ready_status(&after), Some("Unknown"));
        assert_eq!(ready_status(&Node::default()), None);
    }
}
