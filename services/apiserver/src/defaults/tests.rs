//! Defaulting by kind, table-driven, and the pure helpers beside it.

use super::*;
use capstan_proto::object::parse_manifests;
use capstan_proto::ObjectExt;
use serde_json::{json, Value};

/// (name, manifest, [(JSON pointer, expected value after defaulting)])
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, Value)>);

/// Defaults `yaml` and returns its JSON form.
fn defaulted(yaml: &str) -> Value {
    let mut objects = parse_manifests("test.yaml", yaml).expect("test manifest decodes");
    assert_eq!(objects.len(), 1);
    apply_defaults(&mut objects[0]);
    objects[0].to_json()
}

const POD: &str = "
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  containers:
  - name: web
    image: capstan/web:1.2
    ports: [{containerPort: 8080}]
    livenessProbe: {httpGet: {port: 8080}}
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 5}
  - {name: sidecar, image: capstan/sidecar}
  - {name: latest, image: 'registry:5000/x/y:latest'}
  - {name: digest, image: 'busybox@sha256:abc'}
  - {name: pinned, image: busybox, imagePullPolicy: Never}
  volumes: [{name: scratch}, {name: conf, configMap: {name: conf}}]
";

#[test]
fn default_tolerations_unless_the_pod_has_its_own() {
    let tolerations = |yaml: &str, seconds: TolerationSeconds| {
        let mut objects = parse_manifests("pod.yaml", yaml).expect("test manifest decodes");
        let Some(Kind::Pod(pod)) = &mut objects[0].kind else { panic!("a pod") };
        default_tolerations(pod, seconds);
        objects[0].to_json().pointer("/spec/tolerations").cloned().unwrap_or(Value::Null)
    };
    let pod = |tolerations: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{containers: [{{name: c}}], tolerations: {tolerations}}}")
    };
    let own_unreachable =
        "[{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}]";
    let cases = [
        (
            "both added with their own seconds",
            pod("[]"),
            TolerationSeconds { not_ready: 300, unreachable: 60 },
            json!([
                {"key": NOT_READY_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60},
            ]),
        ),
        (
            "the pod's own unreachable toleration is kept",
            pod(own_unreachable),
            TolerationSeconds::default(),
            json!([
                {"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2},
                {"key": NOT_READY_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            ]),
        ),
        (
            "tolerate-all keeps tolerations",
            pod("[{operator: Exists}]"),
            TolerationSeconds::default(),
            json!([{"operator": "Exists"}]),
        ),
    ];
    for (name, yaml, seconds, want) in cases {
        assert_eq!(tolerations(&yaml, seconds), want, "{name}");
    }
    let defaulted_only = defaulted(POD);
    let added = defaulted_only.pointer("/spec/tolerations").and_then(Value::as_array).map_or(0, Vec::len);
    assert_eq!(added, 0, "defaulting (which updates run too) adds no tolerations");
}

#[test]
fn defaults_by_kind() {
    let cases: Vec<Case> = vec![
        (
            "pod spec",
            POD,
            vec![
                ("/spec/restartPolicy", json!("Always")),
                ("/spec/dnsPolicy", json!("ClusterFirst")),
                ("/spec/terminationGracePeriodSeconds", json!(30)),
                ("/spec/schedulerName", json!("default-scheduler")),
                ("/spec/enableServiceLinks", json!(true)),
                ("/status/phase", json!("Pending")),
                ("/status/qosClass", json!("BestEffort")),
                ("/spec/volumes/0/emptyDir", json!({})),
                ("/spec/volumes/1/configMap/defaultMode", json!(420)),
            ],
        ),
        (
            "containers",
            POD,
            vec![
                ("/spec/containers/0/imagePullPolicy", json!("IfNotPresent")),
                ("/spec/containers/1/imagePullPolicy", json!("Always")),
                ("/spec/containers/2/imagePullPolicy", json!("Always")),
                ("/spec/containers/3/imagePullPolicy", json!("IfNotPresent")),
                ("/spec/containers/4/imagePullPolicy", json!("Never")),
                ("/spec/containers/0/ports/0/protocol", json!("TCP")),
                ("/spec/containers/0/terminationMessagePath", json!("/dev/termination-log")),
                ("/spec/containers/0/terminationMessagePolicy", json!("File")),
            ],
        ),
        (
            "probes",
            POD,
            vec![
                (
                    "/spec/containers/0/livenessProbe",
                    json!({
                        "httpGet": {"path": "/", "port": 8080, "scheme": "HTTP"},
                        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3,
                    }),
                ),
                ("/spec/containers/0/readinessProbe/periodSeconds", json!(5)),
            ],
        ),
        (
            "deployment",
            "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web}]}
",
            vec![
                ("/spec/replicas", json!(1)),
                (
                    "/spec/strategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
                ),
                ("/spec/revisionHistoryLimit", json!(10)),
                ("/spec/progressDeadlineSeconds", json!(600)),
                ("/spec/template/spec/restartPolicy", json!("Always")),
                ("/spec/template/spec/containers/0/imagePullPolicy", json!("Always")),
                ("/spec/template/spec/tolerations", Value::Null),
            ],
        ),
        (
            "recreate deployment gets no rollingUpdate",
            "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 0
  strategy: {type: Recreate}
",
            vec![("/spec/replicas", json!(0)), ("/spec/strategy", json!({"type": "Recreate"}))],
        ),
        (
            "replicaset",
            "
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: default}
spec:
  template: {spec: {containers: [{name: web, image: web:2, ports: [{containerPort: 80}]}]}}
",
            vec![
                ("/spec/replicas", json!(1)),
                ("/spec/template/spec/containers/0/ports/0/protocol", json!("TCP")),
                ("/spec/template/spec/dnsPolicy", json!("ClusterFirst")),
            ],
        ),
        (
            "service",
            "
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  ports: [{port: 80}, {port: 443, targetPort: https, protocol: UDP}]
",
            vec![
                ("/spec/type", json!("ClusterIP")),
                ("/spec/sessionAffinity", json!("None")),
                (
                    "/spec/ports",
                    json!([
                        {"port": 80, "protocol": "TCP", "targetPort": 80},
                        {"port": 443, "protocol": "UDP", "targetPort": "https"},
                    ]),
                ),
                ("/spec/internalTrafficPolicy", json!("Cluster")),
                ("/spec/externalTrafficPolicy", Value::Null),
                ("/spec/ipFamilies", json!(["IPv4"])),
                ("/spec/ipFamilyPolicy", json!("SingleStack")),
            ],
        ),
        (
            "node port service with client ip affinity",
            "
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {type: NodePort, sessionAffinity: ClientIP, clusterIP: 10.96.0.10, ports: [{port: 80}]}
",
            vec![
                ("/spec/externalTrafficPolicy", json!("Cluster")),
                ("/spec/sessionAffinityConfig", json!({"clientIP": {"timeoutSeconds": 10800}})),
                ("/spec/clusterIPs", json!(["10.96.0.10"])),
            ],
        ),
        (
            "external name service",
            "
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec: {type: ExternalName, externalName: db.example.com}
",
            vec![("/spec/internalTrafficPolicy", Value::Null), ("/spec/ipFamilies", Value::Null)],
        ),
        (
            "namespace",
            "
apiVersion: v1
kind: Namespace
metadata: {name: shop}
",
            vec![("/spec/finalizers", json!(["kubernetes"])), ("/status/phase", json!("Active"))],
        ),
        (
            "terminating namespace keeps no finalizer",
            "
apiVersion: v1
kind: Namespace
metadata: {name: shop, deletionTimestamp: '2026-01-01T00:00:00Z'}
status: {phase: Terminating}
",
            vec![("/spec/finalizers", Value::Null), ("/status/phase", json!("Terminating"))],
        ),
    ];
    for (name, yaml, expectations) in cases {
        let json = defaulted(yaml);
        for (pointer, want) in expectations {
            let got = json.pointer(pointer).cloned().unwrap_or(Value::Null);
            assert_eq!(got, want, "{name}: {pointer}");
        }
    }
}

