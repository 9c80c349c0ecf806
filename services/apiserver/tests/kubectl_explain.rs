//! `kubectl explain` (v1.32, OpenAPI v3 by default) against the REST face
//! of a secured API server: the schemas made from the protobuf descriptors
//! are what it prints, field by field and recursively; `/openapi/v3` lists
//! the group versions. With schemas served, kubectl still leaves validation
//! to the server (an unknown field is the server's strict error, naming its
//! path) and `kubectl apply` computes its strategic merge patches from them
//! (the README's shop applies unchanged, and a changed container merges by
//! name). Errors name a grouped resource with its group, as Kubernetes does.

use capstan_testkit::kubectl::Kubectl;
use capstan_testkit::TestCluster;

/// The lines of `printed` with their trailing spaces cut, for exact matches.
fn lines(printed: &str) -> Vec<&str> {
    printed.lines().map(str::trim_end).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_explain_prints_a_field_its_description_and_its_fields() {
    let cluster = TestCluster::start().await;
    let kubectl = Kubectl::admin(&cluster);

    let strategy = kubectl.ok(&["explain", "deployment.spec.strategy"]).await;
    let printed = lines(&strategy);
    for line in ["GROUP:      apps", "KIND:       Deployment", "VERSION:    v1", "FIELD: strategy <DeploymentStrategy>"]
    {
        assert!(printed.contains(&line), "no {line:?} in:\n{strategy}");
    }
    // the field's comment, then its type's, from the .proto files
    assert!(strategy.contains("The deployment strategy to use to replace existing pods"), "{strategy}");
    assert!(strategy.contains("How a deployment replaces existing pods with new ones"), "{strategy}");
    assert!(printed.contains(&"  rollingUpdate\t<RollingUpdateDeployment>"), "{strategy}");
    assert!(printed.contains(&"  type\t<string>"), "{strategy}");
    assert!(strategy.contains("RollingUpdate (when left out) or Recreate"), "{strategy}");

    let rolling = kubectl.ok(&["explain", "deployment.spec.strategy.rollingUpdate.maxSurge"]).await;
    assert!(lines(&rolling).contains(&"FIELD: maxSurge <IntOrString>"), "{rolling}");
    assert!(rolling.contains("a number or a percentage; 25% when left out"), "{rolling}");

    let missing = kubectl.fails(&["explain", "deployment.spec.nope"]).await;
    assert_eq!(missing.trim(), "error: field \"nope\" does not exist");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_explain_recursive_walks_a_pods_containers() {
    let cluster = TestCluster::start().await;
    let kubectl = Kubectl::admin(&cluster);
    let containers = kubectl.ok(&["explain", "pods.spec.containers", "--recursive"]).await;
    let printed = lines(&containers);
    for line in [
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
    ] {
        assert!(printed.contains(&line), "no {line:?} in:\n{containers}");
    }
    assert!(!printed.contains(&"GROUP:      "), "pods are in the core group: {containers}");
    assert!(containers.contains("The containers of the pod; there must be at least one"), "{containers}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_explain_a_kind_by_its_short_name() {
    let cluster = TestCluster::start().await;
    let kubectl = Kubectl::admin(&cluster);
    let service = kubectl.ok(&["explain", "svc"]).await;
    let printed = lines(&service);
    for line in [
        "KIND:       Service",
        "VERSION:    v1",
        "  apiVersion\t<string>",
        "  metadata\t<ObjectMeta>",
        "  spec\t<ServiceSpec>",
        "  status\t<ServiceStatus>",
    ] {
        assert!(printed.contains(&line), "no {line:?} in:\n{service}");
    }
    assert!(service.contains("A stable, load-balanced address for the pods its selector"), "{service}");
    // a cluster-scoped kind, and a creation time: a string, as Kubernetes' Time
    let node = kubectl.ok(&["explain", "node.metadata.creationTimestamp"]).await;
    assert!(lines(&node).contains(&"FIELD: creationTimestamp <string>"), "{node}");
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
    let manifest = |name: &str, text: &str| {
        let path = kubectl.dir().join(name);
        std::fs::write(&path, text).expect("a manifest");
        path.display().to_string()
    };
    // the README's shop, with no --validate flag
    let shop = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shop.yaml");
    let objects = ["namespace/shop", "deployment.apps/web", "service/web", "pod/debug"];
    let printed = |verb: &str| objects.iter().map(|o| format!("{o} {verb}\n")).collect::<String>();
    assert_eq!(kubectl.ok(&["apply", "-f", shop]).await, printed("created"));
    assert_eq!(kubectl.ok(&["apply", "-f", shop]).await, printed("unchanged"));
    // a changed image: kubectl's patch, made from the schemas, merges the containers by name
    let text = std::fs::read_to_string(shop).expect("the shop manifest");
    assert!(text.contains("image: capstan/test:1"), "examples/shop.yaml runs capstan/test:1");
    let changed = manifest("shop.yaml", &text.replacen("image: capstan/test:1", "image: capstan/test:2", 1));
    let configured = kubectl.ok(&["apply", "-f", &changed]).await;
    assert!(configured.contains("deployment.apps/web configured"), "{configured}");
    let path =
        "jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}";
    assert_eq!(kubectl.ok(&["get", "deployment", "web", "-n", "shop", "-o", path]).await, "capstan/test:2 8080");

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
    let target = capstan_proto::api::v1::ResourceRef {
        resource: "deployments".into(),
        namespace: "default".into(),
        name: "nope".into(),
        ..Default::default()
    };
    let refused = cluster.client.get(target).await.expect_err("no deployment nope");
    assert_eq!(refused.to_string(), "deployments.apps \"nope\" not found");
}
