//! Pods: the pod spec (also of templates), its volumes, and what an update
//! may change.
//!
//! A running pod's spec is fixed except for images, the active deadline and
//! added tolerations, as in Kubernetes; the kubelet relies on that when it
//! syncs containers.

use super::common::{self, check};
use super::error::{Errors, FieldError, Path};
use super::{container, meta, scheduling};
use capstan_proto::core::v1::{KeyToPath, Pod, PodDnsConfig, PodSpec, Volume};
use capstan_proto::kinds::POD;
use capstan_selectors::syntax;
use std::collections::BTreeSet;

pub const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
const DNS_POLICIES: &[&str] = &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
/// Kubernetes' limits on a pod's resolver (glibc reads 3 nameservers).
const MAX_DNS_NAMESERVERS: usize = 3;
const MAX_DNS_SEARCH_PATHS: usize = 32;
const MAX_DNS_SEARCH_LIST_CHARS: usize = 2048;
const PHASES: &[&str] = &["Pending", "Running", "Succeeded", "Failed", "Unknown"];
const UPDATABLE: &str = "pod updates may not change fields other than spec.containers[*].image, \
     spec.initContainers[*].image, spec.activeDeadlineSeconds, spec.tolerations (only additions to existing \
     tolerations)";

pub fn pod(errs: &mut Errors, pod: &Pod) {
    meta::object_meta(errs, pod.metadata.as_ref(), &POD, meta::NameRule::Subdomain);
    pod_spec(errs, &Path::new("spec"), &pod.spec.clone().unwrap_or_default());
    if let Some(status) = &pod.status {
        common::one_of(errs, &Path::new("status").child("phase"), &status.phase, PHASES);
    }
}

/// A pod spec at `path` (`spec`, or `spec.template.spec` in a workload).
pub fn pod_spec(errs: &mut Errors, path: &Path, spec: &PodSpec) {
    volumes(errs, &path.child("volumes"), &spec.volumes);
    container::containers(errs, path, spec);
    common::one_of(errs, &path.child("restartPolicy"), &spec.restart_policy, RESTART_POLICIES);
    common::one_of(errs, &path.child("dnsPolicy"), &spec.dns_policy, DNS_POLICIES);
    dns_config(errs, &path.child("dnsConfig"), &spec.dns_policy, spec.dns_config.as_ref());
    if let Some(grace) = spec.termination_grace_period_seconds {
        common::non_negative(errs, &path.child("terminationGracePeriodSeconds"), grace);
    }
    if let Some(deadline) = spec.active_deadline_seconds {
        if !(1..=i64::from(i32::MAX)).contains(&deadline) {
            errs.push(FieldError::invalid(
                path.child("activeDeadlineSeconds"),
                deadline,
                "must be between 1 and 2147483647, inclusive",
            ));
        }
    }
    common::labels(errs, &path.child("nodeSelector"), &spec.node_selector);
    for (field, value, rule) in [
        ("nodeName", &spec.node_name, syntax::dns1123_subdomain as fn(&str) -> Result<(), String>),
        ("serviceAccountName", &spec.service_account_name, syntax::dns1123_subdomain),
        ("hostname", &spec.hostname, syntax::dns1123_label),
        ("subdomain", &spec.subdomain, syntax::dns1123_label),
    ] {
        if !value.is_empty() {
            check(errs, &path.child(field), value, rule);
        }
    }
    scheduling::tolerations(errs, &path.child("tolerations"), &spec.tolerations);
    if let Some(affinity) = &spec.affinity {
        scheduling::affinity(errs, &path.child("affinity"), affinity);
    }
}

