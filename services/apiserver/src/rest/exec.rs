//! `…/pods/{name}/exec` over WebSocket, as kubectl 1.32 speaks it
//! (client-go's `tools/remotecommand`): a `GET` upgraded to a WebSocket with
//! the subprotocol `v5.channel.k8s.io` (or `v4`), each binary message one
//! channel's bytes behind a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 the
//! final `metav1.Status`, 4 terminal resizes (`{"Width","Height"}`), and in
//! v5, `[255, channel]` closing a channel (stdin's end, `echo hi | kubectl
//! exec -i`).
//!
//! Everything that can refuse before the command starts — the hook (create
//! `pods/exec`, whatever the HTTP method), the pod, its container, its node —
//! runs first, through [`PodApi::prepare_exec`], and is answered as a plain
//! `metav1.Status` response, as kube-apiserver answers it before upgrading.
//! kubectl takes a refused upgrade for an old server and retries over SPDY
//! (a `POST`); that retry gets the same refusal, and when nothing refuses, a
//! 400 saying that SPDY is not served. After the upgrade the command's end is
//! channel 3's Status: `Success`, or `Failure` with reason `NonZeroExitCode`
//! and the exit code as a cause (kubectl exits with it), or the kubelet's
//! refusal.

use super::logs::flag;
use super::objects::request;
use super::status;
use super::Caller;
use crate::node_proxy::PodKubelet;
use crate::pods::{ExecOutputs, PodApi};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::http::Method;
use axum::response::Response;
use capstan_proto::kubelet::v1::exec_request::{Request as ExecPart, Target};
use capstan_proto::kubelet::v1::ExecRequest;
use capstan_proto::meta::v1::Status;
use capstan_proto::runtime::v1::exec_input::{Input, Resize};
use capstan_proto::runtime::v1::exec_output::Output;
use capstan_proto::runtime::v1::ExecInput;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// The subprotocols served, in the order the server prefers them.
pub const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const ERROR: u8 = 3;
pub const RESIZE: u8 = 4;
/// v5: `[CLOSE, channel]` says the sender is done with that channel.
pub const CLOSE: u8 = 255;

/// `PodExecOptions` from the query string.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExecQuery {
    pub command: Vec<String>,
    pub container: String,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// The query as kubectl sends it (`command` once per argument).
pub fn query(query: Option<&str>) -> Result<ExecQuery, Box<Status>> {
    let mut asked = ExecQuery::default();
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "command" => asked.command.push(value.into_owned()),
            "container" => asked.container = value.into_owned(),
            "stdin" => asked.stdin = flag(&key, &value)?,
            "stdout" => asked.stdout = flag(&key, &value)?,
            "stderr" => asked.stderr = flag(&key, &value)?,
            "tty" => asked.tty = flag(&key, &value)?,
            _ => {}
        }
    }
    let bad = |message: &str| Err(Box::new(status::failure(400, "BadRequest", message)));
    if asked.command.is_empty() {
        return bad("you must specify at least one command for the container");
    }
    // a terminal has one output stream, as the kubelet decides
    asked.stderr &= !asked.tty;
    if !asked.stdin && !asked.stdout && !asked.stderr {
        return bad("you must specify at least 1 of stdin, stdout, stderr");
    }
    Ok(asked)
}

/// What a message from the client asks.
#[derive(Debug, PartialEq)]
pub enum Inbound {
    Stdin(Vec<u8>),
    Resize {
        width: u32,
        height: u32,
    },
    CloseStdin,
    /// an empty message, another channel's close, a channel the client has no business writing
    Nothing,
}

/// One binary message from the client.
pub fn inbound(message: &[u8]) -> Result<Inbound, String> {
    match message {
        [STDIN, data @ ..] if !data.is_empty() => Ok(Inbound::Stdin(data.to_vec())),
        [RESIZE, size @ ..] => {
            let size: Value = serde_json::from_slice(size)
                .map_err(|e| format!("a resize is not JSON {{\"Width\",\"Height\"}}: {e}"))?;
            let side = |name: &str| size.get(name).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
            match (side("Width"), side("Height")) {
                (Some(width), Some(height)) => Ok(Inbound::Resize { width, height }),
                _ => Err(format!("a resize names no whole Width and Height: {size}")),
            }
        }
        [CLOSE, STDIN] => Ok(Inbound::CloseStdin),
        _ => Ok(Inbound::Nothing),
    }
}

