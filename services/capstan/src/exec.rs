//! `capstan exec POD|TYPE/NAME [-c C] [-i] [-t] -- CMD…`: runs a command in a pod's
//! container (of a pod the object selects: [`crate::pod_for`]) (`pods/exec`) through the API server, which relays it to the pod's
//! kubelet. The request stream names the target first,
//! then (with `-i`) carries the process's stdin and its close; the output streams
//! back — stdout to the command's output, stderr to the process's stderr — and a
//! non-zero exit code becomes [`CliError::CommandTerminated`].
//!
//! With `-it` on a terminal, the local terminal is put into raw mode while
//! attached (keys reach the remote command as typed: no local echo, line editing
//! or signals — the remote terminal does those) and restored on every way out.

use crate::cli::ExecArgs;
use crate::errors::CliError;
use crate::{pod_service, Context};
use capstan_proto::kubelet::v1::exec_request::{Request as Part, Target};
use capstan_proto::kubelet::v1::ExecRequest;
use capstan_proto::runtime::v1::exec_input::Input;
use capstan_proto::runtime::v1::exec_output::Output;
use capstan_proto::runtime::v1::ExecInput;
use rustix::fd::{AsFd, OwnedFd};
use rustix::termios::{tcgetattr, tcsetattr, OptionalActions, Termios};
use std::io::{IsTerminal, Read, Write};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

pub async fn run(ctx: &mut Context<'_>, args: &ExecArgs) -> Result<(), CliError> {
    if args.command.is_empty() {
        return Err(CliError::Usage("you must specify at least one command for the container".to_string()));
    }
    let (pod, _) = crate::pod_for::pod_for(ctx, &args.pod).await?;
    let (requests, outbound) = mpsc::channel(16);
    let first = Target {
        namespace: ctx.settings.namespace.clone(),
        pod,
        container: args.container.clone().unwrap_or_default(),
        cmd: args.command.clone(),
        stdin: args.stdin,
        tty: args.tty,
    };
    // the channel is empty and open: this send cannot wait or fail
    let _ = requests.send(ExecRequest { request: Some(Part::Target(first)) }).await;
    if args.stdin {
        forward_stdin(requests);
    } else {
        drop(requests); // no input: the request side closes after the target
    }
    // a refusal still prints on a normal terminal: the guard restores it as `run` returns
    let _raw = if args.stdin && args.tty { RawTerminal::enable(std::io::stdin())? } else { None };
    let reply = pod_service::client(ctx).exec(ReceiverStream::new(outbound)).await;
    let mut output = reply.map_err(|status| pod_service::fail(ctx, status))?.into_inner();
    while let Some(message) = output.message().await.map_err(|status| pod_service::fail(ctx, status))? {
        match message.output {
            Some(Output::Stdout(data)) => {
                ctx.out.write_all(&data)?;
                ctx.out.flush()?;
            }
            Some(Output::Stderr(data)) => {
                let mut stderr = std::io::stderr().lock();
                stderr.write_all(&data)?;
                stderr.flush()?;
            }
            Some(Output::ExitCode(0)) => return Ok(()),
            Some(Output::ExitCode(code)) => return Err(CliError::CommandTerminated { code }),
            None => {}
        }
    }
    Err(CliError::Usage(format!("the exec in pod {} ended without an exit code", args.pod)))
}

/// Copies the process's stdin into the exec from a plain thread (a blocking read
/// must not hold up the async runtime, nor its shutdown), then closes it.
fn forward_stdin(requests: mpsc::Sender<ExecRequest>) {
    let input = |input| ExecRequest { request: Some(Part::Input(ExecInput { input: Some(input) })) };
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = match stdin.read(&mut buffer) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if requests.blocking_send(input(Input::Stdin(buffer[..read].to_vec()))).is_err() {
                return; // the exec is over
            }
        }
        let _ = requests.blocking_send(input(Input::CloseStdin(true)));
    });
}

/// A terminal in raw mode; its saved settings come back when this is dropped
/// (on exit, error or panic alike).
struct RawTerminal {
    fd: OwnedFd,
    saved: Termios,
}

impl RawTerminal {
    /// Raw mode on `terminal` if it is one; `None` (nothing changed) otherwise.
    fn enable(terminal: impl AsFd) -> std::io::Result<Option<RawTerminal>> {
        let fd = terminal.as_fd().try_clone_to_owned()?;
        if !fd.is_terminal() {
            return Ok(None);
        }
        let saved = tcgetattr(&fd)?;
        let mut raw = saved.clone();
        raw.make_raw();
        tcsetattr(&fd, OptionalActions::Now, &raw)?;
        Ok(Some(RawTerminal { fd, saved }))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // nothing more can be done for a terminal that refuses its own settings
        let _ = tcsetattr(&self.fd, OptionalActions::Now, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    use rustix::termios::LocalModes;

    #[test]
    fn raw_mode_lasts_while_attached_and_is_undone_after() {
        let controller = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
        grantpt(&controller).expect("grantpt");
        unlockpt(&controller).expect("unlockpt");
        let name = ptsname(&controller, Vec::new()).expect("ptsname");
        let path = std::path::PathBuf::from(name.to_str().expect("utf-8 name"));
        let terminal = std::fs::OpenOptions::new().read(true).write(true).open(&path).expect("open the terminal");
        let cooked = |t: &std::fs::File| {
            tcgetattr(t).expect("tcgetattr").local_modes.contains(LocalModes::ICANON | LocalModes::ECHO)
        };
        assert!(cooked(&terminal), "a new terminal starts cooked");
        let raw = RawTerminal::enable(&terminal).expect("enable").expect("it is a terminal");
        assert!(!cooked(&terminal), "raw while attached");
        drop(raw);
        assert!(cooked(&terminal), "restored after");

        let file = tempfile::tempfile().expect("a file");
        assert!(RawTerminal::enable(&file).expect("not a terminal is no error").is_none());
    }
}
