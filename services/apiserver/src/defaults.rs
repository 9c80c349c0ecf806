//! Defaulting, as Kubernetes does it, so a stored object says what it means.
//!
//! Controllers, the scheduler and the kubelet read stored objects and must
//! not each guess that a missing `restartPolicy` means `Always`; the API
//! server writes the defaults in once, before validation. Only pure defaults
//! live here; those that need the store (namespace, uid, cluster IP and node
//! port allocation) are the registry's.

use capstan_proto::api::v1::{object::Kind, Object};
use capstan_proto::apps::v1::{Deployment, DeploymentStrategy, ReplicaSet, RollingUpdateDeployment};
use capstan_proto::core::v1::{
    ClientIpConfig, Container, EmptyDirVolumeSource, HttpGetAction, Lifecycle, Namespace, NamespaceSpec,
    NamespaceStatus, Pod, PodSpec, PodStatus, PodTemplateSpec, Probe, Service, SessionAffinityConfig, Toleration,
};
use capstan_proto::meta::v1::IntOrString;
use std::collections::BTreeMap;

mod hpa;
pub use hpa::DEFAULT_CPU_UTILIZATION;

/// Seconds a pod stays bound to a not-ready or unreachable node.
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;
pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
/// ClientIP session affinity's default stickiness: three hours.
pub const DEFAULT_CLIENT_IP_TIMEOUT: i32 = 10800;

/// Fills every unset field that Kubernetes defaults, for any kind.
pub fn apply_defaults(obj: &mut Object) {
    match &mut obj.kind {
        Some(Kind::Pod(pod)) => pod_defaults(pod),
        Some(Kind::Deployment(d)) => deployment(d),
        Some(Kind::ReplicaSet(rs)) => replica_set(rs),
        Some(Kind::Service(svc)) => service(svc),
        Some(Kind::HorizontalPodAutoscaler(h)) => hpa::hpa(h),
        Some(Kind::Namespace(ns)) => namespace(ns),
        Some(Kind::Endpoints(ep)) => {
            for port in ep.subsets.iter_mut().flat_map(|s| s.ports.iter_mut()) {
                set_if_empty(&mut port.protocol, "TCP");
            }
        }
        Some(Kind::Node(node)) => {
            if let Some(status) = node.status.as_mut().filter(|s| s.allocatable.is_empty()) {
                status.allocatable = status.capacity.clone();
            }
        }
        _ => {}
    }
}

fn set_if_empty(field: &mut String, value: &str) {
    if field.is_empty() {
        *field = value.to_string();
    }
}

fn pod_defaults(pod: &mut Pod) {
    let spec = pod.spec.get_or_insert_with(Default::default);
    pod_spec(spec);
    for c in spec.init_containers.iter_mut().chain(spec.containers.iter_mut()) {
        requests_from_limits(c);
    }
    let qos = qos_class(spec);
    let status = pod.status.get_or_insert_with(PodStatus::default);
    set_if_empty(&mut status.phase, "Pending");
    status.qos_class = qos.to_string();
}

/// The defaults of a pod spec, also of templates in Deployments and
/// ReplicaSets.
pub fn pod_spec(spec: &mut PodSpec) {
    set_if_empty(&mut spec.restart_policy, "Always");
    set_if_empty(&mut spec.dns_policy, "ClusterFirst");
    set_if_empty(&mut spec.scheduler_name, "default-scheduler");
    spec.termination_grace_period_seconds.get_or_insert(30);
    spec.enable_service_links.get_or_insert(true);
    let host_network = spec.host_network;
    for c in spec.init_containers.iter_mut().chain(spec.containers.iter_mut()) {
        container(c, host_network);
    }
    for volume in &mut spec.volumes {
        let sources = [
            volume.empty_dir.is_some(),
            volume.host_path.is_some(),
            volume.config_map.is_some(),
            volume.secret.is_some(),
        ];
        if !sources.contains(&true) {
            volume.empty_dir = Some(EmptyDirVolumeSource::default());
        }
        if let Some(config_map) = &mut volume.config_map {
            config_map.default_mode.get_or_insert(0o644);
        }
        if let Some(secret) = &mut volume.secret {
            secret.default_mode.get_or_insert(0o644);
        }
    }
}

