//! The dashboard in a real headless Chromium: the shop example applied to a
//! secured cluster with a real scheduler, controller-manager and a kubelet
//! on the in-memory runtime; a person signs in through the form, sees the
//! shop's pods, and a pod deleted through the API disappears from the open
//! page with no reload (how long that took is printed). Screenshots of the
//! main views are saved under the target directory. A second person, who
//! may only view `shop`, sees `shop` and is told, in words, what else they
//! may not list.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use capstan_client::{DeleteParams, ListParams};
use capstan_cri::RuntimeClients;
use capstan_kubelet::{Config as KubeletConfig, Kubelet};
use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
use capstan_proto::core::v1::Pod;
use capstan_proto::Resource;
use capstan_testkit::{eventually, TestCluster};
use common::chromium::{Browser, Page, PATIENCE};
use common::{apply, grant_view, ADA, JANE};

/// A kubelet on the in-memory runtime, as `node-1` (serving TLS, as `up` runs it).
async fn node(cluster: &TestCluster) -> (Kubelet, MemoryRuntime) {
    let runtime = MemoryRuntime::new(MemoryConfig {
        node_name: Some("node-1".into()),
        preloaded_images: vec!["capstan/pause:1".into(), "capstan/test:1".into()],
        ..Default::default()
    })
    .expect("the memory runtime");
    let clients: RuntimeClients = capstan_shim_common::connect_in_process(runtime.clone()).await.expect("connected");
    let target = cluster.node_target("node-1");
    let mut config = KubeletConfig::new(target.server, "node-1", "memory://");
    config.credentials = target.credentials;
    config.tls = Some(capstan_testkit::node_pki::kubelet_serving(&cluster.pki(), "node-1"));
    config.runtime = Some(clients);
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.node_ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    config.timings.pod_resync = Duration::from_millis(200);
    config.timings.node_status = Duration::from_secs(1);
    (Kubelet::start(config).await.expect("the kubelet starts"), runtime)
}

/// Signs in through the form, as a person does.
async fn sign_in(page: &Page, base: &str, token: &str) {
    page.goto(&format!("{base}signin")).await;
    page.eval(&format!(
        "document.getElementById('token').value = '{token}'; document.querySelector('form[action=\"/signin\"]').submit()"
    ))
    .await;
    page.wait_for(
        "the workloads page after signing in",
        "location.pathname === '/workloads' && document.readyState === 'complete'",
    )
    .await;
}

