//! The scheduling parts of a pod spec: tolerations and affinity.
//!
//! The scheduler evaluates these on every placement; an operator it does not
//! know, or `Gt` with no number, would silently match nothing, so they are
//! refused when the pod is written.

use super::common::{self, check};
use super::error::{Errors, FieldError, Path};
use super::selector;
use capstan_proto::core::v1::{
    Affinity, NodeSelectorRequirement, NodeSelectorTerm, PodAffinityTerm, Toleration, WeightedPodAffinityTerm,
};
use capstan_selectors::syntax;

pub const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

pub fn tolerations(errs: &mut Errors, path: &Path, tolerations: &[Toleration]) {
    for (i, t) in tolerations.iter().enumerate() {
        let p = path.index(i);
        if !t.key.is_empty() {
            check(errs, &p.child("key"), &t.key, syntax::qualified_name);
        } else if t.operator != "Exists" {
            errs.push(FieldError::invalid(
                p.child("operator"),
                &t.operator,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if t.toleration_seconds.is_some() && t.effect != "NoExecute" {
            errs.push(FieldError::invalid(
                p.child("effect"),
                &t.effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match t.operator.as_str() {
            "" | "Equal" => check(errs, &p.child("value"), &t.value, syntax::label_value),
            "Exists" if !t.value.is_empty() => errs.push(FieldError::invalid(
                p.child("operator"),
                &t.value,
                "value must be empty when `operator` is 'Exists'",
            )),
            "Exists" => {}
            other => errs.push(FieldError::not_supported(p.child("operator"), other, &["Equal", "Exists"])),
        }
        common::one_of(errs, &p.child("effect"), &t.effect, TAINT_EFFECTS);
    }
}

pub fn affinity(errs: &mut Errors, path: &Path, affinity: &Affinity) {
    if let Some(node) = &affinity.node_affinity {
        let np = path.child("nodeAffinity");
        if let Some(required) = &node.required_during_scheduling_ignored_during_execution {
            let rp = np.child("requiredDuringSchedulingIgnoredDuringExecution").child("nodeSelectorTerms");
            if required.node_selector_terms.is_empty() {
                errs.push(FieldError::required(&rp, "must have at least one node selector term"));
            }
            for (i, term) in required.node_selector_terms.iter().enumerate() {
                node_selector_term(errs, &rp.index(i), term);
            }
        }
        let pp = np.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, preferred) in node.preferred_during_scheduling_ignored_during_execution.iter().enumerate() {
            weight(errs, &pp.index(i).child("weight"), preferred.weight);
            match &preferred.preference {
                Some(term) => node_selector_term(errs, &pp.index(i).child("preference"), term),
                None => errs.push(FieldError::required(pp.index(i).child("preference"), "")),
            }
        }
    }
    let pod_affinities = [
        (
            "podAffinity",
            affinity.pod_affinity.as_ref().map(|a| {
                (
                    &a.required_during_scheduling_ignored_during_execution,
                    &a.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
        (
            "podAntiAffinity",
            affinity.pod_anti_affinity.as_ref().map(|a| {
                (
                    &a.required_during_scheduling_ignored_during_execution,
                    &a.preferred_during_scheduling_ignored_during_execution,
                )
            }),
        ),
    ];
    for (field, terms) in pod_affinities {
        let Some((required, preferred)) = terms else { continue };
        pod_affinity_terms(errs, &path.child(field), required, preferred);
    }
}

fn weight(errs: &mut Errors, path: &Path, weight: i32) {
    if !(1..=100).contains(&weight) {
        errs.push(FieldError::invalid(path, weight, "must be in the range 1-100"));
    }
}

fn node_selector_term(errs: &mut Errors, path: &Path, term: &NodeSelectorTerm) {
    for (i, requirement) in term.match_expressions.iter().enumerate() {
        node_requirement(errs, &path.child("matchExpressions").index(i), requirement);
    }
    for (i, requirement) in term.match_fields.iter().enumerate() {
        let p = path.child("matchFields").index(i);
        if requirement.key != "metadata.name" {
            errs.push(FieldError::not_supported(p.child("key"), &requirement.key, &["metadata.name"]));
        }
        match requirement.operator.as_str() {
            "In" | "NotIn" if requirement.values.len() != 1 => errs.push(FieldError::required(
                p.child("values"),
                "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
            )),
            "In" | "NotIn" => {}
            other => errs.push(FieldError::not_supported(p.child("operator"), other, &["In", "NotIn"])),
        }
    }
}

/// A node selector requirement, where `Gt` and `Lt` compare integers.
pub fn node_requirement(errs: &mut Errors, p: &Path, r: &NodeSelectorRequirement) {
    check(errs, &p.child("key"), &r.key, syntax::qualified_name);
    let values = p.child("values");
    match r.operator.as_str() {
        "In" | "NotIn" if r.values.is_empty() => {
            errs.push(FieldError::required(values, "must be specified when `operator` is 'In' or 'NotIn'"))
        }
        "In" | "NotIn" => {
            for (i, value) in r.values.iter().enumerate() {
                check(errs, &values.index(i), value, syntax::label_value);
            }
        }
        "Exists" | "DoesNotExist" if !r.values.is_empty() => errs
            .push(FieldError::forbidden(values, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")),
        "Exists" | "DoesNotExist" => {}
        "Gt" | "Lt" => match r.values.as_slice() {
            [value] if value.parse::<i64>().is_err() => {
                errs.push(FieldError::invalid(values.index(0), value, "must be an integer"))
            }
            [_] => {}
            _ => errs
                .push(FieldError::required(values, "must be specified single value when `operator` is 'Lt' or 'Gt'")),
        },
        other => errs.push(FieldError::not_supported(
            p.child("operator"),
            other,
            &["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"],
        )),
    }
}

fn pod_affinity_terms(
    errs: &mut Errors,
    path: &Path,
    required: &[PodAffinityTerm],
    preferred: &[WeightedPodAffinityTerm],
) {
    let rp = path.child("requiredDuringSchedulingIgnoredDuringExecution");
    for (i, term) in required.iter().enumerate() {
        pod_affinity_term(errs, &rp.index(i), term);
    }
    let pp = path.child("preferredDuringSchedulingIgnoredDuringExecution");
    for (i, weighted) in preferred.iter().enumerate() {
        weight(errs, &pp.index(i).child("weight"), weighted.weight);
        let tp = pp.index(i).child("podAffinityTerm");
        match &weighted.pod_affinity_term {
            Some(term) => pod_affinity_term(errs, &tp, term),
            None => errs.push(FieldError::required(tp, "")),
        }
    }
}

fn pod_affinity_term(errs: &mut Errors, path: &Path, term: &PodAffinityTerm) {
    if let Some(s) = &term.label_selector {
        selector::label_selector(errs, &path.child("labelSelector"), s);
    }
    if let Some(s) = &term.namespace_selector {
        selector::label_selector(errs, &path.child("namespaceSelector"), s);
    }
    for (i, namespace) in term.namespaces.iter().enumerate() {
        check(errs, &path.child("namespaces").index(i), namespace, syntax::dns1123_label);
    }
    if term.topology_key.is_empty() {
        errs.push(FieldError::required(path.child("topologyKey"), "can not be empty"));
    } else {
        check(errs, &path.child("topologyKey"), &term.topology_key, syntax::qualified_name);
    }
}
