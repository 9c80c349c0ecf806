//! `scale`, `rollout` and `autoscale` through the CLI against a real API
//! server. No controller runs: the tests write by hand what the Deployment
//! controller would (ReplicaSets with revisions, deployment status), so each
//! command is checked against exactly the state it reads.

mod common;

use capstan_client::Client;
use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::autoscaling::v2::HorizontalPodAutoscaler;
use capstan_proto::object::parse_manifests;
use capstan_proto::Resource;
use common::{cluster, Cluster};

const DEPLOYMENT: &str = "apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, annotations: {kubernetes.io/change-cause: set image web:3}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: 'web:3'}]}
";

async fn deployment(client: &Client) -> Deployment {
    client.api::<Deployment>(Some("shop")).get("web").await.expect("the deployment")
}

fn image(d: &Deployment) -> String {
    d.spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.spec.as_ref())
        .map(|s| s.containers[0].image.clone())
        .unwrap_or_default()
}

/// What the Deployment controller leaves for revision `n`: a ReplicaSet it
/// controls, with the revision's template, hash label and change cause.
async fn revision(client: &Client, owner: &Deployment, n: i64, image: &str) {
    let yaml = format!(
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-h{n}\n  namespace: shop\n  annotations:\n    \
         deployment.kubernetes.io/revision: '{n}'\n    kubernetes.io/change-cause: set image {image}\n  ownerReferences:\n  \
         - {{apiVersion: apps/v1, kind: Deployment, name: web, uid: '{uid}', controller: true}}\nspec:\n  replicas: 0\n  \
         selector: {{matchLabels: {{app: web, pod-template-hash: h{n}}}}}\n  template:\n    metadata: {{labels: {{app: web, \
         pod-template-hash: h{n}}}}}\n    spec: {{containers: [{{name: web, image: '{image}'}}]}}\n",
        uid = owner.meta().uid
    );
    let rs = ReplicaSet::try_from_object(parse_manifests("rs", &yaml).expect("rs").remove(0)).expect("a ReplicaSet");
    client.api::<ReplicaSet>(Some("shop")).create(&rs).await.expect("revision created");
}

/// Writes the deployment's status as the controller would.
async fn set_status(client: &Client, status: &str) {
    let api = client.api::<Deployment>(Some("shop"));
    let mut d = api.get("web").await.expect("deployment");
    let yaml = format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nstatus: {status}\n");
    let with = Deployment::try_from_object(parse_manifests("status", &yaml).expect("status").remove(0)).expect("d");
    d.status = with.status;
    api.update_status(&d).await.expect("status written");
}

#[tokio::test]
async fn scale_sets_replicas_through_the_scale_subresource() {
    let c = cluster().await;
    c.apply(DEPLOYMENT).await;
    let client = c.client();
    let owner = deployment(&client).await;
    revision(&client, &owner, 1, "web:1").await;

    assert_eq!(
        c.ok(&["scale", "deployment/web", "--replicas", "5", "-n", "shop"]).await,
        "deployment.apps/web scaled\n"
    );
    assert_eq!(deployment(&client).await.spec.and_then(|s| s.replicas), Some(5));
    assert_eq!(
        c.ok(&["scale", "rs", "web-h1", "--replicas", "3", "-n", "shop"]).await,
        "replicaset.apps/web-h1 scaled\n"
    );
    let rs = client.api::<ReplicaSet>(Some("shop")).get("web-h1").await.expect("rs");
    assert_eq!(rs.spec.and_then(|s| s.replicas), Some(3));

    assert_eq!(
        c.err(&["scale", "deploy/web", "--replicas", "1", "--current-replicas", "2", "-n", "shop"]).await,
        "error: Expected replicas to be 2, was 5"
    );
    assert_eq!(
        deployment(&client).await.spec.and_then(|s| s.replicas),
        Some(5),
        "a failed precondition writes nothing"
    );
    c.ok(&["scale", "deploy/web", "--replicas", "1", "--current-replicas", "5", "-n", "shop"]).await;
    assert_eq!(deployment(&client).await.spec.and_then(|s| s.replicas), Some(1));

    assert_eq!(
        c.err(&["scale", "deploy/nope", "--replicas", "1", "-n", "shop"]).await,
        r#"Error from server (NotFound): deployments.apps "nope" not found"#
    );
    assert_eq!(
        c.err(&["scale", "pod/web", "--replicas", "1"]).await,
        "error: pods have no scale subresource: scale deployments or replicasets"
    );
    c.stop().await;
}

