//! The real kubectl (v1.32, `/usr/bin/kubectl` or `$CAPSTAN_KUBECTL`) against
//! the REST face of an API server over TLS, with the admin kubeconfig of the
//! cluster's PKI and a fresh discovery cache per test: discovery, GET and
//! LIST and watch as kubectl reads them, DELETE as `kubectl delete` sends it
//! (and waits on a watch until the object is gone), `create` and `replace`
//! validated by the server alone (no `--validate=false`), the merge patches of
//! `label`, `annotate`, `patch --type merge` and `scale`, and its errors in
//! Kubernetes' words.
//!
//! kubectl asks for Tables; the face answers plain JSON and kubectl falls
//! back to printing names and ages, which is what `get` without `-o` checks.

use capstan_apiserver::door::AuthorizationMode;
use capstan_proto::api::v1::ResourceRef;
use capstan_proto::core::v1::Namespace;
use capstan_proto::kinds::STORED_KINDS;
use capstan_proto::Resource;
use capstan_testkit::cluster::TOKEN;
use capstan_testkit::kubectl::Kubectl;
use capstan_testkit::{eventually, pod, Backend, Door, TestCluster};

/// How long an audit event may take to reach the log (its writer is a thread of its own).
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn secured(authorization: Vec<AuthorizationMode>) -> TestCluster {
    TestCluster::start_behind(Backend::Embedded, Door::Secured, |config| {
        config.security.authorization_modes = authorization;
    })
    .await
    .expect("the embedded store needs no daemon")
}

