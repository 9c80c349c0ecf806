//! Kubernetes manifests decode unchanged and print back in Kubernetes' shape;
//! unknown or malformed fields are refused with their path.

use capstan_proto::object::{parse_manifests, DecodeError};
use capstan_proto::{ObjectExt, Resource};

const MANIFEST: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: capstan/test:1
        ports:
        - {name: http, containerPort: 8080}
        resources:
          requests: {cpu: 250m, memory: 64Mi}
          limits: {cpu: 1, memory: 128Mi}
        readinessProbe:
          httpGet: {path: /, port: http}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {port: 80, targetPort: http}
"#;

#[test]
fn kubernetes_manifest_decodes_and_prints_back() {
    let objects = parse_manifests("app.yaml", MANIFEST).expect("decodes");
    assert_eq!(objects.len(), 3);
    let deployment = capstan_proto::apps::v1::Deployment::from_object_ref(&objects[1]).expect("deployment");
    let spec = deployment.spec.as_ref().expect("spec");
    assert_eq!(spec.replicas, Some(3));
    let json = objects[1].to_json();
    assert_eq!(json["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(json["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 1);
    assert_eq!(json["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"], "1");
    assert_eq!(json["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"], "http");
    assert_eq!(json["apiVersion"], "apps/v1");
    assert_eq!(json["kind"], "Deployment");
    // empty fields are left out, as Kubernetes' omitempty does
    assert!(json["spec"].get("paused").is_none());
    let service = objects[2].to_json();
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
    assert_eq!(objects[2].key_name(), "shop/web");
}

#[test]
fn acronym_fields_use_kubernetes_names() {
    let pod = parse_manifests(
        "pod.json",
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"podIP":"10.0.0.2","hostIP":"1.2.3.4"}}"#,
    )
    .expect("decodes");
    let json = pod[0].to_json();
    assert_eq!(json["status"]["podIP"], "10.0.0.2");
    assert_eq!(json["status"]["hostIP"], "1.2.3.4");
}

#[test]
fn unknown_field_is_named_by_path() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    imagee: x\n";
    let err = parse_manifests("pod.yaml", text).expect_err("refused");
    assert_eq!(
        err,
        DecodeError::UnknownField { doc: "pod.yaml (document 1)".into(), path: "spec.containers[0].imagee".into() }
    );
    assert_eq!(err.to_string(), "pod.yaml (document 1): unknown field \"spec.containers[0].imagee\"");
}

#[test]
fn wrong_types_and_kinds_are_explained() {
    let err = parse_manifests("x.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: 3}\n")
        .expect_err("refused");
    assert!(err.to_string().starts_with("x.yaml (document 1): spec.containers: invalid type"), "{err}");
    let err = parse_manifests("x.yaml", "apiVersion: v9\nkind: Widget\n").expect_err("refused");
    assert!(err.to_string().contains("no kind \"Widget\""), "{err}");
    let err = parse_manifests("x.yaml", "kind: Pod\n").expect_err("refused");
    assert!(err.to_string().contains("apiVersion is required"), "{err}");
}

#[test]
fn nulls_and_lists_are_accepted() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a, labels: null}\n";
    let objects = parse_manifests("list.yaml", text).expect("decodes");
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].meta().name, "a");
}

/// RBAC objects as the Kubernetes documentation writes them.
const RBAC: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  namespace: shop
  name: pod-reader
rules:
- apiGroups: [""]
  resources: ["pods", "pods/log"]
  verbs: ["get", "watch", "list"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  resourceNames: ["web"]
  verbs: ["get", "update"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: read-pods
  namespace: shop
subjects:
- kind: User
  name: jane
  apiGroup: rbac.authorization.k8s.io
- kind: Group
  name: devs
  apiGroup: rbac.authorization.k8s.io
- kind: ServiceAccount
  name: ci
  namespace: shop
roleRef:
  kind: Role
  name: pod-reader
  apiGroup: rbac.authorization.k8s.io
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: monitoring
aggregationRule:
  clusterRoleSelectors:
  - matchLabels:
      rbac.example.com/aggregate-to-monitoring: "true"
rules:
- nonResourceURLs: ["/metrics"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: read-secrets-global
subjects:
- kind: Group
  name: manager
  apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: ClusterRole
  name: secret-reader
  apiGroup: rbac.authorization.k8s.io
"#;

#[test]
fn rbac_manifests_decode_and_print_back() {
    let objects = parse_manifests("rbac.yaml", RBAC).expect("decodes");
    let kinds: Vec<&str> = objects.iter().map(|o| o.kind_name()).collect();
    assert_eq!(kinds, ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]);
    let role = objects[0].to_json();
    assert_eq!(role["apiVersion"], "rbac.authorization.k8s.io/v1");
    assert_eq!(role["rules"][0]["apiGroups"], serde_json::json!([""]));
    assert_eq!(role["rules"][1]["resourceNames"], serde_json::json!(["web"]));
    let binding = objects[1].to_json();
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(
        binding["subjects"][2],
        serde_json::json!({"kind": "ServiceAccount", "name": "ci", "namespace": "shop"})
    );
    let cluster_role = objects[2].to_json();
    assert_eq!(cluster_role["rules"][0]["nonResourceURLs"], serde_json::json!(["/metrics"]));
    assert!(cluster_role["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"].is_object());
    let again = capstan_proto::object::from_json("again", binding).expect("round trip");
    assert_eq!(again, objects[1]);
}