#[tokio::test]
async fn history_and_undo_follow_the_replica_sets() {
    let c = cluster().await;
    c.apply(DEPLOYMENT).await;
    let client = c.client();
    let owner = deployment(&client).await;
    for (n, image) in [(1, "web:1"), (2, "web:2"), (3, "web:3")] {
        revision(&client, &owner, n, image).await;
    }
    // another deployment's revision is not this one's history
    let mut stranger = owner.clone();
    stranger.metadata_mut().uid = "someone-else".into();
    revision(&client, &stranger, 4, "other:1").await;

    assert_eq!(
        c.ok(&["rollout", "history", "deployment/web", "-n", "shop"]).await,
        "deployment.apps/web\nREVISION   CHANGE-CAUSE\n1          set image web:1\n2          set image web:2\n\
         3          set image web:3\n\n"
    );
    let detail = c.ok(&["rollout", "history", "deployment", "web", "--revision", "2", "-n", "shop"]).await;
    assert!(detail.starts_with("deployment.apps/web with revision #2\nPod Template:\n"), "{detail}");
    assert!(detail.lines().any(|l| l.trim_start().starts_with("Image:") && l.ends_with(" web:2")), "{detail}");
    assert_eq!(
        c.err(&["rollout", "history", "deployment/web", "--revision", "9", "-n", "shop"]).await,
        "error: unable to find the specified revision 9"
    );

    assert_eq!(c.ok(&["rollout", "undo", "deployment/web", "-n", "shop"]).await, "deployment.apps/web rolled back\n");
    let d = deployment(&client).await;
    assert_eq!(image(&d), "web:2", "the previous revision's template is back");
    let labels =
        d.spec.as_ref().and_then(|s| s.template.as_ref()).and_then(|t| t.metadata.as_ref()).map(|m| m.labels.clone());
    assert_eq!(labels.unwrap_or_default().into_iter().collect::<Vec<_>>(), [("app".to_string(), "web".to_string())]);
    assert_eq!(d.meta().annotations.get("kubernetes.io/change-cause").map(String::as_str), Some("set image web:2"));
    assert_eq!(d.meta().generation, 2, "a template change is a new generation");

    assert_eq!(
        c.ok(&["rollout", "undo", "deployment/web", "--to-revision", "2", "-n", "shop"]).await,
        "deployment.apps/web skipped rollback (current template already matches revision 2)\n"
    );
    c.ok(&["rollout", "undo", "deployment/web", "--to-revision", "1", "-n", "shop"]).await;
    assert_eq!(image(&deployment(&client).await), "web:1");
    assert_eq!(
        c.err(&["rollout", "undo", "deployment/web", "--to-revision", "9", "-n", "shop"]).await,
        "error: unable to find specified revision 9 in history"
    );
    assert_eq!(
        c.err(&["rollout", "undo", "rs/web-h1", "-n", "shop"]).await,
        "error: rollout undo is not supported for replicasets"
    );
    c.stop().await;
}

