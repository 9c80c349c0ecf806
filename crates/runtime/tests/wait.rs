//! `wait_for` against a scripted API server: a watch the server refuses is
//! retried after the back-off, never at once.
//!
//! The clock is not paused here: a paused clock jumps to the next timer
//! while the test waits on the loopback socket, and the next timer is the
//! wait's own timeout. Sleeps never end early, so the lower bounds below
//! hold on any machine.

// The scripted API server the client's own tests use.
#[path = "../../client/tests/fake/mod.rs"]
mod fake;

use capstan_client::Client;
use capstan_proto::core::v1::Pod;
use capstan_proto::Resource;
use capstan_runtime::wait_for;
use fake::{pod, FakeServer};
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test]
async fn a_refused_watch_is_retried_after_the_backoff() {
    let mut server = FakeServer::start().await;
    let channel = tonic::transport::Endpoint::from_shared(server.url()).expect("url").connect_lazy();
    let api = Client::from_channel(channel).api::<Pod>(Some("default"));
    let waiting = tokio::spawn(async move {
        wait_for(&api, "a", Duration::from_secs(3600), |p| p.is_some_and(|p| p.meta().resource_version == "9")).await
    });

    let mut reads = Vec::new();
    for _ in 0..3 {
        let (request, reply) = server.expect_get().await;
        assert_eq!(request.r#ref.map(|r| r.name).as_deref(), Some("a"));
        reads.push(Instant::now());
        let _ = reply.send(Ok(pod("a", "5").into_object()));
        let (_, feed) = server.expect_any_watch().await;
        let _ = feed.send(Err(tonic::Status::unavailable("watch refused"))).await;
    }
    let (_, reply) = server.expect_get().await;
    reads.push(Instant::now());
    let _ = reply.send(Ok(pod("a", "9").into_object()));

    let found = waiting.await.expect("the wait finishes").expect("the wait succeeds");
    assert_eq!(found.map(|p| p.meta().resource_version.clone()).as_deref(), Some("9"));
    // 100 ms doubling, each delay shortened by at most its 20 % jitter
    for (n, (pair, base)) in reads.windows(2).zip([100u64, 200, 400]).enumerate() {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(base * 8 / 10), "retry {n} came after {gap:?}");
    }
}
