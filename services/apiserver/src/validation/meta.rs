//! ObjectMeta validation: names, namespaces, labels, annotations, owner
//! references and finalizers, on create and on update.
//!
//! Every kind carries metadata, and every kind's key in the store is built
//! from its name and namespace, so these rules guard all of them alike.

use super::common::{self, check};
use super::error::{Errors, FieldError, Path, Raw};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::KindInfo;
use capstan_selectors::syntax;
use std::collections::BTreeMap;

/// The most bytes all annotations of one object may take (keys and values).
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// Which rule an object's name must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain (pods, deployments, nodes, …)
    Subdomain,
    /// DNS-1123 label (namespaces, services)
    Label,
    /// a path segment: anything but `.`, `..`, `/` and `%` (RBAC kinds,
    /// whose names are `system:kube-scheduler` and the like)
    PathSegment,
}

impl NameRule {
    /// Checks `name` against the rule; the error is Kubernetes' message.
    pub fn validate(self, name: &str) -> Result<(), String> {
        self.check()(name)
    }

    fn check(self) -> fn(&str) -> Result<(), String> {
        match self {
            NameRule::Subdomain => syntax::dns1123_subdomain,
            NameRule::Label => syntax::dns1123_label,
            NameRule::PathSegment => path_segment,
        }
    }
}

/// Kubernetes' `path.IsValidPathSegmentName`, in its words: the name becomes
/// one segment of the object's REST path and store key.
fn path_segment(name: &str) -> Result<(), String> {
    match name {
        "." => return Err("may not be '.'".into()),
        ".." => return Err("may not be '..'".into()),
        _ => {}
    }
    for illegal in ["/", "%"] {
        if name.contains(illegal) {
            return Err(format!("may not contain '{illegal}'"));
        }
    }
    Ok(())
}

/// The metadata of a stored object of kind `info`.
pub fn object_meta(errs: &mut Errors, meta: Option<&ObjectMeta>, info: &KindInfo, rule: NameRule) {
    let path = Path::new("metadata");
    let empty = ObjectMeta::default();
    let meta = meta.unwrap_or(&empty);
    if meta.name.is_empty() {
        errs.push(FieldError::required(path.child("name"), "name or generateName is required"));
    } else {
        check(errs, &path.child("name"), &meta.name, rule.check());
    }
    if !meta.generate_name.is_empty() {
        // a prefix: it may end in '-' since a random suffix follows
        let prefix = meta.generate_name.trim_end_matches('-');
        if !prefix.is_empty() {
            if let Err(msg) = rule.check()(prefix) {
                errs.push(FieldError::invalid(path.child("generateName"), &meta.generate_name, msg));
            }
        }
    }
    if info.namespaced {
        if meta.namespace.is_empty() {
            errs.push(FieldError::required(path.child("namespace"), ""));
        } else {
            check(errs, &path.child("namespace"), &meta.namespace, syntax::dns1123_label);
        }
    } else if !meta.namespace.is_empty() {
        errs.push(FieldError::forbidden(path.child("namespace"), "not allowed on this type"));
    }
    labels_and_annotations(errs, &path, meta);
    owner_references(errs, &path, meta);
    for (i, finalizer) in meta.finalizers.iter().enumerate() {
        check(errs, &path.child("finalizers").index(i), finalizer, syntax::qualified_name);
    }
    if let Some(grace) = meta.deletion_grace_period_seconds {
        common::non_negative(errs, &path.child("deletionGracePeriodSeconds"), grace);
    }
}

/// Labels and annotations, also of pod templates.
pub fn labels_and_annotations(errs: &mut Errors, path: &Path, meta: &ObjectMeta) {
    common::labels(errs, &path.child("labels"), &meta.labels);
    annotations(errs, &path.child("annotations"), &meta.annotations);
}

fn annotations(errs: &mut Errors, path: &Path, annotations: &BTreeMap<String, String>) {
    let mut total = 0;
    for (key, value) in annotations {
        // Kubernetes checks annotation keys case-insensitively
        check(errs, path, &key.to_ascii_lowercase(), syntax::qualified_name);
        total += key.len() + value.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}

fn owner_references(errs: &mut Errors, path: &Path, meta: &ObjectMeta) {
    let refs_path = path.child("ownerReferences");
    let mut controllers = Vec::new();
    for (i, owner) in meta.owner_references.iter().enumerate() {
        let p = refs_path.index(i);
        for (field, value) in
            [("apiVersion", &owner.api_version), ("kind", &owner.kind), ("name", &owner.name), ("uid", &owner.uid)]
        {
            if value.is_empty() {
                errs.push(FieldError::required(p.child(field), ""));
            }
        }
        if owner.controller == Some(true) {
            controllers.push(format!("{}/{}", owner.kind, owner.name));
        }
    }
    if controllers.len() > 1 {
        errs.push(FieldError::invalid(
            refs_path,
            Raw(format!("{controllers:?}")),
            format!("only one reference can have controller set to true, found in {}", controllers.join(" and ")),
        ));
    }
}

/// What an update may not change in metadata. An empty uid or creation time
/// on the new object means "not sent" (the registry keeps the stored one).
pub fn object_meta_update(errs: &mut Errors, new: Option<&ObjectMeta>, old: Option<&ObjectMeta>) {
    let empty = ObjectMeta::default();
    let (new, old) = (new.unwrap_or(&empty), old.unwrap_or(&empty));
    let path = Path::new("metadata");
    let immutable = |errs: &mut Errors, field: &str, new: &String, old: &String| {
        if !new.is_empty() && new != old {
            errs.push(FieldError::invalid(path.child(field), new, "field is immutable"));
        }
    };
    immutable(errs, "name", &new.name, &old.name);
    immutable(errs, "namespace", &new.namespace, &old.namespace);
    immutable(errs, "uid", &new.uid, &old.uid);
    if new.creation_timestamp.is_some() && new.creation_timestamp != old.creation_timestamp {
        errs.push(FieldError::forbidden(path.child("creationTimestamp"), "field is immutable"));
    }
}
