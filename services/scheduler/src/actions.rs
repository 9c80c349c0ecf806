//! The scheduler's writes: the bind, and the `PodScheduled=False`
//! condition of a pod that fits nowhere. Events go through the shared
//! [`capstan_runtime::EventRecorder`] (see [`crate::scheduling`]).

use crate::error::SchedulerError;
use capstan_client::Client;
use capstan_proto::core::v1::{Pod, PodCondition, PodStatus};
use capstan_proto::meta::v1::Time;

/// The component name on Events (`source.component`, `reportingComponent`).
pub const COMPONENT: &str = "default-scheduler";

fn api_error(action: String) -> impl FnOnce(capstan_client::ClientError) -> SchedulerError {
    move |source| SchedulerError::Api { action, source }
}

fn names(pod: &Pod) -> (&str, &str) {
    let meta = pod.metadata.as_ref();
    (meta.map_or("", |m| m.namespace.as_str()), meta.map_or("", |m| m.name.as_str()))
}

/// The `Scheduled` event's message.
pub fn scheduled_message(pod: &Pod, node: &str) -> String {
    let (ns, name) = names(pod);
    format!("Successfully assigned {ns}/{name} to {node}")
}

/// Bind the pod to `node` through the binding subresource.
pub async fn bind(client: &Client, pod: &Pod, node: &str) -> Result<(), SchedulerError> {
    let (ns, name) = names(pod);
    client.api::<Pod>(Some(ns)).bind(name, node).await.map_err(api_error(format!("bind {ns}/{name} to {node}")))
}

/// Mark the pod `PodScheduled=False` (reason `Unschedulable`) with
/// `message`, unless it already says so.
pub async fn report_unschedulable(client: &Client, pod: &Pod, message: &str) -> Result<(), SchedulerError> {
    let (ns, name) = names(pod);
    let current = pod.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.r#type == "PodScheduled"));
    if current.is_some_and(|c| c.status == "False" && c.reason == "Unschedulable" && c.message == message) {
        return Ok(());
    }
    let mut updated = pod.clone();
    let status = updated.status.get_or_insert_with(PodStatus::default);
    status.conditions.retain(|c| c.r#type != "PodScheduled");
    status.conditions.push(PodCondition {
        r#type: "PodScheduled".into(),
        status: "False".into(),
        reason: "Unschedulable".into(),
        message: message.into(),
        last_transition_time: Some(Time::now()),
        ..Default::default()
    });
    if status.phase.is_empty() {
        status.phase = "Pending".into();
    }
    client
        .api::<Pod>(Some(ns))
        .update_status(&updated)
        .await
        .map_err(api_error(format!("update status of {ns}/{name}")))?;
    Ok(())
}
