//! One-shot container stats from the engine: cumulative CPU time and memory, with
//! the working set computed as the kubelet does (usage minus inactive file pages;
//! `total_inactive_file` on cgroup v1, `inactive_file` on v2).

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use capstan_proto::runtime::v1::ContainerStats;
use capstan_shim_common::CallTarget;
use futures::StreamExt;

use crate::error::{Context, Op};
use crate::time::epoch_nanos;
use crate::{DockerRuntime, ShimError};

impl DockerRuntime {
    pub(crate) async fn stats(&self, id: &str) -> Result<ContainerStats, ShimError> {
        self.container(id).await?;
        let options = StatsOptionsBuilder::default().stream(false).one_shot(true).build();
        let mut samples = self.inner.docker.stats(id, Some(options));
        let sample =
            self.engine("ContainerStats", CallTarget::container(id), async { samples.next().await.transpose() });
        let sample = sample.await.during(Op::Stats, id)?.unwrap_or_default();
        Ok(convert(id, sample))
    }
}

fn convert(id: &str, sample: ContainerStatsResponse) -> ContainerStats {
    let memory = sample.memory_stats.unwrap_or_default();
    let usage = memory.usage.unwrap_or_default();
    let counters = memory.stats.unwrap_or_default();
    let inactive =
        counters.get("total_inactive_file").or_else(|| counters.get("inactive_file")).copied().unwrap_or_default();
    ContainerStats {
        container_id: id.to_string(),
        timestamp: epoch_nanos(sample.read.as_deref().unwrap_or_default()),
        cpu_usage_core_nanoseconds: sample
            .cpu_stats
            .and_then(|c| c.cpu_usage)
            .and_then(|u| u.total_usage)
            .unwrap_or_default(),
        memory_working_set_bytes: usage.saturating_sub(inactive),
        memory_usage_bytes: usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats};

    #[test]
    fn working_set_excludes_inactive_file_pages() {
        let sample = ContainerStatsResponse {
            read: Some("1970-01-01T00:00:01Z".into()),
            cpu_stats: Some(ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage { total_usage: Some(42), ..Default::default() }),
                ..Default::default()
            }),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(1000),
                stats: Some([("total_inactive_file".to_string(), 300)].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let stats = convert("c1", sample);
        assert_eq!(
            (stats.cpu_usage_core_nanoseconds, stats.memory_usage_bytes, stats.memory_working_set_bytes),
            (42, 1000, 700)
        );
        assert_eq!(stats.timestamp, 1_000_000_000);
    }
}
