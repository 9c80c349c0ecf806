//! The kubelet against a real Docker Engine (issue 3's "Done when"): each test has
//! its own node, an in-process API server on an embedded store, the Docker shim
//! for that node on a temporary unix socket, and a kubelet with short back-off;
//! pods are bound by `spec.nodeName` (no scheduler). It proves that
//!
//! 1. a pod's containers share one network namespace (a sidecar's readiness probe
//!    reaches the web container on 127.0.0.1) and the pod answers HTTP on its IP;
//! 2. a crashing container under `Always` crash-loops with a growing back-off;
//! 3. `Never` ends `Failed` and `OnFailure` ends `Succeeded`;
//! 4. a failing liveness probe restarts a container, and a failing readiness probe
//!    keeps a running pod unready (without restarts) until it passes;
//! 5. deleting a pod removes every one of its containers from Docker;
//! 6. a restarted kubelet and shim adopt running containers (same ids, no
//!    duplicates) and remove the containers of pods deleted meanwhile.
//!
//! Waits watch the pod (or count engine events) under a bound; nothing sleeps to
//! synchronize. A [`docker_support::Sweeper`] removes each node's containers, also
//! on panic. Without Docker the tests are skipped, except under `CI=true`.

mod common;
mod docker_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use capstan_client::DeleteParams;
use capstan_kubelet::Timings;
use capstan_proto::core::v1::Pod;
use capstan_proto::Resource;
use common::{condition, container, container_status, phase};
use docker_support::*;

fn ready(pod: &Pod) -> bool {
    condition(pod, "Ready").as_deref() == Some("True")
}

fn restarts(pod: &Pod, name: &str) -> i32 {
    container_status(pod, name).map_or(0, |c| c.restart_count)
}

/// The engine's id of container `name` of `pod`.
fn id_of(pod: &Pod, name: &str) -> String {
    let status = container_status(pod, name).unwrap_or_else(|| panic!("no status for {name}: {pod:#?}"));
    docker_id(&status.container_id).to_string()
}

