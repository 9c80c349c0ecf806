//! A Deployment's status counts and `Available` condition, computed from
//! its ReplicaSets (Kubernetes' `calculateStatus`).

use super::conditions::{self, AVAILABLE, MINIMUM_REPLICAS_AVAILABLE, MINIMUM_REPLICAS_UNAVAILABLE, REPLICA_FAILURE};
use super::fenceposts::Params;
use super::view::RsView;
use capstan_proto::apps::v1::{Deployment, DeploymentStatus};
use capstan_proto::meta::v1::Time;

/// The status of `d` with ReplicaSets `all` (the new one, `new`, among
/// them), keeping its conditions and collision count.
pub fn calculate(d: &Deployment, p: &Params, all: &[&RsView], new: Option<&RsView>, now: Time) -> DeploymentStatus {
    let old = d.status.clone().unwrap_or_default();
    let available: i32 = all.iter().map(|rs| rs.available).sum();
    let total: i32 = all.iter().map(|rs| rs.replicas).sum();
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.as_ref().map(|m| m.generation).unwrap_or(0),
        replicas: all.iter().map(|rs| rs.active).sum(),
        updated_replicas: new.map_or(0, |rs| rs.active),
        ready_replicas: all.iter().map(|rs| rs.ready).sum(),
        available_replicas: available,
        unavailable_replicas: (total - available).max(0),
        conditions: old.conditions,
        collision_count: old.collision_count,
    };
    let condition = if available >= p.replicas - p.max_unavailable {
        conditions::new_condition(
            AVAILABLE,
            "True",
            MINIMUM_REPLICAS_AVAILABLE,
            "Deployment has minimum availability.".into(),
            now,
        )
    } else {
        conditions::new_condition(
            AVAILABLE,
            "False",
            MINIMUM_REPLICAS_UNAVAILABLE,
            "Deployment does not have minimum availability.".into(),
            now,
        )
    };
    conditions::set(&mut status, condition);
    // a ReplicaSet that cannot create or delete pods shows on the Deployment,
    // the new ReplicaSet's failure first
    let failure = new.into_iter().chain(all.iter().copied()).find_map(|rs| rs.failure.clone());
    match failure {
        Some((reason, message)) => {
            conditions::set(&mut status, conditions::new_condition(REPLICA_FAILURE, "True", &reason, message, now))
        }
        None => conditions::remove(&mut status, REPLICA_FAILURE),
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::conditions::get;
    use crate::deployment::view::tests::rs;
    use capstan_proto::apps::v1::DeploymentSpec;
    use capstan_proto::meta::v1::ObjectMeta;

    fn d() -> Deployment {
        Deployment {
            metadata: Some(ObjectMeta { name: "web".into(), generation: 5, ..Default::default() }),
            spec: Some(DeploymentSpec { replicas: Some(4), ..Default::default() }),
            status: Some(DeploymentStatus { collision_count: Some(2), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn counts_add_up_over_replica_sets() {
        let old = RsView { active: 3, ready: 3, ..rs("old", 1, 2, 2) };
        let new = RsView { ready: 2, available: 1, ..rs("new", 2, 3, 2) };
        let p = Params { replicas: 4, max_surge: 1, max_unavailable: 1 };
        let status = calculate(&d(), &p, &[&old, &new], Some(&new), Time::default());
        assert_eq!(
            (status.replicas, status.updated_replicas, status.ready_replicas, status.available_replicas),
            (5, 2, 5, 3)
        );
        assert_eq!(status.unavailable_replicas, 2, "5 wanted by the replica sets, 3 available");
        assert_eq!((status.observed_generation, status.collision_count), (5, Some(2)));
        assert_eq!(get(&status, AVAILABLE).map(|c| c.reason.as_str()), Some(MINIMUM_REPLICAS_AVAILABLE));
    }

    #[test]
    fn below_the_minimum_is_unavailable_and_failures_surface() {
        let mut new = rs("new", 2, 4, 2);
        new.failure = Some(("FailedCreate".into(), "quota".into()));
        let p = Params { replicas: 4, max_surge: 1, max_unavailable: 1 };
        let status = calculate(&d(), &p, &[&new], Some(&new), Time::default());
        assert_eq!(get(&status, AVAILABLE).map(|c| c.status.as_str()), Some("False"));
        assert_eq!(get(&status, REPLICA_FAILURE).map(|c| c.reason.as_str()), Some("FailedCreate"));
        new.failure = None;
        let mut recovered = d();
        recovered.status = Some(status);
        assert!(get(&calculate(&recovered, &p, &[&new], Some(&new), Time::default()), REPLICA_FAILURE).is_none());
    }
}
