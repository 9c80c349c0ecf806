//! The registry: every metric of a component by name, with its HELP and
//! TYPE, rendered in one scrape.

use crate::error::MetricsError;
use crate::family::Family;
use crate::histogram::{check_buckets, Histogram};
use crate::text::{check_label_name, check_metric_name, escape_help};
use crate::{Counter, Gauge};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

pub(crate) mod sealed {
    /// Only this crate's metric types can be registered.
    pub trait Sealed {}
}

/// A metric type ([`Counter`], [`Gauge`], [`crate::Histogram`]) that writes its own sample lines.
pub trait Sample: sealed::Sealed + Clone + Send + Sync + 'static {
    /// The `# TYPE` word.
    const TYPE: &'static str;
    /// Write this metric's lines; `labels` is the inside of its braces.
    fn write(&self, name: &str, labels: &str, out: &mut String);
}

/// Anything the registry can render under one name.
trait Collect: Send + Sync {
    fn write(&self, name: &str, out: &mut String);
}

/// A metric without labels.
struct Single<M>(M);

impl<M: Sample> Collect for Single<M> {
    fn write(&self, name: &str, out: &mut String) {
        self.0.write(name, "", out);
    }
}

impl<M: Sample, const N: usize> Collect for Family<M, N> {
    fn write(&self, name: &str, out: &mut String) {
        Family::write(self, name, out);
    }
}

struct Entry {
    help: String,
    kind: &'static str,
    collect: Arc<dyn Collect>,
}

