//! Deployment and ReplicaSet defaults: one replica, a rolling update of 25 %
//! surge and unavailability, and their pod templates' defaults.

use super::pod::template;
use super::set_if_empty;
use capstan_proto::apps::v1::{Deployment, DeploymentStrategy, ReplicaSet, RollingUpdateDeployment};
use capstan_proto::meta::v1::IntOrString;

pub(super) fn deployment(d: &mut Deployment) {
    let spec = d.spec.get_or_insert_with(Default::default);
    spec.replicas.get_or_insert(1);
    spec.revision_history_limit.get_or_insert(10);
    spec.progress_deadline_seconds.get_or_insert(600);
    let strategy = spec.strategy.get_or_insert_with(DeploymentStrategy::default);
    set_if_empty(&mut strategy.r#type, "RollingUpdate");
    if strategy.r#type == "RollingUpdate" {
        let rolling = strategy.rolling_update.get_or_insert_with(RollingUpdateDeployment::default);
        rolling.max_surge.get_or_insert_with(|| IntOrString::from_string("25%"));
        rolling.max_unavailable.get_or_insert_with(|| IntOrString::from_string("25%"));
    }
    template(&mut spec.template);
}

pub(super) fn replica_set(rs: &mut ReplicaSet) {
    let spec = rs.spec.get_or_insert_with(Default::default);
    spec.replicas.get_or_insert(1);
    template(&mut spec.template);
}
