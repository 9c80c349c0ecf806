//! The Deployment's conditions and how they move (Kubernetes'
//! `deployment/util` condition helpers and `syncRolloutStatus`).
//!
//! `Progressing` says whether the rollout moves: True while pods get
//! updated, ready or available (`ReplicaSetUpdated`, `NewReplicaSetCreated`,
//! `FoundNewReplicaSet`), True with `NewReplicaSetAvailable` once complete,
//! False with `ProgressDeadlineExceeded` when nothing moved for
//! `progressDeadlineSeconds`, Unknown while paused. `Available` says
//! whether at least `replicas - maxUnavailable` pods are available.

use capstan_proto::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus};
use capstan_proto::meta::v1::Time;
use std::time::Duration;

pub const AVAILABLE: &str = "Available";
pub const PROGRESSING: &str = "Progressing";
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

pub const MINIMUM_REPLICAS_AVAILABLE: &str = "MinimumReplicasAvailable";
pub const MINIMUM_REPLICAS_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const FAILED_RS_CREATE: &str = "FailedRSCreate";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";

/// Conditions carry whole seconds, as Kubernetes prints them.
fn seconds(now: Time) -> Time {
    Time { seconds: now.seconds, nanos: 0 }
}

/// A condition that changed `now`.
pub fn new_condition(kind: &str, status: &str, reason: &str, message: String, now: Time) -> DeploymentCondition {
    DeploymentCondition {
        r#type: kind.into(),
        status: status.into(),
        last_update_time: Some(seconds(now)),
        last_transition_time: Some(seconds(now)),
        reason: reason.into(),
        message,
    }
}

pub fn get<'a>(status: &'a DeploymentStatus, kind: &str) -> Option<&'a DeploymentCondition> {
    status.conditions.iter().find(|c| c.r#type == kind)
}