/// A container that exits promptly on SIGTERM (a shell as PID 1 ignores it
/// unless it traps it), so graceful stops do not wait out the grace period.
fn sleeper(name: &str) -> capstan_proto::core::v1::Container {
    container(name, &["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_containers_share_a_network_namespace_and_serve_on_the_pod_ip() {
    let Some(env) = Env::start("shared-netns", test_timings()).await else { return };
    let web = container(
        "web",
        &["sh", "-c", "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www"],
    );
    let mut side = container("side", &["sleep", "3600"]);
    side.readiness_probe = Some(exec_probe(&["wget", "-qO-", "http://127.0.0.1:8080/"], 1, 1));
    env.create(pod("web", "Always", vec![web, side])).await;

    let running = watch_pod(&env.cluster.client, "web", ready).await;
    assert_eq!(phase(&running), "Running");
    let status = running.status.clone().expect("status");
    assert!(!status.pod_ip.is_empty(), "a ready pod has an IP: {running:#?}");
    for name in ["web", "side"] {
        let c = container_status(&running, name).expect("container status");
        assert!(c.ready && c.container_id.starts_with("docker://"), "{c:?}");
    }
    let answer = http_get(&status.pod_ip, 8080).await;
    assert!(answer.starts_with("HTTP/1.") && answer.ends_with("\r\n\r\nhello\n"), "{answer:?}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_fails_and_on_failure_succeeds() {
    let Some(env) = Env::start("policies", test_timings()).await else { return };
    env.create(pod("never", "Never", vec![container("app", &["sh", "-c", "exit 2"])])).await;
    env.create(pod("once", "OnFailure", vec![container("app", &["true"])])).await;

    let failed = watch_pod(&env.cluster.client, "never", |p| phase(p) == "Failed").await;
    let app = container_status(&failed, "app").expect("app");
    let terminated = app.state.as_ref().and_then(|s| s.terminated.as_ref()).expect("terminated");
    assert_eq!((terminated.exit_code, terminated.reason.as_str(), app.restart_count), (2, "Error", 0));
    assert!(terminated.container_id.starts_with("docker://"), "{terminated:?}");

    let succeeded = watch_pod(&env.cluster.client, "once", |p| phase(p) == "Succeeded").await;
    let app = container_status(&succeeded, "app").expect("app");
    let terminated = app.state.as_ref().and_then(|s| s.terminated.as_ref()).expect("terminated");
    assert_eq!((terminated.exit_code, terminated.reason.as_str(), app.restart_count), (0, "Completed", 0));
    assert_eq!(condition(&succeeded, "Ready").as_deref(), Some("False"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_pod_removes_all_its_containers_from_docker() {
    let Some(env) = Env::start("delete", test_timings()).await else { return };
    let created = env.create(pod("doomed", "Always", vec![sleeper("a"), sleeper("b")])).await;
    let uid = created.meta().uid.clone();
    watch_pod(&env.cluster.client, "doomed", |p| phase(p) == "Running" && ready(p)).await;
    let before = docker_containers(&uid).await;
    assert_eq!(before.len(), 3, "a pause container and two app containers: {before:?}");
    assert!(before.iter().all(|(_, state)| state == "running"), "{before:?}");

    let api = env.cluster.client.api::<Pod>(Some("default"));
    api.delete("doomed", &DeleteParams::default()).await.expect("delete with the default grace");
    wait_gone(&env.cluster.client, "doomed").await;
    // the kubelet removes everything before it finishes the delete: no wait here
    assert_eq!(docker_containers(&uid).await, [], "Docker still holds containers of the deleted pod");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_container_backs_off_longer_each_time() {
    // 2 s doubling to 8 s: the gaps between restarts differ by seconds, far more
    // than a busy engine's jitter
    let timings =
        Timings { backoff_base: Duration::from_secs(2), backoff_max: Duration::from_secs(8), ..test_timings() };
    let Some(env) = Env::start("crashloop", timings).await else { return };
    env.create(pod("crash", "Always", vec![container("app", &["sh", "-c", "exit 1"])])).await;

    // first time each restart count is seen, and every back-off message
    let mut seen: BTreeMap<i32, Instant> = BTreeMap::new();
    let mut backoffs: Vec<String> = Vec::new();
    let mut in_backoff = None;
    let crashed = watch_pod(&env.cluster.client, "crash", |p| {
        let Some(app) = container_status(p, "app") else { return false };
        seen.entry(app.restart_count).or_insert_with(Instant::now);
        let waiting = app.state.as_ref().and_then(|s| s.waiting.as_ref());
        if let Some(w) = waiting.filter(|w| w.reason == "CrashLoopBackOff") {
            if backoffs.last() != Some(&w.message) {
                backoffs.push(w.message.clone());
            }
            let exit = app.last_state.as_ref().and_then(|s| s.terminated.as_ref()).map(|t| t.exit_code);
            in_backoff = Some((exit, condition(p, "Ready")));
        }
        app.restart_count >= 4 && !backoffs.is_empty()
    })
    .await;

    assert_eq!(phase(&crashed), "Running", "Always keeps a crash-looping pod Running");
    // while backing off: lastState.terminated.exitCode 1, and not Ready
    assert_eq!(in_backoff, Some((Some(1), Some("False".to_string()))));
    let app = container_status(&crashed, "app").expect("app");
    let last = app.last_state.as_ref().and_then(|s| s.terminated.as_ref()).expect("lastState.terminated");
    assert_eq!((last.exit_code, last.reason.as_str()), (1, "Error"));

    let delays: Vec<&str> = backoffs.iter().filter_map(|m| m.strip_prefix("back-off ")?.split(' ').next()).collect();
    assert_eq!(delays, ["2s", "4s", "8s"], "the announced back-off doubles: {backoffs:?}");
    // the observed gaps between restarts 1→2→3→4 grow too
    let at: Vec<Instant> = (1..=4).filter_map(|n| seen.get(&n).copied()).collect();
    assert_eq!(at.len(), 4, "every restart count was observed: {seen:?}");
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.windows(2).all(|g| g[0] <= g[1]), "the gaps between restarts shrank: {gaps:?}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_liveness_probe_restarts_the_container() {
    let Some(env) = Env::start("liveness", test_timings()).await else { return };
    let mut app = container("app", &["sleep", "3600"]);
    app.liveness_probe = Some(exec_probe(&["cat", "/tmp/alive"], 1, 1));
    env.create(pod("sick", "Always", vec![app])).await;

    let restarted = watch_pod(&env.cluster.client, "sick", |p| restarts(p, "app") >= 2).await;
    let app = container_status(&restarted, "app").expect("app");
    let last = app.last_state.as_ref().and_then(|s| s.terminated.as_ref()).expect("lastState.terminated");
    assert_ne!(last.exit_code, 0, "killed, not exited: {last:?}");
    assert_eq!(last.message, "Container app failed liveness probe, will be restarted", "{last:?}");
    assert_eq!(phase(&restarted), "Running");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_readiness_probe_keeps_the_pod_unready_until_it_passes() {
    let Some(env) = Env::start("readiness", test_timings()).await else { return };
    let mut app = container("app", &["sleep", "3600"]);
    app.readiness_probe = Some(exec_probe(&["cat", "/tmp/ready"], 1, 1));
    env.create(pod("shy", "Always", vec![app])).await;

    let running = watch_pod(&env.cluster.client, "shy", |p| {
        container_status(p, "app").and_then(|c| c.state.as_ref()).is_some_and(|s| s.running.is_some())
    })
    .await;
    let id = id_of(&running, "app");
    // five probe runs, counted as the engine sees their execs finish
    ExecEvents::subscribe(&id).wait(5).await;
    let api = env.cluster.client.api::<Pod>(Some("default"));
    let unready = api.get("shy").await.expect("get the pod");
    assert_eq!(phase(&unready), "Running");
    assert_eq!(condition(&unready, "Ready").as_deref(), Some("False"));
    let app = container_status(&unready, "app").expect("app");
    assert!(!app.ready && app.restart_count == 0, "{app:?}");
    assert_eq!(id_of(&unready, "app"), id);

    let touched = env.node().exec(&id, &["touch", "/tmp/ready"]).await;
    assert_eq!(touched.exit_code, 0, "{touched:?}");
    let ready_now = watch_pod(&env.cluster.client, "shy", ready).await;
    assert_eq!((restarts(&ready_now, "app"), id_of(&ready_now, "app")), (0, id));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_kubelet_adopts_containers_and_collects_orphans() {
    let Some(mut env) = Env::start("restart", test_timings()).await else { return };
    let mut app = sleeper("app");
    app.readiness_probe = Some(exec_probe(&["true"], 1, 1));
    let keep = env.create(pod("keep", "Always", vec![app])).await.meta().uid.clone();
    let gone = env.create(pod("gone", "Always", vec![sleeper("app")])).await.meta().uid.clone();
    let before = watch_pod(&env.cluster.client, "keep", ready).await;
    watch_pod(&env.cluster.client, "gone", |p| phase(p) == "Running").await;
    let kept = docker_containers(&keep).await;
    assert_eq!(kept.len(), 2, "a pause container and the app: {kept:?}");
    assert!(kept.iter().all(|(_, state)| state == "running"), "{kept:?}");

    // kubelet and shim down; the pod "gone" is force-deleted meanwhile
    env.stop_node().await;
    let api = env.cluster.client.api::<Pod>(Some("default"));
    api.delete("gone", &DeleteParams::default().grace_period(0)).await.expect("force delete");
    wait_gone(&env.cluster.client, "gone").await;
    assert_eq!(docker_containers(&gone).await.len(), 2, "nothing removes them while the kubelet is down");

    // new ones for the same node. The new kubelet probes a container only after its
    // worker synced the pod (decided, and would have created duplicates), so two
    // probe runs prove it did: at most one exec of the old kubelet was in flight.
    let mut probes = ExecEvents::subscribe(&id_of(&before, "app"));
    env.start_node().await;
    probes.wait(2).await;
    wait_docker_empty(&gone).await;

    assert_eq!(docker_containers(&keep).await, kept, "the same containers, still running, no duplicates");
    let after = watch_pod(&env.cluster.client, "keep", ready).await;
    assert_eq!(phase(&after), "Running");
    assert_eq!((restarts(&after, "app"), id_of(&after, "app")), (0, id_of(&before, "app")));
    env.stop().await;
}
