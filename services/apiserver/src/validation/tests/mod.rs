//! Table-driven tests: each case is a manifest and the complete list of
//! errors it must produce (order aside), so a validator that stops at the
//! first problem, or reports one twice, fails.

mod hpa;
mod meta;
mod pod;
mod rbac;
mod service;
mod small_kinds;
mod workloads;

use super::{validate_create, validate_update, FieldError};
use capstan_proto::api::v1::Object;
use capstan_proto::object::parse_manifests;
use capstan_proto::ObjectExt;

pub const LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and \
     must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')";
pub const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' \
     or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";
pub const NAME_PART: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and \
     end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')";
pub const LABEL_VALUE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' \
     or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')";
pub const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";

pub fn object(yaml: &str) -> Object {
    let mut objects = parse_manifests("case.yaml", yaml).unwrap_or_else(|e| panic!("test manifest: {e}\n{yaml}"));
    assert_eq!(objects.len(), 1, "one object per case");
    objects.remove(0)
}

fn sorted(errors: Vec<FieldError>) -> Vec<String> {
    let mut shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    shown.sort();
    shown
}

fn compare(name: &str, got: Vec<FieldError>, want: &[String]) {
    let got = sorted(got);
    let mut want = want.to_vec();
    want.sort();
    if got != want {
        let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
        let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
        panic!("{name}:\n missing: {missing:#?}\n unexpected: {extra:#?}");
    }
}

/// Runs a table of (name, manifest, expected errors) through validate_create.
pub fn run_create(cases: &[(&str, String, Vec<String>)]) {
    for (name, yaml, want) in cases {
        compare(name, validate_create(&object(yaml)), want);
    }
}

/// Runs a table of (name, new manifest, expected errors) as updates of `old`.
pub fn run_update(old: &str, cases: &[(&str, String, Vec<String>)]) {
    let old = object(old);
    for (name, yaml, want) in cases {
        compare(name, validate_update(&object(yaml), &old), want);
    }
}

/// Shorthand for an expected-error list.
#[macro_export]
macro_rules! errs {
    ($($e:expr),* $(,)?) => { vec![$(String::from($e)),*] };
}

const VALID: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  annotations: {deployment.kubernetes.io/revision: "1", example.com/Owner: "a b c"}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: In, values: [frontend]}]
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: web, tier: frontend}
    spec:
      volumes:
      - {name: cache, emptyDir: {}}
      - {name: conf, configMap: {name: web-conf, items: [{key: a, path: conf/a.yaml}]}}
      initContainers:
      - {name: init, image: busybox:1.36, command: [sh, -c, "true"]}
      containers:
      - name: web
        image: capstan/test:1
        ports:
        - {name: http, containerPort: 8080}
        - {name: metrics, containerPort: 9090, protocol: TCP}
        env:
        - {name: MODE, value: prod}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: CPU
          valueFrom: {resourceFieldRef: {resource: limits.cpu}}
        resources:
          requests: {cpu: 250m, memory: 64Mi}
          limits: {cpu: 1, memory: 128Mi}
        volumeMounts:
        - {name: cache, mountPath: /cache}
        - {name: conf, mountPath: /etc/web, readOnly: true}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          initialDelaySeconds: 2
        livenessProbe:
          tcpSocket: {port: 8080}
          failureThreshold: 5
        lifecycle:
          preStop: {exec: {command: [sleep, "5"]}}
      nodeSelector: {kubernetes.io/os: linux}
      tolerations:
      - {key: dedicated, operator: Equal, value: web, effect: NoSchedule}
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 60}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - {key: cores, operator: Gt, values: ["2"]}
              - {key: zone, operator: In, values: [a, b]}
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 10
            preference: {matchExpressions: [{key: ssd, operator: Exists}]}
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector: {matchLabels: {app: web}}
              topologyKey: kubernetes.io/hostname
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-7d9f8c, namespace: shop, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: "1234", controller: true}]}
spec:
  replicas: 0
  selector: {matchLabels: {app: web, pod-template-hash: 7d9f8c}}
  template:
    metadata: {labels: {app: web, pod-template-hash: 7d9f8c}}
    spec: {containers: [{name: web, image: "capstan/test:1"}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http, nodePort: 30080}
  - {name: metrics, port: 9090, protocol: TCP}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: shop}
