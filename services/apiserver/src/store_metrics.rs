//! Store latency on kube-apiserver's names: the API server's one store
//! (embedded or etcd, whichever [`capstan_store::open_store`] opened) is
//! wrapped once, at [`crate::ApiServer::start`], so every call any part of
//! the API server makes to it — the registry's reads and writes, the watch
//! caches' lists and watches, the allocator, compaction — is timed in
//! `etcd_request_duration_seconds{operation,type}` (kube-apiserver's
//! buckets) and, when it fails, counted in
//! `etcd_request_errors_total{operation,type}`.
//!
//! `operation` is the store call (`get`, `list`, `create`, `update`,
//! `delete`, `watch` — the time to open one —, `compact`,
//! `current_revision`); `type` is the resource its key is under, as
//! kube-apiserver names it (`pods`, `deployments.apps`; the allocator's
//! `ranges`; empty for store-wide calls). An expected miss (a get of an
//! absent key, a create that finds one, a lost compare-and-swap) is an
//! answer, not a store error, and is not counted as one.

use std::sync::Arc;

use bytes::Bytes;
use capstan_metrics::{Counter, Family, Histogram, MetricsError, Registry};
use capstan_proto::kinds;
use capstan_server::metrics::APISERVER_BUCKETS;
use capstan_store::{KeyValue, ListResult, Revision, Store, StoreError, WatchStream};
use prometheus_client::encoding::EncodeLabelSet;
use tokio::time::Instant;

/// The labels of both families.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Operation {
    operation: &'static str,
    r#type: String,
}

/// `store` with every call timed and its failures counted in `registry`.
pub fn metered(store: Arc<dyn Store>, registry: &Registry) -> Result<Arc<dyn Store>, MetricsError> {
    Ok(Arc::new(MeteredStore {
        inner: store,
        durations: registry.register(
            "etcd_request_duration_seconds",
            "Etcd request latency in seconds for each operation and object type.",
            Family::<Operation, Histogram>::new_with_constructor(|| Histogram::new(APISERVER_BUCKETS)),
        )?,
        errors: registry.register(
            "etcd_request_errors_total",
            "Etcd failed request counts for each operation and object type.",
            Family::default(),
        )?,
    }))
}

/// See the [module](self) docs.
struct MeteredStore {
    inner: Arc<dyn Store>,
    durations: Family<Operation, Histogram>,
    errors: Family<Operation, Counter>,
}

/// The resource a key or prefix is under (`/registry/<resource>/…`), as
/// kube-apiserver's `type` label names it: `pods`, `deployments.apps`.
fn object_type(key: &str) -> String {
    let Some(resource) = key.strip_prefix("/registry/").and_then(|rest| rest.split('/').next()) else {
        return String::new();
    };
    match kinds::lookup(resource).map(|info| info.api_version.split_once('/')) {
        Some(Some((group, _))) => format!("{resource}.{group}"),
        _ => resource.to_string(),
    }
}

/// Whether `error` is the store failing rather than answering "no".
fn failed(error: &StoreError) -> bool {
    !matches!(
        error,
        StoreError::NotFound { .. }
            | StoreError::AlreadyExists { .. }
            | StoreError::Conflict { .. }
            | StoreError::Compacted { .. }
    )
}

impl MeteredStore {
    fn record<T>(&self, operation: &'static str, key: &str, started: Instant, answer: &Result<T, StoreError>) {
        let labels = Operation { operation, r#type: object_type(key) };
        self.durations.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
        if answer.as_ref().err().is_some_and(failed) {
            self.errors.get_or_create(&labels).inc();
        }
    }
}

#[async_trait::async_trait]
impl Store for MeteredStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let started = Instant::now();
        let answer = self.inner.get(key).await;
        self.record("get", key, started, &answer);
        answer
    }

    async fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> Result<ListResult, StoreError> {
        let started = Instant::now();
        let answer = self.inner.list(prefix, start_after, limit).await;
        self.record("list", prefix, started, &answer);
        answer
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<Revision, StoreError> {
        let started = Instant::now();
        let answer = self.inner.create(key, value).await;
        self.record("create", key, started, &answer);
        answer
    }

    async fn update(&self, key: &str, value: Bytes, expected: Revision) -> Result<Revision, StoreError> {
        let started = Instant::now();
        let answer = self.inner.update(key, value, expected).await;
        self.record("update", key, started, &answer);
        answer
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue), StoreError> {
        let started = Instant::now();
        let answer = self.inner.delete(key, expected).await;
        self.record("delete", key, started, &answer);
        answer
    }

    async fn current_revision(&self) -> Result<Revision, StoreError> {
        let started = Instant::now();
        let answer = self.inner.current_revision().await;
        self.record("current_revision", "", started, &answer);
        answer
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StoreError> {
        let started = Instant::now();
        let answer = self.inner.watch(prefix, after).await;
        self.record("watch", prefix, started, &answer);
        answer
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        let started = Instant::now();
        let answer = self.inner.compact(revision).await;
        self.record("compact", "", started, &answer);
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_resource_as_kube_apiserver_does() {
        let cases = [
            ("/registry/pods/default/web", "pods"),
            ("/registry/pods/", "pods"),
            ("/registry/nodes/n1", "nodes"),
            ("/registry/deployments/shop/web", "deployments.apps"),
            ("/registry/leases/kube-node-lease/n1", "leases.coordination.k8s.io"),
            ("/registry/ranges/serviceips/10.96.0.1", "ranges"),
            ("/elsewhere/x", ""),
            ("", ""),
        ];
        for (key, want) in cases {
            assert_eq!(object_type(key), want, "{key}");
        }
    }

    #[tokio::test]
    async fn every_call_is_timed_by_operation_and_type_and_only_failures_count_as_errors() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = capstan_store::open_store(&capstan_store::StoreConfig::embedded(dir.path().join("store")))
            .await
            .expect("an embedded store");
        let registry = Registry::new();
        let store = metered(store, &registry).expect("registers");
        let key = "/registry/pods/default/web";
        let revision = store.create(key, Bytes::from_static(b"1")).await.expect("created");
        assert!(store.create(key, Bytes::from_static(b"1")).await.is_err(), "a second create finds the key");
        assert!(store.get(key).await.expect("read").is_some());
        store.update(key, Bytes::from_static(b"2"), revision).await.expect("updated");
        store.list("/registry/deployments/", None, 0).await.expect("listed");
        let text = registry.render().expect("renders");
        let count = |operation: &str, kind: &str| {
            let series = format!("etcd_request_duration_seconds_count{{operation=\"{operation}\",type=\"{kind}\"}}");
            capstan_test_support::metric_sample(&text, &series)
        };
        assert_eq!(count("create", "pods"), Some(2.0), "{text}");
        assert_eq!(count("get", "pods"), Some(1.0), "{text}");
        assert_eq!(count("update", "pods"), Some(1.0), "{text}");
        assert_eq!(count("list", "deployments.apps"), Some(1.0), "{text}");
        assert!(!text.contains("etcd_request_errors_total"), "an existing key is an answer, not an error: {text}");
    }
}
