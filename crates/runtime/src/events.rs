//! The one way components write Events about the objects they act on.
//!
//! An [`EventRecorder`] names its component (`source.component`,
//! `reportingComponent`) and folds repeats like Kubernetes' event
//! correlator: the same reason and message about the same object bumps
//! `count` and `lastTimestamp` on the existing Event instead of creating a
//! new one, so a crash loop or a retried reconcile does not flood the store.

use capstan_client::{Client, ClientError};
use capstan_proto::core::v1::{Event, EventSource, ObjectReference};
use capstan_proto::kinds::Resource;
use capstan_proto::meta::v1::{ObjectMeta, Time};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// `type` of an Event that reports normal progress.
pub const NORMAL: &str = "Normal";
/// `type` of an Event that reports something a user may need to act on.
pub const WARNING: &str = "Warning";

/// How many distinct (object, reason, message) series are remembered.
const REMEMBERED: usize = 4096;

/// Which series an Event belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Series {
    uid: String,
    kind: &'static str,
    namespace: String,
    name: String,
    event_type: String,
    reason: String,
    message: String,
}

/// Writes Events for one component; cheap to clone.
#[derive(Clone)]
pub struct EventRecorder {
    client: Client,
    component: String,
    host: String,
    seen: Arc<Mutex<HashMap<Series, (String, i32)>>>,
    seq: Arc<AtomicU64>,
}

impl EventRecorder {
    /// A recorder for `component` (e.g. `deployment-controller`), on `host`
    /// (a node name, or empty for control-plane components).
    pub fn new(client: Client, component: &str, host: &str) -> Self {
        EventRecorder {
            client,
            component: component.into(),
            host: host.into(),
            seen: Arc::new(Mutex::new(HashMap::new())),
            seq: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Record an Event of `event_type` ([`NORMAL`] or [`WARNING`]) about
    /// `object`. A repeat of the last Event of the same series updates that
    /// Event's count.
    pub async fn record<K: Resource>(
        &self,
        object: &K,
        event_type: &str,
        reason: &str,
        message: &str,
    ) -> Result<(), ClientError> {
        let meta = object.meta();
        // Events about cluster-scoped objects live in `default`, as in Kubernetes.
        let namespace = if meta.namespace.is_empty() { "default".to_string() } else { meta.namespace.clone() };
        let series = Series {
            uid: meta.uid.clone(),
            kind: K::INFO.kind,
            namespace: namespace.clone(),
            name: meta.name.clone(),
            event_type: event_type.into(),
            reason: reason.into(),
            message: message.into(),
        };
        let api = self.client.api::<Event>(Some(&namespace));
        let now = Time::now();
        let previous = self.lock().get(&series).cloned();
        if let Some((event_name, count)) = previous {
            let patch = serde_json::json!({ "count": count + 1, "lastTimestamp": now });
            match api.patch_merge(&event_name, patch).await {
                Ok(_) => {
                    self.lock().insert(series, (event_name, count + 1));
                    return Ok(());
                }
                // The Event was deleted (or expired): start a new series.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let event_name = format!("{}.{:x}{:08x}{seq:x}", meta.name, now.seconds, now.nanos);
        let event = Event {
            metadata: Some(ObjectMeta { name: event_name.clone(), namespace: namespace.clone(), ..Default::default() }),
            involved_object: Some(ObjectReference {
                kind: K::INFO.kind.into(),
                api_version: K::INFO.api_version.into(),
                namespace: meta.namespace.clone(),
                name: meta.name.clone(),
                uid: meta.uid.clone(),
                resource_version: meta.resource_version.clone(),
                ..Default::default()
            }),
            reason: reason.into(),
            message: message.into(),
            source: Some(EventSource { component: self.component.clone(), host: self.host.clone() }),
            first_timestamp: Some(now),
            last_timestamp: Some(now),
            count: 1,
            r#type: event_type.into(),
            reporting_component: self.component.clone(),
            reporting_instance: self.host.clone(),
            ..Default::default()
        };
        api.create(&event).await?;
        let mut seen = self.lock();
        if seen.len() >= REMEMBERED {
            seen.clear();
        }
        seen.insert(series, (event_name, 1));
        Ok(())
    }

    /// Like [`Self::record`], for callers that must not fail because an
    /// Event could not be written: the error is logged.
    pub async fn emit<K: Resource>(&self, object: &K, event_type: &str, reason: &str, message: &str) {
        if let Err(error) = self.record(object, event_type, reason, message).await {
            let meta = object.meta();
            tracing::debug!(%error, kind = K::INFO.kind, namespace = %meta.namespace, name = %meta.name, reason, "writing an event");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Series, (String, i32)>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}
