//! Containers of a pod spec: names, images, ports, environment, resources
//! and volume mounts (probes are in `probe`).
//!
//! The kubelet trusts what the API server stored, so a container it cannot
//! run (no image, a port of 70000, requests above limits) is refused here,
//! with every problem listed.

use super::common::{self, check};
use super::error::{Errors, FieldError, Path};
use super::{env, probe};
use capstan_proto::core::v1::{Container, ContainerPort, PodSpec, ResourceRequirements, VolumeMount};
use capstan_proto::meta::v1::Quantity;
use capstan_selectors::syntax;
use std::collections::{BTreeMap, BTreeSet};

/// `spec.initContainers` and `spec.containers`, against the pod's volumes.
pub fn containers(errs: &mut Errors, spec_path: &Path, spec: &PodSpec) {
    let volumes: BTreeSet<&str> = spec.volumes.iter().map(|v| v.name.as_str()).collect();
    let mut names = BTreeSet::new();
    let groups = [("initContainers", &spec.init_containers, true), ("containers", &spec.containers, false)];
    for (field, list, init) in groups {
        for (i, c) in list.iter().enumerate() {
            let p = spec_path.child(field).index(i);
            if !c.name.is_empty() && !names.insert(c.name.as_str()) {
                errs.push(FieldError::duplicate(p.child("name"), &c.name));
            }
            container(errs, &p, c, &volumes, init, spec.host_network);
        }
    }
    if spec.containers.is_empty() {
        errs.push(FieldError::required(spec_path.child("containers"), ""));
    }
}

fn container(errs: &mut Errors, p: &Path, c: &Container, volumes: &BTreeSet<&str>, init: bool, host_net: bool) {
    common::required_label(errs, &p.child("name"), &c.name);
    if c.image.is_empty() {
        errs.push(FieldError::required(p.child("image"), ""));
    } else if c.image.trim() != c.image {
        errs.push(FieldError::invalid(p.child("image"), &c.image, "must not have leading or trailing whitespace"));
    }
    ports(errs, &p.child("ports"), &c.ports, host_net);
    for (i, env) in c.env.iter().enumerate() {
        env::env_var(errs, &p.child("env").index(i), env);
    }
    if let Some(resources) = &c.resources {
        self::resources(errs, &p.child("resources"), resources);
    }
    volume_mounts(errs, &p.child("volumeMounts"), &c.volume_mounts, volumes);
    probe::container_probes(errs, p, c, init);
    common::one_of(errs, &p.child("imagePullPolicy"), &c.image_pull_policy, &["Always", "IfNotPresent", "Never"]);
    common::one_of(
        errs,
        &p.child("terminationMessagePolicy"),
        &c.termination_message_policy,
        &["File", "FallbackToLogsOnError"],
    );
    if let Some(sc) = &c.security_context {
        let sc_path = p.child("securityContext");
        for (field, id) in [("runAsUser", sc.run_as_user), ("runAsGroup", sc.run_as_group)] {
            if let Some(id) = id {
                common::non_negative(errs, &sc_path.child(field), id);
            }
        }
    }
}

fn ports(errs: &mut Errors, path: &Path, ports: &[ContainerPort], host_network: bool) {
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        if !port.name.is_empty() {
            check(errs, &p.child("name"), &port.name, syntax::iana_svc_name);
            if !names.insert(port.name.as_str()) {
                errs.push(FieldError::duplicate(p.child("name"), &port.name));
            }
        }
        if port.container_port == 0 {
            errs.push(FieldError::required(p.child("containerPort"), ""));
        } else {
            common::port_number(errs, &p.child("containerPort"), port.container_port);
        }
        common::optional_port_number(errs, &p.child("hostPort"), port.host_port);
        if host_network && port.host_port != 0 && port.host_port != port.container_port {
            errs.push(FieldError::invalid(
                p.child("hostPort"),
                port.host_port,
                "must match `containerPort` when `hostNetwork` is true",
            ));
        }
        common::protocol(errs, &p.child("protocol"), &port.protocol);
        if !port.host_ip.is_empty() {
            common::ip_address(errs, &p.child("hostIP"), &port.host_ip);
        }
    }
}

fn is_standard_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}

fn resources(errs: &mut Errors, path: &Path, resources: &ResourceRequirements) {
    let mut parsed = |field: &str, map: &BTreeMap<String, Quantity>| {
        let mut values = BTreeMap::new();
        for (name, quantity) in map {
            let p = path.child(field).key(name);
            check(errs, &p, name, syntax::qualified_name);
            if !name.contains('/') && !is_standard_resource(name) {
                errs.push(FieldError::invalid(&p, name, "must be a standard resource for containers"));
            }
            match quantity.to_milli() {
                Err(e) => errs.push(FieldError::invalid(&p, &quantity.string, e.to_string())),
                Ok(v) if v < 0 => {
                    errs.push(FieldError::invalid(&p, &quantity.string, "must be greater than or equal to 0"))
                }
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
            }
        }
        values
    };
    let limits = parsed("limits", &resources.limits);
    let requests = parsed("requests", &resources.requests);
    for (name, request) in &requests {
        if limits.get(name).is_some_and(|limit| request > limit) {
            let limit_text = resources.limits.get(name).map(|q| q.string.as_str()).unwrap_or_default();
            let request_text = resources.requests.get(name).map(|q| q.string.as_str()).unwrap_or_default();
            errs.push(FieldError::invalid(
                path.child("requests").key(name),
                request_text,
                format!("must be less than or equal to {name} limit of {limit_text}"),
            ));
        }
    }
}

fn volume_mounts(errs: &mut Errors, path: &Path, mounts: &[VolumeMount], volumes: &BTreeSet<&str>) {
    let mut mount_paths = BTreeSet::new();
    for (i, mount) in mounts.iter().enumerate() {
        let p = path.index(i);
        if mount.name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        } else if !volumes.contains(mount.name.as_str()) {
            errs.push(FieldError::invalid(
                p.child("name"),
                &mount.name,
                "must match the name of a volume in `volumes`",
            ));
        }
        if mount.mount_path.is_empty() {
            errs.push(FieldError::required(p.child("mountPath"), ""));
        } else if !mount_paths.insert(mount.mount_path.as_str()) {
            errs.push(FieldError::invalid(p.child("mountPath"), &mount.mount_path, "must be unique"));
        }
        if mount.sub_path.starts_with('/') {
            errs.push(FieldError::invalid(p.child("subPath"), &mount.sub_path, "must be a relative path"));
        } else if mount.sub_path.split('/').any(|part| part == "..") {
            errs.push(FieldError::invalid(p.child("subPath"), &mount.sub_path, "must not contain '..'"));
        }
    }
}
