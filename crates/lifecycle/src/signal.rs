//! When a component stops: on SIGTERM, which Kubernetes, `docker stop` and
//! the node supervisor send, and on SIGINT (Ctrl-C). Every binary waits on
//! this one future, so none stops on one of them and ignores the other (a
//! pod that ignores SIGTERM is killed at the end of its grace period, its
//! lease unreleased).

use std::future::Future;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// A future that completes on the first SIGTERM or SIGINT. The handlers are
/// installed when this is called (inside the runtime), so a signal sent
/// after it returns is never lost. A handler that cannot be installed is
/// logged and waited on forever, rather than read as a request to stop.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    let terminate = install(SignalKind::terminate(), "SIGTERM");
    let interrupt = install(SignalKind::interrupt(), "SIGINT");
    async move {
        tokio::select! {
            _ = received(terminate) => tracing::info!("SIGTERM: stopping"),
            _ = received(interrupt) => tracing::info!("SIGINT: stopping"),
        }
    }
}

fn install(kind: SignalKind, name: &str) -> Option<Signal> {
    signal(kind).map_err(|error| tracing::error!(%error, "cannot handle {name}: it will not stop this process")).ok()
}

async fn received(stream: Option<Signal>) {
    match stream {
        Some(mut stream) => {
            stream.recv().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::process::{getpid, kill_process, Signal as Kill};
    use std::time::Duration;

    #[tokio::test]
    async fn sigterm_and_sigint_each_stop_the_process() {
        for sent in [Kill::TERM, Kill::INT] {
            let stopped = shutdown_signal();
            kill_process(getpid(), sent).expect("signal this process");
            tokio::time::timeout(Duration::from_secs(10), stopped).await.expect("the signal completes the future");
        }
    }
}
