//! Deployments: replicas, strategy and history limits on top of the
//! selector-and-template rules they share with ReplicaSets.
//!
//! The deployment controller divides by these numbers and percentages while
//! rolling out; a rollout that may neither surge nor drop a pod could never
//! progress, so that is refused up front.

use super::common;
use super::error::{Errors, FieldError, Path};
use super::{meta, replicaset};
use capstan_proto::apps::v1::{Deployment, DeploymentStrategy};
use capstan_proto::kinds::DEPLOYMENT;
use capstan_proto::meta::v1::IntOrString;

pub fn deployment(errs: &mut Errors, deployment: &Deployment) {
    meta::object_meta(errs, deployment.metadata.as_ref(), &DEPLOYMENT, meta::NameRule::Subdomain);
    let spec = deployment.spec.clone().unwrap_or_default();
    let path = Path::new("spec");
    if let Some(replicas) = spec.replicas {
        common::non_negative(errs, &path.child("replicas"), replicas.into());
    }
    common::non_negative(errs, &path.child("minReadySeconds"), spec.min_ready_seconds.into());
    replicaset::selector_and_template(errs, &path, spec.selector.as_ref(), spec.template.as_ref(), "Deployment");
    if let Some(strategy) = &spec.strategy {
        self::strategy(errs, &path.child("strategy"), strategy);
    }
    if let Some(limit) = spec.revision_history_limit {
        common::non_negative(errs, &path.child("revisionHistoryLimit"), limit.into());
    }
    if let Some(deadline) = spec.progress_deadline_seconds {
        let p = path.child("progressDeadlineSeconds");
        if deadline <= spec.min_ready_seconds {
            errs.push(FieldError::invalid(p, deadline, "must be greater than minReadySeconds"));
        }
    }
}

pub fn deployment_update(errs: &mut Errors, new: &Deployment, old: &Deployment) {
    let selector = |d: &Deployment| d.spec.as_ref().and_then(|s| s.selector.clone());
    replicaset::selector_immutable(errs, selector(new).as_ref(), selector(old).as_ref());
}

fn strategy(errs: &mut Errors, path: &Path, strategy: &DeploymentStrategy) {
    common::one_of(errs, &path.child("type"), &strategy.r#type, &["Recreate", "RollingUpdate"]);
    let Some(rolling) = &strategy.rolling_update else { return };
    let rp = path.child("rollingUpdate");
    if strategy.r#type == "Recreate" {
        errs.push(FieldError::forbidden(rp, "may not be specified when strategy `type` is 'Recreate'"));
        return;
    }
    let unavailable = rolling.max_unavailable.as_ref();
    let surge = rolling.max_surge.as_ref();
    if let Some(v) = unavailable {
        int_or_percent(errs, &rp.child("maxUnavailable"), v, true);
    }
    if let Some(v) = surge {
        int_or_percent(errs, &rp.child("maxSurge"), v, false);
    }
    if let (Some(u), Some(s)) = (unavailable, surge) {
        if is_zero(u) && is_zero(s) {
            errs.push(FieldError::invalid(
                rp.child("maxUnavailable"),
                super::error::Raw(render(u)),
                "may not be 0 when `maxSurge` is 0",
            ));
        }
    }
}

fn render(v: &IntOrString) -> String {
    if v.is_string() {
        format!("{:?}", v.str_val)
    } else {
        v.int_val.to_string()
    }
}

fn percent(v: &IntOrString) -> Option<i64> {
    v.str_val.strip_suffix('%').filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))?.parse().ok()
}

fn is_zero(v: &IntOrString) -> bool {
    if v.is_string() {
        percent(v) == Some(0)
    } else {
        v.int_val == 0
    }
}

/// A count ≥ 0 or a percentage; `cap` limits percentages to 100%.
fn int_or_percent(errs: &mut Errors, path: &Path, v: &IntOrString, cap: bool) {
    if !v.is_string() {
        common::non_negative(errs, path, v.int_val.into());
        return;
    }
    match percent(v) {
        None => errs.push(FieldError::invalid(
            path,
            &v.str_val,
            "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%', or '93%')",
        )),
        Some(p) if cap && p > 100 => errs.push(FieldError::invalid(path, &v.str_val, "must not be greater than 100%")),
        Some(_) => {}
    }
}