/// The keys of the rows in section `id`.
async fn rows(page: &Page, id: &str) -> Vec<String> {
    let keys = page.eval(&format!("[...document.querySelectorAll('#{id} tbody tr')].map(r => r.dataset.key)")).await;
    serde_json::from_value(keys).expect("a list of keys")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_watches_the_shop_in_chromium() {
    let Some(browser) = Browser::launch().await else { return };
    println!("chromium started");
    let cluster = common::cluster().await;
    let apiserver = |name: &str| {
        let target = cluster.target(name);
        (target.server, target.credentials)
    };
    let (server, credentials) = apiserver("scheduler");
    let scheduler = capstan_scheduler::Scheduler::start(capstan_scheduler::Config {
        server,
        credentials,
        listen: Some("127.0.0.1:0".parse().expect("addr")),
        ..Default::default()
    })
    .await
    .expect("the scheduler starts");
    let (server, credentials) = apiserver("controller-manager");
    let controllers = capstan_controller_manager::ControllerManager::start(capstan_controller_manager::Config {
        server,
        credentials,
        listen: Some("127.0.0.1:0".parse().expect("addr")),
        ..Default::default()
    })
    .await
    .expect("the controller-manager starts");
    let (kubelet, runtime) = node(&cluster).await;
    println!("cluster started: API server, scheduler, controller-manager, node-1 on the in-memory runtime");
    let shop =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shop.yaml")).expect("the shop");
    apply(&cluster.client, &shop).await;
    grant_view(&cluster, "jane", "shop").await;
    let pods = cluster.client.api::<Pod>(Some("shop"));
    let running = eventually("the shop's four pods running on node-1", PATIENCE, || async {
        let (items, _) = pods.list(&ListParams::default()).await.ok()?;
        let running = |p: &Pod| p.status.as_ref().is_some_and(|s| s.phase == "Running");
        (items.len() == 4 && items.iter().all(running)).then_some(items)
    })
    .await;
    // something for the logs view to show
    let debug = running.iter().find(|p| p.meta().name == "debug").expect("the debug pod");
    let container = &debug.status.as_ref().expect("status").container_statuses[0].container_id;
    for line in ["shop: debug shell ready", "shop: sleeping 3600 s"] {
        runtime.write_log(container.trim_start_matches("memory://"), line, false).await.expect("a log line");
    }

    println!("the shop's pods are running");
    let dashboard = common::dashboard(&cluster).await;
    let base = dashboard.url();
    let page = browser.page().await;
    println!("dashboard at {base}, chromium's tab attached");
    sign_in(&page, &base, ADA).await;
    page.goto(&format!("{base}workloads?namespace=shop")).await;
    page.wait_for("the page to go live", "document.body.dataset.state === 'live'").await;
    let listed = rows(&page, "pods").await;
    let mut want: Vec<String> = running.iter().map(|p| format!("shop/{}", p.meta().name)).collect();
    want.sort();
    assert_eq!(listed, want, "the page lists the shop's pods");
    assert_eq!(rows(&page, "deployments").await, ["shop/web"]);
    page.screenshot("workloads").await;

    // a web pod deleted through the API leaves the open page without a reload
    let victim = want.iter().find(|k| k.starts_with("shop/web-")).expect("a web pod").clone();
    page.eval(&format!(
        "window.__goneAt = null; new MutationObserver(() => {{ if (!window.__goneAt && ![...document.querySelectorAll('#pods tbody tr')]\
         .some(r => r.dataset.key === '{victim}')) window.__goneAt = Date.now(); }})\
         .observe(document.querySelector('main'), {{subtree: true, childList: true}}); true"
    ))
    .await;
    let deleted_at = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis();
    let name = victim.trim_start_matches("shop/");
    pods.delete(name, &DeleteParams::default()).await.expect("the pod deleted");
    let gone_at = page.wait_for("the deleted pod to leave the page", "window.__goneAt").await;
    let gone_at = gone_at.as_f64().expect("a time in ms") as u128;
    println!(
        "pod {victim} left the open page {} ms after the delete call (graceful deletion: the kubelet stops it, then the API server removes it; the issue's target is 2000 ms)",
        gone_at.saturating_sub(deleted_at)
    );
    assert!(!rows(&page, "pods").await.contains(&victim));
    page.screenshot("workloads-after-delete").await;

    for (view, section) in [("services", "services"), ("nodes", "nodes"), ("events", "events")] {
        page.goto(&format!("{base}{view}?namespace=shop")).await;
        page.wait_for(&format!("the {view} view to go live"), "document.body.dataset.state === 'live'").await;
        assert!(!rows(&page, section).await.is_empty(), "{view} lists something");
        page.screenshot(view).await;
    }
    page.goto(&format!("{base}logs/shop/debug")).await;
    let log = page.wait_for("the debug pod's log", "document.getElementById('log').textContent").await;
    assert!(log.as_str().is_some_and(|l| l.contains("shop: debug shell ready")), "{log}");
    page.wait_for("the log to be followed", "document.body.dataset.state === 'live'").await;
    let printed = "shop: a line printed while the page is open";
    runtime.write_log(container.trim_start_matches("memory://"), printed, false).await.expect("a log line");
    page.wait_for(
        "the new line on the open page",
        &format!("document.getElementById('log').textContent.includes('{printed}')"),
    )
    .await;
    page.screenshot("logs").await;

    // a person who may only view shop
    page.eval("document.querySelector('form.signout').submit()").await;
    page.wait_for("the sign-in form", "location.pathname === '/signin' && document.readyState === 'complete'").await;
    sign_in(&page, &base, JANE).await;
    page.goto(&format!("{base}workloads?namespace=shop")).await;
    page.wait_for("jane's page to go live", "document.body.dataset.state === 'live'").await;
    assert_eq!(rows(&page, "deployments").await, ["shop/web"]);
    page.goto(&format!("{base}workloads?namespace=default")).await;
    let refused = page.wait_for("the refusal", "document.querySelector('#pods .refused')?.textContent").await;
    assert_eq!(refused, "You may not list pods in namespace default.");
    page.screenshot("workloads-view-only-user").await;
    page.goto(&format!("{base}nodes")).await;
    let refused = page.wait_for("the refusal", "document.querySelector('#nodes .refused')?.textContent").await;
    assert_eq!(refused, "You may not list nodes.");

    drop(page);
    dashboard.stop().await.expect("the dashboard stops");
    kubelet.stop().await.expect("the kubelet stops");
    controllers.stop().await.expect("the controller-manager stops");
    scheduler.stop().await.expect("the scheduler stops");
    cluster.assert_no_component_refused().await;
}
