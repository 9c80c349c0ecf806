//! HorizontalPodAutoscalers (autoscaling/v2), by Kubernetes' rules.
//!
//! The autoscaler divides by the target utilization and clamps to
//! `[minReplicas, maxReplicas]`, so a zero target or an empty range would
//! make it misbehave rather than fail; both are refused here, with every
//! problem named by its path. Capstan scales on Resource metrics (cpu,
//! memory) only, and cannot scale to zero (that needs Object or External
//! metrics in Kubernetes too).

use super::common;
use super::error::{Errors, FieldError, Path};
use super::meta;
use capstan_proto::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerBehavior, HpaScalingPolicy,
    HpaScalingRules, MetricSpec, MetricTarget,
};
use capstan_proto::kinds::HORIZONTAL_POD_AUTOSCALER;
use capstan_proto::meta::v1::Quantity;

const METRIC_SOURCE_TYPES: &[&str] = &["Resource"];
const RESOURCE_NAMES: &[&str] = &["cpu", "memory"];
const TARGET_TYPES: &[&str] = &["Utilization", "Value", "AverageValue"];
const SELECT_POLICIES: &[&str] = &["Max", "Min", "Disabled"];
const POLICY_TYPES: &[&str] = &["Pods", "Percent"];
/// Kubernetes' bounds on behavior windows and policy periods.
const MAX_STABILIZATION_WINDOW_SECONDS: i32 = 3600;
const MAX_PERIOD_SECONDS: i32 = 1800;

pub fn hpa(errs: &mut Errors, hpa: &HorizontalPodAutoscaler) {
    meta::object_meta(errs, hpa.metadata.as_ref(), &HORIZONTAL_POD_AUTOSCALER, meta::NameRule::Subdomain);
    let spec = hpa.spec.clone().unwrap_or_default();
    let path = Path::new("spec");
    if let Some(min) = spec.min_replicas {
        if min < 1 {
            errs.push(FieldError::invalid(path.child("minReplicas"), min, "must be greater than or equal to 1"));
        }
    }
    if spec.max_replicas < 1 {
        errs.push(FieldError::invalid(path.child("maxReplicas"), spec.max_replicas, "must be greater than 0"));
    } else if spec.min_replicas.is_some_and(|min| spec.max_replicas < min) {
        errs.push(FieldError::invalid(
            path.child("maxReplicas"),
            spec.max_replicas,
            "must be greater than or equal to `minReplicas`",
        ));
    }
    target_ref(errs, &path.child("scaleTargetRef"), &spec.scale_target_ref.unwrap_or_default());
    for (i, metric) in spec.metrics.iter().enumerate() {
        metric_spec(errs, &path.child("metrics").index(i), metric);
    }
    if let Some(behavior) = &spec.behavior {
        self::behavior(errs, &path.child("behavior"), behavior);
    }
    if let Some(status) = &hpa.status {
        let path = Path::new("status");
        common::non_negative(errs, &path.child("currentReplicas"), status.current_replicas.into());
        common::non_negative(errs, &path.child("desiredReplicas"), status.desired_replicas.into());
    }
}

/// Kind and name end up in a request path, so they must be path segments.
fn target_ref(errs: &mut Errors, path: &Path, target: &CrossVersionObjectReference) {
    for (field, value) in [("kind", &target.kind), ("name", &target.name)] {
        let p = path.child(field);
        if value.is_empty() {
            errs.push(FieldError::required(p, ""));
        } else if let Err(msg) = path_segment_name(value) {
            errs.push(FieldError::invalid(p, value, msg));
        }
    }
}

/// Kubernetes' `IsValidPathSegmentName`.
fn path_segment_name(name: &str) -> Result<(), &'static str> {
    match name {
        "." => Err("may not be '.'"),
        ".." => Err("may not be '..'"),
        _ if name.contains('/') => Err("may not contain '/'"),
        _ if name.contains('%') => Err("may not contain '%'"),
        _ => Ok(()),
    }
}

