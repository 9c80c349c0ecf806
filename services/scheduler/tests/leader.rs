//! Two schedulers against one API server: one leads, the other takes over
//! when the leader stops. Which one acted is observable: the Lease names
//! its holder, and every `Scheduled` Event names the instance that bound.

mod common;

use capstan_client::ListParams;
use capstan_proto::coordination::v1::Lease;
use capstan_proto::core::v1::{Event, Pod};
use capstan_scheduler::{Config, Scheduler};
use common::*;

async fn elected(c: &TestCluster) -> Scheduler {
    let config = Config { leader_elect: true, ..scheduler_config(c) };
    Scheduler::start(config).await.expect("scheduler starts")
}

/// Create `name` and wait for it to be bound; the instance its `Scheduled` Event names.
async fn bound_by(c: &TestCluster, name: &str) -> String {
    let api = c.client.api::<Pod>(Some("default"));
    api.create(&pod(name, "100m", None)).await.expect("create pod");
    wait_for("pod bound", || async { api.get(name).await.ok().filter(|p| !node_of(p).is_empty()) }).await;
    let events = c.client.api::<Event>(Some("default"));
    wait_for("Scheduled event", || async {
        let (list, _) = events.list(&ListParams::default()).await.ok()?;
        list.into_iter()
            .find(|e| e.reason == "Scheduled" && e.involved_object.as_ref().is_some_and(|o| o.name == name))
            .map(|e| e.reporting_instance)
    })
    .await
}

async fn holder(c: &TestCluster) -> String {
    let lease = c.client.api::<Lease>(Some("kube-system")).get("capstan-scheduler").await.expect("the lease");
    lease.spec.and_then(|s| s.holder_identity).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_schedules_and_a_follower_takes_over() {
    let c = cluster().await;
    add_node(&c, "n1", "8", vec![], false).await;
    let (a, b) = (elected(&c).await, elected(&c).await);
    wait_for("a leader", || async { (a.is_leader() || b.is_leader()).then_some(()) }).await;
    // Once one holds the lease the other cannot win it while it is renewed,
    // so no settling time is needed before checking.
    assert!(a.is_leader() != b.is_leader(), "exactly one leader");
    let (leader, follower) = if a.is_leader() { (a, b) } else { (b, a) };
    assert_eq!(holder(&c).await, leader.identity(), "the lease names the leader");
    assert_eq!(bound_by(&c, "first").await, leader.identity(), "the leader bound the first pod");
    let follower_id = follower.identity().to_string();
    leader.stop().await.expect("leader stops");
    wait_for("follower leads", || async { follower.is_leader().then_some(()) }).await;
    assert_eq!(holder(&c).await, follower_id);
    assert_eq!(bound_by(&c, "second").await, follower_id, "the new leader bound the second pod");
    follower.stop().await.expect("follower stops");
    c.assert_no_component_refused().await;
}
