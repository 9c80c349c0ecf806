//! What the tests that run a node share: `capstan up` run in-process with its
//! output read line by line, waiting on pods through a watch, and one HTTP GET
//! to a pod's IP.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod two_runtimes;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use capstan_client::{Client, ListParams, WatchEvent};
use capstan_proto::core::v1::Pod;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

/// The bound on every wait; generous, since a 2-core machine may be busy.
pub const WAIT: Duration = Duration::from_secs(120);

/// A writer that hands `up`'s output over line by line.
struct Lines(tokio::sync::mpsc::UnboundedSender<String>, Vec<u8>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.1.extend_from_slice(buf);
        while let Some(end) = self.1.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.1.drain(..=end).collect();
            let _ = self.0.send(String::from_utf8_lossy(&line).trim_end().to_string());
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A running `capstan up`: its API server's URL, its start-up output, and how to stop it.
pub struct Up {
    pub url: String,
    /// the admin's kubeconfig in `up`'s PKI
    pub admin: std::path::PathBuf,
    /// `up`'s audit log
    audit_log: std::path::PathBuf,
    pub said: String,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), capstan::CliError>>,
}

impl Up {
    /// Runs `up` until it prints "Press Ctrl-C" (a failure to start panics with what it said).
    pub async fn start(config: capstan::up::UpConfig) -> Up {
        let admin = capstan_pki::Layout::new(&config.pki_dir).kubeconfig("admin");
        let audit_log = capstan::up::secure::audit_log(&config.data_dir);
        let (lines, mut output) = tokio::sync::mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let shutdown = stop.clone().cancelled_owned();
        let mut task =
            tokio::spawn(async move { capstan::up::up(config, shutdown, &mut Lines(lines, Vec::new())).await });
        let mut said = Vec::new();
        let started = tokio::time::timeout(WAIT, async {
            while let Some(line) = output.recv().await {
                let done = line.starts_with("Press Ctrl-C");
                said.push(line);
                if done {
                    return true;
                }
            }
            false
        })
        .await;
        if started != Ok(true) {
            // a closed output means up returned (its error is the answer); a timeout, that it hangs
            let ended = match started {
                Ok(false) => match tokio::time::timeout(Duration::from_secs(10), &mut task).await {
                    Ok(ended) => format!("{ended:?}"),
                    Err(_) => "still running, its output closed".into(),
                },
                _ => "still running".into(),
            };
            panic!("up did not start: {said:#?}; up: {ended}");
        }
        let url = said
            .iter()
            .find_map(|l| l.strip_prefix("API server listening on "))
            .and_then(|l| l.split_whitespace().next())
            .expect("the API server's URL")
            .to_string();
        Up { url, admin, audit_log, said: said.join("\n"), stop, task }
    }

    /// The admin's client (`up`'s PKI), at the port `up` bound.
    pub fn client(&self) -> Client {
        Client::from_kubeconfig(&self.admin, Some(&self.url)).expect("the admin's client")
    }

    /// `capstan --kubeconfig ADMIN --server URL`
    fn cli(&self) -> Vec<String> {
        let admin = self.admin.display().to_string();
        ["capstan", "--kubeconfig", admin.as_str(), "--server", self.url.as_str()].map(String::from).to_vec()
    }

    /// Runs `capstan --kubeconfig ADMIN --server URL ARGS...` against this cluster: its output, or a panic naming the failure.
    pub async fn capstan(&self, args: &[&str]) -> String {
        let mut full = self.cli();
        full.extend(args.iter().map(|a| a.to_string()));
        let mut out = Vec::new();
        let result = capstan::run(full, &mut out).await;
        let out = String::from_utf8_lossy(&out).into_owned();
        if let Err(error) = result {
            panic!("capstan {args:?} failed: {error}\noutput: {out}");
        }
        out
    }

