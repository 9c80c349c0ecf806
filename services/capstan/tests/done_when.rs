//! The foundation issue's acceptance, through the CLI against a real API
//! server: a Kubernetes manifest applies unchanged and reads back in
//! Kubernetes' shape, re-applies in place, bad input is refused naming the
//! field, and `get -w` shows changes as they happen.

use capstan_testkit::TestCluster;
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc;

/// The README's example, as a user applies it.
const MANIFEST: &str = include_str!("../../../examples/shop.yaml");

struct Cluster {
    api: TestCluster,
}

impl Cluster {
    async fn start() -> Cluster {
        Cluster { api: TestCluster::start().await }
    }

    async fn stop(self) {
        self.api.stop().await;
    }

    /// `capstan --kubeconfig ADMIN --server URL REST...`
    fn args(&self, rest: &[&str]) -> Vec<String> {
        let mut full = vec!["capstan".to_string()];
        full.extend(self.api.cli_args());
        full.extend(rest.iter().map(|a| a.to_string()));
        full
    }

    async fn run(&self, rest: &[&str]) -> Result<String, String> {
        let mut out = Vec::new();
        let result = capstan::run(self.args(rest), &mut out).await;
        let text = String::from_utf8(out).expect("utf8");
        result.map(|_| text).map_err(|e| e.to_string())
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.api.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    }
}

#[tokio::test]
async fn kubernetes_manifest_applies_unchanged_and_reads_back() {
    let c = Cluster::start().await;
    let file = c.file("app.yaml", MANIFEST);
    let out = c.run(&["apply", "-f", &file]).await.expect("apply");
    assert_eq!(out, "namespace/shop created\ndeployment.apps/web created\nservice/web created\npod/debug created\n");

    let json: serde_json::Value =
        serde_json::from_str(&c.run(&["get", "deploy", "web", "-n", "shop", "-o", "json"]).await.expect("get"))
            .expect("json");
    assert_eq!(json["apiVersion"], "apps/v1");
    assert_eq!(json["kind"], "Deployment");
    assert_eq!(json["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(json["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"], "TCP", "defaulted");
    assert_eq!(json["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"], "1");
    assert_eq!(json["spec"]["template"]["spec"]["restartPolicy"], "Always", "defaulted");
    let uid = json["metadata"]["uid"].as_str().expect("uid").to_string();
    let created = json["metadata"]["creationTimestamp"].as_str().expect("timestamp");
    assert!(created.ends_with('Z') && created.len() == 20, "RFC 3339 seconds: {created}");

    let list: serde_json::Value =
        serde_json::from_str(&c.run(&["get", "svc,pods", "-n", "shop", "-o", "json"]).await.expect("get"))
            .expect("json");
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(list["items"][0]["spec"]["ports"][0]["targetPort"], "http");
    assert!(list["items"][0]["spec"]["clusterIP"].as_str().is_some_and(|ip| ip.starts_with("10.")));

    // applying a changed manifest again updates in place
    let changed = c.file("changed.yaml", &MANIFEST.replace("replicas: 3", "replicas: 5"));
    let out = c.run(&["apply", "-f", &changed]).await.expect("re-apply");
    assert!(out.contains("deployment.apps/web configured"), "{out}");
    assert!(out.contains("service/web unchanged"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&c.run(&["get", "deploy", "web", "-n", "shop", "-o", "json"]).await.expect("get"))
            .expect("json");
    assert_eq!(json["spec"]["replicas"], 5);
    assert_eq!(json["metadata"]["uid"], uid.as_str(), "same object, updated in place");
    assert_eq!(json["metadata"]["generation"], 2);
    c.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field() {
    let c = Cluster::start().await;
    let unknown = c.file("unknown.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n    imagePullPolicyy: Always\n");
    let err = c.run(&["apply", "-f", &unknown]).await.expect_err("unknown field");
    assert!(err.contains("spec.containers[0].imagePullPolicyy"), "{err}");

    let bad_name = c.file(
        "name.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: c, image: i}]}\n",
    );
    let err = c.run(&["apply", "-f", &bad_name]).await.expect_err("bad name");
    assert!(err.contains("metadata.name: Invalid value: \"Bad_Name\""), "{err}");

    let bad_selector = c.file(
        "selector.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {'app/': web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: i}]}\n",
    );
    let err = c.run(&["apply", "-f", &bad_selector]).await.expect_err("bad selector");
    assert!(err.contains("spec.selector.matchLabels"), "{err}");

    let err = c.run(&["get", "pods", "-l", "app in web"]).await.expect_err("bad selector syntax");
    assert!(err.contains("\"app in web\"") && err.contains("expected \"(\""), "{err}");
    c.stop().await;
}

/// Collects what a long-running command writes, line by line.
struct LineSink(mpsc::UnboundedSender<Vec<u8>>);

impl Write for LineSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.send(buf.to_vec());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn wait_for_line(rx: &mut mpsc::UnboundedReceiver<Vec<u8>>, seen: &mut String, needle: &str) {
    tokio::time::timeout(Duration::from_secs(15), async {
        while !seen.lines().any(|l| l.contains(needle)) {
            let chunk = rx.recv().await.expect("the watch keeps running");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no line with {needle:?} in:\n{seen}"));
}

#[tokio::test]
async fn get_watch_shows_changes_as_they_happen() {
    let c = Cluster::start().await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let args = c.args(&["get", "pods", "-w"]);
    let watch = tokio::spawn(async move {
        let mut sink = LineSink(tx);
        capstan::run(args, &mut sink).await
    });
    let mut seen = String::new();
    let pod = c.file(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: w, labels: {v: '1'}}\nspec: {containers: [{name: c, image: i}]}\n",
    );
    // the watch may start after the create; either way the pod shows as ADDED
    c.run(&["apply", "-f", &pod]).await.expect("create");
    wait_for_line(&mut rx, &mut seen, "ADDED").await;
    let changed = c.file(
        "pod2.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: w, labels: {v: '2'}}\nspec: {containers: [{name: c, image: i}]}\n",
    );
    c.run(&["apply", "-f", &changed]).await.expect("update");
    wait_for_line(&mut rx, &mut seen, "MODIFIED").await;
    c.run(&["delete", "pod", "w"]).await.expect("delete");
    wait_for_line(&mut rx, &mut seen, "DELETED").await;
    assert!(
        seen.lines().all(|l| l.contains(" w ") || l.starts_with("EVENT") || l.trim().is_empty() || l.contains("NAME")),
        "{seen}"
    );
    watch.abort();
    c.stop().await;
}
