//! Exec through containerd's exec processes: the container's own process spec with
//! another argv, its stdio on FIFOs the shim opens first, started, waited on and
//! deleted.
//!
//! ExecSync reads both outputs to their end and then the exit code (a timeout kills
//! the process). Streaming exec pumps in both directions in one task per call:
//! client stdin into the stdin FIFO (closing it with CloseIO when the client does),
//! resizes to the terminal, output back to the client, and the exit code last.

use capstan_shim_common::RuntimeError;
use std::time::Duration;

use capstan_proto::runtime::v1::exec_input::{Input, Start};
use capstan_proto::runtime::v1::exec_output::Output;
use capstan_proto::runtime::v1::{ContainerState, ExecInput, ExecOutput, ExecSyncRequest, ExecSyncResponse};
use capstan_shim_common::{ExecInputStream, ExecOutputStream};
use containerd_client::services::v1::{
    CloseIoRequest, DeleteProcessRequest, ExecProcessRequest, KillRequest, ResizePtyRequest, StartRequest, WaitRequest,
};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::logs::{make_fifo, open_fifo};
use crate::runtime::remove_dir;
use crate::spec::{self, PROCESS_TYPE};
use crate::{error, ContainerdError, ContainerdRuntime, Context};

/// A started exec process and its stdio.
struct Running {
    container_id: String,
    exec_id: String,
    stdout: pipe::Receiver,
    stderr: Option<pipe::Receiver>,
    stdin: Option<pipe::Sender>,
}

impl ContainerdRuntime {
    async fn start_exec(&self, id: &str, cmd: &[String], stdin: bool, tty: bool) -> Result<Running, ContainerdError> {
        let observed = self.observe(id).await?;
        if observed.state() != ContainerState::ContainerRunning {
            return Err(ContainerdError::Runtime(RuntimeError::NotRunning {
                id: id.to_string(),
                state: observed.state_name().to_string(),
            }));
        }
        let process = spec::exec_process(spec::stored_spec(observed.record.spec.as_ref()).as_ref(), cmd, tty)?;
        let exec_id = uuid::Uuid::new_v4().simple().to_string();
        let dir = self.exec_dir(&exec_id);
        std::fs::create_dir_all(&dir).map_err(error::io("creating", &dir))?;
        let fifo = |name: &str| {
            let path = dir.join(name);
            make_fifo(&path).map(|()| path)
        };
        let stdout_path = fifo("stdout")?;
        let stdout = open_fifo(&stdout_path)?;
        let (stderr_path, stderr) = if tty {
            (String::new(), None)
        } else {
            let path = fifo("stderr")?;
            let receiver = open_fifo(&path)?;
            (path.display().to_string(), Some(receiver))
        };
        let (stdin_path, stdin_sender) = if stdin {
            let path = fifo("stdin")?;
            // read-write, so opening needs no reader yet; the process sees EOF on CloseIO
            let sender =
                pipe::OpenOptions::new().read_write(true).open_sender(&path).map_err(error::io("opening", &path))?;
            (path.display().to_string(), Some(sender))
        } else {
            (String::new(), None)
        };
        let request = ExecProcessRequest {
            container_id: id.to_string(),
            stdin: stdin_path,
            stdout: stdout_path.display().to_string(),
            stderr: stderr_path,
            terminal: tty,
            spec: Some(spec::to_any(&process, PROCESS_TYPE)?),
            exec_id: exec_id.clone(),
        };
        let what = || format!("exec {cmd:?} in container {id}");
        if let Err(error) = self.client().tasks().exec(self.client().request(request)).await.during(what) {
            let _ = remove_dir(&dir);
            return Err(error);
        }
        let start = StartRequest { container_id: id.to_string(), exec_id: exec_id.clone() };
        if let Err(error) = self.client().tasks().start(self.client().request(start)).await.during(what) {
            self.end_exec(id, &exec_id).await;
            return Err(error);
        }
        Ok(Running { container_id: id.to_string(), exec_id, stdout, stderr, stdin: stdin_sender })
    }

    /// The exit code of a finished exec; the process and its FIFOs are removed.
    async fn exit_code(&self, id: &str, exec_id: &str) -> Result<i32, ContainerdError> {
        let request = self.client().request(WaitRequest { container_id: id.to_string(), exec_id: exec_id.to_string() });
        let waited = self.client().tasks().wait(request).await.during(|| format!("waiting for an exec in {id}"));
        self.end_exec(id, exec_id).await;
        Ok(waited?.into_inner().exit_status as i32)
    }

    async fn end_exec(&self, id: &str, exec_id: &str) {
        let request = DeleteProcessRequest { container_id: id.to_string(), exec_id: exec_id.to_string() };
        if let Err(error) = self.client().tasks().delete_process(self.client().request(request)).await {
            tracing::debug!(container = %id, %exec_id, %error, "deleting an exec process");
        }
        let _ = remove_dir(&self.exec_dir(exec_id));
    }

