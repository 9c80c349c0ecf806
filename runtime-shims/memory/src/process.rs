//! Exec and stats in the in-memory runtime.
//!
//! Exec answers come from [`crate::exec`], seeing the pod's hostname, IP, the
//! container's environment and the ports its pod listens on; a command "takes" its
//! time on tokio's clock, so a timeout is honoured. Streaming exec of `cat` with stdin
//! echoes each chunk back. Stats grow CPU by a tenth of a core while running and
//! report a fixed memory footprint.

use capstan_shim_common::RuntimeError;
use std::time::Duration;

use capstan_proto::runtime::v1::exec_input::Input;
use capstan_proto::runtime::v1::exec_output::Output;
use capstan_proto::runtime::v1::{
    ContainerFilter, ContainerStats, ExecInput, ExecOutput, ExecSyncRequest, ExecSyncResponse,
};
use capstan_shim_common::ExecOutputStream as ExecStream;
use futures::{stream, Stream, StreamExt};
use tonic::Status;

use crate::container::matching;
use crate::exec::{answer, copies_stdin, ExecContext};
use crate::state::Container;
use crate::{MemoryError, MemoryRuntime};

const WORKING_SET_BYTES: u64 = 4 << 20;
const USAGE_BYTES: u64 = 6 << 20;

impl MemoryRuntime {
    async fn exec_context(&self, id: &str) -> Result<ExecContext, MemoryError> {
        let state = self.lock().await;
        let container = self.own_container(&state, id)?;
        if !container.is_running() {
            return Err(MemoryError::Runtime(RuntimeError::NotRunning {
                id: id.to_string(),
                state: container.state_name().to_string(),
            }));
        }
        let sandbox = state.sandboxes.get(&container.sandbox_id);
        let pod_name = sandbox.and_then(|s| s.config.metadata.as_ref()).map(|m| m.name.clone()).unwrap_or_default();
        let hostname = sandbox.map(|s| s.config.hostname.clone()).filter(|h| !h.is_empty()).unwrap_or(pod_name);
        let listening = state
            .containers
            .values()
            .filter(|c| c.sandbox_id == container.sandbox_id && c.is_running())
            .flat_map(|c| c.script.listens.iter().copied())
            .collect();
        Ok(ExecContext {
            hostname,
            ip: sandbox.and_then(|s| s.ip).map(|ip| ip.to_string()).unwrap_or_default(),
            env: container.config.envs.iter().map(|kv| (kv.key.clone(), kv.value.clone())).collect(),
            working_dir: container.config.working_dir.clone(),
            resolv_conf: sandbox
                .and_then(|s| capstan_shim_common::resolv_conf(s.config.dns_config.as_ref()))
                .unwrap_or_default(),
            listening,
        })
    }

    pub(crate) async fn exec_sync(&self, request: ExecSyncRequest) -> Result<ExecSyncResponse, MemoryError> {
        let context = self.exec_context(&request.container_id).await?;
        let answer = answer(&request.cmd, &context);
        if request.timeout > 0 && answer.takes > Duration::from_secs(request.timeout.unsigned_abs()) {
            tokio::time::sleep(Duration::from_secs(request.timeout.unsigned_abs())).await;
            return Err(MemoryError::Runtime(RuntimeError::ExecTimedOut {
                id: request.container_id,
                cmd: request.cmd,
                seconds: request.timeout,
            }));
        }
        tokio::time::sleep(answer.takes).await;
        Ok(ExecSyncResponse { stdout: answer.stdout, stderr: answer.stderr, exit_code: answer.exit_code })
    }

    pub(crate) async fn exec_stream<S>(&self, mut input: S) -> Result<ExecStream, MemoryError>
    where
        S: Stream<Item = Result<ExecInput, Status>> + Send + Unpin + 'static,
    {
        let start = match input.next().await {
            Some(Ok(ExecInput { input: Some(Input::Start(start)) })) => start,
            _ => return Err(MemoryError::Runtime(RuntimeError::ExecNotStarted)),
        };
        let context = self.exec_context(&start.container_id).await?;
        if start.stdin && copies_stdin(&start.cmd) {
            return Ok(Box::pin(echo_stdin(input)));
        }
        let answer = answer(&start.cmd, &context);
        let output = [
            (!answer.stdout.is_empty()).then_some(Output::Stdout(answer.stdout)),
            (!answer.stderr.is_empty()).then_some(Output::Stderr(answer.stderr)),
        ];
        let (takes, exit_code) = (answer.takes, answer.exit_code);
        let exit = stream::once(async move {
            tokio::time::sleep(takes).await;
            Output::ExitCode(exit_code)
        });
        let all = stream::iter(output.into_iter().flatten()).chain(exit);
        Ok(Box::pin(all.map(|output| Ok(ExecOutput { output: Some(output) }))))
    }

    pub(crate) async fn stats(&self, id: &str) -> Result<ContainerStats, MemoryError> {
        let state = self.lock().await;
        let container = self.own_container(&state, id)?;
        Ok(self.stats_of(container))
    }

    pub(crate) async fn list_stats(&self, filter: Option<ContainerFilter>) -> Vec<ContainerStats> {
        let filter = filter.unwrap_or_default();
        let state = self.lock().await;
        matching(&state, &filter, self.node_name()).filter(|c| c.is_running()).map(|c| self.stats_of(c)).collect()
    }

    fn stats_of(&self, container: &Container) -> ContainerStats {
        let running = container.is_running();
        ContainerStats {
            container_id: container.id.clone(),
            timestamp: self.inner.clock.now_ns(),
            cpu_usage_core_nanoseconds: container.cpu_nanos(&self.inner.clock),
            memory_working_set_bytes: if running { WORKING_SET_BYTES } else { 0 },
            memory_usage_bytes: if running { USAGE_BYTES } else { 0 },
        }
    }
}

/// `cat`: every stdin chunk comes back on stdout; closing stdin exits 0.
fn echo_stdin<S>(input: S) -> impl Stream<Item = Result<ExecOutput, Status>> + Send
where
    S: Stream<Item = Result<ExecInput, Status>> + Send + Unpin + 'static,
{
    stream::unfold(Some(input), |input| async move {
        let mut input = input?;
        loop {
            let output = match input.next().await {
                Some(Ok(ExecInput { input: Some(Input::Stdin(data)) })) => Output::Stdout(data),
                Some(Ok(ExecInput { input: Some(Input::Resize(_) | Input::Start(_)) | None })) => continue,
                Some(Ok(ExecInput { input: Some(Input::CloseStdin(_)) })) | None => {
                    return Some((Ok(ExecOutput { output: Some(Output::ExitCode(0)) }), None));
                }
                Some(Err(status)) => return Some((Err(status), None)),
            };
            return Some((Ok(ExecOutput { output: Some(output) }), Some(input)));
        }
    })
}
