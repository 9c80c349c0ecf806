//! Logs (tail, follow, stdout vs stderr), exec (sync and streaming with stdin) and
//! stats.

use capstan_proto::runtime::v1::exec_input::{Input, Start};
use capstan_proto::runtime::v1::exec_output::Output;
use capstan_proto::runtime::v1::*;
use futures::StreamExt;
use tonic::Code;

use crate::fixtures::{eventually, WAIT};
use crate::Runtime;

/// Collects a log stream into (stdout, stderr), checking every chunk is stamped.
async fn collect_logs(rt: &Runtime, request: ContainerLogsRequest) -> (String, String) {
    let mut stream = rt.clients.runtime.clone().container_logs(request).await.expect("ContainerLogs").into_inner();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let read = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.expect("a log chunk");
            assert!(chunk.timestamp > 0, "chunks carry their time: {chunk:?}");
            match chunk.stream.as_str() {
                "stdout" => stdout.extend(chunk.data),
                "stderr" => stderr.extend(chunk.data),
                other => panic!("unknown stream {other:?}"),
            }
        }
    };
    tokio::time::timeout(WAIT, read).await.expect("the log stream ends when the container exits");
    (String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned())
}

pub async fn logs_tail_and_follow(rt: Runtime) {
    let pod = rt.run_pod("logs").await;
    let script = "echo line 1; echo line 2 >&2; echo line 3; sleep 2; echo line 4";
    let id = rt.start(&pod, "printer", &["sh", "-c", script]).await;
    let follow = ContainerLogsRequest { container_id: id.clone(), follow: true, tail_lines: -1, ..Default::default() };
    let (stdout, stderr) = collect_logs(&rt, follow).await;
    assert_eq!((stdout.as_str(), stderr.as_str()), ("line 1\nline 3\nline 4\n", "line 2\n"));
    let status = rt.wait_for_state(&id, ContainerState::ContainerExited).await;
    assert_eq!(status.exit_code, 0);
    // the last line; how an engine interleaves lines of the two streams written at
    // the same moment is its own business, so only the line printed last is certain
    let tail = ContainerLogsRequest { container_id: id.clone(), tail_lines: 1, ..Default::default() };
    assert_eq!(collect_logs(&rt, tail).await, ("line 4\n".to_string(), String::new()));
    let none = ContainerLogsRequest { container_id: id.clone(), tail_lines: 0, ..Default::default() };
    assert_eq!(collect_logs(&rt, none).await, (String::new(), String::new()), "tail_lines 0 is no lines");
    let missing = ContainerLogsRequest { container_id: "no-such-container".into(), ..Default::default() };
    let error = rt.clients.runtime.clone().container_logs(missing).await.map(|_| ()).map_err(|s| s.code());
    assert_eq!(error, Err(Code::NotFound));
}

pub async fn exec_sync_output_and_exit_code(rt: Runtime) {
    let pod = rt.run_pod("exec").await;
    let id = rt.start(&pod, "target", &["sleep", "3600"]).await;
    rt.wait_for_state(&id, ContainerState::ContainerRunning).await;
    let echo = rt.exec(&id, &["echo", "hello"]).await;
    assert_eq!((echo.stdout.as_slice(), echo.stderr.as_slice(), echo.exit_code), (&b"hello\n"[..], &b""[..], 0));
    let both = rt.exec(&id, &["sh", "-c", "echo out; echo err >&2; exit 7"]).await;
    assert_eq!((both.stdout.as_slice(), both.stderr.as_slice(), both.exit_code), (&b"out\n"[..], &b"err\n"[..], 7));
    let done = rt.start(&pod, "done", &["true"]).await;
    rt.wait_for_state(&done, ContainerState::ContainerExited).await;
    let request = ExecSyncRequest { container_id: done.clone(), cmd: vec!["echo".into(), "x".into()], timeout: 10 };
    let refused = rt.clients.runtime.clone().exec_sync(request).await.map(|_| ()).map_err(|s| s.code());
    assert_eq!(refused, Err(Code::FailedPrecondition), "exec in an exited container");
}

pub async fn exec_stream_with_stdin(rt: Runtime) {
    let pod = rt.run_pod("attach").await;
    let id = rt.start(&pod, "target", &["sleep", "3600"]).await;
    rt.wait_for_state(&id, ContainerState::ContainerRunning).await;
    let start = Start { container_id: id.clone(), cmd: vec!["cat".into()], stdin: true, tty: false };
    let inputs = [
        Input::Start(start),
        Input::Stdin(b"hello\n".to_vec()),
        Input::Stdin(b"world\n".to_vec()),
        Input::CloseStdin(true),
    ];
    let (stdout, stderr, code) =
        run_exec(&rt, inputs.into_iter().map(|i| ExecInput { input: Some(i) }).collect()).await;
    assert_eq!((stdout.as_str(), stderr.as_str(), code), ("hello\nworld\n", "", 0));

    let start = Start {
        container_id: id,
        cmd: ["sh", "-c", "echo a; echo b >&2; exit 3"].map(String::from).into(),
        stdin: false,
        tty: false,
    };
    let (stdout, stderr, code) = run_exec(&rt, vec![ExecInput { input: Some(Input::Start(start)) }]).await;
    assert_eq!((stdout.as_str(), stderr.as_str(), code), ("a\n", "b\n", 3));
}

/// Sends `inputs` on an Exec stream and collects (stdout, stderr, exit code).
async fn run_exec(rt: &Runtime, inputs: Vec<ExecInput>) -> (String, String, i32) {
    let mut output = rt.clients.runtime.clone().exec(futures::stream::iter(inputs)).await.expect("Exec").into_inner();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let read = async {
        while let Some(message) = output.next().await {
            match message.expect("exec output").output {
                Some(Output::Stdout(data)) => stdout.extend(data),
                Some(Output::Stderr(data)) => stderr.extend(data),
                Some(Output::ExitCode(code)) => return code,
                None => {}
            }
        }
        panic!("the exec stream ended without an exit code");
    };
    let code = tokio::time::timeout(WAIT, read).await.expect("the exec finishes");
    (String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned(), code)
}

pub async fn stats_report_cpu_and_memory(rt: Runtime) {
    let pod = rt.run_pod("stats").await;
    let busy = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done; sleep 3600";
    let id = rt.start(&pod, "busy", &["sh", "-c", busy]).await;
    rt.wait_for_state(&id, ContainerState::ContainerRunning).await;
    let stats = eventually("the container to have used CPU", || async {
        let request = ContainerStatsRequest { container_id: id.clone() };
        let stats =
            rt.clients.runtime.clone().container_stats(request).await.expect("ContainerStats").into_inner().stats;
        let stats = stats.expect("ContainerStats carries stats");
        if stats.cpu_usage_core_nanoseconds > 0 {
            Ok(stats)
        } else {
            Err(stats)
        }
    })
    .await;
    assert_eq!(stats.container_id, id);
    assert!(stats.timestamp > 0 && stats.memory_usage_bytes > 0, "{stats:?}");
    let filter = ContainerFilter { pod_sandbox_id: pod.id.clone(), ..Default::default() };
    let listed =
        rt.clients.runtime.clone().list_container_stats(ListContainerStatsRequest { filter: Some(filter) }).await;
    let listed = listed.expect("ListContainerStats").into_inner().stats;
    assert_eq!(listed.iter().map(|s| s.container_id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
}