/// `Always` for `:latest` or untagged images (without a digest), else
/// `IfNotPresent`.
pub fn image_pull_policy(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':').map(|(_, tag)| tag) {
        Some("latest") => "Always",
        Some(_) => "IfNotPresent",
        None if digest.is_some() => "IfNotPresent",
        None => "Always",
    }
}

fn container(c: &mut Container, host_network: bool) {
    if c.image_pull_policy.is_empty() {
        c.image_pull_policy = image_pull_policy(&c.image).to_string();
    }
    set_if_empty(&mut c.termination_message_path, "/dev/termination-log");
    set_if_empty(&mut c.termination_message_policy, "File");
    for port in &mut c.ports {
        set_if_empty(&mut port.protocol, "TCP");
        if host_network && port.host_port == 0 {
            port.host_port = port.container_port;
        }
    }
    for probe in [&mut c.liveness_probe, &mut c.readiness_probe, &mut c.startup_probe].into_iter().flatten() {
        self::probe(probe);
    }
    if let Some(Lifecycle { post_start, pre_stop }) = &mut c.lifecycle {
        for hook in [post_start, pre_stop].into_iter().flatten() {
            if let Some(http) = &mut hook.http_get {
                http_get(http);
            }
        }
    }
}

fn probe(p: &mut Probe) {
    for (field, default) in [
        (&mut p.timeout_seconds, 1),
        (&mut p.period_seconds, 10),
        (&mut p.success_threshold, 1),
        (&mut p.failure_threshold, 3),
    ] {
        if *field == 0 {
            *field = default;
        }
    }
    if let Some(http) = &mut p.http_get {
        http_get(http);
    }
}

fn http_get(http: &mut HttpGetAction) {
    set_if_empty(&mut http.path, "/");
    set_if_empty(&mut http.scheme, "HTTP");
}

/// A pod (not a template) whose container limits a resource without
/// requesting it requests the limit.
fn requests_from_limits(c: &mut Container) {
    if let Some(resources) = &mut c.resources {
        for (name, limit) in &resources.limits {
            resources.requests.entry(name.clone()).or_insert_with(|| limit.clone());
        }
    }
}

/// The `tolerationSeconds` Kubernetes' DefaultTolerationSeconds admission
/// gives new pods for the not-ready and unreachable `NoExecute` taints
/// (`--default-not-ready-toleration-seconds`,
/// `--default-unreachable-toleration-seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TolerationSeconds {
    pub not_ready: i64,
    pub unreachable: i64,
}

impl Default for TolerationSeconds {
    fn default() -> Self {
        TolerationSeconds { not_ready: DEFAULT_TOLERATION_SECONDS, unreachable: DEFAULT_TOLERATION_SECONDS }
    }
}

/// The DefaultTolerationSeconds admission: a new pod tolerates a not-ready
/// or unreachable node for `seconds` unless it already says otherwise. Like
/// admission it runs on create only, so it is not part of [`apply_defaults`].
pub fn default_tolerations(pod: &mut Pod, seconds: TolerationSeconds) {
    let tolerations = &mut pod.spec.get_or_insert_with(Default::default).tolerations;
    for (key, seconds) in [(NOT_READY_TAINT, seconds.not_ready), (UNREACHABLE_TAINT, seconds.unreachable)] {
        let tolerated = tolerations
            .iter()
            .any(|t| (t.key == key || t.key.is_empty()) && (t.effect == "NoExecute" || t.effect.is_empty()));
        if !tolerated {
            tolerations.push(Toleration {
                key: key.to_string(),
                operator: "Exists".to_string(),
                value: String::new(),
                effect: "NoExecute".to_string(),
                toleration_seconds: Some(seconds),
            });
        }
    }
}

