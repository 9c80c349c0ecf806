//! The CLI against a real API server started in-process (embedded store in
//! a temporary directory): what a user types, what they read back.

mod common;

use capstan::CliError;
use common::cluster;

const APP: &str = "apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: nginx:1.25, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80}]
";

#[tokio::test]
async fn apply_creates_then_leaves_unchanged_objects_alone() {
    let c = cluster().await;
    let app = c.manifest("app.yaml", APP);
    assert_eq!(
        c.ok(&["apply", "-f", &app]).await,
        "namespace/shop created\ndeployment.apps/web created\nservice/web created\n"
    );
    let ports = c.ok(&["get", "svc", "web", "-n", "shop", "-o", "json"]).await;
    assert_eq!(
        c.ok(&["apply", "-f", &app]).await,
        "namespace/shop unchanged\ndeployment.apps/web unchanged\nservice/web unchanged\n"
    );
    assert_eq!(c.ok(&["get", "svc", "web", "-n", "shop", "-o", "json"]).await, ports, "re-apply writes nothing");

    let scaled = c.manifest("scaled.yaml", &APP.replace("replicas: 2", "replicas: 3"));
    assert!(c.ok(&["apply", "-f", &scaled]).await.contains("deployment.apps/web configured\n"));
    let table = c.ok(&["get", "deploy", "-n", "shop"]).await;
    assert!(table.starts_with("NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    0/3 "), "{table}");
    assert_eq!(c.ok(&["get", "deploy,svc", "-n", "shop", "-o", "name"]).await, "deployment.apps/web\nservice/web\n");
    c.stop().await;
}

