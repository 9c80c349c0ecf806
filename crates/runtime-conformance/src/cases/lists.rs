//! Listing sandboxes and containers filtered by id, sandbox, label and state.

use capstan_proto::runtime::v1::*;

use crate::fixtures::container_config;
use crate::Runtime;

async fn sandbox_ids(rt: &Runtime, filter: PodSandboxFilter) -> Vec<String> {
    let list = rt.clients.runtime.clone().list_pod_sandbox(ListPodSandboxRequest { filter: Some(filter) }).await;
    let mut ids: Vec<String> = list.expect("ListPodSandbox").into_inner().items.into_iter().map(|s| s.id).collect();
    ids.sort();
    ids
}

async fn container_ids(rt: &Runtime, filter: ContainerFilter) -> Vec<String> {
    let list = rt.clients.runtime.clone().list_containers(ListContainersRequest { filter: Some(filter) }).await;
    let mut ids: Vec<String> =
        list.expect("ListContainers").into_inner().containers.into_iter().map(|c| c.id).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

pub async fn list_filters_by_label_and_state(rt: Runtime) {
    let (a, b) = (rt.run_pod("list-a").await, rt.run_pod("list-b").await);
    let mut web = container_config("web", &rt.images.test, &["sleep", "3600"]);
    web.labels.insert("tier".into(), "web".into());
    let mut job = container_config("job", &rt.images.test, &["true"]);
    job.labels.insert("tier".into(), "job".into());
    let web = rt.start_config(&a, web).await;
    let job = rt.start_config(&a, job).await;
    let other = rt.start(&b, "other", &["sleep", "3600"]).await;
    rt.wait_for_state(&web, ContainerState::ContainerRunning).await;
    rt.wait_for_state(&job, ContainerState::ContainerExited).await;
    rt.wait_for_state(&other, ContainerState::ContainerRunning).await;

    let by_app =
        PodSandboxFilter { label_selector: [("app".to_string(), "list-a".to_string())].into(), ..Default::default() };
    assert_eq!(sandbox_ids(&rt, by_app).await, vec![a.id.clone()]);
    assert_eq!(sandbox_ids(&rt, PodSandboxFilter { id: b.id.clone(), ..Default::default() }).await, vec![b.id.clone()]);
    let ready = PodSandboxFilter { state: Some(PodSandboxState::SandboxReady as i32), ..Default::default() };
    assert_eq!(sandbox_ids(&rt, ready.clone()).await, sorted(vec![a.id.clone(), b.id.clone()]));
    rt.clients
        .runtime
        .clone()
        .stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: b.id.clone() })
        .await
        .expect("stop");
    assert_eq!(sandbox_ids(&rt, ready).await, vec![a.id.clone()]);
    let not_ready = PodSandboxFilter { state: Some(PodSandboxState::SandboxNotready as i32), ..Default::default() };
    assert_eq!(sandbox_ids(&rt, not_ready).await, vec![b.id.clone()]);

    let tier_web =
        ContainerFilter { label_selector: [("tier".to_string(), "web".to_string())].into(), ..Default::default() };
    assert_eq!(container_ids(&rt, tier_web).await, vec![web.clone()]);
    let in_a = ContainerFilter { pod_sandbox_id: a.id.clone(), ..Default::default() };
    assert_eq!(container_ids(&rt, in_a).await, sorted(vec![web.clone(), job.clone()]));
    let running = ContainerFilter { state: Some(ContainerState::ContainerRunning as i32), ..Default::default() };
    assert_eq!(container_ids(&rt, running).await, vec![web.clone()], "the other pod's container was stopped with it");
    let exited = ContainerFilter { state: Some(ContainerState::ContainerExited as i32), ..Default::default() };
    assert_eq!(container_ids(&rt, exited).await, sorted(vec![job.clone(), other.clone()]));
    let by_id = ContainerFilter { id: job.clone(), ..Default::default() };
    assert_eq!(container_ids(&rt, by_id).await, vec![job]);
}
