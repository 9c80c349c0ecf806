//! `logs` and `exec` take `TYPE/NAME` as kubectl does (`deploy/frontend`,
//! `svc/web`, `rs/web-5d9c`): the pods the object selects are listed and the
//! most active one is used, so a user need not look a generated pod name up
//! first. A bare name, or `pod/NAME`, is the pod itself.
//!
//! "Most active" is kubectl's order (`podutils.ActivePods`, reversed):
//! scheduled before unscheduled, Running before Unknown before Pending, ready
//! before not, ready for longer, fewer restarts, older — the order the
//! ReplicaSet controller already ranks pods by for a scale-down, used here
//! from there.

use crate::errors::{CliError, Subject};
use crate::{names, Context};
use capstan_client::ListParams;
use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::core::v1::{Pod, Service};
use capstan_proto::kinds;
use capstan_selectors::LabelSelector;

/// The pod `typed` names, and how many the object selected (1 for a pod).
pub async fn pod_for(ctx: &Context<'_>, typed: &str) -> Result<(String, usize), CliError> {
    let Some((kind, name)) = typed.split_once('/') else { return Ok((typed.to_string(), 1)) };
    if name.is_empty() {
        return Err(CliError::Usage(format!("{typed:?} names no object: expected TYPE/NAME, e.g. deploy/web")));
    }
    let info = names::resolve_kind(kind)?;
    let namespace = ctx.settings.namespace.as_str();
    let subject = Some(Subject { info, name });
    let selector = match info.kind {
        "Pod" => return Ok((name.to_string(), 1)),
        "Deployment" => {
            let deployment = ctx.client.api::<Deployment>(Some(namespace)).get(name).await;
            let spec = deployment.map_err(|e| ctx.fail(e, subject))?.spec.unwrap_or_default();
            from_proto(spec.selector.as_ref(), info, name)?
        }
        "ReplicaSet" => {
            let replica_set = ctx.client.api::<ReplicaSet>(Some(namespace)).get(name).await;
            let spec = replica_set.map_err(|e| ctx.fail(e, subject))?.spec.unwrap_or_default();
            from_proto(spec.selector.as_ref(), info, name)?
        }
        "Service" => {
            let service = ctx.client.api::<Service>(Some(namespace)).get(name).await;
            let spec = service.map_err(|e| ctx.fail(e, subject))?.spec.unwrap_or_default();
            if spec.selector.is_empty() {
                return Err(no_selector(info, name));
            }
            LabelSelector::from_labels(&spec.selector).map_err(|e| bad_selector(info, name, e))?
        }
        _ => {
            return Err(CliError::Usage(format!(
                "cannot choose a pod of {}: {} selects no pods (use pod, deployment, replicaset or service)",
                names::object_name(info, name),
                names::resource_group(info)
            )));
        }
    };
    let params = ListParams::default().labels(&selector.to_string());
    let pods = ctx.client.api::<Pod>(Some(namespace)).list(&params).await;
    let (pods, _) = pods.map_err(|e| ctx.fail(e, Some(Subject { info: &kinds::POD, name: "" })))?;
    let count = pods.len();
    let chosen = most_active(pods).ok_or_else(|| {
        CliError::Usage(format!("no pods found for {} (selector {selector})", names::object_name(info, name)))
    })?;
    Ok((chosen, count))
}

fn from_proto(
    selector: Option<&capstan_proto::meta::v1::LabelSelector>,
    info: &'static capstan_proto::KindInfo,
    name: &str,
) -> Result<LabelSelector, CliError> {
    let selector = selector.map(LabelSelector::from_proto).transpose().map_err(|e| bad_selector(info, name, e))?;
    match selector {
        Some(selector) if !selector.is_empty() => Ok(selector),
        _ => Err(no_selector(info, name)),
    }
}

fn no_selector(info: &capstan_proto::KindInfo, name: &str) -> CliError {
    CliError::Usage(format!("{} has no selector: it selects no pods", names::object_name(info, name)))
}

fn bad_selector(info: &capstan_proto::KindInfo, name: &str, error: capstan_selectors::SelectorError) -> CliError {
    CliError::Usage(format!("the selector of {} cannot be used: {error}", names::object_name(info, name)))
}

/// The most active of `pods`, by name: the order a ReplicaSet's scale-down
/// keeps longest ([`capstan_controller_manager::replicaset::rank::most_active`]).
fn most_active(pods: Vec<Pod>) -> Option<String> {
    let chosen = capstan_controller_manager::replicaset::rank::most_active(&pods)?;
    chosen.metadata.as_ref().map(|m| m.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::core::v1::{ContainerStatus, PodCondition, PodSpec, PodStatus};
    use capstan_proto::meta::v1::{ObjectMeta, Time};

    fn pod(name: &str, node: &str, phase: &str, ready_at: Option<i64>, restarts: i32, created: i64) -> Pod {
        let conditions = ready_at
            .map(|at| PodCondition {
                r#type: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time { seconds: at, nanos: 0 }),
                ..Default::default()
            })
            .into_iter()
            .collect();
        Pod {
            metadata: Some(ObjectMeta {
                name: name.into(),
                creation_timestamp: Some(Time { seconds: created, nanos: 0 }),
                ..Default::default()
            }),
            spec: Some(PodSpec { node_name: node.into(), ..Default::default() }),
            status: Some(PodStatus {
                phase: phase.into(),
                conditions,
                container_statuses: vec![ContainerStatus { restart_count: restarts, ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_most_active_pod_is_chosen_as_kubectl_chooses() {
        let cases: Vec<(&str, Vec<Pod>, Option<&str>)> = vec![
            ("none", vec![], None),
            (
                "scheduled before unscheduled",
                vec![pod("a", "", "Pending", None, 0, 1), pod("b", "n1", "Pending", None, 0, 2)],
                Some("b"),
            ),
            (
                "running before pending",
                vec![pod("a", "n1", "Pending", None, 0, 1), pod("b", "n1", "Running", None, 0, 2)],
                Some("b"),
            ),
            (
                "ready before not ready",
                vec![pod("a", "n1", "Running", None, 0, 1), pod("b", "n1", "Running", Some(50), 0, 2)],
                Some("b"),
            ),
            (
                "ready for longer",
                vec![pod("a", "n1", "Running", Some(60), 0, 1), pod("b", "n1", "Running", Some(50), 0, 2)],
                Some("b"),
            ),
            (
                "fewer restarts",
                vec![pod("a", "n1", "Running", Some(50), 3, 1), pod("b", "n1", "Running", Some(50), 0, 2)],
                Some("b"),
            ),
            (
                "older",
                vec![pod("a", "n1", "Running", Some(50), 0, 9), pod("b", "n1", "Running", Some(50), 0, 2)],
                Some("b"),
            ),
            (
                // a tie is broken by name, as the scale-down does (it deletes "a" first), so the
                // choice does not depend on the list's order
                "then by name",
                vec![pod("b", "n1", "Running", Some(50), 0, 2), pod("a", "n1", "Running", Some(50), 0, 2)],
                Some("b"),
            ),
        ];
        for (case, pods, want) in cases {
            assert_eq!(most_active(pods).as_deref(), want, "{case}");
        }
    }
}
