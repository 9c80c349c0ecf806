//! Creating and deleting a ReplicaSet's pods to close the gap between
//! `spec.replicas` and the active pods it owns, with Events for each.
//!
//! Expectations are recorded before the first call and corrected for every
//! call that failed or was never made, so the next reconcile waits exactly
//! for the writes that happened.

use super::slow_start::slow_start;
use super::status::Failure;
use super::{key_of, rank, Controller};
use crate::error::ControllerError;
use crate::ownership::controller_reference;
use capstan_client::DeleteParams;
use capstan_proto::apps::v1::ReplicaSet;
use capstan_proto::core::v1::Pod;
use capstan_proto::kinds::Resource;
use capstan_proto::meta::v1::ObjectMeta;
use capstan_runtime::events::{NORMAL, WARNING};
use futures::future::join_all;
use std::sync::Arc;

/// The most pods one reconcile creates or deletes (Kubernetes' `burstReplicas`).
pub const BURST: usize = 500;

/// What managing the pods did wrong, if anything: the error to retry on
/// and the condition to show.
pub(super) struct Failed {
    pub error: ControllerError,
    pub failure: Failure,
}

/// What a reconcile does about a ReplicaSet's pod count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// the count is right, or earlier creates and deletes are still unseen
    Nothing,
    Create(usize),
    Delete(usize),
}

/// The plan for `desired` replicas with `owned` active pods; nothing unless
/// `may_manage` (the expectations are met and the ReplicaSet stays).
/// At most [`BURST`] pods per reconcile.
pub fn plan(desired: usize, owned: usize, may_manage: bool) -> Plan {
    if !may_manage {
        Plan::Nothing
    } else if owned < desired {
        Plan::Create((desired - owned).min(BURST))
    } else if owned > desired {
        Plan::Delete((owned - desired).min(BURST))
    } else {
        Plan::Nothing
    }
}

/// Carry out `plan` for `rs`; `related` are the active pods of `rs` and its
/// siblings (for ranking deletions).
pub(super) async fn manage(
    controller: &Controller,
    rs: &ReplicaSet,
    plan: Plan,
    owned: &[Arc<Pod>],
    related: &[Arc<Pod>],
) -> Result<(), Failed> {
    match plan {
        Plan::Nothing => Ok(()),
        Plan::Create(count) => create(controller, rs, count).await,
        Plan::Delete(count) => delete(controller, rs, rank::pods_to_delete(owned, related, count)).await,
    }
}

async fn create(controller: &Controller, rs: &ReplicaSet, count: usize) -> Result<(), Failed> {
    let key = key_of(rs.meta());
    let namespace = rs.meta().namespace.as_str();
    let api = controller.ctx.client.api::<Pod>(Some(namespace));
    let pod = pod_from_template(rs);
    controller.expectations.expect_creations(&key, count);
    tracing::debug!(%key, count, "creating pods");
    let outcome = slow_start(count, 1, || async {
        match api.create(&pod).await {
            Ok(created) => {
                let message = format!("Created pod: {}", created.meta().name);
                controller.recorder.emit(rs, NORMAL, "SuccessfulCreate", &message).await;
                Ok(())
            }
            Err(error) => {
                let message = format!("Error creating: {error}");
                controller.recorder.emit(rs, WARNING, "FailedCreate", &message).await;
                Err(error)
            }
        }
    })
    .await;
    // creates that failed or never started will not be seen by the informer
    for _ in outcome.succeeded..count {
        controller.expectations.creation_observed(&key);
    }
    match outcome.error {
        None => Ok(()),
        Some(source) => Err(Failed {
            failure: Failure { reason: "FailedCreate", message: format!("Error creating: {source}") },
            error: ControllerError::Api { action: format!("create pods of ReplicaSet {key}"), source },
        }),
    }
}

async fn delete(controller: &Controller, rs: &ReplicaSet, victims: Vec<Arc<Pod>>) -> Result<(), Failed> {
    let key = key_of(rs.meta());
    let api = controller.ctx.client.api::<Pod>(Some(&rs.meta().namespace));
    controller.expectations.expect_deletions(&key, victims.iter().map(|p| key_of(p.meta())));
    tracing::debug!(%key, count = victims.len(), "deleting pods");
    let results = join_all(victims.iter().map(|pod| {
        let (api, key) = (&api, &key);
        async move {
            let meta = pod.meta();
            let params = DeleteParams { precondition_uid: Some(meta.uid.clone()), ..Default::default() };
            match api.delete(&meta.name, &params).await {
                Ok(_) => {
                    let message = format!("Deleted pod: {}", meta.name);
                    controller.recorder.emit(rs, NORMAL, "SuccessfulDelete", &message).await;
                    Ok(())
                }
                Err(error) => {
                    // the informer will not report this deletion: stop waiting for it
                    controller.expectations.deletion_observed(key, &key_of(meta));
                    if error.is_not_found() {
                        return Ok(());
                    }
                    let message = format!("Error deleting: {error}");
                    controller.recorder.emit(rs, WARNING, "FailedDelete", &message).await;
                    Err(ControllerError::Api {
                        action: format!("delete pod {}/{}", meta.namespace, meta.name),
                        source: error,
                    })
                }
            }
        }
    }))
    .await;
    match results.into_iter().find_map(Result::err) {
        None => Ok(()),
        Some(error) => Err(Failed { failure: Failure { reason: "FailedDelete", message: error.to_string() }, error }),
    }
}

