//! `kubectl explain` (v1.32, OpenAPI v3 by default) against the REST face
//! of a secured API server: the schemas made from the protobuf descriptors
//! are what it prints, field by field and recursively; `/openapi/v3` lists
//! the group versions. With schemas served, kubectl still leaves validation
//! to the server (an unknown field is the server's strict error, naming its
//! path) and `kubectl apply` computes its strategic merge patches from them
//! (the README's shop applies unchanged, and a changed container merges by
//! name). Errors name a grouped resource with its group, as Kubernetes does.

use capstan_testkit::kubectl::Kubectl;
use capstan_testkit::{at, TestCluster};

/// Fails unless each of `want` is a whole line of `printed` (trailing spaces cut).
fn assert_lines(printed: &str, want: &[&str]) {
    let lines: Vec<&str> = printed.lines().map(str::trim_end).collect();
    let missing: Vec<&&str> = want.iter().filter(|w| !lines.contains(w)).collect();
    assert!(missing.is_empty(), "no line {missing:?} in:\n{printed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_explain_prints_a_field_its_description_and_its_fields() {
    let cluster = TestCluster::start().await;
    let kubectl = Kubectl::admin(&cluster);

    let strategy = kubectl.ok(&["explain", "deployment.spec.strategy"]).await;
    let header =
        ["GROUP:      apps", "KIND:       Deployment", "VERSION:    v1", "FIELD: strategy <DeploymentStrategy>"];
    assert_lines(&strategy, &header);
    // the field's comment, then its type's, from the .proto files
    assert!(strategy.contains("The deployment strategy to use to replace existing pods"), "{strategy}");
    assert!(strategy.contains("How a deployment replaces existing pods with new ones"), "{strategy}");
    assert_lines(&strategy, &["  rollingUpdate\t<RollingUpdateDeployment>", "  type\t<string>"]);
    assert!(strategy.contains("RollingUpdate (when left out) or Recreate"), "{strategy}");

    let rolling = kubectl.ok(&["explain", "deployment.spec.strategy.rollingUpdate.maxSurge"]).await;
    assert_lines(&rolling, &["FIELD: maxSurge <IntOrString>"]);
    assert!(rolling.contains("a number or a percentage; 25% when left out"), "{rolling}");

    let missing = kubectl.fails(&["explain", "deployment.spec.nope"]).await;
    assert_eq!(missing.trim(), "error: field \"nope\" does not exist");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_explain_recursive_walks_a_pods_containers() {
    let cluster = TestCluster::start().await;
    let kubectl = Kubectl::admin(&cluster);
    let containers = kubectl.ok(&["explain", "pods.spec.containers", "--recursive"]).await;
    assert_lines(
        &containers,
        &[
            "KIND:       Pod",
            "FIELD: containers <[]Container>",
            "  name\t<string> -required-",
            "  image\t<string>",
            "  ports\t<[]ContainerPort>",
            "    containerPort\t<integer> -required-",
            "  resources\t<ResourceRequirements>",
            "    limits\t<map[string]Quantity>",
            "  livenessProbe\t<Probe>",
            "      port\t<IntOrString> -required-",
            "  volumeMounts\t<[]VolumeMount>",
            "    mountPath\t<string> -required-",
        ],
    );
    assert!(!containers.contains("GROUP:"), "pods are in the core group: {containers}");
    assert!(containers.contains("The containers of the pod; there must be at least one"), "{containers}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_explain_a_kind_by_its_short_name() {
    let cluster = TestCluster::start().await;
    let kubectl = Kubectl::admin(&cluster);
    let service = kubectl.ok(&["explain", "svc"]).await;
    assert_lines(
        &service,
        &[
            "KIND:       Service",
            "VERSION:    v1",
            "  apiVersion\t<string>",
            "  metadata\t<ObjectMeta>",
            "  spec\t<ServiceSpec>",
            "  status\t<ServiceStatus>",
        ],
    );
    assert!(service.contains("A stable, load-balanced address for the pods its selector"), "{service}");
    // a cluster-scoped kind, and a creation time: a string, as Kubernetes' Time
    let node = kubectl.ok(&["explain", "node.metadata.creationTimestamp"]).await;
    assert_lines(&node, &["FIELD: creationTimestamp <string>"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_v3_lists_every_group_version_and_serves_its_schemas() {
    let cluster = TestCluster::start().await;
    let kubectl = Kubectl::admin(&cluster);
    let root = kubectl.ok(&["get", "--raw", "/openapi/v3"]).await;
    let root: serde_json::Value = serde_json::from_str(&root).expect("the root is JSON");
    let mut listed: Vec<&str> = root["paths"].as_object().expect("paths").keys().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "api/v1",
            "apis/apps/v1",
            "apis/autoscaling/v2",
            "apis/coordination.k8s.io/v1",
            "apis/discovery.k8s.io/v1",
            "apis/rbac.authorization.k8s.io/v1"
        ]
    );
    let apps = kubectl.ok(&["get", "--raw", "/openapi/v3/apis/apps/v1"]).await;
    let apps: serde_json::Value = serde_json::from_str(&apps).expect("apps/v1 is JSON");
    let containers = &apps["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    let gone = kubectl.fails(&["get", "--raw", "/openapi/v3/apis/batch/v1"]).await;
    assert!(gone.contains("NotFound"), "{gone}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_schemas_served_the_server_still_validates_and_apply_merges_by_them() {
    let cluster = TestCluster::start().await;
    let kubectl = Kubectl::admin(&cluster);
    // the README's shop, with no --validate flag (kubectl.rs applies it again and again)
    let shop = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shop.yaml");
    let created = kubectl.ok(&["apply", "-f", shop]).await;
    assert!(created.contains("deployment.apps/web created"), "{created}");
    // a changed image: kubectl's patch, made from the served schemas, merges the containers by name
    let text = std::fs::read_to_string(shop).expect("the shop manifest");
    assert!(text.contains("image: capstan/test:1"), "examples/shop.yaml runs capstan/test:1");
    let changed = kubectl.dir().join("shop.yaml");
    std::fs::write(&changed, text.replacen("image: capstan/test:1", "image: capstan/test:2", 1)).expect("a manifest");
    let configured = kubectl.ok(&["apply", "-f", &changed.display().to_string()]).await;
    assert!(configured.contains("deployment.apps/web configured"), "{configured}");
    let containers = "{.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].image}";
    let ports = " {.spec.template.spec.containers[0].ports[0].containerPort}";
    let jsonpath = format!("jsonpath={containers}{ports}");
    let live = kubectl.ok(&["get", "deployment", "web", "-n", "shop", "-o", &jsonpath]).await;
    assert_eq!(live, "web capstan/test:2 8080");

    // an unknown field is still the server's strict error, naming its path
    let bad = kubectl.dir().join("bad.yaml");
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: shop}\nspec: {containers: [{name: bad, imagee: x}]}\n";
    std::fs::write(&bad, pod).expect("a manifest");
    let refused = kubectl.fails(&["create", "-f", &bad.display().to_string()]).await;
    assert!(refused.starts_with("Error from server (BadRequest): error when creating"), "{refused}");
    assert!(refused.contains("strict decoding error: unknown field \"spec.containers[0].imagee\""), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_name_a_grouped_resource_with_its_group() {
    let cluster = TestCluster::start().await;
    let kubectl = Kubectl::admin(&cluster);
    let missing = kubectl.fails(&["get", "deployment", "nope", "-n", "default"]).await;
    assert_eq!(missing.trim(), "Error from server (NotFound): deployments.apps \"nope\" not found");
    let missing = kubectl.fails(&["get", "clusterrole", "nope"]).await;
    assert_eq!(
        missing.trim(),
        "Error from server (NotFound): clusterroles.rbac.authorization.k8s.io \"nope\" not found"
    );
    let missing = kubectl.fails(&["get", "pod", "nope", "-n", "default"]).await;
    assert_eq!(missing.trim(), "Error from server (NotFound): pods \"nope\" not found");

    // the gRPC face says the same words (its Status's details carry the group apart: error.rs's tests)
    let target = capstan_proto::api::v1::ResourceRef { name: "nope".into(), ..at("deployments", "default") };
    let refused = cluster.client.get(target).await.expect_err("no deployment nope");
    assert_eq!(refused.to_string(), "deployments.apps \"nope\" not found");
}
