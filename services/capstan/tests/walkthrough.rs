//! The README's walkthrough, end to end on Docker, so that the first thing a
//! user tries cannot break again: `capstan up` in-process, then the README's
//! commands in its order — `examples/shop.yaml` applied from the file itself,
//! every pod Ready, `get`, `get -w`, `describe`, `api-resources` — and the
//! `web` Service's node port answering through the service proxy with the
//! page a `web` pod serves.
//!
//! Needs Docker (a skip without it, a failure with `CI=true`).

mod up_harness;

use capstan::cli::UpRuntime;
use capstan_proto::apps::v1::Deployment;
use capstan_proto::core::v1::{Pod, Service};
use capstan_test_support::{ensure_images, eventually, require_docker, DockerSweeper};
use up_harness::{http_get_async, ready, wait_pods_in, Up, WAIT};

/// The README's example, as a user applies it.
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shop.yaml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_serves_the_shop_on_its_node_port() {
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let node = format!("walkthrough-{}", std::process::id());
    let _sweep = DockerSweeper::new(capstan_shim_common::labels::NODE_NAME, &node);
    let dir = tempfile::tempdir().expect("tempdir");
    let up = Up::start(up_harness::config(dir.path(), UpRuntime::Docker, &node)).await;

    let applied = up.capstan(&["apply", "-f", EXAMPLE]).await;
    assert_eq!(
        applied,
        "namespace/shop created\ndeployment.apps/web created\nservice/web created\npod/debug created\n"
    );

    // every pod Ready: the three web replicas (their readiness probe gets the page) and debug
    let client = up.client();
    let web = wait_pods_in(&client, "shop", "app=web", |pods| pods.len() == 3 && pods.iter().all(ready)).await;
    assert!(web.iter().all(|p| up_harness::node_of(p) == node), "{web:#?}");
    let debug = client.api::<Pod>(Some("shop"));
    let debug = capstan_runtime::wait_for(&debug, "debug", WAIT, |p| p.is_some_and(ready)).await;
    assert!(matches!(debug, Ok(Some(_))), "the debug pod becomes Ready: {debug:?}");
    let deployments = client.api::<Deployment>(Some("shop"));
    let available =
        |d: Option<&Deployment>| d.and_then(|d| d.status.as_ref()).is_some_and(|s| s.available_replicas == 3);
    let deployment = capstan_runtime::wait_for(&deployments, "web", WAIT, available).await;
    assert!(matches!(deployment, Ok(Some(_))), "the Deployment counts 3 available: {deployment:?}");

    let table = up.capstan(&["get", "deploy,svc,pods", "-n", "shop"]).await;
    let row = |name: &str| table.lines().find(|l| l.starts_with(name)).unwrap_or_default().to_string();
    assert!(row("web ").contains("3/3"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("web ") && l.contains("NodePort")), "{table}");
    assert!(row("debug ").contains("1/1") && row("debug ").contains("Running"), "{table}");

    let (watch, mut lines) = up.spawn(&["get", "pods", "-A", "-w"]);
    let listed = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.recv().await {
            if line.contains("shop") && line.contains("debug") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(listed, Ok(true), "get pods -A -w lists the shop's pods");
    watch.abort();

    let described = up.capstan(&["describe", "deploy", "web", "-n", "shop"]).await;
    assert!(described.contains("3 desired | 3 updated | 3 total | 3 available | 0 unavailable"), "{described}");
    let resources = up.capstan(&["api-resources"]).await;
    assert!(resources.lines().any(|l| l.starts_with("deployments ")), "{resources}");

    // the node port answers on this machine through the proxy, with a web pod's page
    let service = client.api::<Service>(Some("shop")).get("web").await.expect("the web Service");
    let node_port = service.spec.as_ref().and_then(|s| s.ports.first()).map(|p| p.node_port).unwrap_or_default();
    let node_port = u16::try_from(node_port).expect("an allocated node port");
    let page = eventually("the web Service's node port to serve the page", WAIT, || async move {
        http_get_async("127.0.0.1", node_port).await.ok().filter(|answer| answer.contains(" 200 "))
    })
    .await;
    assert!(page.contains("Welcome to the shop, served by web-"), "{page}");

    up.capstan(&["delete", "namespace", "shop"]).await;
    up.stop().await;
}