/// `dnsConfig`: what dnsPolicy None needs, and the resolver's limits.
fn dns_config(errs: &mut Errors, path: &Path, policy: &str, config: Option<&PodDnsConfig>) {
    if policy == "None" {
        match config {
            None => return errs.push(FieldError::required(path, "must provide `dnsConfig` when `dnsPolicy` is None")),
            Some(c) if c.nameservers.is_empty() => {
                return errs.push(FieldError::required(
                    path.child("nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                ))
            }
            Some(_) => {}
        }
    }
    let Some(config) = config else { return };
    let nameservers = path.child("nameservers");
    if config.nameservers.len() > MAX_DNS_NAMESERVERS {
        let detail = format!("must not have more than {MAX_DNS_NAMESERVERS} nameservers");
        errs.push(FieldError::invalid(&nameservers, config.nameservers.as_slice(), detail));
    }
    for (i, server) in config.nameservers.iter().enumerate() {
        common::ip_address(errs, &nameservers.index(i), server);
    }
    let searches = path.child("searches");
    if config.searches.len() > MAX_DNS_SEARCH_PATHS {
        let detail = format!("must not have more than {MAX_DNS_SEARCH_PATHS} search paths");
        errs.push(FieldError::invalid(&searches, config.searches.as_slice(), detail));
    }
    if config.searches.join(" ").len() > MAX_DNS_SEARCH_LIST_CHARS {
        let detail = format!(
            "must not have more than {MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list"
        );
        errs.push(FieldError::invalid(&searches, config.searches.as_slice(), detail));
    }
    for (i, search) in config.searches.iter().enumerate() {
        // a trailing dot (a rooted name) is fine
        check(errs, &searches.index(i), search.strip_suffix('.').unwrap_or(search), syntax::dns1123_subdomain);
    }
    for (i, option) in config.options.iter().enumerate() {
        if option.name.is_empty() {
            errs.push(FieldError::required(path.child("options").index(i), "Option.Name must not be empty"));
        }
    }
}

fn volumes(errs: &mut Errors, path: &Path, volumes: &[Volume]) {
    let mut names = BTreeSet::new();
    for (i, v) in volumes.iter().enumerate() {
        let p = path.index(i);
        common::required_label(errs, &p.child("name"), &v.name);
        if !v.name.is_empty() && !names.insert(v.name.as_str()) {
            errs.push(FieldError::duplicate(p.child("name"), &v.name));
        }
        let sources: Vec<&str> = [
            ("emptyDir", v.empty_dir.is_some()),
            ("hostPath", v.host_path.is_some()),
            ("configMap", v.config_map.is_some()),
            ("secret", v.secret.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        if sources.is_empty() {
            errs.push(FieldError::required(&p, "must specify a volume type"));
        }
        for extra in sources.iter().skip(1) {
            errs.push(FieldError::forbidden(p.child(extra), "may not specify more than 1 volume type"));
        }
        if let Some(empty_dir) = &v.empty_dir {
            common::one_of(errs, &p.child("emptyDir").child("medium"), &empty_dir.medium, &["Memory"]);
        }
        if let Some(host_path) = &v.host_path {
            if host_path.path.is_empty() {
                errs.push(FieldError::required(p.child("hostPath").child("path"), ""));
            }
            let types =
                ["DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"];
            common::one_of(errs, &p.child("hostPath").child("type"), &host_path.r#type, &types);
        }
        if let Some(config_map) = &v.config_map {
            let cp = p.child("configMap");
            if config_map.name.is_empty() {
                errs.push(FieldError::required(cp.child("name"), ""));
            }
            projected_items(errs, &cp, &config_map.items, config_map.default_mode);
        }
        if let Some(secret) = &v.secret {
            let sp = p.child("secret");
            if secret.secret_name.is_empty() {
                errs.push(FieldError::required(sp.child("secretName"), ""));
            }
            projected_items(errs, &sp, &secret.items, secret.default_mode);
        }
    }
}

fn file_mode(errs: &mut Errors, path: &Path, mode: Option<i32>) {
    if let Some(mode) = mode.filter(|m| !(0..=0o777).contains(m)) {
        errs.push(FieldError::invalid(path, mode, "must be a number between 0 and 0777 (octal), both inclusive"));
    }
}

fn projected_items(errs: &mut Errors, path: &Path, items: &[KeyToPath], default_mode: Option<i32>) {
    file_mode(errs, &path.child("defaultMode"), default_mode);
    for (i, item) in items.iter().enumerate() {
        let p = path.child("items").index(i);
        if item.key.is_empty() {
            errs.push(FieldError::required(p.child("key"), ""));
        }
        if item.path.is_empty() {
            errs.push(FieldError::required(p.child("path"), ""));
        } else if item.path.starts_with('/') {
            errs.push(FieldError::invalid(p.child("path"), &item.path, "must be a relative path"));
        } else if item.path.split('/').any(|part| part == "..") {
            errs.push(FieldError::invalid(p.child("path"), &item.path, "must not contain '..'"));
        }
        file_mode(errs, &p.child("mode"), item.mode);
    }
}

/// What a pod update may change: images, a shorter active deadline, added
/// tolerations, and the node while none is set.
pub fn pod_update(errs: &mut Errors, new: &Pod, old: &Pod) {
    let (new_spec, old_spec) = (new.spec.clone().unwrap_or_default(), old.spec.clone().unwrap_or_default());
    let path = Path::new("spec");
    if !old_spec.node_name.is_empty() && new_spec.node_name != old_spec.node_name {
        errs.push(FieldError::invalid(path.child("nodeName"), &new_spec.node_name, "field is immutable once set"));
    }
    match (new_spec.active_deadline_seconds, old_spec.active_deadline_seconds) {
        (None, Some(_)) => errs.push(FieldError::invalid(
            path.child("activeDeadlineSeconds"),
            "null",
            "must not update from a positive integer to nil value",
        )),
        (Some(new), Some(old)) if new > old => errs.push(FieldError::invalid(
            path.child("activeDeadlineSeconds"),
            new,
            "must be less than or equal to previous value",
        )),
        _ => {}
    }
    let same = |a: &capstan_proto::core::v1::Toleration, b: &capstan_proto::core::v1::Toleration| {
        a.key == b.key && a.operator == b.operator && a.value == b.value && a.effect == b.effect
    };
    if !old_spec.tolerations.iter().all(|o| new_spec.tolerations.iter().any(|n| same(n, o))) {
        errs.push(FieldError::forbidden(
            path.child("tolerations"),
            "existing tolerations may not be removed or changed except their tolerationSeconds",
        ));
    }
    // the old spec with every allowed change applied must equal the new one
    let mut munged = old_spec.clone();
    for (list, new_list) in
        [(&mut munged.containers, &new_spec.containers), (&mut munged.init_containers, &new_spec.init_containers)]
    {
        if list.len() == new_list.len() {
            for (c, n) in list.iter_mut().zip(new_list) {
                c.image.clone_from(&n.image);
            }
        }
    }
    munged.active_deadline_seconds = new_spec.active_deadline_seconds;
    munged.tolerations.clone_from(&new_spec.tolerations);
    // reported above when it matters
    munged.node_name.clone_from(&new_spec.node_name);
    // compared in Kubernetes' JSON form: there an unset struct such as a
    // container's `resources` and an empty one are the same value (Go has no
    // nil for them), so a spec read with `get -o yaml` and sent back is unchanged
    if serde_json::to_value(&munged).ok() != serde_json::to_value(&new_spec).ok() {
        let changed = changed_fields(&munged, &new_spec);
        errs.push(FieldError::forbidden(path, format!("{UPDATABLE}; changed: {changed}")));
    }
}

/// The top-level spec fields that differ, for the update error.
fn changed_fields(old: &PodSpec, new: &PodSpec) -> String {
    let (old, new) = (serde_json::to_value(old).unwrap_or_default(), serde_json::to_value(new).unwrap_or_default());
    let mut keys: BTreeSet<&String> = BTreeSet::new();
    for side in [&old, &new] {
        keys.extend(side.as_object().into_iter().flat_map(|m| m.keys()));
    }
    let changed: Vec<String> =
        keys.into_iter().filter(|k| old.get(k.as_str()) != new.get(k.as_str())).map(|k| format!("spec.{k}")).collect();
    changed.join(", ")
}
