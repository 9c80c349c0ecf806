//! Two schedulers against one API server: one leads, the other takes over
//! when the leader stops.

mod common;

use capstan_proto::core::v1::Pod;
use capstan_scheduler::{Config, Scheduler};
use common::*;

async fn elected(c: &Cluster) -> Scheduler {
    let config = Config { leader_elect: true, ..scheduler_config(c) };
    Scheduler::start(config).await.expect("scheduler starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_schedules_and_a_follower_takes_over() {
    let c = cluster().await;
    add_node(&c, "n1", "8", vec![], false).await;
    let (a, b) = (elected(&c).await, elected(&c).await);
    wait_for("a leader", || async { (a.is_leader() || b.is_leader()).then_some(()) }).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(a.is_leader() != b.is_leader(), "exactly one leader");
    let (leader, follower) = if a.is_leader() { (a, b) } else { (b, a) };
    let api = c.client.api::<Pod>(Some("default"));
    api.create(&pod("first", "100m", None)).await.expect("create pod");
    wait_for("first bound", || async { api.get("first").await.ok().filter(|p| !node_of(p).is_empty()) }).await;
    leader.stop().await.expect("leader stops");
    wait_for("follower leads", || async { follower.is_leader().then_some(()) }).await;
    api.create(&pod("second", "100m", None)).await.expect("create pod");
    wait_for("second bound", || async { api.get("second").await.ok().filter(|p| !node_of(p).is_empty()) }).await;
    follower.stop().await.expect("follower stops");
}
