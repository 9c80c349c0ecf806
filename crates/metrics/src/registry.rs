//! The registry a component's parts register in and one scrape renders:
//! prometheus-client's, behind a lock so that every clone of the handle
//! (each server, each controller) adds to and reads the same one.

use crate::error::MetricsError;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Metric;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct Inner {
    registry: prometheus_client::registry::Registry,
    /// Names as scraped: prometheus-client takes a name twice without a word.
    names: BTreeSet<String>,
}

/// A component's metrics; cheap to clone (clones share the metrics).
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("metrics", &self.lock().names).finish()
    }
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // a panic elsewhere leaves the registry itself whole: keep scraping
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `metric` (a [`crate::Counter`], [`crate::Gauge`],
    /// [`crate::Histogram`] or a [`crate::Family`] of one) under `name`,
    /// exactly as it will be scraped, and gives back a handle to update it
    /// (metrics are shared handles: the clone kept here is the one scraped).
    /// A counter's name ends in `_total`; `help` is one sentence.
    pub fn register<M: Metric + Clone>(&self, name: &str, help: &str, metric: M) -> Result<M, MetricsError> {
        check_name(name)?;
        // prometheus-client appends `_total` to a counter's samples itself,
        // and (in debug builds) panics on a name that still ends in it
        let base = match metric.metric_type() {
            MetricType::Counter => {
                name.strip_suffix("_total").filter(|base| !base.ends_with("_total")).ok_or_else(|| {
                    MetricsError::InvalidName { name: name.into(), rule: "a counter's name ends in _total, once" }
                })?
            }
            _ => name,
        };
        let mut inner = self.lock();
        if !inner.names.insert(name.into()) {
            return Err(MetricsError::Duplicate(name.into()));
        }
        // and ends every HELP with a period of its own
        inner.registry.register(base, help.strip_suffix('.').unwrap_or(help), metric.clone());
        Ok(metric)
    }

    /// Every metric in the Prometheus text format ([`crate::CONTENT_TYPE`]),
    /// in the order registered. A family with no series yet is left out.
    pub fn render(&self) -> Result<String, MetricsError> {
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.lock().registry)?;
        Ok(out)
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`: prometheus-client writes any name it is given.
fn check_name(name: &str) -> Result<(), MetricsError> {
    let ok = name
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()));
    if ok && !name.is_empty() {
        Ok(())
    } else {
        Err(MetricsError::InvalidName { name: name.into(), rule: "must match [a-zA-Z_:][a-zA-Z0-9_:]*" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{exponential_buckets, Counter, Family, Gauge, Histogram};

    type Labels = Vec<(&'static str, String)>;

    fn labels(pairs: &[(&'static str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn renders_every_type_as_before() -> Result<(), MetricsError> {
        let registry = Registry::new();
        let binds = registry.register("binds_total", "Binds.", Counter::<u64>::default())?;
        binds.inc();
        let attempts: Family<Labels, Counter> =
            registry.register("sched_attempts_total", "Attempts by result.", Family::default())?;
        attempts.get_or_create(&labels(&[("result", "scheduled"), ("profile", "default")])).inc_by(3);
        let pending: Family<Labels, Gauge> =
            registry.register("sched_pending_pods", "Pending pods by queue", Family::default())?;
        pending.get_or_create(&labels(&[("queue", "active")])).set(7);
        let up =
            registry.register("up", "Whether it runs;\nsecond line with a \\ backslash.", Gauge::<i64>::default())?;
        up.set(1);
        let e2e: Family<Labels, Histogram> = registry.register(
            "e2e_seconds",
            "End to end.",
            Family::<Labels, Histogram>::new_with_constructor(|| Histogram::new([0.5, 1.0])),
        )?;
        e2e.get_or_create(&labels(&[("result", "say \"hi\"")])).observe(0.75);
        let _empty =
            registry.register("empty_seconds", "No observations.", Histogram::new(exponential_buckets(1.0, 2.0, 1)))?;
        let _unused: Family<Labels, Counter> =
            registry.register("unused_total", "No series yet.", Family::default())?;
        let want = "\
# HELP binds_total Binds.
# TYPE binds_total counter
binds_total 1
# HELP sched_attempts_total Attempts by result.
# TYPE sched_attempts_total counter
sched_attempts_total{result=\"scheduled\",profile=\"default\"} 3
# HELP sched_pending_pods Pending pods by queue.
# TYPE sched_pending_pods gauge
sched_pending_pods{queue=\"active\"} 7
# HELP up Whether it runs;\\nsecond line with a \\\\ backslash.
# TYPE up gauge
up 1
# HELP e2e_seconds End to end.
# TYPE e2e_seconds histogram
e2e_seconds_bucket{result=\"say \\\"hi\\\"\",le=\"0.5\"} 0
e2e_seconds_bucket{result=\"say \\\"hi\\\"\",le=\"1\"} 1
e2e_seconds_bucket{result=\"say \\\"hi\\\"\",le=\"+Inf\"} 1
e2e_seconds_sum{result=\"say \\\"hi\\\"\"} 0.75
e2e_seconds_count{result=\"say \\\"hi\\\"\"} 1
# HELP empty_seconds No observations.
# TYPE empty_seconds histogram
empty_seconds_bucket{le=\"1\"} 0
empty_seconds_bucket{le=\"+Inf\"} 0
empty_seconds_sum 0.0
empty_seconds_count 0
";
        assert_eq!(registry.render()?, want);
        Ok(())
    }

    #[test]
    fn refuses_bad_registrations() {
        let registry = Registry::new();
        assert!(registry.register("a_total", "A.", Counter::<u64>::default()).is_ok());
        let errors = [
            registry.register("a_total", "again", Gauge::<i64>::default()).err(),
            registry.register("bad-name", "x", Gauge::<i64>::default()).err(),
            registry.register("requests", "x", Counter::<u64>::default()).err(),
            registry.register("twice_total_total", "x", Counter::<u64>::default()).err(),
        ];
        let messages: Vec<String> =
            errors.iter().map(|e| e.as_ref().map(|e| e.to_string()).unwrap_or_default()).collect();
        assert_eq!(
            messages,
            [
                "metric \"a_total\" is already registered",
                "invalid metric name \"bad-name\": must match [a-zA-Z_:][a-zA-Z0-9_:]*",
                "invalid metric name \"requests\": a counter's name ends in _total, once",
                "invalid metric name \"twice_total_total\": a counter's name ends in _total, once",
            ]
        );
    }

    #[test]
    fn a_family_series_is_read_and_removed_without_being_created() -> Result<(), MetricsError> {
        let registry = Registry::new();
        let family: Family<Labels, Counter> = registry.register("c_total", "C.", Family::default())?;
        let n1 = labels(&[("node", "n1")]);
        assert!(family.get(&n1).is_none());
        assert_eq!(registry.render()?, "");
        family.get_or_create(&n1).inc_by(2);
        assert_eq!(family.get(&n1).map(|c| c.get()), Some(2));
        assert_eq!(registry.render()?, "# HELP c_total C.\n# TYPE c_total counter\nc_total{node=\"n1\"} 2\n");
        assert!(family.remove(&n1));
        assert_eq!(registry.render()?, "");
        Ok(())
    }
}
