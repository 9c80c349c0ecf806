//! The traces the sink keeps, and how they read as JSON. Bounded by a number of
//! traces: once past it, the trace that arrived first is dropped whole, so what is
//! left is always complete recent traces rather than a scatter of spans.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::{AnyValue as ProtoAnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use serde::{Deserialize, Serialize};

/// One span as `GET /traces/{id}` answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// The parent's span id; `None` for a root.
    pub parent_span_id: Option<String>,
    pub name: String,
    /// The `service.name` of the resource the span came with.
    pub service: String,
    /// Its `service.instance.id`, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub duration_nanos: u64,
    pub attributes: BTreeMap<String, serde_json::Value>,
    pub links: Vec<LinkRecord>,
}

/// A span's link to a span of another (or the same) trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub trace_id: String,
    pub span_id: String,
}

/// `GET /traces/{id}`: every span the sink holds of one trace, by start time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceRecord {
    pub trace_id: String,
    pub spans: Vec<SpanRecord>,
}

/// One line of `GET /traces`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub spans: usize,
    /// The services the trace's spans came from, sorted.
    pub services: Vec<String>,
}

/// The spans received, by trace; shared by the receiver and the HTTP face.
#[derive(Clone, Debug)]
pub struct TraceStore {
    inner: Arc<Mutex<Traces>>,
}

#[derive(Debug)]
struct Traces {
    max_traces: usize,
    by_id: HashMap<String, Vec<SpanRecord>>,
    /// Trace ids in the order they first arrived: the front is dropped first.
    arrival: VecDeque<String>,
}

impl TraceStore {
    /// A store keeping at most `max_traces` traces (at least one).
    pub fn new(max_traces: usize) -> TraceStore {
        let traces = Traces { max_traces: max_traces.max(1), by_id: HashMap::new(), arrival: VecDeque::new() };
        TraceStore { inner: Arc::new(Mutex::new(traces)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Traces> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps the spans of one OTLP export.
    pub fn add(&self, resource_spans: &[ResourceSpans]) {
        let mut records = Vec::new();
        for resource in resource_spans {
            let attributes = resource.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or_default();
            let resource_attribute = |key: &str| {
                attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()).map(
                    |value| match json_value(value) {
                        serde_json::Value::String(name) => name,
                        other => other.to_string(),
                    },
                )
            };
            let service = resource_attribute("service.name").unwrap_or_else(|| "unknown_service".to_owned());
            let instance = resource_attribute("service.instance.id");
            for span in resource.scope_spans.iter().flat_map(|scope| &scope.spans) {
                records.push(SpanRecord {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: (!span.parent_span_id.is_empty()).then(|| hex(&span.parent_span_id)),
                    name: span.name.clone(),
                    service: service.clone(),
                    instance: instance.clone(),
                    start_unix_nanos: span.start_time_unix_nano,
                    end_unix_nanos: span.end_time_unix_nano,
                    duration_nanos: span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano),
                    attributes: attribute_map(&span.attributes),
                    links: span
                        .links
                        .iter()
                        .map(|link| LinkRecord { trace_id: hex(&link.trace_id), span_id: hex(&link.span_id) })
                        .collect(),
                });
            }
        }
        let mut traces = self.lock();
        for record in records {
            traces.insert(record);
        }
    }

    /// One trace, its spans by start time; `None` if the sink holds none of it.
    pub fn trace(&self, trace_id: &str) -> Option<TraceRecord> {
        let traces = self.lock();
        let mut spans = traces.by_id.get(trace_id)?.clone();
        spans.sort_by(|a, b| (a.start_unix_nanos, &a.span_id).cmp(&(b.start_unix_nanos, &b.span_id)));
        Some(TraceRecord { trace_id: trace_id.to_owned(), spans })
    }

    /// The traces held, the most recently arrived first.
    pub fn recent(&self) -> Vec<TraceSummary> {
        let traces = self.lock();
        traces
            .arrival
            .iter()
            .rev()
            .filter_map(|id| {
                let spans = traces.by_id.get(id)?;
                let mut services: Vec<String> = spans.iter().map(|span| span.service.clone()).collect();
                services.sort();
                services.dedup();
                Some(TraceSummary { trace_id: id.clone(), spans: spans.len(), services })
            })
            .collect()
    }
}

impl Traces {
    fn insert(&mut self, record: SpanRecord) {
        if let Some(spans) = self.by_id.get_mut(&record.trace_id) {
            spans.push(record);
            return;
        }
        while self.arrival.len() >= self.max_traces {
            match self.arrival.pop_front() {
                Some(oldest) => {
                    self.by_id.remove(&oldest);
                }
                None => break,
            }
        }
        self.arrival.push_back(record.trace_id.clone());
        self.by_id.insert(record.trace_id.clone(), vec![record]);
    }
}

/// Lowercase hex, as W3C trace context writes ids.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

fn attribute_map(attributes: &[KeyValue]) -> BTreeMap<String, serde_json::Value> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.as_ref().map(json_value).unwrap_or(serde_json::Value::Null)))
        .collect()
}