/// One message to the client: `channel`'s byte, then `data`.
pub fn outbound(channel: u8, data: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(data.len() + 1);
    message.push(channel);
    message.extend_from_slice(data);
    message
}

/// Channel 3's Status for a command that exited with `code`, as the kubelet
/// writes it (client-go reads the code from the `ExitCode` cause).
pub fn exit_status(code: i32) -> Value {
    if code == 0 {
        return json!({"metadata": {}, "status": "Success"});
    }
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("command terminated with non-zero exit code: exit status {code}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}

/// `GET` (WebSocket) or `POST` (SPDY) `/api/v1/namespaces/{namespace}/pods/{name}/exec`.
pub async fn serve(pods: &PodApi, user: Caller, namespace: &str, name: &str, request: Request) -> Response {
    let asked = query(request.uri().query());
    let mut target = Target { namespace: namespace.into(), pod: name.into(), ..Default::default() };
    if let Ok(asked) = &asked {
        target.container = asked.container.clone();
        target.cmd = asked.command.clone();
        target.stdin = asked.stdin;
        target.tty = asked.tty;
    }
    // the hook first, as kube-apiserver's filter judges before anything reads the query
    let kubelet = match pods.prepare_exec(&self::request(user, ()), &mut target).await {
        Ok(kubelet) => kubelet,
        Err(refused) => return status::respond(&status::from_grpc(&refused)),
    };
    let asked = match asked {
        Ok(asked) => asked,
        Err(refused) => return status::respond(&refused),
    };
    let method = request.method().clone();
    let (mut parts, _) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) if method == Method::GET => upgrade.protocols(PROTOCOLS),
        _ => {
            let message = format!(
                "exec is served over WebSocket ({}), not SPDY: upgrade a GET to websocket",
                PROTOCOLS.join(", ")
            );
            return status::respond(&status::failure(400, "BadRequest", message));
        }
    };
    if upgrade.selected_protocol().is_none() {
        let message = format!("exec needs one of the subprotocols {}", PROTOCOLS.join(", "));
        return status::respond(&status::failure(400, "BadRequest", message));
    }
    upgrade.on_upgrade(move |socket| relay(socket, kubelet, target, asked))
}

/// Starts the command and carries its streams both ways until it exits or
/// the client goes away (dropping the kubelet's call then stops the command).
async fn relay(socket: WebSocket, kubelet: PodKubelet, target: Target, asked: ExecQuery) {
    let (mut sink, source) = socket.split();
    // one message in flight: the client's input waits while the kubelet is slow to take it
    let (input, inbound_parts) = mpsc::channel(1);
    let started = PodApi::start_exec(kubelet, target, tokio_stream::wrappers::ReceiverStream::new(inbound_parts));
    let last = match started.await {
        Ok(output) => tokio::select! {
            last = send_output(output, &mut sink, &asked) => last,
            // the client is gone: nothing to tell it
            () = read_input(source, input, asked.stdin) => return,
        },
        Err(refused) => Some(refused_status(&refused)),
    };
    if let Some(status) = last {
        let _ = sink.send(Message::Binary(outbound(ERROR, status.to_string().as_bytes()).into())).await;
    }
    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1000, reason: "".into() }))).await;
}

fn refused_status(refused: &tonic::Status) -> Value {
    serde_json::to_value(status::from_grpc(refused)).unwrap_or_default()
}

/// The kubelet's output to the client, until the exit code: the Status to
/// end with (`None` when the client stopped reading).
async fn send_output(
    mut output: ExecOutputs,
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    asked: &ExecQuery,
) -> Option<Value> {
    while let Some(next) = output.next().await {
        let (channel, data) = match next.map(|o| o.output) {
            Ok(Some(Output::Stdout(data))) if asked.stdout => (STDOUT, data),
            Ok(Some(Output::Stderr(data))) if asked.stderr => (STDERR, data),
            Ok(Some(Output::ExitCode(code))) => return Some(exit_status(code)),
            Ok(_) => continue,
            Err(refused) => return Some(refused_status(&refused)),
        };
        if sink.send(Message::Binary(outbound(channel, &data).into())).await.is_err() {
            return None;
        }
    }
    let ended = crate::ApiError::Internal("the kubelet ended the exec without an exit code".into());
    Some(refused_status(&ended.into_status()))
}

