//! ReplicaSets, and the selector-and-template rules they share with
//! Deployments.
//!
//! A controller that creates pods from a template its own selector does not
//! match would create pods forever, so the template's labels must satisfy
//! the selector, and the selector is fixed once set.

use super::common;
use super::error::{Errors, FieldError, Path, Raw};
use super::{meta, pod, selector};
use capstan_proto::apps::v1::ReplicaSet;
use capstan_proto::core::v1::PodTemplateSpec;
use capstan_proto::kinds::REPLICA_SET;
use capstan_proto::meta::v1::{LabelSelector, ObjectMeta};

pub fn replica_set(errs: &mut Errors, rs: &ReplicaSet) {
    meta::object_meta(errs, rs.metadata.as_ref(), &REPLICA_SET, meta::NameRule::Subdomain);
    let spec = rs.spec.clone().unwrap_or_default();
    let path = Path::new("spec");
    if let Some(replicas) = spec.replicas {
        common::non_negative(errs, &path.child("replicas"), replicas.into());
    }
    common::non_negative(errs, &path.child("minReadySeconds"), spec.min_ready_seconds.into());
    selector_and_template(errs, &path, spec.selector.as_ref(), spec.template.as_ref(), "ReplicaSet");
}

pub fn replica_set_update(errs: &mut Errors, new: &ReplicaSet, old: &ReplicaSet) {
    let selector = |rs: &ReplicaSet| rs.spec.as_ref().and_then(|s| s.selector.clone());
    selector_immutable(errs, selector(new).as_ref(), selector(old).as_ref());
}

pub(super) fn render_selector(selector: &LabelSelector) -> Raw {
    Raw(serde_json::to_string(selector).unwrap_or_default())
}

/// apps/v1 fixes a workload's selector at creation.
pub fn selector_immutable(errs: &mut Errors, new: Option<&LabelSelector>, old: Option<&LabelSelector>) {
    if new != old {
        let shown = new.map(render_selector).unwrap_or(Raw("null".to_string()));
        errs.push(FieldError::invalid(Path::new("spec").child("selector"), shown, "field is immutable"));
    }
}

/// `spec.selector` and `spec.template` of a ReplicaSet or Deployment (`kind`).
pub fn selector_and_template(
    errs: &mut Errors,
    spec_path: &Path,
    selector: Option<&LabelSelector>,
    template: Option<&PodTemplateSpec>,
    kind: &str,
) {
    let sp = spec_path.child("selector");
    let mut usable = None;
    match selector {
        None => errs.push(FieldError::required(&sp, "")),
        Some(s) if selector::is_empty(s) => errs.push(FieldError::invalid(
            &sp,
            render_selector(s),
            format!("empty selector is invalid for {}", kind.to_ascii_lowercase()),
        )),
        Some(s) => {
            let before = errs.len();
            selector::label_selector(errs, &sp, s);
            if errs.len() == before {
                usable = capstan_selectors::LabelSelector::from_proto(s).ok();
            }
        }
    }
    let tp = spec_path.child("template");
    let Some(template) = template else {
        errs.push(FieldError::required(tp, ""));
        return;
    };
    let empty = ObjectMeta::default();
    let template_meta = template.metadata.as_ref().unwrap_or(&empty);
    meta::labels_and_annotations(errs, &tp.child("metadata"), template_meta);
    if let Some(selector) = usable {
        if !selector.matches(&template_meta.labels) {
            errs.push(FieldError::invalid(
                tp.child("metadata").child("labels"),
                &template_meta.labels,
                "`selector` does not match template `labels`",
            ));
        }
    }
    let spec = template.spec.clone().unwrap_or_default();
    let pod_path = tp.child("spec");
    pod::pod_spec(errs, &pod_path, &spec);
    // an unknown policy is already reported by the pod spec check
    if pod::RESTART_POLICIES.contains(&spec.restart_policy.as_str()) && spec.restart_policy != "Always" {
        errs.push(FieldError::not_supported(pod_path.child("restartPolicy"), &spec.restart_policy, &["Always"]));
    }
    if spec.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            pod_path.child("activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {kind} is not supported"),
        ));
    }
}
