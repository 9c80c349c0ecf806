//! The CLI test harness: a real API server started in-process (embedded
//! store in a temporary directory), and the CLI run against it exactly as a
//! user would, with its output and result.

#![allow(dead_code)]

use capstan::CliError;
use capstan_client::Client;
use capstan_testkit::TestCluster;

/// A test cluster and the CLI run against it.
pub struct Cluster {
    pub api: TestCluster,
}

pub async fn cluster() -> Cluster {
    Cluster { api: TestCluster::start().await }
}

impl Cluster {
    pub async fn stop(self) {
        self.api.stop().await;
    }

    /// Runs `capstan --kubeconfig ADMIN --server URL ARGS...`; the output and the result.
    pub async fn capstan(&self, args: &[&str]) -> (String, Result<(), CliError>) {
        let mut full = vec!["capstan".to_string()];
        full.extend(self.api.cli_args());
        full.extend(args.iter().map(|a| a.to_string()));
        let mut out = Vec::new();
        let result = capstan::run(full, &mut out).await;
        (String::from_utf8(out).expect("utf8 output"), result)
    }

    pub async fn ok(&self, args: &[&str]) -> String {
        let (out, result) = self.capstan(args).await;
        if let Err(e) = result {
            panic!("capstan {args:?} failed: {e}\noutput: {out}");
        }
        out
    }

    pub async fn err(&self, args: &[&str]) -> String {
        let (_, result) = self.capstan(args).await;
        result.expect_err("the command fails").to_string()
    }

    pub fn manifest(&self, name: &str, text: &str) -> String {
        let path = self.api.path().join(name);
        std::fs::write(&path, text).expect("write manifest");
        path.display().to_string()
    }

    /// Applies `text` as a manifest file.
    pub async fn apply(&self, text: &str) -> String {
        let path = self.manifest("apply.yaml", text);
        self.ok(&["apply", "-f", &path]).await
    }

    /// A client of the same server, for what a test does behind the CLI's back.
    pub fn client(&self) -> Client {
        self.api.client.clone()
    }
}

/// An output that hands each write to the test as it happens, for commands
/// that run until something changes (`rollout status`, `get -w`).
pub struct LineSink(pub tokio::sync::mpsc::UnboundedSender<Vec<u8>>);

impl std::io::Write for LineSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.send(buf.to_vec());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The output of a command running in the background, read line by line.
pub struct Running {
    pub task: tokio::task::JoinHandle<Result<(), CliError>>,
    rx: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    seen: String,
}

impl Cluster {
    /// Starts `capstan --server URL ARGS...` in the background.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut full: Vec<String> = vec!["capstan".into()];
        full.extend(self.api.cli_args());
        full.extend(args.iter().map(|a| a.to_string()));
        let task = tokio::spawn(async move {
            let mut sink = LineSink(tx);
            capstan::run(full, &mut sink).await
        });
        Running { task, rx, seen: String::new() }
    }
}

impl Running {
    /// Waits (at most 30 s: a hang is a failure) for the next complete line.
    pub async fn next_line(&mut self) -> String {
        let wait = async {
            loop {
                if let Some((line, rest)) = self.seen.split_once('\n') {
                    let line = line.to_string();
                    self.seen = rest.to_string();
                    return line;
                }
                let chunk = self.rx.recv().await.expect("the command is still running");
                self.seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), wait).await.expect("a line within 30 s")
    }

    /// The command's result, once it ends (at most 30 s).
    pub async fn result(self) -> Result<(), CliError> {
        tokio::time::timeout(std::time::Duration::from_secs(30), self.task)
            .await
            .expect("the command ends within 30 s")
            .expect("the command does not panic")
    }
}
