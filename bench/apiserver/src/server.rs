//! The API server under test, on a tokio runtime of its own.
//!
//! The server runs in-process (no binary to find, no port race) but on its own runtime
//! with threads named [`SERVER_THREADS`], while the load client runs on the caller's
//! runtime. They still share the machine's cores — as `capstan up` shares them — but the
//! split lets [`crate::cpu`] tell the server's CPU time from the client's by thread name.
//! The runtime has one worker per core, as `capstan-apiserver`'s `#[tokio::main]` would.

use std::time::Duration;

use capstan_apiserver::door::Security;
use capstan_apiserver::{ApiServer, Config};
use tokio::runtime::Runtime;

use crate::backend::FreshStore;
use crate::BenchError;

/// The name of every thread of the server's runtime (workers and blocking pool).
pub const SERVER_THREADS: &str = "apiserver";

/// How long the server's leftover tasks get to finish once it has stopped.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A running API server and the runtime it runs on; see the module docs.
pub struct BenchServer {
    url: String,
    server: Option<ApiServer>,
    runtime: Option<Runtime>,
}

impl BenchServer {
    /// Starts an API server on a free loopback port over `fresh`.
    pub async fn start(fresh: &FreshStore) -> Result<BenchServer, BenchError> {
        Self::start_behind(fresh, Security::default()).await
    }

    /// As [`BenchServer::start`], behind the door `security` configures.
    pub async fn start_behind(fresh: &FreshStore, security: Security) -> Result<BenchServer, BenchError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name(SERVER_THREADS)
            .enable_all()
            .build()
            .map_err(|e| BenchError::io("building the API server's runtime", e))?;
        let config = Config {
            listen: ([127, 0, 0, 1], 0).into(),
            storage: fresh.storage.clone(),
            security,
            ..Config::default()
        };
        let started = runtime
            .spawn(ApiServer::start(config))
            .await
            .map_err(|e| BenchError::Task(format!("starting the API server: {e}")));
        let mut bench = BenchServer { url: String::new(), server: None, runtime: Some(runtime) };
        let server = started??;
        bench.url = server.url();
        bench.server = Some(server);
        Ok(bench)
    }

    /// `http://127.0.0.1:port` (`https://` behind TLS).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops serving, waits for the server to finish, then shuts its runtime down.
    /// Everything the server owned (its store client, watch caches) is gone when this
    /// returns, so the store can be removed next.
    pub async fn stop(mut self) -> Result<(), BenchError> {
        let (Some(server), Some(runtime)) = (self.server.take(), self.runtime.take()) else {
            return Ok(());
        };
        let stopped = runtime.spawn(server.stop()).await;
        // shutting a runtime down blocks until its tasks are dropped: not on our workers
        tokio::task::spawn_blocking(move || runtime.shutdown_timeout(SHUTDOWN_TIMEOUT))
            .await
            .map_err(|e| BenchError::Task(format!("shutting the API server's runtime down: {e}")))?;
        stopped.map_err(|e| BenchError::Task(format!("stopping the API server: {e}")))??;
        Ok(())
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed inside the caller's runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