    pub(crate) async fn exec_sync(&self, request: ExecSyncRequest) -> Result<ExecSyncResponse, ContainerdError> {
        let ExecSyncRequest { container_id, cmd, timeout } = request;
        let running = self.start_exec(&container_id, &cmd, false, false).await?;
        let exec_id = running.exec_id.clone();
        let read = async move {
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            let mut out = running.stdout;
            let err = running.stderr;
            let read_err = async {
                if let Some(mut err) = err {
                    let _ = err.read_to_end(&mut stderr).await;
                }
                stderr
            };
            let (_, stderr) = tokio::join!(out.read_to_end(&mut stdout), read_err);
            (stdout, stderr)
        };
        let (stdout, stderr) = if timeout > 0 {
            match tokio::time::timeout(Duration::from_secs(timeout.unsigned_abs()), read).await {
                Ok(output) => output,
                Err(_) => {
                    let kill = KillRequest {
                        container_id: container_id.clone(),
                        exec_id: exec_id.clone(),
                        signal: 9,
                        all: false,
                    };
                    let _ = self.client().tasks().kill(self.client().request(kill)).await;
                    self.end_exec(&container_id, &exec_id).await;
                    return Err(ContainerdError::Runtime(RuntimeError::ExecTimedOut {
                        id: container_id,
                        cmd,
                        seconds: timeout,
                    }));
                }
            }
        } else {
            read.await
        };
        let exit_code = self.exit_code(&container_id, &exec_id).await?;
        Ok(ExecSyncResponse { stdout, stderr, exit_code })
    }

    pub(crate) async fn exec_stream(&self, mut input: ExecInputStream) -> Result<ExecOutputStream, ContainerdError> {
        let Some(Ok(ExecInput { input: Some(Input::Start(start)) })) = input.next().await else {
            return Err(ContainerdError::Runtime(RuntimeError::ExecNotStarted));
        };
        let Start { container_id, cmd, stdin, tty } = start;
        let running = self.start_exec(&container_id, &cmd, stdin, tty).await?;
        let (sender, receiver) = mpsc::channel(16);
        tokio::spawn(pump(self.clone(), running, input, sender));
        Ok(Box::pin(ReceiverStream::new(receiver)))
    }
}

/// Reads `pipe` into `Output`s until its end.
async fn forward(mut pipe: pipe::Receiver, stderr: bool, sender: mpsc::Sender<Result<ExecOutput, Status>>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => {
                let data = buffer[..read].to_vec();
                let output = if stderr { Output::Stderr(data) } else { Output::Stdout(data) };
                if sender.send(Ok(ExecOutput { output: Some(output) })).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn pump(
    runtime: ContainerdRuntime,
    running: Running,
    mut input: ExecInputStream,
    sender: mpsc::Sender<Result<ExecOutput, Status>>,
) {
    let Running { container_id, exec_id, stdout, stderr, mut stdin } = running;
    let mut outputs = vec![tokio::spawn(forward(stdout, false, sender.clone()))];
    if let Some(stderr) = stderr {
        outputs.push(tokio::spawn(forward(stderr, true, sender.clone())));
    }
    let outputs_done = futures::future::join_all(outputs);
    tokio::pin!(outputs_done);
    let mut input_open = true;
    loop {
        tokio::select! {
            _ = &mut outputs_done => break,
            message = input.next(), if input_open => match message {
                Some(Ok(ExecInput { input: Some(Input::Stdin(data)) })) => {
                    if let Some(writer) = stdin.as_mut() {
                        if let Err(error) = writer.write_all(&data).await {
                            tracing::debug!(container = %container_id, %error, "writing exec stdin");
                        }
                    }
                }
                Some(Ok(ExecInput { input: Some(Input::Resize(size)) })) => {
                    let resize = ResizePtyRequest {
                        container_id: container_id.clone(),
                        exec_id: exec_id.clone(),
                        width: size.width,
                        height: size.height,
                    };
                    if let Err(error) = runtime.client().tasks().resize_pty(runtime.client().request(resize)).await {
                        tracing::debug!(container = %container_id, %error, "resizing an exec terminal");
                    }
                }
                Some(Ok(ExecInput { input: Some(Input::Start(_)) | None })) => {}
                Some(Ok(ExecInput { input: Some(Input::CloseStdin(_)) })) | Some(Err(_)) | None => {
                    input_open = false;
                    if stdin.take().is_some() {
                        let close = CloseIoRequest { container_id: container_id.clone(), exec_id: exec_id.clone(), stdin: true };
                        if let Err(error) = runtime.client().tasks().close_io(runtime.client().request(close)).await {
                            tracing::debug!(container = %container_id, %error, "closing exec stdin");
                        }
                    }
                }
            },
            _ = sender.closed() => {
                let kill = KillRequest { container_id: container_id.clone(), exec_id: exec_id.clone(), signal: 9, all: false };
                let _ = runtime.client().tasks().kill(runtime.client().request(kill)).await;
                runtime.end_exec(&container_id, &exec_id).await;
                return;
            }
        }
    }
    let last = match runtime.exit_code(&container_id, &exec_id).await {
        Ok(code) => Ok(ExecOutput { output: Some(Output::ExitCode(code)) }),
        Err(error) => Err(error.into()),
    };
    let _ = sender.send(last).await;
}
