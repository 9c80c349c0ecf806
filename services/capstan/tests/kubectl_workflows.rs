//! The real kubectl (v1.32, through `capstan_testkit::kubectl::Kubectl`)
//! against a whole cluster — `capstan up` in-process on the in-memory
//! runtime: the API server over TLS with Node,RBAC, the scheduler, the
//! controller-manager and a node — run as a user would run it: the
//! `kubectl` line `up` prints, then the day-to-day workflows (`describe`,
//! `scale`, `rollout status|history|restart`, `wait`, and `get` with
//! selectors, `-A`, jsonpath, `--sort-by`, custom columns), each against
//! what Kubernetes prints; `describe service` reads the EndpointSlices the
//! controller-manager keeps.

mod up_harness;

use capstan::cli::UpRuntime;
use capstan_testkit::kubectl::Kubectl;
use up_harness::Up;

const SHOP: &str = "apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec: {containers: [{name: web, image: 'capstan/test:1'}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
";

/// `capstan up` on the in-memory runtime, with the CLI config in a temp dir;
/// kubectl from the line `up` printed.
async fn cluster(dir: &tempfile::TempDir) -> (Up, Kubectl) {
    let config = capstan::up::UpConfig {
        config_path: Some(dir.path().join("config")),
        ..up_harness::config(dir.path(), UpRuntime::Memory, "node-1")
    };
    let up = Up::start(config).await;
    let line = up.said.lines().find_map(|l| l.strip_prefix("kubectl: ")).expect("up prints a kubectl line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let kubeconfig = match words.as_slice() {
        ["kubectl", "--kubeconfig", path, "get", "nodes"] => path.to_string(),
        _ => panic!("the kubectl line {line:?}"),
    };
    let kubectl = Kubectl::new(up.url.clone(), kubeconfig);
    (up, kubectl)
}