    /// Starts `capstan --server URL ARGS...` in the background (`get -w`): its
    /// task and its output, line by line.
    pub fn spawn(
        &self,
        args: &[&str],
    ) -> (tokio::task::JoinHandle<Result<(), capstan::CliError>>, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let mut full = self.cli();
        full.extend(args.iter().map(|a| a.to_string()));
        let (lines, output) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move { capstan::run(full, &mut Lines(lines, Vec::new())).await });
        (task, output)
    }

    /// Ctrl-C: every component stops (containers keep running); `up` must
    /// end without an error, and no component may have been refused
    /// anything by Node,RBAC while it ran (the audit log, complete once the
    /// API server stopped, says).
    pub async fn stop(self) {
        self.stop.cancel();
        let ended = tokio::time::timeout(WAIT, self.task).await.expect("up stops within the wait");
        ended.expect("join").expect("up stops cleanly");
        let text = std::fs::read_to_string(&self.audit_log).expect("up writes an audit log");
        let events: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        assert!(!events.is_empty(), "the audit log {} is empty", self.audit_log.display());
        let refused = capstan_testkit::cluster::refusals(&events);
        assert!(refused.is_empty(), "components were refused under capstan up:\n{}", refused.join("\n"));
    }
}

/// Only an API server (a secured test cluster), for tests that run the
/// node's components themselves.
pub struct ApiOnly {
    pub url: String,
    pub cluster: capstan_testkit::TestCluster,
}

impl ApiOnly {
    pub async fn start() -> ApiOnly {
        let cluster = capstan_testkit::TestCluster::start().await;
        ApiOnly { url: cluster.url(), cluster }
    }

    /// The kubeconfig of node `name`'s kubelet (issued on first use).
    pub fn node_kubeconfig(&self, name: &str) -> std::path::PathBuf {
        self.cluster.node_target(name);
        capstan_pki::Layout::new(self.cluster.pki()).kubeconfig(&format!("node-{name}"))
    }

    pub fn client(&self) -> Client {
        self.cluster.client.clone()
    }

    pub async fn stop(self) {
        self.cluster.stop().await;
    }
}

pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().map(|s| s.phase.as_str()).unwrap_or_default()
}

pub fn ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    conditions.iter().any(|c| c.r#type == "Ready" && c.status == "True")
}

pub fn pod_ip(pod: &Pod) -> String {
    pod.status.as_ref().map(|s| s.pod_ip.clone()).unwrap_or_default()
}

pub fn node_of(pod: &Pod) -> String {
    pod.spec.as_ref().map(|s| s.node_name.clone()).unwrap_or_default()
}

/// Waits (through a watch) until pod `name` exists and `done` holds; panics
/// with the last version seen after [`WAIT`].
pub async fn wait_pod(client: &Client, name: &str, done: impl Fn(&Pod) -> bool) -> Pod {
    let api = client.api::<Pod>(Some("default"));
    match capstan_runtime::wait_for(&api, name, WAIT, |pod| pod.is_some_and(&done)).await {
        Ok(Some(pod)) => pod,
        Ok(None) => panic!("pod {name} is gone"),
        Err(error) => panic!("pod {name} did not get there: {error:#?}"),
    }
}

/// Lists the pods of `default` matching the label `selector`, then watches
/// them, until `done` holds for the set (pods being deleted are left out);
/// panics with the last set seen after [`WAIT`].
pub async fn wait_pods(client: &Client, selector: &str, done: impl Fn(&[Pod]) -> bool) -> Vec<Pod> {
    wait_pods_in(client, "default", selector, done).await
}