#[tokio::test]
async fn pause_resume_and_restart() {
    let c = cluster().await;
    c.apply(DEPLOYMENT).await;
    let client = c.client();
    let owner = deployment(&client).await;
    revision(&client, &owner, 1, "web:1").await;
    revision(&client, &owner, 2, "web:3").await;

    assert_eq!(c.ok(&["rollout", "pause", "deployment/web", "-n", "shop"]).await, "deployment.apps/web paused\n");
    assert!(deployment(&client).await.spec.is_some_and(|s| s.paused));
    assert_eq!(
        c.err(&["rollout", "pause", "deployment/web", "-n", "shop"]).await,
        r#"error: deployments.apps "web" is already paused"#
    );
    assert_eq!(
        c.err(&["rollout", "restart", "deployment/web", "-n", "shop"]).await,
        r#"error: deployments.apps "web" can't restart paused deployment (run rollout resume first)"#
    );
    assert_eq!(
        c.err(&["rollout", "undo", "deployment/web", "-n", "shop"]).await,
        "error: you cannot rollback a paused deployment; resume it first with 'capstan rollout resume' and try again"
    );
    assert_eq!(image(&deployment(&client).await), "web:3", "a refused undo changes nothing");

    assert_eq!(c.ok(&["rollout", "resume", "deployment/web", "-n", "shop"]).await, "deployment.apps/web resumed\n");
    assert!(!deployment(&client).await.spec.is_some_and(|s| s.paused));
    assert_eq!(
        c.err(&["rollout", "resume", "deployment/web", "-n", "shop"]).await,
        r#"error: deployments.apps "web" is not paused"#
    );

    let before = deployment(&client).await.meta().generation;
    assert_eq!(c.ok(&["rollout", "restart", "deployment/web", "-n", "shop"]).await, "deployment.apps/web restarted\n");
    let d = deployment(&client).await;
    let stamp = d
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.annotations.get("kubectl.kubernetes.io/restartedAt").cloned())
        .expect("the template is stamped");
    chrono::DateTime::parse_from_rfc3339(&stamp).expect("an RFC 3339 time");
    assert_eq!(d.meta().generation, before + 1, "the template changed, so the controller rolls it out");
    assert_eq!(
        c.err(&["rollout", "restart", "deployment/nope", "-n", "shop"]).await,
        r#"Error from server (NotFound): deployments.apps "nope" not found"#
    );
    c.stop().await;
}

#[tokio::test]
async fn status_follows_the_rollout_until_it_finishes() {
    let c = cluster().await;
    c.apply(&DEPLOYMENT.replace("replicas: 2", "replicas: 3")).await;
    let client = c.client();

    let mut status = c.spawn(&["rollout", "status", "deployment/web", "-n", "shop"]);
    assert_eq!(status.next_line().await, "Waiting for deployment spec update to be observed...");
    let waiting = |m: &str| format!("Waiting for deployment \"web\" rollout to finish: {m}");
    let steps = [
        (
            "{observedGeneration: 1, replicas: 1, updatedReplicas: 1}",
            waiting("1 out of 3 new replicas have been updated..."),
        ),
        (
            "{observedGeneration: 1, replicas: 4, updatedReplicas: 3, availableReplicas: 2}",
            waiting("1 old replicas are pending termination..."),
        ),
        (
            "{observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 2}",
            waiting("2 of 3 updated replicas are available..."),
        ),
        (
            "{observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3}",
            "deployment \"web\" successfully rolled out".to_string(),
        ),
    ];
    for (written, printed) in steps {
        set_status(&client, written).await;
        assert_eq!(status.next_line().await, printed, "after {written}");
    }
    status.result().await.expect("the rollout finished");

    // once finished, status returns at once
    assert_eq!(
        c.ok(&["rollout", "status", "deploy/web", "-n", "shop"]).await,
        "deployment \"web\" successfully rolled out\n"
    );
    // --watch=false reports where it stands and returns
    set_status(&client, "{observedGeneration: 1, replicas: 3, updatedReplicas: 1}").await;
    assert_eq!(
        c.ok(&["rollout", "status", "deploy/web", "--watch=false", "-n", "shop"]).await,
        "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated...\n"
    );
    // nothing moves: the timeout ends the wait
    assert_eq!(
        c.err(&["rollout", "status", "deploy/web", "--timeout", "1s", "-n", "shop"]).await,
        "error: timed out waiting for the condition"
    );
    // the controller gave up: so does status, with the reason
    let mut stuck = c.spawn(&["rollout", "status", "deployment/web", "-n", "shop"]);
    assert_eq!(stuck.next_line().await, waiting("1 out of 3 new replicas have been updated..."));
    set_status(
        &client,
        "{observedGeneration: 1, replicas: 3, updatedReplicas: 1, conditions: [{type: Progressing, status: 'False', \
         reason: ProgressDeadlineExceeded}]}",
    )
    .await;
    assert_eq!(
        stuck.result().await.expect_err("deadline exceeded").to_string(),
        "error: deployment \"web\" exceeded its progress deadline"
    );
    assert_eq!(
        c.err(&["rollout", "status", "deployment/nope", "-n", "shop"]).await,
        r#"Error from server (NotFound): deployments.apps "nope" not found"#
    );
    c.stop().await;
}

