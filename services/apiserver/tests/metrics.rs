//! The API server's `GET /metrics` on kube-apiserver's names, scraped over
//! TLS with the real kubectl (v1.32) after calls of both faces: creates, a
//! list, a watch, a failed get (404) and a server-side apply, each found in
//! `apiserver_request_total` and `apiserver_request_duration_seconds` with
//! kube-apiserver's labels; an open gRPC watch in
//! `apiserver_longrunning_requests`; both in-flight pools; and the store's
//! latency in `etcd_request_duration_seconds`. The gRPC face acts on pods,
//! the REST face on deployments, so each face's series are told apart.

use capstan_apiserver::door::AuthorizationMode;
use capstan_proto::api::v1::{ListOptions, ResourceRef};
use capstan_proto::core::v1::Namespace;
use capstan_proto::Resource;
use capstan_test_support::metric_sample;
use capstan_testkit::kubectl::Kubectl;
use capstan_testkit::{pod, Backend, Door, TestCluster};

/// `apiserver_request_total`'s series for a call of the core or `apps` group's `v1`.
fn requests(verb: &str, group: &str, resource: &str, scope: &str, code: u16) -> String {
    format!(
        "apiserver_request_total{{verb=\"{verb}\",dry_run=\"\",group=\"{group}\",version=\"v1\",resource=\"{resource}\",\
         subresource=\"\",scope=\"{scope}\",component=\"apiserver\",code=\"{code}\"}}"
    )
}

/// `apiserver_request_duration_seconds`' count series for the same.
fn timed(verb: &str, group: &str, resource: &str, scope: &str) -> String {
    format!(
        "apiserver_request_duration_seconds_count{{verb=\"{verb}\",dry_run=\"\",group=\"{group}\",version=\"v1\",\
         resource=\"{resource}\",subresource=\"\",scope=\"{scope}\",component=\"apiserver\"}}"
    )
}

fn positive(text: &str, series: &str) {
    let value = metric_sample(text, series);
    assert!(value.is_some_and(|v| v > 0.0), "{series} = {value:?} in:\n{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn both_faces_calls_are_counted_and_timed_on_kube_apiservers_names() {
    let cluster = TestCluster::start_behind(Backend::Embedded, Door::Secured, |config| {
        config.security.authorization_modes = vec![AuthorizationMode::AlwaysAllow];
    })
    .await
    .expect("the embedded store needs no daemon");

    // the gRPC face: pods
    let mut shop = Namespace::default();
    shop.metadata_mut().name = "shop".into();
    let namespaces = ResourceRef { resource: "namespaces".into(), ..Default::default() };
    cluster.client.create(namespaces, shop.into_object()).await.expect("namespace shop");
    let pods = ResourceRef { resource: "pods".into(), namespace: "shop".into(), ..Default::default() };
    let web = pod("web").namespace("shop").build();
    cluster.client.create(pods.clone(), web.into_object()).await.expect("pod web");
    let listed = cluster.client.list(pods.clone(), ListOptions::default()).await.expect("pods listed");
    assert_eq!(listed.items.len(), 1);
    let nope = ResourceRef { name: "nope".into(), ..pods.clone() };
    assert!(cluster.client.get(nope).await.is_err(), "pod nope does not exist");
    // open while the metrics are scraped
    let _watch = cluster.client.watch(pods, ListOptions::default()).await.expect("a watch of pods");

    // the REST face: deployments
    let kubectl = Kubectl::admin(&cluster);
    let file = kubectl.dir().join("api.yaml");
    let api = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\n\
        spec: {selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}, \
        spec: {containers: [{name: api, image: 'api:1'}]}}}\n";
    std::fs::write(&file, api).expect("a manifest");
    let file = file.display().to_string();
    assert_eq!(kubectl.ok(&["create", "-f", &file]).await, "deployment.apps/api created\n");
    kubectl.ok(&["apply", "--server-side", "-f", &file]).await;
    assert_eq!(kubectl.ok(&["get", "deployments", "-n", "shop", "-o", "name"]).await, "deployment.apps/api\n");
    kubectl.fails(&["get", "deployment", "nope", "-n", "shop"]).await;
    // a watch the server ends itself
    let watched =
        kubectl.ok(&["get", "--raw", "/apis/apps/v1/namespaces/shop/deployments?watch=true&timeoutSeconds=1"]).await;
    assert!(watched.contains("\"ADDED\""), "{watched}");

    let text = kubectl.ok(&["get", "--raw", "/metrics"]).await;
    // gRPC: a status stands for its HTTP code (a create's OK is 201)
    positive(&text, &requests("POST", "", "namespaces", "resource", 201));
    positive(&text, &requests("POST", "", "pods", "resource", 201));
    positive(&text, &requests("LIST", "", "pods", "namespace", 200));
    positive(&text, &requests("GET", "", "pods", "resource", 404));
    positive(&text, &timed("POST", "", "pods", "resource"));
    positive(&text, &timed("GET", "", "pods", "resource"));
    let open =
        "apiserver_longrunning_requests{verb=\"WATCH\",dry_run=\"\",group=\"\",version=\"v1\",resource=\"pods\",\
        subresource=\"\",scope=\"namespace\",component=\"apiserver\"}";
    assert_eq!(metric_sample(&text, open), Some(1.0), "{open} in:\n{text}");
    // REST: the status the caller got
    positive(&text, &requests("POST", "apps", "deployments", "resource", 201));
    positive(&text, &requests("APPLY", "apps", "deployments", "resource", 200));
    positive(&text, &requests("LIST", "apps", "deployments", "namespace", 200));
    positive(&text, &requests("GET", "apps", "deployments", "resource", 404));
    positive(&text, &requests("WATCH", "apps", "deployments", "namespace", 200));
    positive(&text, &timed("LIST", "apps", "deployments", "namespace"));
    // a watch lasts as long as its caller wants: not in the latency histogram
    assert!(!text.contains("apiserver_request_duration_seconds_count{verb=\"WATCH\""), "{text}");
    // both pools, idle now (the scrape takes no slot)
    for kind in ["readOnly", "mutating"] {
        let series = format!("apiserver_current_inflight_requests{{request_kind=\"{kind}\"}}");
        assert_eq!(metric_sample(&text, &series), Some(0.0), "{series} in:\n{text}");
    }
    // the store, under the resource its keys are of
    positive(&text, "etcd_request_duration_seconds_count{operation=\"create\",type=\"pods\"}");
    positive(&text, "etcd_request_duration_seconds_count{operation=\"create\",type=\"deployments.apps\"}");
    positive(&text, "etcd_request_duration_seconds_count{operation=\"list\",type=\"pods\"}");
}