/// A new pod of `rs`: the template's labels, annotations, finalizers and
/// spec, a name generated from the ReplicaSet's, and `rs` as controller.
/// It carries the reconcile's trace context so that the scheduler's bind
/// and the kubelet's start join this trace.
pub fn pod_from_template(rs: &ReplicaSet) -> Pod {
    let template = rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default();
    let template_meta = template.metadata.unwrap_or_default();
    let meta = rs.meta();
    let mut annotations = template_meta.annotations;
    capstan_telemetry::inject_into_map(&mut annotations);
    Pod {
        metadata: Some(ObjectMeta {
            generate_name: format!("{}-", meta.name),
            namespace: meta.namespace.clone(),
            labels: template_meta.labels,
            annotations,
            finalizers: template_meta.finalizers,
            owner_references: vec![controller_reference(rs)],
            ..Default::default()
        }),
        spec: template.spec,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replicaset::expectations::Expectations;

    #[test]
    fn the_plan_closes_the_gap_within_the_burst() {
        assert_eq!(plan(3, 1, true), Plan::Create(2));
        assert_eq!(plan(1, 3, true), Plan::Delete(2));
        assert_eq!(plan(3, 3, true), Plan::Nothing);
        assert_eq!(plan(0, 0, true), Plan::Nothing);
        assert_eq!(plan(BURST * 3, 0, true), Plan::Create(BURST));
        assert_eq!(plan(3, 0, false), Plan::Nothing, "unmet expectations or a ReplicaSet being deleted");
    }

    /// Reconciles run again and again (a burst of events) while the informer
    /// lags behind the creates: with expectations, exactly the missing pods
    /// are created, and once all are seen the ReplicaSet manages again.
    #[test]
    fn a_burst_of_reconciles_with_creations_unseen_creates_each_pod_once() {
        let expectations = Expectations::default();
        let key = "default/web";
        let (mut created, mut seen) = (0, 0);
        for _reconcile in 0..50 {
            match plan(30, seen, expectations.satisfied(key)) {
                Plan::Create(n) => {
                    expectations.expect_creations(key, n);
                    created += n;
                }
                Plan::Delete(_) => panic!("nothing to delete"),
                Plan::Nothing => {}
            }
            // the informer delivers one creation between reconciles
            if seen < created {
                seen += 1;
                expectations.creation_observed(key);
            }
        }
        assert_eq!((created, seen), (30, 30));
        // a pod lost later is replaced at once
        assert_eq!(plan(30, 29, expectations.satisfied(key)), Plan::Create(1));
    }

    #[test]
    fn without_expectations_the_same_burst_over_creates() {
        // the counterfactual of the test above: what expectations prevent
        let (mut created, mut seen) = (0, 0);
        for _reconcile in 0..50 {
            if let Plan::Create(n) = plan(30, seen, true) {
                created += n;
            }
            if seen < created {
                seen += 1;
            }
        }
        assert!(created > 30, "created {created}");
    }
    use capstan_proto::apps::v1::ReplicaSetSpec;
    use capstan_proto::core::v1::{PodSpec, PodTemplateSpec};

    #[test]
    fn pods_come_from_the_template_with_the_controller_reference() {
        let rs = ReplicaSet {
            metadata: Some(ObjectMeta {
                name: "web-abc".into(),
                namespace: "prod".into(),
                uid: "u1".into(),
                ..Default::default()
            }),
            spec: Some(ReplicaSetSpec {
                template: Some(PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: [("app".to_string(), "web".to_string())].into_iter().collect(),
                        annotations: [("note".to_string(), "x".to_string())].into_iter().collect(),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec { service_account_name: "sa".into(), ..Default::default() }),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let pod = pod_from_template(&rs);
        let meta = pod.meta();
        assert_eq!((meta.name.as_str(), meta.generate_name.as_str()), ("", "web-abc-"));
        assert_eq!(meta.namespace, "prod");
        assert_eq!(meta.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(meta.annotations.get("note").map(String::as_str), Some("x"));
        assert_eq!(meta.owner_references.len(), 1);
        assert_eq!(meta.owner_references[0].uid, "u1");
        assert_eq!(meta.owner_references[0].controller, Some(true));
        assert_eq!(pod.spec.map(|s| s.service_account_name), Some("sa".to_string()));
    }
}