/// A component's metrics; cheap to clone (clones share the metrics).
#[derive(Clone, Default)]
pub struct Registry {
    entries: Arc<Mutex<BTreeMap<String, Entry>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("metrics", &self.lock().keys().collect::<Vec<_>>()).finish()
    }
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, name: &str, help: &str, kind: &'static str, collect: Arc<dyn Collect>) -> Result<(), MetricsError> {
        check_metric_name(name)?;
        let mut entries = self.lock();
        if entries.contains_key(name) {
            return Err(MetricsError::Duplicate(name.into()));
        }
        entries.insert(name.into(), Entry { help: escape_help(help), kind, collect });
        Ok(())
    }

    fn single<M: Sample>(&self, name: &str, help: &str, metric: M) -> Result<M, MetricsError> {
        self.add(name, help, M::TYPE, Arc::new(Single(metric.clone())))?;
        Ok(metric)
    }

    fn family<M: Sample, const N: usize>(
        &self,
        name: &str,
        help: &str,
        labels: [&str; N],
        reserved: &[&str],
        make: impl Fn() -> M + Send + Sync + 'static,
    ) -> Result<Family<M, N>, MetricsError> {
        for (i, label) in labels.iter().enumerate() {
            check_label_name(label, reserved)?;
            if labels[..i].contains(label) {
                return Err(MetricsError::InvalidName {
                    what: "label name",
                    name: label.to_string(),
                    rule: "repeated",
                });
            }
        }
        let family = Family::new(labels, make);
        self.add(name, help, M::TYPE, Arc::new(family.clone()))?;
        Ok(family)
    }

    pub fn counter(&self, name: &str, help: &str) -> Result<Counter, MetricsError> {
        self.single(name, help, Counter::default())
    }

    pub fn counter_vec<const N: usize>(
        &self,
        name: &str,
        help: &str,
        labels: [&str; N],
    ) -> Result<Family<Counter, N>, MetricsError> {
        self.family(name, help, labels, &[], Counter::default)
    }

    pub fn gauge(&self, name: &str, help: &str) -> Result<Gauge, MetricsError> {
        self.single(name, help, Gauge::default())
    }

    pub fn gauge_vec<const N: usize>(
        &self,
        name: &str,
        help: &str,
        labels: [&str; N],
    ) -> Result<Family<Gauge, N>, MetricsError> {
        self.family(name, help, labels, &[], Gauge::default)
    }

    /// A histogram with these bucket upper bounds (`+Inf` is added).
    pub fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Result<Histogram, MetricsError> {
        let bounds = check_buckets(name, buckets)?;
        self.single(name, help, Histogram::new(bounds))
    }

    pub fn histogram_vec<const N: usize>(
        &self,
        name: &str,
        help: &str,
        labels: [&str; N],
        buckets: &[f64],
    ) -> Result<Family<Histogram, N>, MetricsError> {
        let bounds = check_buckets(name, buckets)?;
        self.family(name, help, labels, &["le"], move || Histogram::new(bounds.clone()))
    }

    /// Every metric in the text exposition format, sorted by name.
    pub fn render(&self) -> String {
        let entries: Vec<(String, String, &'static str, Arc<dyn Collect>)> =
            self.lock().iter().map(|(n, e)| (n.clone(), e.help.clone(), e.kind, e.collect.clone())).collect();
        let mut out = String::new();
        for (name, help, kind, collect) in entries {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            collect.write(&name, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_type_exactly() -> Result<(), MetricsError> {
        let registry = Registry::new();
        let attempts = registry.counter_vec("sched_attempts_total", "Attempts by result.", ["result", "profile"])?;
        attempts.with(["scheduled", "default"]).inc_by(3);
        attempts.with(["error", "default"]).inc();
        let pending = registry.gauge_vec("sched_pending_pods", "Pending pods by queue.", ["queue"])?;
        pending.with(["active"]).set(7.0);
        pending.with(["backoff"]);
        let up = registry.gauge("up", "Whether it runs;\nsecond line with a \\ backslash.")?;
        up.set(1.0);
        let binds = registry.counter("binds_total", "Binds.")?;
        binds.inc();
        let e2e = registry.histogram_vec("e2e_seconds", "End to end.", ["result"], &[0.5, 1.0])?;
        e2e.with(["say \"hi\""]).observe(0.75);
        let _empty = registry.histogram("empty_seconds", "No observations.", &[1.0])?;
        let want = "\
# HELP binds_total Binds.
# TYPE binds_total counter
binds_total 1
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
empty_seconds_sum 0
empty_seconds_count 0
# HELP sched_attempts_total Attempts by result.
# TYPE sched_attempts_total counter
sched_attempts_total{result=\"error\",profile=\"default\"} 1
sched_attempts_total{result=\"scheduled\",profile=\"default\"} 3
# HELP sched_pending_pods Pending pods by queue.
# TYPE sched_pending_pods gauge
sched_pending_pods{queue=\"active\"} 7
sched_pending_pods{queue=\"backoff\"} 0
# HELP up Whether it runs;\\nsecond line with a \\\\ backslash.
# TYPE up gauge
up 1
";
        assert_eq!(registry.render(), want);
        Ok(())
    }

    #[test]
    fn refuses_bad_registrations() {
        let registry = Registry::new();
        assert!(registry.counter("a_total", "A.").is_ok());
        let errors = [
            registry.counter("a_total", "again").err(),
            registry.gauge("bad-name", "x").err(),
            registry.counter_vec("b_total", "x", ["ok", "ok"]).err(),
            registry.histogram_vec("h", "x", ["le"], &[1.0]).err(),
            registry.histogram("h2", "x", &[2.0, 1.0]).err(),
        ];
        let messages: Vec<String> =
            errors.iter().map(|e| e.as_ref().map(|e| e.to_string()).unwrap_or_default()).collect();
        assert_eq!(
            messages,
            [
                "metric \"a_total\" is already registered",
                "invalid metric name \"bad-name\": must match [a-zA-Z_:][a-zA-Z0-9_:]*",
                "invalid label name \"ok\": repeated",
                "invalid label name \"le\": this label is set by the metric type itself",
                "histogram \"h2\": bad buckets: buckets must be strictly increasing",
            ]
        );
    }

    #[test]
    fn get_reads_a_series_without_creating_it() -> Result<(), MetricsError> {
        let registry = Registry::new();
        let family = registry.counter_vec("c_total", "C.", ["node"])?;
        assert!(family.get(["n1"]).is_none());
        assert_eq!(registry.render(), "# HELP c_total C.\n# TYPE c_total counter\n");
        family.with(["n1"]).inc_by(2);
        assert_eq!(family.get(["n1"]).map(|c| c.get()), Some(2));
        assert_eq!(registry.render(), "# HELP c_total C.\n# TYPE c_total counter\nc_total{node=\"n1\"} 2\n");
        Ok(())
    }

    #[test]
    fn removed_series_are_no_longer_rendered() -> Result<(), MetricsError> {
        let registry = Registry::new();
        let family = registry.gauge_vec("g", "G.", ["node"])?;
        family.with(["n1"]).set(1.0);
        family.with(["n2"]).set(2.0);
        assert!(family.remove(["n1"]));
        assert!(!family.remove(["n1"]));
        assert_eq!(registry.render(), "# HELP g G.\n# TYPE g gauge\ng{node=\"n2\"} 2\n");
        Ok(())
    }
}
