//! Pod and pod-template defaults: restart and DNS policy, pull policy from the
//! image's tag, probe timings, requests from limits, and the QoS class the
//! kubelet and the eviction order read from status.

use super::set_if_empty;
use capstan_proto::core::v1::{
    Container, EmptyDirVolumeSource, HttpGetAction, Lifecycle, Pod, PodSpec, PodStatus, PodTemplateSpec, Probe,
};
use std::collections::BTreeMap;

pub(super) fn pod_defaults(pod: &mut Pod) {
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

/// The pod spec inside a Deployment's or ReplicaSet's template.
pub(super) fn template(template: &mut Option<PodTemplateSpec>) {
    if let Some(t) = template {
        pod_spec(t.spec.get_or_insert_with(Default::default));
    }
}