spec: {type: ExternalName, externalName: db.example.com}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, generateName: debug-}
spec:
  restartPolicy: Never
  containers: [{name: sh, image: "busybox", stdin: true, tty: true}]
---
apiVersion: v1
kind: Node
metadata: {name: node-1.example.com, labels: {kubernetes.io/hostname: node-1}}
spec:
  podCIDR: 10.244.1.0/24
  taints:
  - {key: dedicated, value: web, effect: NoSchedule}
  - {key: dedicated, value: web, effect: NoExecute}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: shop}
subsets:
- addresses: [{ip: 10.244.1.5, nodeName: node-1}]
  notReadyAddresses: [{ip: 10.244.1.6}]
  ports: [{name: http, port: 8080}, {name: metrics, port: 9090, protocol: TCP}]
---
apiVersion: v1
kind: Event
metadata: {name: web.17a, namespace: shop}
involvedObject: {kind: Pod, name: web, namespace: shop}
reason: Scheduled
type: Normal
count: 1
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: node-1, namespace: kube-node-lease}
spec: {holderIdentity: node-1, leaseDurationSeconds: 40}
---
apiVersion: autoscaling/v1
kind: Scale
metadata: {name: web, namespace: shop}
spec: {replicas: 5}
---
apiVersion: v1
kind: Binding
metadata: {name: web, namespace: shop}
target: {kind: Node, name: node-1}
"#;

#[test]
fn typical_kubernetes_manifests_are_valid_before_and_after_defaulting() {
    let objects = parse_manifests("valid.yaml", VALID).expect("manifests decode");
    assert_eq!(objects.len(), 13);
    for object in objects {
        let name = object.key_name();
        let kind = object.kind_name();
        assert_eq!(sorted(validate_create(&object)), Vec::<String>::new(), "{kind} {name}");
        let mut defaulted = object.clone();
        crate::defaults::apply_defaults(&mut defaulted);
        assert_eq!(sorted(validate_create(&defaulted)), Vec::<String>::new(), "{kind} {name} defaulted");
        assert_eq!(sorted(validate_update(&defaulted, &defaulted)), Vec::<String>::new(), "{kind} {name} update");
    }
}

#[test]
fn errors_print_like_kubectl() {
    use super::{FieldErrorKind, Path};
    let path = Path::new("spec").child("containers").index(0).child("name");
    let cases = [
        (FieldError::required(&path, ""), "spec.containers[0].name: Required value", "FieldValueRequired"),
        (
            FieldError::invalid("metadata.name", "Bad_Name", "bad"),
            "metadata.name: Invalid value: \"Bad_Name\": bad",
            "FieldValueInvalid",
        ),
        (
            FieldError::not_supported("spec.restartPolicy", "Sometimes", &["Always", "OnFailure", "Never"]),
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            "FieldValueNotSupported",
        ),
        (FieldError::duplicate("spec.ports[1].name", "http"), "spec.ports[1].name: Duplicate value: \"http\"", "FieldValueDuplicate"),
        (FieldError::forbidden("spec", "no"), "spec: Forbidden: no", "FieldValueForbidden"),
        (
            FieldError::too_long("metadata.annotations", 262144),
            "metadata.annotations: Too long: may not be more than 262144 bytes",
            "FieldValueTooLong",
        ),
        (FieldError::invalid("spec.replicas", -1, "neg"), "spec.replicas: Invalid value: -1: neg", "FieldValueInvalid"),
    ];
    for (error, shown, reason) in cases {
        assert_eq!(error.to_string(), shown);
        assert_eq!(error.reason(), reason);
        assert_eq!(format!("{}: {}", error.path, error.body()), shown);
    }
    assert_eq!(FieldError::required("x", "").kind, FieldErrorKind::Required);
}