async fn apply_shop(kubectl: &Kubectl) {
    let manifest = kubectl.dir().join("shop.yaml");
    std::fs::write(&manifest, SHOP).expect("the manifest");
    kubectl.ok(&["apply", "-f", &manifest.display().to_string()]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kubectl_line_up_prints_works_as_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, kubectl) = cluster(&dir).await;
    // the kubeconfig alone names the bound port: no --server needed
    let kubeconfig = dir.path().join("config");
    let config = capstan_pki::Kubeconfig::load(&kubeconfig).expect("kubectl's kubeconfig");
    let resolved = config.resolve(None, &kubeconfig).expect("a current context");
    assert_eq!(resolved.server, up.url);
    let nodes = kubectl.ok(&["get", "nodes"]).await;
    assert!(nodes.starts_with("NAME"), "{nodes}");
    assert!(nodes.contains("node-1"), "{nodes}");
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rollout_scale_wait_and_describe_as_against_kubernetes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, kubectl) = cluster(&dir).await;
    apply_shop(&kubectl).await;

    let status = kubectl.ok(&["rollout", "status", "deployment/web", "-n", "shop", "--timeout=120s"]).await;
    assert!(status.contains("successfully rolled out"), "{status}");
    let waited =
        kubectl.ok(&["wait", "--for=condition=Available", "deployment/web", "-n", "shop", "--timeout=120s"]).await;
    assert_eq!(waited.trim(), "deployment.apps/web condition met");

    let scaled = kubectl.ok(&["scale", "deployment/web", "-n", "shop", "--replicas=3"]).await;
    assert_eq!(scaled.trim(), "deployment.apps/web scaled");
    kubectl.ok(&["rollout", "status", "deployment/web", "-n", "shop", "--timeout=120s"]).await;
    let ready = kubectl.ok(&["get", "deployment", "web", "-n", "shop", "-o", "jsonpath={.status.readyReplicas}"]).await;
    assert_eq!(ready, "3");

    let history = kubectl.ok(&["rollout", "history", "deployment/web", "-n", "shop"]).await;
    assert!(history.contains("REVISION") && history.lines().any(|l| l.starts_with('1')), "{history}");
    let restarted = kubectl.ok(&["rollout", "restart", "deployment/web", "-n", "shop"]).await;
    assert_eq!(restarted.trim(), "deployment.apps/web restarted");
    kubectl.ok(&["rollout", "status", "deployment/web", "-n", "shop", "--timeout=120s"]).await;
    let history = kubectl.ok(&["rollout", "history", "deployment/web", "-n", "shop"]).await;
    let revisions: Vec<&str> = history.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(revisions, ["1", "2"], "a new ReplicaSet rolled out:\n{history}");
    let sets = kubectl.ok(&["get", "replicasets", "-n", "shop", "-l", "app=web", "-o", "name"]).await;
    assert_eq!(sets.lines().count(), 2, "{sets}");

    let described = kubectl.ok(&["describe", "deployment", "web", "-n", "shop"]).await;
    for want in ["Name:", "web", "Namespace:", "shop", "Replicas:", "3 desired", "NewReplicaSet:", "Events:"] {
        assert!(described.contains(want), "describe deployment lacks {want:?}:\n{described}");
    }
    let pod =
        kubectl.ok(&["get", "pods", "-n", "shop", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"]).await;
    let described = kubectl.ok(&["describe", "pod", &pod, "-n", "shop"]).await;
    for want in ["Name:", "Node:", "node-1", "Status:", "Running", "Containers:", "Events:"] {
        assert!(described.contains(want), "describe pod lacks {want:?}:\n{described}");
    }
    let described = kubectl.ok(&["describe", "service", "web", "-n", "shop"]).await;
    for want in ["Name:", "Selector:", "app=web", "Port:", "http  80/TCP", "Endpoints:"] {
        assert!(described.contains(want), "describe service lacks {want:?}:\n{described}");
    }
    let described = kubectl.ok(&["describe", "node", "node-1"]).await;
    for want in ["Name:", "node-1", "Conditions:", "Ready", "Non-terminated Pods:"] {
        assert!(described.contains(want), "describe node lacks {want:?}:\n{described}");
    }

    // delete, then wait for the object to be gone
    kubectl.ok(&["delete", "service", "web", "-n", "shop", "--wait=false"]).await;
    let gone = kubectl.ok(&["wait", "--for=delete", "service/web", "-n", "shop", "--timeout=60s"]).await;
    assert!(gone.is_empty() || gone.contains("condition met"), "{gone}");
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn get_selects_sorts_and_prints_columns_as_against_kubernetes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, kubectl) = cluster(&dir).await;
    apply_shop(&kubectl).await;
    kubectl.ok(&["rollout", "status", "deployment/web", "-n", "shop", "--timeout=120s"]).await;
    kubectl.ok(&["run", "solo", "-n", "shop", "--image=capstan/test:1", "-l", "app=solo"]).await;

    let labelled = kubectl.ok(&["get", "pods", "-n", "shop", "-l", "app=web", "-o", "name"]).await;
    assert_eq!(labelled.lines().count(), 2, "{labelled}");
    assert!(labelled.lines().all(|l| l.starts_with("pod/web-")), "{labelled}");
    let not_web = kubectl.ok(&["get", "pods", "-n", "shop", "-l", "app!=web", "-o", "name"]).await;
    assert_eq!(not_web.trim(), "pod/solo");
    let by_field =
        kubectl.ok(&["get", "pods", "-n", "shop", "--field-selector", "metadata.name=solo", "-o", "name"]).await;
    assert_eq!(by_field.trim(), "pod/solo");
    let on_node = kubectl.ok(&["get", "pods", "-A", "--field-selector", "spec.nodeName=node-1", "--no-headers"]).await;
    assert_eq!(on_node.lines().count(), 3, "{on_node}");
    assert!(on_node.lines().all(|l| l.starts_with("shop ")), "-A prints the namespace first:\n{on_node}");

    let names = kubectl
        .ok(&["get", "pods", "-n", "shop", "--sort-by=.metadata.name", "-o", "jsonpath={.items[*].metadata.name}"])
        .await;
    let names: Vec<&str> = names.split_whitespace().collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 3, "{names:?}");
    let columns = kubectl
        .ok(&[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "app=solo",
            "-o",
            "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName",
        ])
        .await;
    let rows: Vec<Vec<&str>> = columns.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows, [vec!["NAME", "NODE"], vec!["solo", "node-1"]]);
    let sorted_table = kubectl.ok(&["get", "pods", "-n", "shop", "--sort-by=.metadata.name"]).await;
    assert!(sorted_table.starts_with("NAME"), "{sorted_table}");
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_service_lists_the_endpoint_slices_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (up, kubectl) = cluster(&dir).await;
    apply_shop(&kubectl).await;
    kubectl.ok(&["rollout", "status", "deployment/web", "-n", "shop", "--timeout=120s"]).await;
    let ips =
        kubectl.ok(&["get", "pods", "-n", "shop", "-l", "app=web", "-o", "jsonpath={.items[*].status.podIP}"]).await;
    let mut ips: Vec<String> = ips.split_whitespace().map(|ip| format!("{ip}:8080")).collect();
    ips.sort();
    assert_eq!(ips.len(), 2, "two running pods with IPs: {ips:?}");

    // kubectl 1.32 lists discovery.k8s.io/v1 EndpointSlices labelled
    // kubernetes.io/service-name=web and prints their ready addresses
    let described = capstan_testkit::eventually(
        "describe service to list both pods",
        std::time::Duration::from_secs(60),
        || async {
            let described = kubectl.ok(&["describe", "service", "web", "-n", "shop"]).await;
            let line = described.lines().find_map(|l| l.strip_prefix("Endpoints:")).map(str::trim).unwrap_or("");
            let mut listed: Vec<String> = line.split(',').map(str::to_string).collect();
            listed.sort();
            (listed == ips).then_some(described)
        },
    )
    .await;
    assert!(described.contains("Port:") && described.contains("http  80/TCP"), "{described}");

    let slices = kubectl.ok(&["get", "endpointslices", "-n", "shop"]).await;
    let rows: Vec<Vec<&str>> = slices.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        rows.first().map(|r| r.as_slice()),
        Some(&["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"][..]),
        "{slices}"
    );
    assert_eq!(rows.len(), 2, "one slice:\n{slices}");
    assert!(rows[1][0].starts_with("web-"), "{slices}");
    assert_eq!(rows[1][1..3], ["IPv4", "8080"], "{slices}");
    let mut listed: Vec<String> = rows[1][3].split(',').map(|ip| format!("{ip}:8080")).collect();
    listed.sort();
    assert_eq!(listed, ips, "{slices}");
    let named = kubectl
        .ok(&[
            "get",
            "endpointslices.discovery.k8s.io",
            "-n",
            "shop",
            "-l",
            "kubernetes.io/service-name=web",
            "-o",
            "name",
        ])
        .await;
    assert!(named.trim().starts_with("endpointslice.discovery.k8s.io/web-"), "{named}");
    up.stop().await;
}