#[tokio::test]
async fn autoscale_creates_an_hpa_that_get_and_describe_show() {
    let c = cluster().await;
    c.apply(DEPLOYMENT).await;
    let client = c.client();

    assert_eq!(
        c.ok(&["autoscale", "deployment/web", "--min", "2", "--max", "10", "--cpu-percent", "50", "-n", "shop"]).await,
        "horizontalpodautoscaler.autoscaling/web autoscaled\n"
    );
    let table = c.ok(&["get", "hpa", "-n", "shop"]).await;
    let mut lines = table.lines();
    assert_eq!(
        lines.next(),
        Some("NAME   REFERENCE        TARGETS              MINPODS   MAXPODS   REPLICAS   AGE"),
        "{table}"
    );
    assert!(
        lines.next().is_some_and(
            |l| l.starts_with("web    Deployment/web   cpu: <unknown>/50%   2         10        0          ")
        ),
        "{table}"
    );

    // the autoscaler's report, written by hand
    let api = client.api::<HorizontalPodAutoscaler>(Some("shop"));
    let mut hpa = api.get("web").await.expect("hpa");
    let reported = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nstatus:\n  \
                    currentReplicas: 3\n  desiredReplicas: 3\n  currentMetrics: [{type: Resource, resource: {name: cpu, \
                    current: {averageUtilization: 12, averageValue: 60m}}}]\n";
    hpa.status = HorizontalPodAutoscaler::try_from_object(parse_manifests("s", reported).expect("status").remove(0))
        .expect("hpa")
        .status;
    api.update_status(&hpa).await.expect("status written");
    let table = c.ok(&["get", "horizontalpodautoscalers.autoscaling", "web", "-n", "shop"]).await;
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("web    Deployment/web   cpu: 12%/50%   2         10        3   ")),
        "{table}"
    );
    let page = c.ok(&["describe", "hpa", "web", "-n", "shop"]).await;
    for want in [
        "Deployment/web\n",
        "resource cpu on pods  (as a percentage of request):  12% (60m) / 50%\n",
        "Deployment pods:",
    ] {
        assert!(page.contains(want), "missing {want:?} in\n{page}");
    }

    assert_eq!(
        c.err(&["autoscale", "deployment/web", "--max", "3", "-n", "shop"]).await,
        r#"Error from server (AlreadyExists): horizontalpodautoscalers.autoscaling "web" already exists"#
    );
    assert_eq!(
        c.err(&["autoscale", "deployment/nope", "--max", "3", "-n", "shop"]).await,
        r#"Error from server (NotFound): deployments.apps "nope" not found"#
    );
    assert_eq!(
        c.ok(&["autoscale", "deployment", "web", "--max", "4", "--name", "web-default", "-n", "shop"]).await,
        "horizontalpodautoscaler.autoscaling/web-default autoscaled\n"
    );
    let table = c.ok(&["get", "hpa", "web-default", "-n", "shop"]).await;
    assert!(table.contains("cpu: <unknown>/80%   1         4 "), "the server's defaults: {table}");

    let resources = c.ok(&["api-resources"]).await;
    let row: Vec<&str> = resources
        .lines()
        .find(|l| l.starts_with("horizontalpodautoscalers"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    assert_eq!(row, ["horizontalpodautoscalers", "hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler"]);
    c.stop().await;
}

#[tokio::test]
async fn a_kubernetes_hpa_manifest_applies_and_bad_ones_name_the_field() {
    let c: Cluster = cluster().await;
    c.apply(DEPLOYMENT).await;
    let hpa = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: php-apache, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 50}
";
    assert_eq!(c.apply(hpa).await, "horizontalpodautoscaler.autoscaling/php-apache created\n");
    let bad = c.manifest("bad.yaml", &hpa.replace("minReplicas: 1", "minReplicas: 20"));
    let err = c.err(&["apply", "-f", &bad]).await;
    assert_eq!(
        err,
        "Error from server (Invalid): HorizontalPodAutoscaler.autoscaling \"php-apache\" is invalid: spec.maxReplicas: \
         Invalid value: 10: must be greater than or equal to `minReplicas`"
    );
    c.stop().await;
}
