//! Which writes one reprogramming serves, for its span and its metric.
//!
//! The proxy reprograms after a burst of Service and Endpoints events, coalesced.
//! Each changed object records the trace of the write that changed it (the
//! endpoints controller's update, a user's Service apply); the reprogramming is
//! the next step of that write, so when it serves one change it joins that trace
//! as a child, and when it serves several it links to each rather than pick one as
//! a false parent.

use std::collections::BTreeMap;
use std::time::Instant;

use capstan_metrics::{Histogram, MetricsError, Registry};
use capstan_proto::Resource;
use capstan_runtime::informer::InformerEvent;
use capstan_telemetry::Follow;

/// The trace records of the objects changed since the last reprogramming.
#[derive(Debug, Default)]
pub struct Changes {
    recorded: Vec<BTreeMap<String, String>>,
}

impl Changes {
    /// Notes the object an event changed; a resync or the sync mark changes none.
    pub fn note<K: Resource>(&mut self, event: &InformerEvent<K>) {
        let changed = match event {
            InformerEvent::Added(object) | InformerEvent::Deleted(object) => object,
            InformerEvent::Modified { new, .. } => new,
            InformerEvent::Synced | InformerEvent::Resync(_) => return,
        };
        let annotations = &changed.meta().annotations;
        if capstan_telemetry::trace_id_of(annotations).is_some() {
            self.recorded.push(annotations.clone());
        }
    }

    /// The span of the reprogramming that serves these changes: a child of the one
    /// recorded trace, or linked to each of several (or a root with none).
    pub fn span(&self) -> tracing::Span {
        let span = tracing::info_span!("proxy.sync_proxy_rules", changes = self.recorded.len());
        let how = if self.recorded.len() == 1 { Follow::Parent } else { Follow::Link };
        capstan_telemetry::mark_component(&span, "capstan-proxy");
        for annotations in &self.recorded {
            capstan_telemetry::follow_object(&span, "capstan-proxy", annotations, how);
        }
        span
    }
}

/// `kubeproxy_sync_proxy_rules_duration_seconds`, Kubernetes' name for how long
/// one reprogramming takes.
#[derive(Clone, Debug)]
pub struct SyncMetrics {
    duration: Histogram,
}

impl SyncMetrics {
    pub fn register(registry: &Registry) -> Result<SyncMetrics, MetricsError> {
        let duration = registry.register(
            "kubeproxy_sync_proxy_rules_duration_seconds",
            "SyncProxyRules latency in seconds.",
            Histogram::new(capstan_metrics::exponential_buckets(0.001, 2.0, 15)),
        )?;
        Ok(SyncMetrics { duration })
    }

    /// Times one reprogramming.
    pub async fn time<T>(&self, reprogram: impl std::future::Future<Output = T>) -> T {
        let started = Instant::now();
        let done = reprogram.await;
        self.duration.observe(started.elapsed().as_secs_f64());
        done
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use capstan_proto::core::v1::Endpoints;
    use capstan_proto::meta::v1::ObjectMeta;

    use super::*;

    fn endpoints_in_trace(traceparent: &str) -> Arc<Endpoints> {
        let annotations =
            BTreeMap::from([(capstan_telemetry::TRACE_CONTEXT_ANNOTATION.to_string(), traceparent.to_string())]);
        Arc::new(Endpoints { metadata: Some(ObjectMeta { annotations, ..Default::default() }), ..Default::default() })
    }

    const ONE: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const TWO: &str = "00-1bf7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01";

    #[tokio::test]
    async fn one_change_is_followed_and_several_are_linked() {
        let spans = capstan_telemetry::init_for_test();
        let mut one = Changes::default();
        one.note(&InformerEvent::Added(endpoints_in_trace(ONE)));
        one.note(&InformerEvent::Resync(endpoints_in_trace(TWO)));
        drop(one.span().entered());
        let mut two = Changes::default();
        two.note(&InformerEvent::Modified { old: endpoints_in_trace(ONE), new: endpoints_in_trace(ONE) });
        two.note(&InformerEvent::Deleted(endpoints_in_trace(TWO)));
        drop(two.span().entered());
        let done = spans
            .wait_for(std::time::Duration::from_secs(30), |s| {
                s.iter().filter(|s| s.name == "proxy.sync_proxy_rules").count() >= 2
            })
            .await
            .expect("both spans end");
        let followed = done
            .iter()
            .find(|s| s.name == "proxy.sync_proxy_rules" && s.span_context.trace_id().to_string() == ONE[3..35])
            .expect("the single change's reprogramming is in its trace");
        assert_eq!(followed.parent_span_id.to_string(), ONE[36..52]);
        let linked = done
            .iter()
            .find(|s| s.name == "proxy.sync_proxy_rules" && s.links.links.len() == 2)
            .expect("the reprogramming serving two changes links to both");
        let linked_traces: Vec<String> =
            linked.links.links.iter().map(|l| l.span_context.trace_id().to_string()).collect();
        assert_eq!(linked_traces, [ONE[3..35].to_string(), TWO[3..35].to_string()]);
        assert_ne!(linked.span_context.trace_id().to_string(), ONE[3..35]);
    }
}
