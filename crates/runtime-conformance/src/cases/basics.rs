//! Version, a ready sandbox with an IP, a running container with its labels, and
//! the pod's shared network namespace, hostname and environment.

use std::net::IpAddr;

use capstan_cri::labels;
use capstan_proto::runtime::v1::*;

use crate::fixtures::{container_config, eventually, expected_container_labels, has_label};
use crate::Runtime;

pub async fn version(rt: Runtime) {
    let version = rt.clients.runtime.clone().version(VersionRequest {}).await.expect("Version").into_inner();
    assert!(!version.runtime_name.is_empty(), "{version:?}");
    assert!(!version.runtime_version.is_empty(), "{version:?}");
    assert_eq!(version.runtime_api_version, "v1", "{version:?}");
}

pub async fn sandbox_is_ready_with_an_ip(rt: Runtime) {
    let pod = rt.run_pod("ready").await;
    let status = rt.sandbox_status(&pod.id).await;
    assert_eq!(status.id, pod.id);
    assert_eq!(status.state, PodSandboxState::SandboxReady as i32, "{status:?}");
    assert_eq!(status.metadata, pod.config.metadata, "metadata round-trips");
    assert!(status.created_at > 0, "{status:?}");
    let ip = status.network.as_ref().map(|n| n.ip.clone()).unwrap_or_default();
    assert!(ip.parse::<IpAddr>().is_ok(), "the sandbox has an IP, got {ip:?}");
    assert!(has_label(&status.labels, "app", "ready"), "{:?}", status.labels);
    assert!(has_label(&status.labels, labels::KIND, labels::KIND_SANDBOX), "{:?}", status.labels);
    assert!(has_label(&status.labels, labels::POD_UID, "ready-uid"), "{:?}", status.labels);
    assert_eq!(status.annotations, pod.config.annotations, "annotations round-trip");
    let listed = rt.clients.runtime.clone().list_pod_sandbox(ListPodSandboxRequest::default()).await.expect("list");
    assert!(listed.into_inner().items.iter().any(|s| s.id == pod.id), "the sandbox is listed");
}

pub async fn container_runs_with_labels(rt: Runtime) {
    let pod = rt.run_pod("labels").await;
    let id = rt.start(&pod, "sleeper", &["sleep", "3600"]).await;
    let status = rt.wait_for_state(&id, ContainerState::ContainerRunning).await;
    for (key, value) in expected_container_labels(&pod, "sleeper") {
        assert!(has_label(&status.labels, key, &value), "label {key}={value} in {:?}", status.labels);
    }
    assert!(has_label(&status.annotations, "conformance/container", "sleeper"), "{:?}", status.annotations);
    assert_eq!(status.metadata.as_ref().map(|m| m.name.as_str()), Some("sleeper"));
    assert_eq!(status.image.as_ref().map(|i| i.image.as_str()), Some(rt.images.test.as_str()));
    assert!(!status.image_ref.is_empty(), "{status:?}");
    assert!(status.created_at > 0 && status.started_at >= status.created_at, "{status:?}");
    assert_eq!((status.finished_at, status.exit_code), (0, 0), "{status:?}");
    assert_eq!(status.log_path, format!("{}/sleeper/0.log", pod.config.log_directory));
    let filter = ContainerFilter { pod_sandbox_id: pod.id.clone(), ..Default::default() };
    let listed =
        rt.clients.runtime.clone().list_containers(ListContainersRequest { filter: Some(filter) }).await.expect("list");
    let listed = listed.into_inner().containers;
    assert_eq!(listed.iter().map(|c| (&c.id, &c.pod_sandbox_id)).collect::<Vec<_>>(), [(&id, &pod.id)]);
    assert_eq!(listed[0].state, ContainerState::ContainerRunning as i32);
}

pub async fn containers_share_the_pod_network(rt: Runtime) {
    let pod = rt.run_pod("shared").await;
    let server = ["sh", "-c", "mkdir -p /www && echo hello from a > /www/index.html && httpd -f -p 8080 -h /www"];
    let a = rt.start(&pod, "a", &server).await;
    let b = rt.start(&pod, "b", &["sleep", "3600"]).await;
    rt.wait_for_state(&a, ContainerState::ContainerRunning).await;
    rt.wait_for_state(&b, ContainerState::ContainerRunning).await;
    let page = eventually("container b to fetch container a's page over 127.0.0.1", || async {
        let reply = rt.exec(&b, &["wget", "-qO-", "http://127.0.0.1:8080/"]).await;
        if reply.exit_code == 0 {
            Ok(reply.stdout)
        } else {
            Err(reply)
        }
    })
    .await;
    if rt.caps.real_processes {
        assert_eq!(String::from_utf8_lossy(&page), "hello from a\n");
    }
    for container in [&a, &b] {
        let hostname = rt.exec(container, &["cat", "/etc/hostname"]).await;
        assert_eq!(String::from_utf8_lossy(&hostname.stdout), "shared\n", "the pod's hostname in {container}");
    }
}

pub async fn env_and_working_dir(rt: Runtime) {
    let pod = rt.run_pod("env").await;
    let mut config = container_config("envy", &rt.images.test, &["sleep", "3600"]);
    config.envs = vec![KeyValue { key: "GREETING".into(), value: "hello world".into() }];
    config.working_dir = "/tmp".into();
    let id = rt.start_config(&pod, config).await;
    rt.wait_for_state(&id, ContainerState::ContainerRunning).await;
    let env = rt.exec(&id, &["env"]).await;
    let env_text = String::from_utf8_lossy(&env.stdout);
    assert!(env.exit_code == 0 && env_text.lines().any(|l| l == "GREETING=hello world"), "{env:?}");
    let pwd = rt.exec(&id, &["pwd"]).await;
    assert_eq!(String::from_utf8_lossy(&pwd.stdout), "/tmp\n", "{pwd:?}");
}
