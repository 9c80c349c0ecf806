//! The real kubectl's `logs` and `exec` against the REST face, over TLS, with
//! real containers: a secured API server (Node,RBAC) relaying to node-1's
//! kubelet behind its own TLS door, which runs pods on the local Docker
//! Engine through the Docker shim (skipped with a notice without Docker, a
//! failure with `CI=true`).
//!
//! `kubectl logs` reads plain text (`--tail`, `-c`, `--previous`, `-f` with a
//! line written after it started); `kubectl exec` upgrades a GET to a
//! WebSocket (`v5.channel.k8s.io`) and gets stdout, stderr, stdin's end and
//! the exit code through it; `-it … -- sh` runs under a pseudo-terminal
//! (`script` from util-linux), whose size reaches the container's terminal.
//! A user without `pods/exec` gets kubectl's Forbidden message.

use capstan_docker_shim::{DockerConfig, ServedShim};
use capstan_kubelet::Kubelet;
use capstan_proto::core::v1::{Container, Pod};
use capstan_test_support::{require_daemon, DockerSweeper, HarnessError};
use capstan_testkit::cluster::TOKEN;
use capstan_testkit::kubectl::Kubectl;
use capstan_testkit::{eventually, node_pki, TestCluster};
use std::io::{BufRead, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(60);

/// The API server, node-1's kubelet on the Docker shim, and what to clean up.
struct Node {
    cluster: TestCluster,
    kubelet: Kubelet,
    shim: ServedShim,
    name: String,
    _sweep: DockerSweeper,
    _dir: TempDir,
}

impl Node {
    /// `None` (a skip) when there is no Docker Engine outside CI.
    async fn start(test: &str) -> Option<Node> {
        let name = format!("kubectl-{test}-{}", std::process::id());
        let dir = tempfile::tempdir().expect("a temp dir");
        let shim = require_daemon(docker_shim(&name, &dir).await)?;
        capstan_test_support::ensure_images().await;
        let sweep = DockerSweeper::new(capstan_shim_common::labels::NODE_NAME, &name);
        let cluster = node_pki::cluster_reaching_kubelets().await;
        let target = cluster.node_target(&name);
        let mut config = capstan_kubelet::Config::new(target.server, &name, shim.endpoint());
        config.credentials = target.credentials;
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        config.tls = Some(node_pki::kubelet_serving(&cluster.pki(), &name));
        // a container that exits is started again at once: `--previous` has one to read
        config.timings.backoff_base = Duration::from_millis(100);
        config.timings.pod_resync = Duration::from_millis(200);
        let kubelet = Kubelet::start(config).await.expect("the kubelet starts");
        Some(Node { cluster, kubelet, shim, name, _sweep: sweep, _dir: dir })
    }

    async fn run(&self, name: &str, containers: Vec<Container>) {
        let pod = capstan_testkit::pod(name).containers(containers).grace_period(1).node(&self.name).build();
        self.cluster.client.api::<Pod>(Some("default")).create(&pod).await.expect("the admin creates the pod");
        self.until(name, "runs", |s| s.phase == "Running").await;
    }

    /// Waits until pod `name`'s status is `what`.
    async fn until(&self, name: &str, what: &str, test: impl Fn(&capstan_proto::core::v1::PodStatus) -> bool) {
        let api = self.cluster.client.api::<Pod>(Some("default"));
        let ok = |p: Option<&Pod>| p.and_then(|p| p.status.as_ref()).is_some_and(&test);
        capstan_runtime::wait_for(&api, name, WAIT, ok).await.unwrap_or_else(|e| panic!("pod {name} {what}: {e}"));
    }

    async fn stop(self) {
        self.kubelet.stop().await.expect("the kubelet stops cleanly");
        self.cluster.stop().await;
        self.shim.stop().await;
    }
}

async fn docker_shim(node: &str, dir: &TempDir) -> Result<ServedShim, HarnessError> {
    capstan_test_support::ping_docker()?;
    let config = DockerConfig {
        docker_host: format!("unix://{}", capstan_test_support::DOCKER_SOCKET),
        node_name: Some(node.to_string()),
        ..Default::default()
    };
    ServedShim::start(config, &dir.path().join("docker-shim.sock"))
        .await
        .map_err(|e| HarnessError::StartFailed { daemon: "docker shim", detail: e.to_string() })
}

fn container(name: &str, script: &str) -> Container {
    capstan_testkit::container(name, &["sh", "-c", script])
}

/// kubectl's stdout once it is `want` (a container's lines may still be on
/// their way when it runs).
async fn prints(kubectl: &Kubectl, args: &[&str], want: &str) {
    let what = format!("kubectl {args:?} prints {want:?}");
    eventually(&what, WAIT, || async {
        let out = kubectl.run(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && stdout == want {
            Ok(())
        } else {
            Err(format!("stdout {stdout:?}, stderr {:?}", String::from_utf8_lossy(&out.stderr)))
        }
    })
    .await;
}

/// Lines of a running command's stdout, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("a piped stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    received
}

/// Waits (on a blocking thread) for the next line of `lines` that is `want`.
async fn line(lines: mpsc::Receiver<String>, want: &'static str) -> mpsc::Receiver<String> {
    let found = tokio::task::spawn_blocking(move || {
        while let Ok(line) = lines.recv_timeout(WAIT) {
            if line == want {
                return Ok(lines);
            }
        }
        Err(())
    });
    found.await.expect("the reader").unwrap_or_else(|()| panic!("no line {want:?} within {WAIT:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_reads_tails_follows_and_picks_containers() {
    let Some(node) = Node::start("logs").await else { return };
    let kubectl = Kubectl::admin(&node.cluster);
    node.run("web", vec![container("web", "echo one; echo two; echo three; exec sleep 3600")]).await;

    prints(&kubectl, &["logs", "web"], "one\ntwo\nthree\n").await;
    assert_eq!(kubectl.ok(&["logs", "web", "--tail=2"]).await, "two\nthree\n");
    assert_eq!(kubectl.ok(&["logs", "web", "--limit-bytes=6"]).await, "one\ntw");
    assert_eq!(kubectl.ok(&["logs", "web", "--since=1h"]).await, "one\ntwo\nthree\n");
    let stamped = kubectl.ok(&["logs", "web", "--timestamps"]).await;
    let lines: Vec<(&str, &str)> = stamped.lines().filter_map(|l| l.split_once(' ')).collect();
    assert_eq!(lines.iter().map(|(_, text)| *text).collect::<Vec<_>>(), ["one", "two", "three"], "{stamped}");
    for (time, _) in lines {
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time:?} is not an RFC 3339 time: {stamped}");
    }

    // -f: a line the container writes after kubectl started arrives as it is written
    let mut follow = kubectl.command(&["logs", "-f", "web"]);
    let mut follow = follow.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("kubectl logs -f starts");
    let lines = line(lines_of(&mut follow), "three").await;
    kubectl.ok(&["exec", "web", "--", "sh", "-c", "echo four > /proc/1/fd/1"]).await;
    let _lines = line(lines, "four").await;
    follow.kill().expect("kubectl logs -f is stopped");
    let _ = follow.wait();

    // several containers: kubectl names one, the API asks for one
    node.run(
        "two",
        vec![container("a", "echo from-a; exec sleep 3600"), container("b", "echo from-b; exec sleep 3600")],
    )
    .await;
    prints(&kubectl, &["logs", "two", "-c", "b"], "from-b\n").await;
    let refused = kubectl.fails(&["get", "--raw", "/api/v1/namespaces/default/pods/two/log"]).await;
    assert_eq!(
        refused,
        "Error from server (BadRequest): a container name must be specified for pod two, choose one of: [a b]\n"
    );
    let refused = kubectl.fails(&["logs", "two", "-c", "nope"]).await;
    assert!(refused.contains("container nope is not valid for pod two"), "{refused}");

    // --previous: the container's instance before its restart
    let crashy = "echo run-$(cat /proc/sys/kernel/random/uuid); while [ ! -f /tmp/stop ]; do sleep 0.1; done; exit 1";
    node.run("crashy", vec![container("app", crashy)]).await;
    let refused = kubectl.fails(&["logs", "crashy", "--previous"]).await;
    assert_eq!(
        refused,
        "Error from server (BadRequest): previous terminated container \"app\" in pod \"crashy\" not found\n"
    );
    let first = kubectl.ok(&["logs", "crashy"]).await;
    kubectl.ok(&["exec", "crashy", "--", "touch", "/tmp/stop"]).await;
    node.until("crashy", "restarted and runs", |s| {
        s.phase == "Running"
            && s.container_statuses
                .iter()
                .any(|c| c.restart_count >= 1 && c.state.as_ref().is_some_and(|state| state.running.is_some()))
    })
    .await;
    prints(&kubectl, &["logs", "crashy", "--previous"], &first).await;
    let current = eventually("the restarted container's line", WAIT, || async {
        let now = kubectl.ok(&["logs", "crashy"]).await;
        (now.starts_with("run-") && now != first).then_some(now)
    })
    .await;
    assert!(first.starts_with("run-") && current.ends_with('\n'), "{first:?} then {current:?}");

    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_streams_both_ways_and_passes_exit_codes() {
    let Some(node) = Node::start("exec").await else { return };
    let kubectl = Kubectl::admin(&node.cluster);
    node.run("web", vec![container("web", "exec sleep 3600")]).await;

    let out = kubectl.run(&["exec", "web", "--", "sh", "-c", "echo out; echo err >&2"]).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!((out.stdout.as_slice(), out.stderr.as_slice()), (&b"out\n"[..], &b"err\n"[..]));

    let out = kubectl.run(&["exec", "web", "--", "sh", "-c", "exit 3"]).await;
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "command terminated with exit code 3\n");

    // -i: stdin to its end (v5's close signal), then cat exits
    let mut cat = kubectl.command(&["exec", "-i", "web", "--", "cat"]);
    cat.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        let mut cat = cat.spawn().expect("kubectl exec -i starts");
        cat.stdin.take().expect("a piped stdin").write_all(b"hi\nthere\n").expect("stdin");
        cat.wait_with_output().expect("kubectl exec -i ends")
    })
    .await
    .expect("the kubectl task");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\nthere\n");

    // -it under a pseudo-terminal of 33 rows and 101 columns: the shell's terminal has that size
    let mut shell = terminal(&kubectl, &["exec", "-it", "web", "--", "sh"]);
    let (status, text) = tokio::task::spawn_blocking(move || {
        let mut shell = shell.spawn().expect("script starts");
        let mut keys = shell.stdin.take().expect("a piped stdin");
        let screen = screen_of(&mut shell).until("# ");
        keys.write_all(b"stty size\n").expect("keys");
        let screen = screen.until("33 101");
        keys.write_all(b"exit 7\n").expect("keys");
        let status = shell.wait().expect("script ends");
        drop(keys);
        (status, screen.rest())
    })
    .await
    .expect("the terminal task");
    assert_eq!(status.code(), Some(7), "{text}");
    assert!(text.contains("command terminated with exit code 7"), "{text}");

    // a viewer reads the pod but may not exec into it
    let binding = capstan_testkit::manifest(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n\
         metadata: {name: jane-view, namespace: default}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n\
         subjects: [{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}]\n",
    );
    let bindings = capstan_testkit::at("rolebindings", "default");
    node.cluster.client.create(bindings, binding).await.expect("the admin binds jane to view");
    let jane = Kubectl::with_token(&node.cluster, TOKEN);
    prints(&jane, &["get", "pod", "web", "-o", "name"], "pod/web\n").await;
    let refused = jane.fails(&["exec", "web", "--", "true"]).await;
    assert_eq!(
        refused,
        "Error from server (Forbidden): pods \"web\" is forbidden: User \"jane\" cannot create resource \
         \"pods/exec\" in API group \"\" in the namespace \"default\"\n"
    );
    // audited with the subresource, as on the gRPC face
    eventually("jane's refused exec in the audit log", WAIT, || async {
        let events = node.cluster.audit_events();
        events
            .iter()
            .any(|e| {
                e["user"]["username"] == "jane"
                    && e["objectRef"]["subresource"] == "exec"
                    && e["responseStatus"]["code"] == 403
            })
            .then_some(())
    })
    .await;

    node.stop().await;
}

