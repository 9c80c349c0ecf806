//! What only the Docker shim promises: several shims share one engine without
//! touching each other's containers, a restarted shim adopts what is running,
//! resources reach the engine, and the pause image builds from the host's busybox.

mod support;

use std::collections::HashMap;
use std::path::Path;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    InspectContainerOptions, RemoveContainerOptionsBuilder, RemoveImageOptions, StopContainerOptionsBuilder, TopOptions,
};
use capstan_docker_shim::pause::build_pause_image;
use capstan_proto::runtime::v1::*;
use capstan_runtime_conformance::fixtures::{container_config, eventually, Pod};
use capstan_runtime_conformance::{remove_everything, Capabilities, Images, Runtime};
use support::{ensure_images, node_name, require_docker, Shim, Sweeper, PAUSE_IMAGE, TEST_IMAGE};
use tonic::Code;

fn runtime(clients: capstan_cri::RuntimeClients) -> Runtime {
    let images = Images { pause: PAUSE_IMAGE.into(), test: TEST_IMAGE.into(), disposable: String::new() };
    Runtime { clients, images, caps: Capabilities { real_processes: true, pulls_any_image: false } }
}

async fn running_pod(rt: &Runtime, name: &str) -> (Pod, String) {
    let pod = rt.run_pod(name).await;
    let id = rt.start(&pod, "sleeper", &["sleep", "3600"]).await;
    rt.wait_for_state(&id, ContainerState::ContainerRunning).await;
    (pod, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shims_sharing_an_engine_touch_only_their_own_node() {
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let (node_a, node_b) = (node_name("isolation-a"), node_name("isolation-b"));
    let _sweepers = (Sweeper::new(&node_a), Sweeper::new(&node_b));
    let (a, b) = (Shim::start(&node_a).await, Shim::start(&node_b).await);
    let (rt_a, rt_b) = (runtime(a.clients().await), runtime(b.clients().await));
    let (pod, container) = running_pod(&rt_a, "mine").await;

    let mut other = rt_b.clients.runtime.clone();
    let sandboxes = other.list_pod_sandbox(ListPodSandboxRequest::default()).await.expect("list").into_inner().items;
    let containers =
        other.list_containers(ListContainersRequest::default()).await.expect("list").into_inner().containers;
    assert!(
        sandboxes.is_empty() && containers.is_empty(),
        "node b sees node a's objects: {sandboxes:?} {containers:?}"
    );
    let stop = other.stop_container(StopContainerRequest { container_id: container.clone(), timeout: 0 }).await;
    assert_eq!(stop.map(|_| ()).map_err(|s| s.code()), Err(Code::NotFound), "node b cannot stop node a's container");
    other.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod.id.clone() }).await.expect("a no-op for b");
    assert_eq!(rt_a.status(&container).await.state, ContainerState::ContainerRunning as i32, "untouched by b");

    remove_everything(&rt_a.clients).await;
    drop((rt_a, rt_b));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_shim_adopts_what_is_running() {
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let node = node_name("adoption");
    let _sweeper = Sweeper::new(&node);
    let first = Shim::start(&node).await;
    let rt = runtime(first.clients().await);
    let (pod, container) = running_pod(&rt, "adopted").await;
    drop(rt);
    first.stop().await;

    let second = Shim::start(&node).await;
    let rt = runtime(second.clients().await);
    let sandboxes = rt.clients.runtime.clone().list_pod_sandbox(ListPodSandboxRequest::default()).await.expect("list");
    assert_eq!(sandboxes.into_inner().items.into_iter().map(|s| s.id).collect::<Vec<_>>(), vec![pod.id.clone()]);
    let status = rt.status(&container).await;
    assert_eq!(status.state, ContainerState::ContainerRunning as i32);
    assert_eq!(status.metadata.map(|m| m.name).as_deref(), Some("sleeper"), "metadata comes back from the labels");
    assert!(!rt.sandbox_status(&pod.id).await.network.map(|n| n.ip).unwrap_or_default().is_empty());

    remove_everything(&rt.clients).await;
    drop(rt);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_and_mounts_reach_the_engine() {
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let node = node_name("resources");
    let _sweeper = Sweeper::new(&node);
    let shim = Shim::start(&node).await;
    let rt = runtime(shim.clients().await);
    let pod = rt.run_pod("limited").await;
    let dir = tempfile::tempdir().expect("a host directory");
    std::fs::write(dir.path().join("greeting"), "hello from the host\n").expect("writing the host file");
    let mut config = container_config("limited", TEST_IMAGE, &["sleep", "3600"]);
    config.resources = Some(LinuxResources { cpu_millis: 500, cpu_request_millis: 100, memory_limit_bytes: 64 << 20 });
    config.mounts =
        vec![Mount { container_path: "/data".into(), host_path: dir.path().display().to_string(), readonly: true }];
    let id = rt.start_config(&pod, config).await;
    rt.wait_for_state(&id, ContainerState::ContainerRunning).await;

    let inspect = shim.runtime.docker().inspect_container(&id, None::<InspectContainerOptions>).await.expect("inspect");
    let host = inspect.host_config.unwrap_or_default();
    assert_eq!((host.nano_cpus, host.cpu_shares, host.memory), (Some(500_000_000), Some(102), Some(64 << 20)));
    let read = rt.exec(&id, &["cat", "/data/greeting"]).await;
    assert_eq!(String::from_utf8_lossy(&read.stdout), "hello from the host\n");
    let write = rt.exec(&id, &["touch", "/data/new"]).await;
    assert_ne!(write.exit_code, 0, "the mount is read-only");
    let status = rt.status(&id).await;
    assert_eq!(status.mounts.first().map(|m| (m.container_path.as_str(), m.readonly)), Some(("/data", true)));

    remove_everything(&rt.clients).await;
    drop(rt);
    shim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pause_image_builds_from_the_hosts_busybox() {
    let Some(()) = require_docker() else { return };
    let node = node_name("pause-build");
    let _sweeper = Sweeper::new(&node);
    let shim = Shim::start(&node).await;
    let docker = shim.runtime.docker();
    let image = format!("capstan/pause-selftest:{}", std::process::id());
    build_pause_image(docker, &image, Path::new("/bin/busybox")).await.expect("building the pause image");

    let labels = HashMap::from([(capstan_cri::labels::NODE_NAME.to_string(), node.clone())]);
    let body = ContainerCreateBody { image: Some(image.clone()), labels: Some(labels), ..Default::default() };
    let created = docker.create_container(None, body).await.expect("creating a pause container");
    docker.start_container(&created.id, None).await.expect("starting it");
    // its shell has set the TERM trap once it has started its first sleep
    eventually("the pause container to start its sleep", || async {
        let top = docker.top_processes(&created.id, None::<TopOptions>).await.expect("docker top");
        let processes = top.processes.unwrap_or_default();
        if processes.len() >= 2 {
            Ok(())
        } else {
            Err(processes)
        }
    })
    .await;
    let stop = StopContainerOptionsBuilder::default().t(30).build();
    docker.stop_container(&created.id, Some(stop)).await.expect("stopping it");
    let inspect = docker.inspect_container(&created.id, None::<InspectContainerOptions>).await.expect("inspect");
    let exit = inspect.state.and_then(|s| s.exit_code);
    let force = RemoveContainerOptionsBuilder::default().force(true).build();
    docker.remove_container(&created.id, Some(force)).await.expect("removing it");
    docker.remove_image(&image, None::<RemoveImageOptions>, None).await.expect("removing the image");
    assert_eq!(exit, Some(0), "the pause container exits 0 on SIGTERM, not 137 after the timeout");
    shim.stop().await;
}
