//! CPU and memory from containerd's task metrics: the cgroup statistics runc's shim
//! reports, as cgroup v1 or v2 messages. Only the fields the runtime interface
//! carries are decoded (the field numbers are those of containerd's cgroups
//! `metrics.proto`); the working set is usage minus inactive file pages, as the
//! kubelet computes it.
//!
//! The same metrics say whether the kernel's OOM killer struck in the container's
//! cgroup (v1 `memory.oom_control`, v2 `memory.events`): an exited container's
//! task keeps its cgroup until the task is deleted, so its status can tell an
//! OOM kill (`OOMKilled`) from any other failure, even after a shim restart.

use capstan_proto::runtime::v1::ContainerStats;
use containerd_client::services::v1::MetricsRequest;
use prost::Message;

use crate::lookup::nanos;
use crate::{ContainerdError, ContainerdRuntime, Context};

/// The v2 payload's type; anything else is read as v1 (`io.containerd.cgroups.v1.Metrics`).
const V2: &str = "io.containerd.cgroups.v2.Metrics";

/// cgroup v1 (`io.containerd.cgroups.v1.Metrics`), the parts read here.
#[derive(Clone, PartialEq, Message)]
pub struct MetricsV1 {
    #[prost(message, optional, tag = "3")]
    pub cpu: Option<CpuV1>,
    #[prost(message, optional, tag = "4")]
    pub memory: Option<MemoryV1>,
    #[prost(message, optional, tag = "9")]
    pub memory_oom_control: Option<OomControlV1>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OomControlV1 {
    /// how many processes the OOM killer killed in the cgroup
    #[prost(uint64, tag = "3")]
    pub oom_kill: u64,
}

#[derive(Clone, PartialEq, Message)]
pub struct CpuV1 {
    #[prost(message, optional, tag = "1")]
    pub usage: Option<CpuUsageV1>,
}

#[derive(Clone, PartialEq, Message)]
pub struct CpuUsageV1 {
    /// nanoseconds
    #[prost(uint64, tag = "1")]
    pub total: u64,
}

#[derive(Clone, PartialEq, Message)]
pub struct MemoryV1 {
    #[prost(uint64, tag = "30")]
    pub total_inactive_file: u64,
    #[prost(message, optional, tag = "33")]
    pub usage: Option<MemoryEntryV1>,
}

#[derive(Clone, PartialEq, Message)]
pub struct MemoryEntryV1 {
    #[prost(uint64, tag = "2")]
    pub usage: u64,
}

/// cgroup v2 (`io.containerd.cgroups.v2.Metrics`), the parts read here.
#[derive(Clone, PartialEq, Message)]
pub struct MetricsV2 {
    #[prost(message, optional, tag = "2")]
    pub cpu: Option<CpuV2>,
    #[prost(message, optional, tag = "4")]
    pub memory: Option<MemoryV2>,
    #[prost(message, optional, tag = "8")]
    pub memory_events: Option<MemoryEventsV2>,
}

#[derive(Clone, PartialEq, Message)]
pub struct MemoryEventsV2 {
    /// how many processes the OOM killer killed in the cgroup
    #[prost(uint64, tag = "5")]
    pub oom_kill: u64,
}

#[derive(Clone, PartialEq, Message)]
pub struct CpuV2 {
    #[prost(uint64, tag = "1")]
    pub usage_usec: u64,
}

#[derive(Clone, PartialEq, Message)]
pub struct MemoryV2 {
    #[prost(uint64, tag = "13")]
    pub inactive_file: u64,
    #[prost(uint64, tag = "32")]
    pub usage: u64,
}

/// What one metric's payload says.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub cpu_nanos: u64,
    pub memory_usage: u64,
    pub working_set: u64,
    /// processes the OOM killer killed in the cgroup
    pub oom_kills: u64,
}

