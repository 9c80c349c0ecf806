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
