//! Environment variables of a container: names, and `valueFrom` sources
//! that name exactly one thing the kubelet knows how to resolve.

use super::common::{self, check};
use super::error::{Errors, FieldError, Path};
use capstan_proto::core::v1::EnvVar;
use capstan_selectors::syntax;

const FIELD_REFS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.labels",
    "metadata.annotations",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.podIP",
    "status.podIPs",
];
const RESOURCE_REFS: &[&str] = &[
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
];

pub fn env_var(errs: &mut Errors, p: &Path, env: &EnvVar) {
    if env.name.is_empty() {
        errs.push(FieldError::required(p.child("name"), ""));
    } else {
        check(errs, &p.child("name"), &env.name, syntax::env_var_name);
    }
    let Some(from) = &env.value_from else { return };
    let from_path = p.child("valueFrom");
    let sources = [
        from.field_ref.is_some(),
        from.resource_field_ref.is_some(),
        from.config_map_key_ref.is_some(),
        from.secret_key_ref.is_some(),
    ];
    match sources.iter().filter(|s| **s).count() {
        0 => errs.push(FieldError::required(
            &from_path,
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        )),
        1 => {}
        _ => errs.push(FieldError::forbidden(&from_path, "may not have more than one field specified at a time")),
    }
    if !env.value.is_empty() {
        errs.push(FieldError::forbidden(&from_path, "may not be specified when `value` is not empty"));
    }
    if let Some(field_ref) = &from.field_ref {
        let fp = from_path.child("fieldRef").child("fieldPath");
        // metadata.labels['key'] and metadata.annotations['key'] select one entry
        let base = field_ref.field_path.split_once('[').map_or(field_ref.field_path.as_str(), |(b, _)| b);
        if field_ref.field_path.is_empty() {
            errs.push(FieldError::required(fp, ""));
        } else if !FIELD_REFS.contains(&base) {
            errs.push(FieldError::not_supported(fp, &field_ref.field_path, FIELD_REFS));
        }
    }
    if let Some(resource_ref) = &from.resource_field_ref {
        let rp = from_path.child("resourceFieldRef").child("resource");
        if resource_ref.resource.is_empty() {
            errs.push(FieldError::required(rp, ""));
        } else {
            common::one_of(errs, &rp, &resource_ref.resource, RESOURCE_REFS);
        }
    }
    for (field, key_ref) in [("configMapKeyRef", &from.config_map_key_ref), ("secretKeyRef", &from.secret_key_ref)] {
        let Some(key_ref) = key_ref else { continue };
        for (name, value) in [("name", &key_ref.name), ("key", &key_ref.key)] {
            if value.is_empty() {
                errs.push(FieldError::required(from_path.child(field).child(name), ""));
            }
        }
    }
}
