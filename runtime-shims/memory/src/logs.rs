//! Container logs in the in-memory runtime: the backlog (after `since_time`, the last
//! `tail_lines`), then, when following, new lines as they are printed until the
//! container exits or is removed.
//!
//! Following needs no task: the stream itself waits on the container's change signal
//! or on its next scripted event (tokio time), and ends when the client drops it.

use capstan_proto::runtime::v1::{ContainerLogsRequest, LogChunk};
use capstan_shim_common::LogStream;
use futures::{stream, StreamExt};
use tokio::sync::watch;
use tonic::Status;

use crate::script::Stream as Output;
use crate::state::LogLine;
use crate::{MemoryError, MemoryRuntime};

impl MemoryRuntime {
    pub(crate) async fn logs(&self, request: ContainerLogsRequest) -> Result<LogStream, MemoryError> {
        let (backlog, cursor, changed) = {
            let state = self.lock().await;
            let container = self.own_container(&state, &request.container_id)?;
            let lines: Vec<&LogLine> = container.logs.iter().filter(|l| l.at >= request.since_time).collect();
            let skip = usize::try_from(request.tail_lines).map_or(0, |tail| lines.len().saturating_sub(tail));
            let backlog: Vec<_> = lines[skip..].iter().map(|l| Ok(chunk(l))).collect();
            (backlog, container.logs.len(), container.changed.subscribe())
        };
        let backlog = stream::iter(backlog);
        if !request.follow {
            return Ok(Box::pin(backlog));
        }
        let follow = Follow { runtime: self.clone(), id: request.container_id, cursor, changed };
        let new_lines =
            stream::unfold(follow, |mut f| async move { f.next_batch().await.map(|batch| (stream::iter(batch), f)) });
        Ok(Box::pin(backlog.chain(new_lines.flatten())))
    }
}

struct Follow {
    runtime: MemoryRuntime,
    id: String,
    cursor: usize,
    changed: watch::Receiver<()>,
}

impl Follow {
    /// The lines printed since the last batch; `None` once the container has exited
    /// (or was removed) and everything it printed was sent.
    async fn next_batch(&mut self) -> Option<Vec<Result<LogChunk, Status>>> {
        loop {
            let next_event = {
                let state = self.runtime.lock().await;
                let container = state.containers.get(&self.id)?;
                if self.cursor < container.logs.len() {
                    let batch = container.logs[self.cursor..].iter().map(|l| Ok(chunk(l))).collect();
                    self.cursor = container.logs.len();
                    return Some(batch);
                }
                if container.finished.is_some() {
                    return None;
                }
                container.next_event_at()
            };
            tokio::select! {
                changed = self.changed.changed() => changed.ok()?,
                _ = sleep_until(next_event) => {}
            }
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn chunk(line: &LogLine) -> LogChunk {
    let stream = match line.stream {
        Output::Stdout => "stdout",
        Output::Stderr => "stderr",
    };
    LogChunk { stream: stream.to_string(), data: line.data.clone(), timestamp: line.at }
}