/// `kubectl ARGS` under a pseudo-terminal of 33 rows and 101 columns
/// (`script -qec`, which exits with kubectl's status), fed from a pipe.
fn terminal(kubectl: &Kubectl, args: &[&str]) -> std::process::Command {
    let command = kubectl.command(args);
    let words = std::iter::once(command.get_program()).chain(command.get_args());
    let line: Vec<String> = words.map(|w| format!("'{}'", w.to_string_lossy().replace('\'', "'\\''"))).collect();
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &format!("stty rows 33 cols 101; exec {}", line.join(" ")), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    script
}

/// What a terminal shows, read as it comes.
struct Screen {
    bytes: mpsc::Receiver<Vec<u8>>,
    seen: String,
}

fn screen_of(child: &mut Child) -> Screen {
    let mut stdout = child.stdout.take().expect("a piped stdout");
    let (chunks, bytes) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buffer) {
            if chunks.send(buffer[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    Screen { bytes, seen: String::new() }
}

impl Screen {
    /// Reads until the screen shows `want` (a bounded wait: the test fails
    /// after [`WAIT`] with what it saw).
    fn until(mut self, want: &str) -> Screen {
        while !self.seen.contains(want) {
            match self.bytes.recv_timeout(WAIT) {
                Ok(chunk) => self.seen.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => panic!("the terminal never showed {want:?}; it showed {:?}", self.seen),
            }
        }
        // what comes after `want` is for the next wait
        let at = self.seen.find(want).map_or(0, |i| i + want.len());
        self.seen = self.seen.split_off(at);
        self
    }

    /// Everything until the terminal closed.
    fn rest(mut self) -> String {
        while let Ok(chunk) = self.bytes.recv_timeout(WAIT) {
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        self.seen
    }
}