/// Namespace `shop` with pod `web` in it, made through the gRPC face.
async fn shop(cluster: &TestCluster) {
    let mut namespace = Namespace::default();
    namespace.metadata_mut().name = "shop".into();
    let namespaces = ResourceRef { resource: "namespaces".into(), ..Default::default() };
    cluster.client.create(namespaces, namespace.into_object()).await.expect("namespace shop");
    let pods = ResourceRef { resource: "pods".into(), namespace: "shop".into(), ..Default::default() };
    let web = pod("web").namespace("shop").labels(&[("app", "web")]).build();
    cluster.client.create(pods, web.into_object()).await.expect("pod web");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_api_resources_lists_every_kind_with_its_short_names() {
    let cluster = secured(vec![AuthorizationMode::AlwaysAllow]).await;
    let kubectl = Kubectl::admin(&cluster);
    let printed = kubectl.ok(&["api-resources", "--no-headers"]).await;
    let rows: Vec<Vec<&str>> = printed.lines().map(|l| l.split_whitespace().collect()).collect();
    for info in STORED_KINDS {
        // NAME [SHORTNAMES] APIVERSION NAMESPACED KIND
        let mut want = vec![info.resource];
        want.extend(info.short_names);
        let namespaced = info.namespaced.to_string();
        want.extend([info.api_version, namespaced.as_str(), info.kind]);
        assert!(rows.contains(&want), "api-resources lacks {want:?}:\n{printed}");
    }
    let all = kubectl.ok(&["api-resources", "--categories=all", "-o", "name"]).await;
    assert_eq!(
        all.lines().collect::<Vec<_>>(),
        ["pods", "services", "deployments.apps", "replicasets.apps", "horizontalpodautoscalers.autoscaling"],
        "the `all` category"
    );
    let version = kubectl.ok(&["version", "-o", "json"]).await;
    let version: serde_json::Value = serde_json::from_str(&version).expect("version JSON");
    assert_eq!(version["serverVersion"]["minor"], "32");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_gets_and_lists_objects_as_kubernetes_json() {
    let cluster = secured(vec![AuthorizationMode::AlwaysAllow]).await;
    shop(&cluster).await;
    let kubectl = Kubectl::admin(&cluster);

    let listed = kubectl.ok(&["get", "pods", "-n", "shop", "-o", "json"]).await;
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("kubectl prints JSON");
    assert_eq!(listed["kind"], "List");
    assert_eq!(listed["items"][0]["kind"], "Pod");
    assert_eq!(listed["items"][0]["metadata"]["name"], "web");
    assert_eq!(listed["items"][0]["metadata"]["namespace"], "shop");

    let names = kubectl.ok(&["get", "namespaces", "-o", "name"]).await;
    for namespace in ["namespace/default", "namespace/shop"] {
        assert!(names.lines().any(|l| l == namespace), "{namespace} in:\n{names}");
    }

    // one object, a jsonpath into it, selectors and all namespaces
    let name = kubectl.ok(&["get", "pod", "web", "-n", "shop", "-o", "jsonpath={.metadata.labels.app}"]).await;
    assert_eq!(name, "web");
    let by_label = kubectl.ok(&["get", "pods", "-A", "-l", "app=web", "-o", "name"]).await;
    assert_eq!(by_label, "pod/web\n");
    let none = kubectl.ok(&["get", "pods", "-A", "-l", "app=db", "-o", "name"]).await;
    assert_eq!(none, "");
    let by_field = kubectl.ok(&["get", "pods", "-A", "--field-selector", "metadata.name=web", "-o", "name"]).await;
    assert_eq!(by_field, "pod/web\n");
    // `all` expands to the kinds discovery puts in that category
    let all = kubectl.ok(&["get", "all", "-n", "shop", "-o", "name"]).await;
    assert_eq!(all, "pod/web\n");
    let raw = kubectl.ok(&["get", "--raw", "/api/v1/namespaces/shop/pods?limit=1"]).await;
    let raw: serde_json::Value = serde_json::from_str(&raw).expect("raw JSON");
    assert_eq!(raw["kind"], "PodList");
    assert!(raw["metadata"]["resourceVersion"].as_str().is_some_and(|rv| !rv.is_empty()), "{raw}");

    // kubectl asks for a Table and falls back to the plain list it gets
    let table = kubectl.ok(&["get", "pods", "-n", "shop"]).await;
    assert!(table.lines().nth(1).is_some_and(|row| row.starts_with("web ")), "{table}");

    let missing = kubectl.fails(&["get", "pod", "nope", "-n", "shop"]).await;
    assert_eq!(missing.trim(), "Error from server (NotFound): pods \"nope\" not found");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_is_authenticated_and_authorized_as_on_the_grpc_face() {
    let cluster = secured(vec![AuthorizationMode::Node, AuthorizationMode::Rbac]).await;
    shop(&cluster).await;

    let jane = Kubectl::with_token(&cluster, TOKEN);
    let refused = jane.fails(&["get", "pods", "-n", "shop"]).await;
    assert_eq!(
        refused.trim(),
        "Error from server (Forbidden): pods is forbidden: User \"jane\" cannot list resource \"pods\" in API group \"\" in the namespace \"shop\""
    );

    let stranger = Kubectl::with_token(&cluster, "not-a-token");
    let refused = stranger.fails(&["get", "pods", "-n", "shop"]).await;
    // kubectl's words for a 401 on discovery, as against kube-apiserver
    let line =
        "error: You must be logged in to the server (the server has asked for the client to provide credentials)";
    assert_eq!(refused.lines().last(), Some(line), "{refused}");

    // the admin's certificate is in system:masters
    let admin = Kubectl::admin(&cluster);
    assert_eq!(admin.ok(&["get", "pods", "-n", "shop", "-o", "name"]).await, "pod/web\n");

    // the REST face is audited as the gRPC face is: who, what, and the answer
    let audited = |user: &'static str, code: u64| {
        let path = cluster.audit_log();
        move || {
            let path = path.clone();
            async move {
                let log = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
                log.lines()
                    .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                    .find(|e| {
                        e["user"]["username"] == user
                            && e["responseStatus"]["code"] == code
                            && e["objectRef"]["resource"] == "pods"
                            && e["requestURI"].as_str().is_some_and(|uri| uri.starts_with("/api/v1/"))
                    })
                    .ok_or_else(|| format!("no REST audit event for {user} answered {code}"))
            }
        }
    };
    let allowed = eventually("the admin's REST list in the audit log", TIMEOUT, audited("admin", 200)).await;
    assert_eq!(allowed["verb"], "list");
    let refused = eventually("jane's refused REST list in the audit log", TIMEOUT, audited("jane", 403)).await;
    assert_eq!(refused["objectRef"]["namespace"], "shop");
}

/// The next row a watching kubectl prints, with an upper bound so that a
/// broken watch fails the test instead of hanging it.
async fn next_row(rows: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>) -> String {
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), rows.next_line()).await;
    line.expect("kubectl printed a row in time").expect("kubectl's output").expect("a row before kubectl ended")
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_get_watch_prints_a_row_per_change() {
    use tokio::io::AsyncBufReadExt;
    let cluster = secured(vec![AuthorizationMode::AlwaysAllow]).await;
    shop(&cluster).await;
    let kubectl = Kubectl::admin(&cluster);

    // the raw stream: the current state as ADDED events, one JSON object a line
    let raw = kubectl.ok(&["get", "--raw", "/api/v1/namespaces/shop/pods?watch=true&timeoutSeconds=1"]).await;
    let first: serde_json::Value = serde_json::from_str(raw.lines().next().expect("an event")).expect("JSON");
    assert_eq!((first["type"].as_str(), first["object"]["metadata"]["name"].as_str()), (Some("ADDED"), Some("web")));

    let mut watching =
        tokio::process::Command::from(kubectl.command(&["get", "pods", "-n", "shop", "-w", "-o", "name"]))
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("kubectl get -w starts");
    let mut rows = tokio::io::BufReader::new(watching.stdout.take().expect("stdout")).lines();
    assert_eq!(next_row(&mut rows).await, "pod/web");
    let pods = ResourceRef { resource: "pods".into(), namespace: "shop".into(), ..Default::default() };
    let api = pod("api").namespace("shop").build();
    cluster.client.create(pods, api.into_object()).await.expect("pod api");
    assert_eq!(next_row(&mut rows).await, "pod/api");
    watching.kill().await.expect("kubectl stops");
}

/// A server without TLS (the loopback default) is read over HTTP/1.1.
#[tokio::test(flavor = "multi_thread")]
async fn kubectl_reads_a_plaintext_server_over_http1() {
    let cluster = TestCluster::start_open().await;
    shop(&cluster).await;
    let kubectl = Kubectl::anonymous(&cluster);
    assert!(cluster.url().starts_with("http://"), "{}", cluster.url());
    assert_eq!(kubectl.ok(&["get", "pods", "-n", "shop", "-o", "name"]).await, "pod/web\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_delete_returns_once_the_object_is_gone() {
    let cluster = secured(vec![AuthorizationMode::AlwaysAllow]).await;
    shop(&cluster).await;
    let service =
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n";
    let service = capstan_proto::object::parse_manifests("service.yaml", service).expect("a service").remove(0);
    let services = ResourceRef { resource: "services".into(), namespace: "shop".into(), ..Default::default() };
    cluster.client.create(services, service).await.expect("service web");
    let kubectl = Kubectl::admin(&cluster);

    // kubectl waits (on a watch) until each is gone; --timeout bounds a broken wait
    assert_eq!(
        kubectl.ok(&["delete", "service", "web", "-n", "shop", "--timeout=30s"]).await,
        "service \"web\" deleted\n"
    );
    assert_eq!(kubectl.ok(&["delete", "pod", "web", "-n", "shop", "--timeout=30s"]).await, "pod \"web\" deleted\n");
    let gone = kubectl.fails(&["get", "service,pod", "web", "-n", "shop"]).await;
    assert!(gone.contains("Error from server (NotFound): services \"web\" not found"), "{gone}");
    assert!(gone.contains("Error from server (NotFound): pods \"web\" not found"), "{gone}");
    let missing = kubectl.fails(&["delete", "pod", "web", "-n", "shop"]).await;
    assert_eq!(missing.trim(), "Error from server (NotFound): pods \"web\" not found");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_label_annotate_patch_and_scale_send_merge_patches() {
    let cluster = secured(vec![AuthorizationMode::AlwaysAllow]).await;
    shop(&cluster).await;
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n\
        spec: {replicas: 1, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, \
        spec: {containers: [{name: web, image: web}]}}}\n";
    let deployment = capstan_proto::object::parse_manifests("web.yaml", deployment).expect("a deployment").remove(0);
    let deployments = ResourceRef { resource: "deployments".into(), namespace: "shop".into(), ..Default::default() };
    cluster.client.create(deployments, deployment).await.expect("deployment web");
    let kubectl = Kubectl::admin(&cluster);

    assert_eq!(kubectl.ok(&["label", "pod", "web", "-n", "shop", "tier=front"]).await, "pod/web labeled\n");
    assert_eq!(kubectl.ok(&["annotate", "pod", "web", "-n", "shop", "note=hi"]).await, "pod/web annotated\n");
    let merge = r#"{"metadata":{"labels":{"tier":null,"track":"stable"}}}"#;
    assert_eq!(
        kubectl.ok(&["patch", "pod", "web", "-n", "shop", "--type=merge", "-p", merge]).await,
        "pod/web patched\n"
    );
    let labels = kubectl.ok(&["get", "pod", "web", "-n", "shop", "-o", "jsonpath={.metadata.labels}"]).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&labels).expect("labels"),
        serde_json::json!({"app": "web", "track": "stable"})
    );
    let note = kubectl.ok(&["get", "pod", "web", "-n", "shop", "-o", "jsonpath={.metadata.annotations.note}"]).await;
    assert_eq!(note, "hi");

    assert_eq!(
        kubectl.ok(&["scale", "deployment", "web", "-n", "shop", "--replicas=5"]).await,
        "deployment.apps/web scaled\n"
    );
    let replicas = kubectl.ok(&["get", "deployment", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}"]).await;
    assert_eq!(replicas, "5");

    // kubectl patch's default is a strategic merge patch: lists merge by key
    let strategic = r#"{"metadata":{"labels":{"track":"canary"}}}"#;
    assert_eq!(kubectl.ok(&["patch", "pod", "web", "-n", "shop", "-p", strategic]).await, "pod/web patched\n");
    // testkit's pod runs one container, `app`
    let image = r#"{"spec":{"containers":[{"name":"app","image":"web:2"}]}}"#;
    assert_eq!(kubectl.ok(&["patch", "pod", "web", "-n", "shop", "-p", image]).await, "pod/web patched\n");
    let images = kubectl.ok(&["get", "pod", "web", "-n", "shop", "-o", "jsonpath={.spec.containers[*].image}"]).await;
    assert_eq!(images, "web:2", "the container merged by name, not replaced");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_create_and_replace_are_validated_by_the_server() {
    let cluster = secured(vec![AuthorizationMode::AlwaysAllow]).await;
    shop(&cluster).await;
    let kubectl = Kubectl::admin(&cluster);
    let manifest = |name: &str, text: &str| {
        let path = kubectl.dir().join(name);
        std::fs::write(&path, text).expect("a manifest");
        path.display().to_string()
    };
    let api = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\n\
        spec: {selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}, \
        spec: {containers: [{name: api, image: 'api:1'}]}}}\n";
    let file = manifest("api.yaml", api);
    assert_eq!(kubectl.ok(&["create", "-f", &file]).await, "deployment.apps/api created\n");
    let again = kubectl.fails(&["create", "-f", &file]).await;
    // named with its group, as kube-apiserver names it
    assert_eq!(
        again.trim(),
        format!(
            "Error from server (AlreadyExists): error when creating \"{file}\": deployments.apps \"api\" already exists"
        )
    );

    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: shop}\nspec: {containers: [{name: bad, imagee: bad}]}\n";
    let bad = manifest("bad.yaml", pod);
    let refused = kubectl.fails(&["create", "-f", &bad]).await;
    assert_eq!(
        refused.trim(),
        format!(
            "Error from server (BadRequest): error when creating \"{bad}\": Pod in version \"v1\" cannot be handled as a Pod: \
             strict decoding error: unknown field \"spec.containers[0].imagee\""
        )
    );

    let file = manifest("api.yaml", &api.replace("api:1", "api:2"));
    assert_eq!(kubectl.ok(&["replace", "-f", &file]).await, "deployment.apps/api replaced\n");
    let path = "jsonpath={.spec.template.spec.containers[0].image}";
    assert_eq!(kubectl.ok(&["get", "deployment", "api", "-n", "shop", "-o", path]).await, "api:2");
}