#[tokio::test]
async fn errors_read_like_kubectl() {
    let c = cluster().await;
    let app = c.manifest("app.yaml", APP);
    c.ok(&["apply", "-f", &app]).await;

    assert_eq!(
        c.err(&["get", "pod", "nope", "-n", "shop"]).await,
        r#"Error from server (NotFound): pods "nope" not found"#
    );
    assert_eq!(c.err(&["get", "widgets"]).await, r#"error: the server doesn't have a resource type "widgets""#);
    assert_eq!(c.ok(&["get", "pods", "-n", "shop"]).await, "No resources found in shop namespace.\n");

    let stale = c.ok(&["get", "deploy", "web", "-n", "shop", "-o", "yaml"]).await;
    let stale = c.manifest("stale.yaml", &stale.replace("replicas: 2", "replicas: 4"));
    assert_eq!(c.ok(&["replace", "-f", &stale]).await, "deployment.apps/web replaced\n");
    assert_eq!(
        c.err(&["replace", "-f", &stale]).await,
        "Error from server (Conflict): Operation cannot be fulfilled on deployments.apps \"web\": the object has been \
         modified; please apply your changes to the latest version and try again"
    );

    let bad = c.manifest(
        "bad.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad, namespace: shop}\nspec: {}\n",
    );
    let invalid = c.err(&["apply", "-f", &bad]).await;
    assert!(invalid.starts_with(r#"Error from server (Invalid): Deployment.apps "bad" is invalid: ["#), "{invalid}");
    assert!(invalid.contains("spec.selector: Required value"), "{invalid}");

    assert_eq!(c.ok(&["delete", "deploy", "web", "-n", "shop"]).await, "deployment.apps \"web\" deleted\n");
    c.stop().await;
}

#[tokio::test]
async fn help_goes_to_the_output_and_bad_flags_are_errors() {
    let mut out = Vec::new();
    capstan::run(["capstan", "--help"], &mut out).await.expect("help");
    assert!(String::from_utf8(out).expect("utf8").contains("apply"));
    let mut out = Vec::new();
    let err = capstan::run(["capstan", "get", "pods", "-o", "table"], &mut out).await.expect_err("bad output format");
    assert!(matches!(err, CliError::Args(_)), "{err}");
}

#[tokio::test]
async fn cordon_and_uncordon_flip_schedulability() {
    let c = cluster().await;
    let node = c.manifest("node.yaml", "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n");
    c.ok(&["apply", "-f", &node]).await;
    assert_eq!(c.ok(&["cordon", "n1"]).await, "node/n1 cordoned\n");
    assert_eq!(c.ok(&["cordon", "n1"]).await, "node/n1 already cordoned\n");
    let json: serde_json::Value =
        serde_json::from_str(&c.ok(&["get", "node", "n1", "-o", "json"]).await).expect("json");
    assert_eq!(json["spec"]["unschedulable"], true);
    assert_eq!(c.ok(&["uncordon", "n1"]).await, "node/n1 uncordoned\n");
    let json: serde_json::Value =
        serde_json::from_str(&c.ok(&["get", "node", "n1", "-o", "json"]).await).expect("json");
    assert!(json["spec"].get("unschedulable").is_none(), "{json}");
    assert_eq!(c.err(&["cordon", "nope"]).await, r#"Error from server (NotFound): nodes "nope" not found"#);
    c.stop().await;
}

#[tokio::test]
async fn a_create_into_a_missing_namespace_names_the_namespace() {
    let c = cluster().await;
    let pod = c.manifest(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: nowhere}\nspec: {containers: [{name: c, image: i}]}\n",
    );
    let missing = r#"Error from server (NotFound): namespaces "nowhere" not found"#;
    assert_eq!(c.err(&["apply", "-f", &pod]).await, missing);
    assert_eq!(c.err(&["create", "-f", &pod]).await, missing);
    c.stop().await;
}

#[tokio::test]
async fn force_deletion_removes_a_pod_whose_node_is_gone() {
    let c = cluster().await;
    // bound to a node no kubelet serves: a graceful delete waits for it for ever
    let pod = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\n\
             spec: {{nodeName: gone, containers: [{{name: c, image: i}}]}}\n"
        )
    };
    c.apply(&pod("stuck")).await;
    assert_eq!(c.ok(&["delete", "pod", "stuck"]).await, "pod \"stuck\" deleted\n");
    let terminating: serde_json::Value =
        serde_json::from_str(&c.ok(&["get", "pod", "stuck", "-o", "json"]).await).expect("json");
    assert!(terminating["metadata"]["deletionTimestamp"].is_string(), "{terminating}");

    assert_eq!(c.ok(&["delete", "pod", "stuck", "--grace-period=0", "--force"]).await, "pod \"stuck\" force deleted\n");
    assert_eq!(c.err(&["get", "pod", "stuck"]).await, r#"Error from server (NotFound): pods "stuck" not found"#);

    // --force alone means --grace-period 0; a positive period with it is refused
    c.apply(&pod("other")).await;
    assert_eq!(
        c.err(&["delete", "pod", "other", "--force", "--grace-period", "5"]).await,
        "error: --force and --grace-period greater than 0 cannot be specified together"
    );
    assert_eq!(c.ok(&["delete", "pod", "other", "--force"]).await, "pod \"other\" force deleted\n");
    assert_eq!(c.err(&["get", "pod", "other"]).await, r#"Error from server (NotFound): pods "other" not found"#);

    // --grace-period 0 without --force is 1 second, as kubectl makes it: the pod still waits for its node
    c.apply(&pod("careful")).await;
    assert_eq!(c.ok(&["delete", "pod", "careful", "--grace-period", "0"]).await, "pod \"careful\" deleted\n");
    let careful: serde_json::Value =
        serde_json::from_str(&c.ok(&["get", "pod", "careful", "-o", "json"]).await).expect("json");
    assert_eq!(careful["metadata"]["deletionGracePeriodSeconds"], 1, "{careful}");
    c.stop().await;
}

#[tokio::test]
async fn get_no_headers_prints_only_rows() {
    let c = cluster().await;
    let app = c.manifest("app.yaml", APP);
    c.ok(&["apply", "-f", &app]).await;
    let with = c.ok(&["get", "deploy,svc", "-n", "shop"]).await;
    let without = c.ok(&["get", "deploy,svc", "-n", "shop", "--no-headers"]).await;
    let rows: Vec<&str> = without.lines().collect();
    assert_eq!(rows.len(), 2, "one row per object, no header, no blank line between kinds:\n{without}");
    assert!(rows[0].starts_with("web ") && rows[0].contains("0/2"), "{without}");
    assert!(rows[1].starts_with("web ") && rows[1].contains("NodePort"), "{without}");
    assert!(with.starts_with("NAME ") && with.contains("\n\nNAME "), "the default keeps both headers:\n{with}");
    c.stop().await;
}
