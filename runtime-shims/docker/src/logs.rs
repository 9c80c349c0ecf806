//! Container logs from the engine, demultiplexed into stdout and stderr chunks.
//!
//! The engine is always asked for timestamps: each chunk's time comes from Docker's
//! prefix (stripped from the data), which also lets `since_time` be honoured to the
//! nanosecond although the engine's `since` takes whole seconds. A followed stream
//! ends when the container exits or the client goes away.

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use capstan_proto::runtime::v1::{ContainerLogsRequest, LogChunk};
use capstan_shim_common::LogStream;
use futures::StreamExt;
use tonic::Status;

use crate::error::{Context, Op};
use crate::time::split_timestamp;
use crate::{DockerRuntime, ShimError};

impl DockerRuntime {
    pub(crate) async fn logs(&self, request: ContainerLogsRequest) -> Result<LogStream, ShimError> {
        let id = request.container_id;
        self.container(&id).await?;
        let tail = if request.tail_lines < 0 { "all".to_string() } else { request.tail_lines.to_string() };
        let since_seconds = i32::try_from(request.since_time.max(0) / 1_000_000_000).unwrap_or(i32::MAX);
        let options = LogsOptionsBuilder::default()
            .follow(request.follow)
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .since(since_seconds)
            .tail(&tail)
            .build();
        let since = request.since_time;
        let stream = self.inner.docker.logs(&id, Some(options)).filter_map(move |item| {
            let chunk = match item.during(Op::Logs, &id) {
                Ok(output) => chunk(output).filter(|c| since <= 0 || c.timestamp >= since).map(Ok),
                Err(error) => Some(Err(Status::from(error))),
            };
            std::future::ready(chunk)
        });
        Ok(Box::pin(stream))
    }
}

/// One engine frame as a chunk; stdin echoes are dropped.
fn chunk(output: LogOutput) -> Option<LogChunk> {
    let (stream, message) = match output {
        LogOutput::StdOut { message } | LogOutput::Console { message } => ("stdout", message),
        LogOutput::StdErr { message } => ("stderr", message),
        LogOutput::StdIn { .. } => return None,
    };
    let (timestamp, data) = split_timestamp(&message);
    Some(LogChunk { stream: stream.to_string(), data: data.to_vec(), timestamp })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_become_stamped_chunks() {
        let out = LogOutput::StdErr { message: "1970-01-01T00:00:03.000000001Z oops\n".into() };
        let chunk = chunk(out).expect("a chunk");
        assert_eq!(
            (chunk.stream.as_str(), chunk.data.as_slice(), chunk.timestamp),
            ("stderr", &b"oops\n"[..], 3_000_000_001)
        );
        assert!(super::chunk(LogOutput::StdIn { message: "x".into() }).is_none());
    }
}
