//! Running a node's processes as one unit: set-up commands first, each to
//! success; then the processes in order, each waiting for the readiness path
//! of the one before when it has one; then until the first of them exits or
//! the container is told to stop. Either way every process left is asked to
//! stop with SIGINT (what Capstan's components, like containerd, stop on), given
//! the grace period, then killed; a process that exited on its own makes the
//! supervisor exit non-zero, so the container is restarted as a whole.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use rustix::process::{kill_process, Pid, Signal};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinSet;

use crate::{Process, Readiness, SupervisorError};

/// Everything the supervisor runs, in order.
#[derive(Clone, Debug)]
pub struct Plan {
    /// One-shot commands (argv), each run to success before any process starts.
    pub setup: Vec<Vec<String>>,
    pub processes: Vec<Process>,
    pub ready: Vec<Readiness>,
    /// One-shot commands (NAME, argv) run to success once NAME is ready, before
    /// the next process starts (e.g. importing images into a fresh containerd).
    pub after_ready: Vec<(String, Vec<String>)>,
    /// How long a process may take to create its readiness path.
    pub ready_timeout: Duration,
    /// How long processes may take to stop before they are killed.
    pub grace: Duration,
}

/// Why supervision ended.
enum End {
    Exited { name: String, status: ExitStatus },
    Signalled(&'static str),
}

/// Runs `plan` to its end and answers the exit code the container should
/// have: 0 when it was told to stop, else non-zero (a process's own code, or
/// 1 for one that exited with 0 or died by a signal).
pub async fn run(plan: Plan) -> Result<i32, SupervisorError> {
    let mut term = signal(SignalKind::terminate()).map_err(SupervisorError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(SupervisorError::Signal)?;
    for argv in &plan.setup {
        run_setup(argv).await?;
    }
    let mut running: JoinSet<(String, std::io::Result<ExitStatus>)> = JoinSet::new();
    let mut pids = Vec::new();
    let mut end = None;
    for process in &plan.processes {
        let pid = spawn(process, &mut running)?;
        pids.push((process.name.clone(), pid));
        let Some(ready) = plan.ready.iter().find(|r| r.name == process.name) else { continue };
        let deadline = tokio::time::Instant::now() + plan.ready_timeout;
        while !std::path::Path::new(&ready.path).exists() {
            tokio::select! {
                Some(exited) = running.join_next() => { end = Some(ended(exited)); break; }
                _ = term.recv() => { end = Some(End::Signalled("SIGTERM")); break; }
                _ = int.recv() => { end = Some(End::Signalled("SIGINT")); break; }
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                stop(&pids, &mut running, plan.grace).await;
                let (name, path) = (ready.name.clone(), ready.path.clone());
                return Err(SupervisorError::NotReady { name, path, waited: plan.ready_timeout });
            }
        }
        if end.is_some() {
            break;
        }
        for (_, argv) in plan.after_ready.iter().filter(|(name, _)| *name == process.name) {
            if let Err(error) = run_setup(argv).await {
                stop(&pids, &mut running, plan.grace).await;
                return Err(error);
            }
        }
    }
    let end = match end {
        Some(end) => end,
        None => tokio::select! {
            Some(exited) = running.join_next() => ended(exited),
            _ = term.recv() => End::Signalled("SIGTERM"),
            _ = int.recv() => End::Signalled("SIGINT"),
        },
    };
    let code = match &end {
        End::Exited { name, status } => {
            eprintln!("[supervisor] {name} exited ({status}): stopping the others");
            status.code().filter(|c| *c != 0).unwrap_or(1)
        }
        End::Signalled(signal) => {
            eprintln!("[supervisor] {signal}: stopping every process");
            0
        }
    };
    stop(&pids, &mut running, plan.grace).await;
    Ok(code)
}

async fn run_setup(argv: &[String]) -> Result<(), SupervisorError> {
    let Some((program, args)) = argv.split_first() else { return Ok(()) };
    let command = argv.join(" ");
    eprintln!("[supervisor] set-up: {command}");
    let status = Command::new(program).args(args).status().await.map_err(|source| SupervisorError::Spawn {
        name: "set-up".into(),
        program: program.clone(),
        source,
    })?;
    if !status.success() {
        return Err(SupervisorError::SetupFailed { command, status });
    }
    Ok(())
}

fn spawn(
    process: &Process,
    running: &mut JoinSet<(String, std::io::Result<ExitStatus>)>,
) -> Result<Option<Pid>, SupervisorError> {
    let mut child = Command::new(&process.program)
        .args(&process.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| SupervisorError::Spawn {
            name: process.name.clone(),
            program: process.program.clone(),
            source,
        })?;
    eprintln!("[supervisor] started {}: {} {}", process.name, process.program, process.args.join(" "));
    let pid = child.id().and_then(|id| i32::try_from(id).ok()).and_then(Pid::from_raw);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(prefix_lines(process.name.clone(), out, false));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(prefix_lines(process.name.clone(), err, true));
    }
    let name = process.name.clone();
    running.spawn(async move { (name, child.wait().await) });
    Ok(pid)
}

/// Copies a child's output line by line, each line prefixed with its name.
async fn prefix_lines(name: String, stream: impl AsyncRead + Unpin, to_stderr: bool) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match to_stderr {
            true => eprintln!("[{name}] {line}"),
            false => println!("[{name}] {line}"),
        }
    }
}

