//! The scheduler's writes: the bind, the `PodScheduled=False` condition
//! of a pod that fits nowhere, and the Events that tell a user either way.

use crate::error::SchedulerError;
use capstan_client::Client;
use capstan_proto::core::v1::{Event, EventSource, ObjectReference, Pod, PodCondition, PodStatus};
use capstan_proto::meta::v1::{ObjectMeta, Time};
use std::sync::atomic::{AtomicU64, Ordering};

/// The component name on Events.
pub const COMPONENT: &str = "default-scheduler";

static EVENT_SEQ: AtomicU64 = AtomicU64::new(0);

fn api_error(action: String) -> impl FnOnce(capstan_client::ClientError) -> SchedulerError {
    move |source| SchedulerError::Api { action, source }
}

fn names(pod: &Pod) -> (String, String) {
    let meta = pod.metadata.as_ref();
    (meta.map(|m| m.namespace.clone()).unwrap_or_default(), meta.map(|m| m.name.clone()).unwrap_or_default())
}

/// Bind the pod to `node` and record a `Scheduled` event.
pub async fn bind(client: &Client, pod: &Pod, node: &str) -> Result<(), SchedulerError> {
    let (ns, name) = names(pod);
    client.api::<Pod>(Some(&ns)).bind(&name, node).await.map_err(api_error(format!("bind {ns}/{name} to {node}")))?;
    let message = format!("Successfully assigned {ns}/{name} to {node}");
    event(client, pod, "Normal", "Scheduled", &message).await
}

/// Mark the pod `PodScheduled=False` (reason `Unschedulable`) with
/// `message`, unless it already says so, and record a `FailedScheduling` event.
pub async fn report_unschedulable(client: &Client, pod: &Pod, message: &str) -> Result<(), SchedulerError> {
    let (ns, name) = names(pod);
    let mut updated = pod.clone();
    let status = updated.status.get_or_insert_with(PodStatus::default);
    let current = status.conditions.iter().find(|c| c.r#type == "PodScheduled");
    let unchanged = current.is_some_and(|c| c.status == "False" && c.reason == "Unschedulable" && c.message == message);
    if !unchanged {
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
            .api::<Pod>(Some(&ns))
            .update_status(&updated)
            .await
            .map_err(api_error(format!("update status of {ns}/{name}")))?;
    }
    event(client, pod, "Warning", "FailedScheduling", message).await
}

/// Create an Event about `pod`.
pub async fn event(client: &Client, pod: &Pod, kind: &str, reason: &str, message: &str) -> Result<(), SchedulerError> {
    let (ns, name) = names(pod);
    let uid = pod.metadata.as_ref().map(|m| m.uid.clone()).unwrap_or_default();
    let now = Time::now();
    let seq = EVENT_SEQ.fetch_add(1, Ordering::Relaxed);
    let event = Event {
        metadata: Some(ObjectMeta {
            name: format!("{name}.{:x}{:08x}{seq:x}", now.seconds, now.nanos),
            namespace: ns.clone(),
            ..Default::default()
        }),
        involved_object: Some(ObjectReference {
            kind: "Pod".into(),
            api_version: "v1".into(),
            namespace: ns.clone(),
            name: name.clone(),
            uid,
            ..Default::default()
        }),
        reason: reason.into(),
        message: message.into(),
        source: Some(EventSource { component: COMPONENT.into(), ..Default::default() }),
        first_timestamp: Some(now),
        last_timestamp: Some(now),
        count: 1,
        r#type: kind.into(),
        reporting_component: COMPONENT.into(),
        ..Default::default()
    };
    client
        .api::<Event>(Some(&ns))
        .create(&event)
        .await
        .map_err(api_error(format!("create event {reason} for {ns}/{name}")))?;
    Ok(())
}