/// `kubectl apply` of the README's shop: created, then unchanged (kubectl
/// finds nothing to patch), then configured with another replica count (a
/// strategic merge patch without lists), and a removed container leaves the
/// live object (a strategic merge patch of a list, merged by name).
#[tokio::test(flavor = "multi_thread")]
async fn kubectl_apply_creates_then_leaves_unchanged_then_configures_the_shop() {
    let cluster = secured(vec![AuthorizationMode::AlwaysAllow]).await;
    let kubectl = Kubectl::admin(&cluster);
    let shop = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shop.yaml");
    let objects = ["namespace/shop", "deployment.apps/web", "service/web", "pod/debug"];
    let printed = |verb: &str| objects.iter().map(|o| format!("{o} {verb}\n")).collect::<String>();
    assert_eq!(kubectl.ok(&["apply", "-f", shop]).await, printed("created"));
    assert_eq!(kubectl.ok(&["apply", "-f", shop]).await, printed("unchanged"));
    // a changed replica count is a strategic merge patch without lists
    let text = std::fs::read_to_string(shop).expect("the shop manifest");
    assert!(text.contains("replicas: 3"), "examples/shop.yaml sets replicas: 3");
    let scaled = kubectl.dir().join("shop.yaml");
    std::fs::write(&scaled, text.replace("replicas: 3", "replicas: 5")).expect("the changed manifest");
    let scaled = scaled.display().to_string();
    let printed_now = kubectl.ok(&["apply", "-f", &scaled]).await;
    assert_eq!(
        printed_now,
        "namespace/shop unchanged\ndeployment.apps/web configured\nservice/web unchanged\npod/debug unchanged\n"
    );
    let replicas = kubectl.ok(&["get", "deployment", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}"]).await;
    assert_eq!(replicas, "5");

    // the three-way merge: a container removed from the manifest leaves the live object
    let two = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\n\
        spec: {selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}, spec: {containers: [\
        {name: api, image: 'api:1', ports: [{containerPort: 80}]}, {name: sidecar, image: 'side:1'}]}}}\n";
    let api = kubectl.dir().join("api.yaml");
    std::fs::write(&api, two).expect("the manifest");
    let api = api.display().to_string();
    assert_eq!(kubectl.ok(&["apply", "-f", &api]).await, "deployment.apps/api created\n");
    let one = two.replace(", {name: sidecar, image: 'side:1'}", "").replace("api:1", "api:2");
    std::fs::write(&api, one).expect("the changed manifest");
    assert_eq!(kubectl.ok(&["apply", "-f", &api]).await, "deployment.apps/api configured\n");
    let path = "jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} {.ports[0].containerPort}{end}";
    assert_eq!(kubectl.ok(&["get", "deployment", "api", "-n", "shop", "-o", path]).await, "api=api:2 80");
    let applied = kubectl
        .ok(&[
            "get",
            "deployment",
            "web",
            "-n",
            "shop",
            "-o",
            "jsonpath={.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}",
        ])
        .await;
    let applied: serde_json::Value = serde_json::from_str(&applied).expect("the last applied configuration is JSON");
    assert_eq!(applied["kind"], "Deployment");
}