fn metric_spec(errs: &mut Errors, path: &Path, metric: &MetricSpec) {
    let type_path = path.child("type");
    if metric.r#type.is_empty() {
        errs.push(FieldError::required(type_path, "must specify a metric source type"));
    } else if !METRIC_SOURCE_TYPES.contains(&metric.r#type.as_str()) {
        errs.push(FieldError::not_supported(type_path, &metric.r#type, METRIC_SOURCE_TYPES));
    }
    let Some(resource) = &metric.resource else {
        if metric.r#type == "Resource" {
            errs.push(FieldError::required(
                path.child("resource"),
                "must populate information for the given metric source",
            ));
        }
        return;
    };
    let path = path.child("resource");
    if resource.name.is_empty() {
        errs.push(FieldError::required(path.child("name"), "must specify a resource name"));
    } else {
        common::one_of(errs, &path.child("name"), &resource.name, RESOURCE_NAMES);
    }
    target(errs, &path.child("target"), &resource.target.clone().unwrap_or_default());
}

fn target(errs: &mut Errors, path: &Path, target: &MetricTarget) {
    let type_path = path.child("type");
    if target.r#type.is_empty() {
        errs.push(FieldError::required(type_path, "must specify a metric target type"));
    } else if !TARGET_TYPES.contains(&target.r#type.as_str()) {
        errs.push(FieldError::invalid(type_path, &target.r#type, "must be either Utilization, Value, or AverageValue"));
    }
    if let Some(value) = &target.value {
        positive_quantity(errs, &path.child("value"), value);
    }
    if let Some(value) = &target.average_value {
        positive_quantity(errs, &path.child("averageValue"), value);
    }
    if let Some(utilization) = target.average_utilization {
        common::positive(errs, &path.child("averageUtilization"), utilization.into());
    }
    // a Resource metric is averaged over the pods: a raw total means nothing
    match (target.average_utilization, &target.average_value) {
        (None, None) => errs.push(FieldError::required(
            path.child("averageUtilization"),
            "must set either a target raw value or a target utilization",
        )),
        (Some(_), Some(_)) => errs.push(FieldError::forbidden(
            path.child("averageValue"),
            "may not set both a target raw value and a target utilization",
        )),
        _ => {}
    }
}

fn positive_quantity(errs: &mut Errors, path: &Path, value: &Quantity) {
    match value.to_milli() {
        Err(e) => errs.push(FieldError::invalid(path, &value.string, e.to_string())),
        Ok(milli) if milli <= 0 => errs.push(FieldError::invalid(path, &value.string, "must be positive")),
        Ok(_) => {}
    }
}

fn behavior(errs: &mut Errors, path: &Path, behavior: &HorizontalPodAutoscalerBehavior) {
    if let Some(rules) = &behavior.scale_up {
        scaling_rules(errs, &path.child("scaleUp"), rules);
    }
    if let Some(rules) = &behavior.scale_down {
        scaling_rules(errs, &path.child("scaleDown"), rules);
    }
}

fn scaling_rules(errs: &mut Errors, path: &Path, rules: &HpaScalingRules) {
    if let Some(window) = rules.stabilization_window_seconds {
        let p = path.child("stabilizationWindowSeconds");
        if window < 0 {
            errs.push(FieldError::invalid(p, window, "must be greater than or equal to zero"));
        } else if window > MAX_STABILIZATION_WINDOW_SECONDS {
            errs.push(FieldError::invalid(
                p,
                window,
                format!("must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"),
            ));
        }
    }
    if let Some(select) = &rules.select_policy {
        if !SELECT_POLICIES.contains(&select.as_str()) {
            errs.push(FieldError::not_supported(path.child("selectPolicy"), select, SELECT_POLICIES));
        }
    }
    let policies = path.child("policies");
    if rules.policies.is_empty() {
        errs.push(FieldError::required(&policies, "must specify at least one Policy"));
    }
    for (i, policy) in rules.policies.iter().enumerate() {
        scaling_policy(errs, &policies.index(i), policy);
    }
}

fn scaling_policy(errs: &mut Errors, path: &Path, policy: &HpaScalingPolicy) {
    if !POLICY_TYPES.contains(&policy.r#type.as_str()) {
        errs.push(FieldError::not_supported(path.child("type"), &policy.r#type, POLICY_TYPES));
    }
    if policy.value <= 0 {
        errs.push(FieldError::invalid(path.child("value"), policy.value, "must be greater than zero"));
    }
    let period = path.child("periodSeconds");
    if policy.period_seconds <= 0 {
        errs.push(FieldError::invalid(period, policy.period_seconds, "must be greater than zero"));
    } else if policy.period_seconds > MAX_PERIOD_SECONDS {
        errs.push(FieldError::invalid(
            period,
            policy.period_seconds,
            format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
        ));
    }
}