/// [`wait_pods`] in `namespace`.
pub async fn wait_pods_in(client: &Client, namespace: &str, selector: &str, done: impl Fn(&[Pod]) -> bool) -> Vec<Pod> {
    let api = client.api::<Pod>(Some(namespace));
    let params = ListParams::default().labels(selector);
    let live = |pods: Vec<Pod>| -> Vec<Pod> {
        let mut pods: Vec<Pod> =
            pods.into_iter().filter(|p| p.metadata.as_ref().is_none_or(|m| m.deletion_timestamp.is_none())).collect();
        pods.sort_by_key(|p| p.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default());
        pods
    };
    let mut last = Vec::new();
    let waited = tokio::time::timeout(WAIT, async {
        loop {
            let (listed, meta) = api.list(&params).await.expect("list the pods");
            let version = meta.resource_version;
            let mut pods = live(listed);
            if done(&pods) {
                return pods;
            }
            last = pods.clone();
            let Ok(mut changes) = api.watch(&params, &version).await else { continue };
            while let Some(Ok(event)) = changes.next().await {
                let name = |p: &Pod| p.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
                match event {
                    WatchEvent::Added(pod) | WatchEvent::Modified(pod) => {
                        pods.retain(|p| name(p) != name(&pod));
                        pods.push(pod);
                    }
                    WatchEvent::Deleted(pod) => pods.retain(|p| name(p) != name(&pod)),
                    _ => continue,
                }
                pods = live(pods);
                if done(&pods) {
                    return pods;
                }
                last = pods.clone();
            }
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("the pods {selector} did not get there within {WAIT:?}; last seen: {last:#?}"))
}

/// One HTTP GET of `/` over plain TCP (no client library needed for one request).
pub fn http_get(ip: &str, port: u16) -> std::io::Result<String> {
    http_get_path(ip, port, "/")
}

/// [`http_get`] of `path`.
pub fn http_get_path(ip: &str, port: u16, path: &str) -> std::io::Result<String> {
    let addr: SocketAddr = format!("{ip}:{port}").parse().map_err(std::io::Error::other)?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n").as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// [`http_get`] off the async runtime.
pub async fn http_get_async(ip: &str, port: u16) -> std::io::Result<String> {
    let ip = ip.to_string();
    tokio::task::spawn_blocking(move || http_get(&ip, port)).await.map_err(std::io::Error::other)?
}

/// A test cluster's `up` config: one node `node` on `runtime`, everything in
/// `dir` (data, PKI), every port ephemeral, the CLI's config left alone, and a
/// service range and proxy interface no other test cluster on the host holds
/// (see `capstan_test_support::service_slot`). Tests change what they need
/// with struct update syntax.
pub fn config(dir: &std::path::Path, runtime: capstan::cli::UpRuntime, node: &str) -> capstan::up::UpConfig {
    let slot = capstan_test_support::service_slot().expect("a service slot");
    let services =
        capstan::up::cluster_dns::ServiceNetwork::new(&slot.range, None, "cluster.local", Some(slot.interface.clone()))
            .expect("the slot's service network");
    capstan::up::UpConfig {
        data_dir: dir.join("data"),
        pki_dir: dir.join("data").join("pki"),
        listen: "127.0.0.1:0".parse().expect("addr"),
        config_path: None,
        runtime,
        node_name: node.to_string(),
        kubelet_port: 0,
        extra_nodes: vec![],
        services,
    }
}

/// `capstan up ARGS` as a process of its own, as a user starts it, with
/// a service range and cluster IP interface of its own (a slot), and
/// `home` as its HOME and no OTLP endpoint inherited: the process (killed
/// when dropped) and what it printed up to "Press Ctrl-C".
pub async fn up_process(args: &[&str], home: &std::path::Path) -> (tokio::process::Child, Vec<String>) {
    use tokio::io::AsyncBufReadExt;
    let slot = capstan_test_support::service_slot().expect("a service slot");
    let mut process = tokio::process::Command::new(env!("CARGO_BIN_EXE_capstan"))
        .arg("up")
        .args(args)
        .args(["--service-cluster-ip-range", &slot.range, "--cluster-ip-interface", &slot.interface])
        .env("HOME", home)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("capstan up");
    let mut lines = tokio::io::BufReader::new(process.stdout.take().expect("stdout")).lines();
    let mut said = Vec::new();
    let started = tokio::time::timeout(WAIT * 2, async {
        while let Ok(Some(line)) = lines.next_line().await {
            let done = line.starts_with("Press Ctrl-C");
            said.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(started, Ok(true), "up did not start: {said:#?}");
    (process, said)
}

/// The first URL on the line of `said` that starts with `prefix`.
pub fn url_after(said: &[String], prefix: &str) -> String {
    said.iter()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().find(|word| word.contains("://")))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no {prefix:?} line in {said:#?}"))
}