/// The same face over etcd: the REST face never touches the store, so one
/// round of apply, get, watch-backed delete shows the store is not its concern.
#[tokio::test(flavor = "multi_thread")]
async fn kubectl_applies_gets_and_deletes_on_etcd_too() {
    let Some(cluster) = TestCluster::start_behind(Backend::Etcd, Door::Secured, |_| {}).await else {
        return; // etcd is missing outside CI: the harness said so
    };
    let kubectl = Kubectl::admin(&cluster);
    let shop = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shop.yaml");
    assert!(kubectl.ok(&["apply", "-f", shop]).await.contains("deployment.apps/web created"));
    assert_eq!(kubectl.ok(&["get", "deployments", "-n", "shop", "-o", "name"]).await, "deployment.apps/web\n");
    assert_eq!(
        kubectl.ok(&["delete", "service", "web", "-n", "shop", "--timeout=30s"]).await,
        "service \"web\" deleted\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_auth_whoami_and_can_i_ask_the_review_service() {
    let cluster = secured(vec![AuthorizationMode::Node, AuthorizationMode::Rbac]).await;
    shop(&cluster).await;
    let admin = Kubectl::admin(&cluster);
    let whoami = admin.ok(&["auth", "whoami"]).await;
    assert!(whoami.lines().any(|l| l.split_whitespace().eq(["Username", "admin"])), "{whoami}");
    assert!(whoami.contains("system:masters"), "{whoami}");
    assert_eq!(admin.ok(&["auth", "can-i", "delete", "nodes"]).await, "yes\n");

    let jane = Kubectl::with_token(&cluster, TOKEN);
    let whoami = jane.ok(&["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]).await;
    assert_eq!(whoami, "jane");
    let asked = jane.run(&["auth", "can-i", "list", "pods", "-n", "shop"]).await;
    assert_eq!((asked.status.code(), String::from_utf8_lossy(&asked.stdout).trim()), (Some(1), "no"));
    // the admin asks on jane's behalf (impersonation, as on the gRPC face)
    let asked = admin.run(&["auth", "can-i", "list", "pods", "-n", "shop", "--as", "jane"]).await;
    assert_eq!((asked.status.code(), String::from_utf8_lossy(&asked.stdout).trim()), (Some(1), "no"));
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_get_prints_capstans_columns_from_server_side_tables() {
    use tokio::io::AsyncBufReadExt;
    let cluster = secured(vec![AuthorizationMode::Node, AuthorizationMode::Rbac]).await;
    shop(&cluster).await;
    let kubectl = Kubectl::admin(&cluster);
    let columns = |line: &str| line.split_whitespace().map(String::from).collect::<Vec<_>>();

    let printed = kubectl.ok(&["get", "pods", "-n", "shop"]).await;
    let mut lines = printed.lines();
    assert_eq!(columns(lines.next().expect("a header")), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(columns(lines.next().expect("a row")).first().map(String::as_str), Some("web"));

    // the wide columns are priority 1: only -o wide prints them
    let wide = kubectl.ok(&["get", "pods", "-n", "shop", "-o", "wide"]).await;
    let header = columns(wide.lines().next().expect("a header"));
    assert!(header.starts_with(&["NAME".into(), "READY".into()]) && header.contains(&"NODE".to_string()), "{wide}");

    // -A and --show-labels come from each row's PartialObjectMetadata
    let all = kubectl.ok(&["get", "pods", "-A", "--show-labels"]).await;
    let header = columns(all.lines().next().expect("a header"));
    assert_eq!(
        (header.first().map(String::as_str), header.last().map(String::as_str)),
        (Some("NAMESPACE"), Some("LABELS"))
    );

    // a watch prints the header, then a row per change
    let mut watching = tokio::process::Command::from(kubectl.command(&["get", "pods", "-n", "shop", "-w"]))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("kubectl get -w starts");
    let mut rows = tokio::io::BufReader::new(watching.stdout.take().expect("stdout")).lines();
    assert_eq!(columns(&next_row(&mut rows).await), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(columns(&next_row(&mut rows).await).first().map(String::as_str), Some("web"));
    let pods = ResourceRef { resource: "pods".into(), namespace: "shop".into(), ..Default::default() };
    cluster.client.create(pods, pod("api").namespace("shop").build().into_object()).await.expect("pod api");
    assert_eq!(columns(&next_row(&mut rows).await).first().map(String::as_str), Some("api"));
    watching.kill().await.expect("kubectl stops");
}
