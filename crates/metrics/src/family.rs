//! Labelled families: one metric per combination of label values, created
//! on first use. The number of labels is part of the type (`N`), so a call
//! with the wrong number of values does not compile.

use crate::registry::Sample;
use crate::text::label_pairs;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

struct Inner<M, const N: usize> {
    label_names: Vec<String>,
    make: Box<dyn Fn() -> M + Send + Sync>,
    /// Sorted by label values, so a scrape's order is stable.
    children: Mutex<BTreeMap<[String; N], M>>,
}

/// Metrics of one name, told apart by `N` label values. Look a child up
/// once with [`Family::with`] and keep its handle where it is updated.
pub struct Family<M, const N: usize> {
    inner: Arc<Inner<M, N>>,
}

impl<M, const N: usize> Clone for Family<M, N> {
    fn clone(&self) -> Self {
        Family { inner: self.inner.clone() }
    }
}

impl<M, const N: usize> std::fmt::Debug for Family<M, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family").field("labels", &self.inner.label_names).finish_non_exhaustive()
    }
}

/// Counters by label values.
pub type CounterVec<const N: usize> = Family<crate::Counter, N>;
/// Gauges by label values.
pub type GaugeVec<const N: usize> = Family<crate::Gauge, N>;
/// Histograms by label values (all with the family's buckets).
pub type HistogramVec<const N: usize> = Family<crate::Histogram, N>;

impl<M: Sample, const N: usize> Family<M, N> {
    pub(crate) fn new(label_names: [&str; N], make: impl Fn() -> M + Send + Sync + 'static) -> Self {
        let inner = Inner {
            label_names: label_names.iter().map(|l| l.to_string()).collect(),
            make: Box::new(make),
            children: Mutex::new(BTreeMap::new()),
        };
        Family { inner: Arc::new(inner) }
    }

    /// The metric for these label values (in the order the labels were
    /// registered), created at zero on first use.
    pub fn with(&self, values: [&str; N]) -> M {
        let key = values.map(str::to_string);
        let mut children = self.lock();
        children.entry(key).or_insert_with(|| (self.inner.make)()).clone()
    }

    /// The metric for these label values if it exists, without creating
    /// it: for readers (an admin RPC, a test) that must not add a series
    /// to the scrape.
    pub fn get(&self, values: [&str; N]) -> Option<M> {
        self.lock().get(&values.map(str::to_string)).cloned()
    }

    /// Stop exporting these label values (e.g. a deleted object's series);
    /// handles already taken keep working but are no longer rendered.
    pub fn remove(&self, values: [&str; N]) -> bool {
        self.lock().remove(&values.map(str::to_string)).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<[String; N], M>> {
        self.inner.children.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write(&self, name: &str, out: &mut String) {
        let children: Vec<([String; N], M)> = self.lock().iter().map(|(k, m)| (k.clone(), m.clone())).collect();
        for (values, metric) in children {
            metric.write(name, &label_pairs(&self.inner.label_names, &values), out);
        }
    }
}