/// Kubernetes' QoS class: `Guaranteed` when every container limits cpu and
/// memory and requests equal limits, `BestEffort` when nothing is requested
/// or limited, else `Burstable`.
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let mut requests: BTreeMap<&str, i64> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i64> = BTreeMap::new();
    let mut guaranteed = true;
    let positive = |map: &BTreeMap<String, capstan_proto::meta::v1::Quantity>, name: &str| {
        map.get(name).and_then(|q| q.to_milli().ok()).filter(|v| *v > 0)
    };
    for c in spec.init_containers.iter().chain(&spec.containers) {
        let resources = c.resources.clone().unwrap_or_default();
        let mut limited = 0;
        for name in ["cpu", "memory"] {
            if let Some(v) = positive(&resources.requests, name) {
                *requests.entry(name).or_default() += v;
            }
            if let Some(v) = positive(&resources.limits, name) {
                *limits.entry(name).or_default() += v;
                limited += 1;
            }
        }
        if limited < 2 {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed && requests.len() == limits.len() && requests.iter().all(|(k, v)| limits.get(k) == Some(v)) {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn template(template: &mut Option<PodTemplateSpec>) {
    if let Some(t) = template {
        pod_spec(t.spec.get_or_insert_with(Default::default));
    }
}

fn deployment(d: &mut Deployment) {
    let spec = d.spec.get_or_insert_with(Default::default);
    spec.replicas.get_or_insert(1);
    spec.revision_history_limit.get_or_insert(10);
    spec.progress_deadline_seconds.get_or_insert(600);
    let strategy = spec.strategy.get_or_insert_with(DeploymentStrategy::default);
    set_if_empty(&mut strategy.r#type, "RollingUpdate");
    if strategy.r#type == "RollingUpdate" {
        let rolling = strategy.rolling_update.get_or_insert_with(RollingUpdateDeployment::default);
        rolling.max_surge.get_or_insert_with(|| IntOrString::from_string("25%"));
        rolling.max_unavailable.get_or_insert_with(|| IntOrString::from_string("25%"));
    }
    template(&mut spec.template);
}

fn replica_set(rs: &mut ReplicaSet) {
    let spec = rs.spec.get_or_insert_with(Default::default);
    spec.replicas.get_or_insert(1);
    template(&mut spec.template);
}

fn service(svc: &mut Service) {
    let spec = svc.spec.get_or_insert_with(Default::default);
    set_if_empty(&mut spec.r#type, "ClusterIP");
    set_if_empty(&mut spec.session_affinity, "None");
    if spec.session_affinity == "ClientIP" {
        let config = spec.session_affinity_config.get_or_insert_with(SessionAffinityConfig::default);
        let client_ip = config.client_ip.get_or_insert_with(ClientIpConfig::default);
        client_ip.timeout_seconds.get_or_insert(DEFAULT_CLIENT_IP_TIMEOUT);
    }
    for port in &mut spec.ports {
        set_if_empty(&mut port.protocol, "TCP");
        let unset = match &port.target_port {
            None => true,
            Some(t) if t.is_string() => t.str_val.is_empty(),
            Some(t) => t.int_val == 0,
        };
        if unset {
            port.target_port = Some(IntOrString::from_int(port.port));
        }
    }
    let kind = spec.r#type.clone();
    if kind != "ExternalName" {
        set_if_empty(&mut spec.internal_traffic_policy, "Cluster");
        if spec.ip_families.is_empty() {
            spec.ip_families.push("IPv4".to_string());
        }
        set_if_empty(&mut spec.ip_family_policy, "SingleStack");
        if !spec.cluster_ip.is_empty() && spec.cluster_ips.is_empty() {
            spec.cluster_ips.push(spec.cluster_ip.clone());
        }
    }
    if kind == "NodePort" || kind == "LoadBalancer" {
        set_if_empty(&mut spec.external_traffic_policy, "Cluster");
    }
    if kind == "LoadBalancer" {
        spec.allocate_load_balancer_node_ports.get_or_insert(true);
    }
}

/// New namespaces get the `kubernetes` finalizer, which the namespace
/// controller removes once it has emptied a terminating namespace; it is not
/// put back on a namespace that is being deleted.
fn namespace(ns: &mut Namespace) {
    let deleting = ns.metadata.as_ref().is_some_and(|m| m.deletion_timestamp.is_some())
        || ns.status.as_ref().is_some_and(|s| s.phase == "Terminating");
    let spec = ns.spec.get_or_insert_with(NamespaceSpec::default);
    if !deleting && spec.finalizers.is_empty() {
        spec.finalizers.push("kubernetes".to_string());
    }
    let status = ns.status.get_or_insert_with(NamespaceStatus::default);
    set_if_empty(&mut status.phase, "Active");
}

#[cfg(test)]
mod tests {
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
}