#[test]
fn qos_classes() {
    let pod = |resources: &[&str]| {
        let containers: Vec<String> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| format!("{{name: c{i}, image: busybox, resources: {r}}}"))
            .collect();
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: d}}\nspec: {{containers: [{}]}}",
            containers.join(", ")
        )
    };
    let cases = [
        (vec!["{}"], "BestEffort"),
        (vec!["{limits: {cpu: 1, memory: 1Gi}}"], "Guaranteed"),
        (vec!["{limits: {cpu: 1, memory: 1Gi}, requests: {cpu: 1000m, memory: 1Gi}}"], "Guaranteed"),
        (vec!["{limits: {cpu: 1, memory: 1Gi}, requests: {cpu: 500m}}"], "Burstable"),
        (vec!["{requests: {cpu: 100m}}"], "Burstable"),
        (vec!["{limits: {cpu: 1}}"], "Burstable"),
        (vec!["{limits: {cpu: 1, memory: 1Gi}}", "{}"], "Burstable"),
        (vec!["{limits: {cpu: 1, memory: 1Gi}}", "{limits: {cpu: 2, memory: 2Gi}}"], "Guaranteed"),
        (vec!["{requests: {example.com/gpu: 1}}"], "BestEffort"),
    ];
    for (resources, want) in cases {
        let json = defaulted(&pod(&resources));
        assert_eq!(json["status"]["qosClass"], want, "{resources:?}");
    }
}

#[test]
fn image_pull_policies() {
    for (image, want) in [
        ("busybox", "Always"),
        ("busybox:latest", "Always"),
        ("busybox:1.36", "IfNotPresent"),
        ("localhost:5000/busybox", "Always"),
        ("localhost:5000/busybox:1", "IfNotPresent"),
        ("busybox@sha256:0123", "IfNotPresent"),
        ("busybox:latest@sha256:0123", "Always"),
    ] {
        assert_eq!(image_pull_policy(image), want, "{image}");
    }
}

#[test]
fn defaulting_twice_changes_nothing() {
    let mut objects = parse_manifests("pod.yaml", POD).expect("decodes");
    apply_defaults(&mut objects[0]);
    let once = objects[0].clone();
    apply_defaults(&mut objects[0]);
    assert_eq!(objects[0], once);
    assert_eq!(objects[0].meta().name, "web");
}