fn json_value(value: &ProtoAnyValue) -> serde_json::Value {
    use serde_json::Value;
    match &value.value {
        None => Value::Null,
        Some(AnyValue::StringValue(s)) => Value::String(s.clone()),
        // an index into a dictionary this receiver is never sent (OTLP profiles)
        Some(AnyValue::StringValueStrindex(index)) => Value::from(*index),
        Some(AnyValue::BoolValue(b)) => Value::Bool(*b),
        Some(AnyValue::IntValue(i)) => Value::from(*i),
        Some(AnyValue::DoubleValue(d)) => Value::from(*d),
        Some(AnyValue::BytesValue(bytes)) => Value::String(hex(bytes)),
        Some(AnyValue::ArrayValue(array)) => Value::Array(array.values.iter().map(json_value).collect()),
        Some(AnyValue::KvlistValue(list)) => Value::Object(attribute_map(&list.values).into_iter().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span};

    fn export(service: &str, spans: &[(u8, u8, &str)]) -> Vec<ResourceSpans> {
        let resource = Resource {
            attributes: vec![KeyValue {
                key: "service.name".into(),
                value: Some(ProtoAnyValue { value: Some(AnyValue::StringValue(service.into())) }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let spans = spans
            .iter()
            .map(|(trace, span, name)| Span {
                trace_id: vec![*trace; 16],
                span_id: vec![*span; 8],
                name: (*name).into(),
                start_time_unix_nano: u64::from(*span) * 10,
                end_time_unix_nano: u64::from(*span) * 10 + 5,
                ..Default::default()
            })
            .collect();
        vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }]
    }

    #[test]
    fn past_the_limit_the_first_arrived_trace_goes_whole() {
        let store = TraceStore::new(2);
        store.add(&export("a", &[(1, 1, "one"), (2, 2, "two")]));
        store.add(&export("b", &[(1, 3, "one again"), (3, 4, "three")]));
        assert_eq!(store.trace(&hex(&[1; 16])), None, "trace 1 arrived first and is dropped, all of it");
        let two = store.trace(&hex(&[2; 16])).map(|t| t.spans.len());
        assert_eq!(two, Some(1));
        let recent: Vec<_> = store.recent().into_iter().map(|t| t.trace_id).collect();
        assert_eq!(recent, [hex(&[3; 16]), hex(&[2; 16])]);
    }

    #[test]
    fn spans_read_with_their_service_and_duration() {
        let store = TraceStore::new(10);
        store.add(&export("capstan-kubelet", &[(9, 2, "sync"), (9, 1, "root")]));
        let trace = store.trace(&hex(&[9; 16])).map(|t| t.spans).unwrap_or_default();
        let read: Vec<_> = trace
            .iter()
            .map(|s| (s.name.as_str(), s.service.as_str(), s.duration_nanos, s.parent_span_id.clone()))
            .collect();
        assert_eq!(read, [("root", "capstan-kubelet", 5, None), ("sync", "capstan-kubelet", 5, None)]);
    }
}