/// Decodes a metric's payload (cgroup v1 or v2 by its type URL).
pub fn decode(type_url: &str, data: &[u8]) -> Result<Sample, prost::DecodeError> {
    if type_url.ends_with(V2) {
        let metrics = MetricsV2::decode(data)?;
        let memory = metrics.memory.unwrap_or_default();
        return Ok(Sample {
            cpu_nanos: metrics.cpu.map(|c| c.usage_usec.saturating_mul(1000)).unwrap_or_default(),
            memory_usage: memory.usage,
            working_set: memory.usage.saturating_sub(memory.inactive_file),
            oom_kills: metrics.memory_events.map(|e| e.oom_kill).unwrap_or_default(),
        });
    }
    let metrics = MetricsV1::decode(data)?;
    let memory = metrics.memory.unwrap_or_default();
    let usage = memory.usage.map(|u| u.usage).unwrap_or_default();
    Ok(Sample {
        cpu_nanos: metrics.cpu.and_then(|c| c.usage).map(|u| u.total).unwrap_or_default(),
        memory_usage: usage,
        working_set: usage.saturating_sub(memory.total_inactive_file),
        oom_kills: metrics.memory_oom_control.map(|o| o.oom_kill).unwrap_or_default(),
    })
}

impl ContainerdRuntime {
    /// The task's current sample and its timestamp (none when containerd has no metric for it).
    async fn sample(&self, id: &str) -> Result<Option<(i64, Sample)>, ContainerdError> {
        let request = self.client().on_container(MetricsRequest { filters: vec![format!("id=={id}")] }, id);
        let metrics = self.client().tasks().metrics(request).await.during(|| format!("reading the stats of {id}"))?;
        let Some(metric) = metrics.into_inner().metrics.into_iter().next() else { return Ok(None) };
        let sample = match metric.data {
            Some(data) => decode(&data.type_url, &data.value)
                .map_err(|source| ContainerdError::Decode { what: format!("the metrics of {id}"), source })?,
            None => Sample::default(),
        };
        Ok(Some((nanos(metric.timestamp.as_ref()), sample)))
    }

    /// Whether the OOM killer struck in the cgroup of `id`'s task (false when the
    /// task or its metrics are gone: nothing to go on).
    pub(crate) async fn oom_killed(&self, id: &str) -> bool {
        match self.sample(id).await {
            Ok(Some((_, sample))) => sample.oom_kills > 0,
            Ok(None) => false,
            Err(error) => {
                tracing::debug!(container = %id, %error, "no metrics to tell an OOM kill by");
                false
            }
        }
    }

    pub(crate) async fn stats(&self, id: &str) -> Result<ContainerStats, ContainerdError> {
        self.container(id).await?;
        let mut stats = ContainerStats { container_id: id.to_string(), ..Default::default() };
        if let Some((timestamp, sample)) = self.sample(id).await? {
            stats.timestamp = timestamp;
            stats.cpu_usage_core_nanoseconds = sample.cpu_nanos;
            stats.memory_usage_bytes = sample.memory_usage;
            stats.memory_working_set_bytes = sample.working_set;
        }
        if stats.timestamp == 0 {
            stats.timestamp = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "io.containerd.cgroups.v1.Metrics";

    #[test]
    fn v1_and_v2_metrics_decode_to_cpu_and_memory() {
        let v1 = MetricsV1 {
            cpu: Some(CpuV1 { usage: Some(CpuUsageV1 { total: 5_000 }) }),
            memory: Some(MemoryV1 { total_inactive_file: 100, usage: Some(MemoryEntryV1 { usage: 1_000 }) }),
            memory_oom_control: Some(OomControlV1 { oom_kill: 1 }),
        };
        let sample = |cpu_nanos, memory_usage, working_set, oom_kills| Sample {
            cpu_nanos,
            memory_usage,
            working_set,
            oom_kills,
        };
        assert_eq!(decode(V1, &v1.encode_to_vec()).ok(), Some(sample(5_000, 1_000, 900, 1)));
        let v2 = MetricsV2 {
            cpu: Some(CpuV2 { usage_usec: 7 }),
            memory: Some(MemoryV2 { inactive_file: 10, usage: 50 }),
            memory_events: None,
        };
        assert_eq!(decode(&format!("types/{V2}"), &v2.encode_to_vec()).ok(), Some(sample(7_000, 50, 40, 0)));
        let oom = MetricsV2 { memory_events: Some(MemoryEventsV2 { oom_kill: 2 }), ..v2 };
        assert_eq!(decode(V2, &oom.encode_to_vec()).map(|s| s.oom_kills).ok(), Some(2));
    }
}