/// The client's messages as exec input, until the client goes away.
async fn read_input(
    mut source: futures::stream::SplitStream<WebSocket>,
    mut input: mpsc::Sender<ExecRequest>,
    stdin: bool,
) {
    let mut stdin_open = stdin;
    while let Some(Ok(message)) = source.next().await {
        let frame = match message {
            Message::Binary(frame) => frame,
            Message::Close(_) => return,
            _ => continue,
        };
        let next = match inbound(&frame) {
            Ok(Inbound::Stdin(data)) if stdin_open => part(Input::Stdin(data)),
            Ok(Inbound::CloseStdin) if stdin_open => {
                stdin_open = false;
                part(Input::CloseStdin(true))
            }
            Ok(Inbound::Resize { width, height }) => part(Input::Resize(Resize { width, height })),
            Ok(_) => continue,
            Err(error) => {
                tracing::debug!(%error, "an exec client's message is ignored");
                continue;
            }
        };
        // owned, not borrowed across the wait: the upgraded connection's task must be Send
        match input.reserve_owned().await {
            Ok(permit) => input = permit.send(next),
            // the exec is over; its output side says how it ended
            Err(_) => return std::future::pending().await,
        }
    }
}

fn part(input: Input) -> ExecRequest {
    ExecRequest { request: Some(ExecPart::Input(ExecInput { input: Some(input) })) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectls_exec_queries_parse() {
        let cases = [
            (
                "command=echo&command=hi&container=web&stdout=true&stderr=true",
                ExecQuery {
                    command: vec!["echo".into(), "hi".into()],
                    container: "web".into(),
                    stdout: true,
                    stderr: true,
                    ..Default::default()
                },
            ),
            (
                "command=sh&stdin=true&stdout=true&stderr=true&tty=true",
                ExecQuery { command: vec!["sh".into()], stdin: true, stdout: true, tty: true, ..Default::default() },
            ),
            (
                "command=sh&command=-c&command=exit%203&stdout=1",
                ExecQuery {
                    command: vec!["sh".into(), "-c".into(), "exit 3".into()],
                    stdout: true,
                    ..Default::default()
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(query(Some(text)), Ok(want), "{text}");
        }
        for (text, why) in [
            ("stdout=true", "you must specify at least one command for the container"),
            ("command=ls", "you must specify at least 1 of stdin, stdout, stderr"),
            ("command=ls&stderr=true&tty=true", "you must specify at least 1 of stdin, stdout, stderr"),
        ] {
            let refused = query(Some(text)).expect_err(text);
            assert_eq!((refused.code, refused.message.as_str()), (400, why), "{text}");
        }
        let refused = query(Some("command=ls&stdout=maybe")).expect_err("not a boolean");
        assert_eq!(refused.message, "stdout: \"maybe\" is not a boolean (true or false)");
    }

    #[test]
    fn client_messages_name_their_channel() {
        let cases: [(&[u8], Result<Inbound, &str>); 8] = [
            (b"\x00hi\n", Ok(Inbound::Stdin(b"hi\n".to_vec()))),
            (b"\x00", Ok(Inbound::Nothing)),
            (b"", Ok(Inbound::Nothing)),
            (b"\x04{\"Width\":80,\"Height\":24}", Ok(Inbound::Resize { width: 80, height: 24 })),
            (b"\xff\x00", Ok(Inbound::CloseStdin)),
            (b"\xff\x04", Ok(Inbound::Nothing)),
            (b"\x04{\"Width\":80}", Err("a resize names no whole Width and Height: {\"Width\":80}")),
            (b"\x01out", Ok(Inbound::Nothing)),
        ];
        for (message, want) in cases {
            assert_eq!(inbound(message), want.map_err(String::from), "{message:?}");
        }
        assert!(inbound(b"\x04{").expect_err("broken JSON").starts_with("a resize is not JSON"));
    }

    #[test]
    fn output_goes_out_behind_its_channel_and_the_exit_code_as_a_status() {
        assert_eq!(outbound(STDOUT, b"hi"), b"\x01hi");
        assert_eq!(outbound(STDERR, b""), b"\x02");
        assert_eq!(exit_status(0), json!({"metadata": {}, "status": "Success"}));
        let failed = exit_status(3);
        assert_eq!(failed["reason"], "NonZeroExitCode");
        assert_eq!(failed["details"]["causes"], json!([{"reason": "ExitCode", "message": "3"}]));
    }
}