fn ended(joined: Result<(String, std::io::Result<ExitStatus>), tokio::task::JoinError>) -> End {
    use std::os::unix::process::ExitStatusExt;
    match joined {
        Ok((name, Ok(status))) => End::Exited { name, status },
        Ok((name, Err(error))) => {
            eprintln!("[supervisor] waiting for {name}: {error}");
            End::Exited { name, status: ExitStatus::from_raw(1 << 8) }
        }
        Err(error) => End::Exited { name: format!("a waiter ({error})"), status: ExitStatus::from_raw(1 << 8) },
    }
}

/// Asks every process to stop, last started first, and kills what is left after `grace`.
async fn stop(
    pids: &[(String, Option<Pid>)],
    running: &mut JoinSet<(String, std::io::Result<ExitStatus>)>,
    grace: Duration,
) {
    for (_, pid) in pids.iter().rev() {
        if let Some(pid) = pid {
            // one that already exited is what we want
            let _ = kill_process(*pid, Signal::INT);
        }
    }
    let drained = tokio::time::timeout(grace, async {
        while let Some(exited) = running.join_next().await {
            if let End::Exited { name, status } = ended(exited) {
                eprintln!("[supervisor] {name} stopped ({status})");
            }
        }
    })
    .await;
    if drained.is_err() {
        eprintln!("[supervisor] processes still running after {grace:?}: killing them");
        // dropping the waiters kills their children (kill_on_drop)
        running.abort_all();
        while running.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(name: &str, script: &str) -> Process {
        Process { name: name.into(), program: "sh".into(), args: vec!["-c".into(), script.into()] }
    }

    fn plan(processes: Vec<Process>) -> Plan {
        Plan {
            setup: Vec::new(),
            processes,
            ready: Vec::new(),
            after_ready: Vec::new(),
            ready_timeout: Duration::from_secs(30),
            grace: Duration::from_secs(30),
        }
    }

    #[tokio::test]
    async fn the_first_process_to_exit_stops_the_others_and_sets_the_code() {
        let marker = tempfile_path("stopped");
        let waits = format!("trap 'echo stopped > {marker}; exit 0' INT; while :; do sleep 0.1; done");
        let code = run(plan(vec![process("long", &waits), process("short", "sleep 0.3; exit 7")])).await;
        assert_eq!(code.map_err(|e| e.to_string()), Ok(7));
        assert_eq!(std::fs::read_to_string(&marker).map(|s| s.trim().to_string()).ok(), Some("stopped".into()));
        let _ = std::fs::remove_file(marker);
    }

    #[tokio::test]
    async fn a_process_that_exits_cleanly_still_fails_the_node() {
        let code = run(plan(vec![process("done", "exit 0")])).await;
        assert_eq!(code.map_err(|e| e.to_string()), Ok(1));
    }

    #[tokio::test]
    async fn a_failed_setup_starts_nothing() {
        let marker = tempfile_path("never");
        let mut plan = plan(vec![process("p", &format!("touch {marker}"))]);
        plan.setup = vec![vec!["false".into()]];
        let error = run(plan).await.map_err(|e| e.to_string());
        assert!(matches!(&error, Err(e) if e.starts_with("set-up command \"false\" failed")), "{error:?}");
        assert!(!std::path::Path::new(&marker).exists());
    }

    #[tokio::test]
    async fn a_missing_readiness_path_is_an_error_naming_it() {
        let mut plan = plan(vec![process("slow", "sleep 30")]);
        plan.ready = vec![Readiness { name: "slow".into(), path: tempfile_path("socket") }];
        plan.ready_timeout = Duration::from_millis(300);
        plan.grace = Duration::from_secs(5);
        let error = run(plan).await.map_err(|e| e.to_string());
        assert!(matches!(&error, Err(e) if e.starts_with("slow did not create")), "{error:?}");
    }

    fn tempfile_path(what: &str) -> String {
        let dir = std::env::temp_dir();
        format!("{}/capstan-supervisor-{what}-{}-{:?}", dir.display(), std::process::id(), std::thread::current().id())
            .replace(['(', ')'], "")
    }
}
