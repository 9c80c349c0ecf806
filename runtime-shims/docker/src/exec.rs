//! Exec in a running container through the engine's exec API.
//!
//! ExecSync collects the output and then reads the exit code. Streaming exec pumps
//! in both directions in one task per call: client stdin into the engine's hijacked
//! connection (closing it half-way when the client closes stdin), engine output back
//! to the client, and the exit code last. That task ends when the process's output
//! ends or the client goes away, whichever is first.

use capstan_shim_common::{CallTarget, RuntimeError};
use std::pin::Pin;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use capstan_proto::runtime::v1::exec_input::{Input, Start};
use capstan_proto::runtime::v1::exec_output::Output;
use capstan_proto::runtime::v1::{ExecInput, ExecOutput, ExecSyncRequest, ExecSyncResponse};
use capstan_shim_common::ExecOutputStream as ExecStream;
use futures::{Stream, StreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::error::{Context, Op};
use crate::{DockerRuntime, ShimError};

type EngineOutput = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

impl DockerRuntime {
    /// Starts `cmd` attached; returns the exec ID, its output and its stdin.
    async fn start_exec(
        &self,
        id: &str,
        cmd: Vec<String>,
        stdin: bool,
        tty: bool,
    ) -> Result<(String, EngineOutput, Pin<Box<dyn AsyncWrite + Send>>), ShimError> {
        let inspect = self.container(id).await?;
        let state = inspect.state.unwrap_or_default();
        if state.running != Some(true) {
            let state = state.status.map(|s| s.to_string()).unwrap_or_else(|| "unknown".into());
            return Err(ShimError::Runtime(RuntimeError::NotRunning { id: id.to_string(), state }));
        }
        let options = CreateExecOptions {
            attach_stdin: Some(stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(tty),
            cmd: Some(cmd),
            ..Default::default()
        };
        let on = CallTarget::container(id);
        let exec =
            self.engine("ContainerExec", on, self.inner.docker.create_exec(id, options)).await.during(Op::Exec, id)?;
        let start = StartExecOptions { detach: false, tty, output_capacity: None };
        match self
            .engine("ExecStart", on, self.inner.docker.start_exec(&exec.id, Some(start)))
            .await
            .during(Op::Exec, id)?
        {
            StartExecResults::Attached { output, input } => Ok((exec.id, output, input)),
            StartExecResults::Detached => Err(ShimError::ExecDetached { id: id.to_string() }),
        }
    }

    async fn exit_code(&self, exec_id: &str, container_id: &str) -> Result<i32, ShimError> {
        let inspected =
            self.engine("ExecInspect", CallTarget::container(container_id), self.inner.docker.inspect_exec(exec_id));
        let inspect = inspected.await.during(Op::Exec, container_id)?;
        Ok(inspect.exit_code.unwrap_or_default() as i32)
    }

    pub(crate) async fn exec_sync(&self, request: ExecSyncRequest) -> Result<ExecSyncResponse, ShimError> {
        let ExecSyncRequest { container_id, cmd, timeout } = request;
        let run = async {
            let (exec_id, mut output, _stdin) = self.start_exec(&container_id, cmd.clone(), false, false).await?;
            let mut response = ExecSyncResponse::default();
            while let Some(frame) = output.next().await {
                match frame.during(Op::Exec, &container_id)? {
                    LogOutput::StdErr { message } => response.stderr.extend_from_slice(&message),
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        response.stdout.extend_from_slice(&message)
                    }
                    LogOutput::StdIn { .. } => {}
                }
            }
            response.exit_code = self.exit_code(&exec_id, &container_id).await?;
            Ok(response)
        };
        if timeout <= 0 {
            return run.await;
        }
        match tokio::time::timeout(Duration::from_secs(timeout.unsigned_abs()), run).await {
            Ok(result) => result,
            Err(_) => Err(ShimError::Runtime(RuntimeError::ExecTimedOut { id: container_id, cmd, seconds: timeout })),
        }
    }

    pub(crate) async fn exec_stream<S>(&self, mut input: S) -> Result<ExecStream, ShimError>
    where
        S: Stream<Item = Result<ExecInput, Status>> + Send + Unpin + 'static,
    {
        let Some(Ok(ExecInput { input: Some(Input::Start(start)) })) = input.next().await else {
            return Err(ShimError::Runtime(RuntimeError::ExecNotStarted));
        };
        let Start { container_id, cmd, stdin, tty } = start;
        let (exec_id, output, writer) = self.start_exec(&container_id, cmd, stdin, tty).await?;
        let (sender, receiver) = mpsc::channel(16);
        let pump = Pump { runtime: self.clone(), container_id, exec_id, sender };
        tokio::spawn(pump.run(input, output, writer, stdin));
        Ok(Box::pin(ReceiverStream::new(receiver)))
    }
}

struct Pump {
    runtime: DockerRuntime,
    container_id: String,
    exec_id: String,
    sender: mpsc::Sender<Result<ExecOutput, Status>>,
}

impl Pump {
    async fn run<S>(
        self,
        mut input: S,
        mut output: EngineOutput,
        mut writer: Pin<Box<dyn AsyncWrite + Send>>,
        mut stdin_open: bool,
    ) where
        S: Stream<Item = Result<ExecInput, Status>> + Send + Unpin,
    {
        let id = self.container_id.clone();
        loop {
            tokio::select! {
                message = input.next(), if stdin_open => match message {
                    Some(Ok(ExecInput { input: Some(Input::Stdin(data)) })) => {
                        if let Err(source) = writer.write_all(&data).await {
                            let _ = self.sender.send(Err(ShimError::Stdin { id: id.clone(), source }.into())).await;
                            return;
                        }
                    }
                    Some(Ok(ExecInput { input: Some(Input::Resize(size)) })) => {
                        let resize = ResizeExecOptions { width: size.width.min(u16::MAX.into()) as u16, height: size.height.min(u16::MAX.into()) as u16 };
                        if let Err(error) = self.runtime.inner.docker.resize_exec(&self.exec_id, resize).await {
                            tracing::debug!(%error, container = %id, "resizing an exec terminal");
                        }
                    }
                    Some(Ok(ExecInput { input: Some(Input::Start(_)) | None })) => {}
                    Some(Ok(ExecInput { input: Some(Input::CloseStdin(_)) })) | Some(Err(_)) | None => {
                        stdin_open = false;
                        let _ = writer.shutdown().await;
                    }
                },
                frame = output.next() => {
                    let message = match frame.map(|f| f.during(Op::Exec, &id)) {
                        Some(Ok(LogOutput::StdErr { message })) => Output::Stderr(message.to_vec()),
                        Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => Output::Stdout(message.to_vec()),
                        Some(Ok(LogOutput::StdIn { .. })) => continue,
                        Some(Err(error)) => {
                            let _ = self.sender.send(Err(error.into())).await;
                            return;
                        }
                        None => break,
                    };
                    if self.sender.send(Ok(ExecOutput { output: Some(message) })).await.is_err() {
                        return; // the client went away
                    }
                }
                _ = self.sender.closed() => return,
            }
        }
        let last = match self.runtime.exit_code(&self.exec_id, &id).await {
            Ok(code) => Ok(ExecOutput { output: Some(Output::ExitCode(code)) }),
            Err(error) => Err(error.into()),
        };
        let _ = self.sender.send(last).await;
    }
}