/// Put `condition` in place of its type's, unless that one already has the
/// same status and reason; a condition whose status stays keeps its
/// transition time.
pub fn set(status: &mut DeploymentStatus, mut condition: DeploymentCondition) {
    if let Some(current) = get(status, &condition.r#type) {
        if current.status == condition.status && current.reason == condition.reason {
            return;
        }
        if current.status == condition.status {
            condition.last_transition_time = current.last_transition_time;
        }
    }
    remove(status, &condition.r#type.clone());
    status.conditions.push(condition);
}

pub fn remove(status: &mut DeploymentStatus, kind: &str) {
    status.conditions.retain(|c| c.r#type != kind);
}

/// `progressDeadlineSeconds`, unless unset or "never" (`i32::MAX`).
pub fn progress_deadline(d: &Deployment) -> Option<Duration> {
    let seconds = d.spec.as_ref()?.progress_deadline_seconds?;
    (seconds != i32::MAX).then(|| Duration::from_secs(seconds.max(0) as u64))
}

fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn generation(d: &Deployment) -> i64 {
    d.metadata.as_ref().map(|m| m.generation).unwrap_or(0)
}

/// Every pod updated and available, none extra, the latest spec seen.
pub fn complete(d: &Deployment, status: &DeploymentStatus) -> bool {
    let want = replicas(d);
    status.updated_replicas == want
        && status.replicas == want
        && status.available_replicas == want
        && status.observed_generation >= generation(d)
}

/// More pods updated, fewer old ones, or more ready or available than before.
pub fn progressed(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let old_old = old.replicas - old.updated_replicas;
    let new_old = new.replicas - new.updated_replicas;
    new.updated_replicas > old.updated_replicas
        || new_old < old_old
        || new.ready_replicas > old.ready_replicas
        || new.available_replicas > old.available_replicas
}

/// `Progressing` has not been updated for longer than the deadline.
pub fn timed_out(d: &Deployment, status: &DeploymentStatus, now: Time) -> bool {
    let (Some(deadline), Some(condition)) = (progress_deadline(d), get(status, PROGRESSING)) else { return false };
    match condition.reason.as_str() {
        NEW_RS_AVAILABLE => false,
        TIMED_OUT => true,
        _ => {
            let from = condition.last_update_time.unwrap_or_default();
            (from.seconds + deadline.as_secs() as i64) < now.seconds
        }
    }
}

fn subject(d: &Deployment, new_rs: Option<&str>) -> String {
    match new_rs {
        Some(rs) => format!("ReplicaSet {rs:?}"),
        None => format!("Deployment {:?}", d.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or("")),
    }
}

/// `Progressing` for a rollout whose counts are now `status` (conditions
/// carried over from `d.status`), as Kubernetes' `syncRolloutStatus` moves it.
pub fn rollout(d: &Deployment, mut status: DeploymentStatus, new_rs: Option<&str>, now: Time) -> DeploymentStatus {
    let Some(_) = progress_deadline(d) else {
        remove(&mut status, PROGRESSING);
        return status;
    };
    let old = d.status.clone().unwrap_or_default();
    let current = get(&old, PROGRESSING).cloned();
    let already_complete =
        status.replicas == status.updated_replicas && current.as_ref().is_some_and(|c| c.reason == NEW_RS_AVAILABLE);
    if already_complete {
        return status;
    }
    if complete(d, &status) {
        let message = format!("{} has successfully progressed.", subject(d, new_rs));
        set(&mut status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, message, now));
    } else if progressed(&old, &status) {
        let message = format!("{} is progressing.", subject(d, new_rs));
        let mut condition = new_condition(PROGRESSING, "True", RS_UPDATED, message, now);
        // progress refreshes lastUpdateTime even when the reason stays
        if let Some(current) = current.filter(|c| c.status == "True") {
            condition.last_transition_time = current.last_transition_time;
        }
        remove(&mut status, PROGRESSING);
        status.conditions.push(condition);
    } else if timed_out(d, &status, now) {
        let message = format!("{} has timed out progressing.", subject(d, new_rs));
        set(&mut status, new_condition(PROGRESSING, "False", TIMED_OUT, message, now));
    }
    status
}

/// Mark a paused or resumed Deployment in `Progressing` (Kubernetes'
/// `checkPausedConditions`); true when the status changed. A timed-out
/// rollout keeps saying so.
pub fn paused(d: &Deployment, status: &mut DeploymentStatus, now: Time) -> bool {
    if progress_deadline(d).is_none() {
        return false;
    }
    let current = get(status, PROGRESSING);
    if current.is_some_and(|c| c.reason == TIMED_OUT) {
        return false;
    }
    let marked = current.is_some_and(|c| c.reason == PAUSED);
    let is_paused = d.spec.as_ref().is_some_and(|s| s.paused);
    if is_paused && !marked {
        set(status, new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused".into(), now));
        true
    } else if !is_paused && marked {
        set(status, new_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed".into(), now));
        true
    } else {
        false
    }
}

/// When to look again at a rollout that is not complete, to notice its
/// deadline passing (Kubernetes' `requeueStuckDeployment`).
pub fn deadline_check(d: &Deployment, status: &DeploymentStatus, now: Time) -> Option<Duration> {
    let deadline = progress_deadline(d)?;
    let condition = get(status, PROGRESSING)?;
    if complete(d, status) || condition.reason == TIMED_OUT || condition.reason == PAUSED {
        return None;
    }
    let from = condition.last_update_time.unwrap_or_default();
    let at = from.seconds + deadline.as_secs() as i64 + 1;
    Some(Duration::from_secs((at - now.seconds).max(1) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::apps::v1::DeploymentSpec;
    use capstan_proto::meta::v1::ObjectMeta;

    fn at(seconds: i64) -> Time {
        Time { seconds, nanos: 0 }
    }

    fn deployment(replicas: i32, deadline: Option<i32>, status: DeploymentStatus) -> Deployment {
        Deployment {
            metadata: Some(ObjectMeta { name: "web".into(), generation: 2, ..Default::default() }),
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                progress_deadline_seconds: deadline,
                ..Default::default()
            }),
            status: Some(status),
            ..Default::default()
        }
    }

    fn counts(replicas: i32, updated: i32, ready: i32, available: i32) -> DeploymentStatus {
        DeploymentStatus {
            observed_generation: 2,
            replicas,
            updated_replicas: updated,
            ready_replicas: ready,
            available_replicas: available,
            ..Default::default()
        }
    }

    fn with(mut status: DeploymentStatus, condition: DeploymentCondition) -> DeploymentStatus {
        status.conditions.push(condition);
        status
    }

    fn progressing(status: &DeploymentStatus) -> (String, String) {
        get(status, PROGRESSING).map(|c| (c.status.clone(), c.reason.clone())).unwrap_or_default()
    }

    #[test]
    fn set_keeps_the_transition_time_while_the_status_stays() {
        let mut status = DeploymentStatus::default();
        set(&mut status, new_condition(AVAILABLE, "True", MINIMUM_REPLICAS_AVAILABLE, "a".into(), at(10)));
        set(&mut status, new_condition(AVAILABLE, "True", MINIMUM_REPLICAS_AVAILABLE, "b".into(), at(20)));
        assert_eq!(status.conditions.len(), 1);
        assert_eq!(status.conditions[0].message, "a", "same status and reason: untouched");
        set(&mut status, new_condition(AVAILABLE, "True", "Other", "c".into(), at(30)));
        assert_eq!(status.conditions[0].last_transition_time, Some(at(10)));
        assert_eq!(status.conditions[0].last_update_time, Some(at(30)));
        set(&mut status, new_condition(AVAILABLE, "False", MINIMUM_REPLICAS_UNAVAILABLE, "d".into(), at(40)));
        assert_eq!(status.conditions[0].last_transition_time, Some(at(40)));
    }

    #[test]
    fn progressing_moves_through_the_rollout() {
        let created = new_condition(PROGRESSING, "True", NEW_RS_CREATED, "created".into(), at(100));
        // (case, counts before, counts now, expected (status, reason), expected lastUpdateTime)
        let cases = [
            ("more updated: progressing", counts(3, 0, 3, 3), counts(4, 1, 3, 3), ("True", RS_UPDATED), 200),
            ("more ready: progressing", counts(4, 1, 3, 3), counts(4, 1, 4, 3), ("True", RS_UPDATED), 200),
            ("nothing moved, within deadline", counts(4, 1, 3, 3), counts(4, 1, 3, 3), ("True", NEW_RS_CREATED), 100),
            ("complete", counts(4, 3, 3, 3), counts(3, 3, 3, 3), ("True", NEW_RS_AVAILABLE), 200),
        ];
        for (case, before, now, (status, reason), updated) in cases {
            let d = deployment(3, Some(600), with(before, created.clone()));
            let got = rollout(&d, with(now, created.clone()), Some("web-abc"), at(200));
            assert_eq!(progressing(&got), (status.to_string(), reason.to_string()), "{case}");
            let condition = get(&got, PROGRESSING).cloned().unwrap_or_default();
            assert_eq!(condition.last_update_time, Some(at(updated)), "{case}");
            assert_eq!(condition.last_transition_time, Some(at(100)), "{case}: still True since 100");
        }
    }

    #[test]
    fn no_progress_past_the_deadline_times_out_and_stays_out() {
        let created = new_condition(PROGRESSING, "True", NEW_RS_CREATED, "created".into(), at(100));
        let d = deployment(3, Some(10), with(counts(3, 1, 2, 2), created.clone()));
        let within = rollout(&d, with(counts(3, 1, 2, 2), created.clone()), Some("web-abc"), at(110));
        assert_eq!(progressing(&within).1, NEW_RS_CREATED, "not strictly past the deadline yet");
        assert_eq!(deadline_check(&d, &within, at(105)), Some(Duration::from_secs(6)));
        let late = rollout(&d, with(counts(3, 1, 2, 2), created), Some("web-abc"), at(111));
        assert_eq!(progressing(&late), ("False".to_string(), TIMED_OUT.to_string()));
        assert!(
            get(&late, PROGRESSING).is_some_and(|c| c.message == "ReplicaSet \"web-abc\" has timed out progressing.")
        );
        assert_eq!(deadline_check(&d, &late, at(111)), None, "nothing more to wait for");
    }

    #[test]
    fn a_complete_rollout_is_left_alone() {
        let done = new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, "done".into(), at(100));
        let d = deployment(3, Some(10), with(counts(3, 3, 3, 3), done.clone()));
        let got = rollout(&d, with(counts(3, 3, 2, 2), done), Some("web-abc"), at(500));
        assert_eq!(progressing(&got).1, NEW_RS_AVAILABLE, "a pod going unready later is not a stuck rollout");
    }

    #[test]
    fn without_a_deadline_there_is_no_progressing_condition() {
        let created = new_condition(PROGRESSING, "True", NEW_RS_CREATED, "created".into(), at(100));
        let d = deployment(3, Some(i32::MAX), with(counts(3, 1, 1, 1), created.clone()));
        assert!(get(&rollout(&d, with(counts(3, 1, 1, 1), created), None, at(200)), PROGRESSING).is_none());
    }

    #[test]
    fn pausing_and_resuming_mark_progressing_unknown() {
        let mut d = deployment(3, Some(600), DeploymentStatus::default());
        let mut status = DeploymentStatus::default();
        assert!(!paused(&d, &mut status, at(1)), "running: nothing to mark");
        if let Some(spec) = d.spec.as_mut() {
            spec.paused = true;
        }
        assert!(paused(&d, &mut status, at(2)));
        assert_eq!(progressing(&status), ("Unknown".to_string(), PAUSED.to_string()));
        assert!(!paused(&d, &mut status, at(3)), "already marked");
        if let Some(spec) = d.spec.as_mut() {
            spec.paused = false;
        }
        assert!(paused(&d, &mut status, at(4)));
        assert_eq!(progressing(&status), ("Unknown".to_string(), RESUMED.to_string()));
        let mut timed_out =
            with(DeploymentStatus::default(), new_condition(PROGRESSING, "False", TIMED_OUT, "x".into(), at(1)));
        if let Some(spec) = d.spec.as_mut() {
            spec.paused = true;
        }
        assert!(!paused(&d, &mut timed_out, at(5)), "a timeout is not overwritten");
    }
}
