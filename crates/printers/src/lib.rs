//! The tables `get` prints: one module per kind with its columns, and the
//! columns every kind can get (NAMESPACE first with `-A`, LABELS last with
//! `--show-labels`, EVENT first in watch mode). One copy for both faces:
//! the CLI prints them, and the API server answers kubectl's
//! `as=Table;g=meta.k8s.io` requests with them.
//!
//! Printers take plain objects and the current time, so every column is
//! tested without a server.

pub mod age;
pub mod deployments;
pub mod endpoints;
pub mod endpointslices;
pub mod events;
pub mod hpas;
pub mod leases;
pub mod namespaces;
pub mod nodes;
pub mod pods;
pub mod rbac;
pub mod replicasets;
pub mod services;
pub mod table;

pub use table::{Streamer, Table};

use capstan_proto::api::v1::object::Kind;
use capstan_proto::api::v1::Object;
use capstan_proto::core::v1::PodSpec;
use capstan_proto::meta::v1::LabelSelector;
use capstan_proto::{KindInfo, ObjectExt};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The columns around the kind's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Columns {
    pub wide: bool,
    pub namespace: bool,
    pub labels: bool,
    pub event: bool,
}

/// The header row for `info`'s kind.
pub fn header(info: &KindInfo, cols: Columns) -> Vec<String> {
    let own: Vec<&str> = match info.kind {
        "Pod" => pods::header(cols.wide),
        "Deployment" => deployments::header(cols.wide),
        "ReplicaSet" => replicasets::header(cols.wide),
        "Service" => services::header(cols.wide),
        "Endpoints" => endpoints::HEADER.to_vec(),
        "EndpointSlice" => endpointslices::HEADER.to_vec(),
        "Namespace" => namespaces::HEADER.to_vec(),
        "Node" => nodes::header(cols.wide),
        "Event" => events::HEADER.to_vec(),
        "Lease" => leases::HEADER.to_vec(),
        "HorizontalPodAutoscaler" => hpas::HEADER.to_vec(),
        "Role" | "ClusterRole" => rbac::ROLE_HEADER.to_vec(),
        "RoleBinding" | "ClusterRoleBinding" => rbac::binding_header(cols.wide),
        _ => vec!["NAME", "AGE"],
    };
    let mut out = Vec::new();
    if cols.event {
        out.push("EVENT".to_string());
    }
    if cols.namespace {
        out.push("NAMESPACE".to_string());
    }
    out.extend(own.into_iter().map(str::to_string));
    if cols.labels {
        out.push("LABELS".to_string());
    }
    out
}

/// One row for `object`; `event` fills the EVENT column in watch mode.
pub fn row(object: &Object, cols: Columns, now: DateTime<Utc>, event: Option<&str>) -> Vec<String> {
    let meta = object.meta();
    let own = match &object.kind {
        Some(Kind::Pod(p)) => pods::row(p, cols.wide, now),
        Some(Kind::Deployment(d)) => deployments::row(d, cols.wide, now),
        Some(Kind::ReplicaSet(r)) => replicasets::row(r, cols.wide, now),
        Some(Kind::Service(s)) => services::row(s, cols.wide, now),
        Some(Kind::Endpoints(e)) => endpoints::row(e, now),
        Some(Kind::EndpointSlice(e)) => endpointslices::row(e, now),
        Some(Kind::Namespace(n)) => namespaces::row(n, now),
        Some(Kind::Node(n)) => nodes::row(n, cols.wide, now),
        Some(Kind::Event(e)) => events::row(e, now),
        Some(Kind::Lease(l)) => leases::row(l, now),
        Some(Kind::HorizontalPodAutoscaler(h)) => hpas::row(h, now),
        Some(Kind::Role(_)) | Some(Kind::ClusterRole(_)) => rbac::role_row(meta),
        Some(Kind::RoleBinding(b)) => rbac::binding_row(meta, b.role_ref.as_ref(), &b.subjects, cols.wide, now),
        Some(Kind::ClusterRoleBinding(b)) => rbac::binding_row(meta, b.role_ref.as_ref(), &b.subjects, cols.wide, now),
        _ => vec![meta.name.clone(), age::age(meta.creation_timestamp.as_ref(), now)],
    };
    let mut out = Vec::new();
    if cols.event {
        out.push(event.unwrap_or("").to_string());
    }
    if cols.namespace {
        out.push(meta.namespace.clone());
    }
    out.extend(own);
    if cols.labels {
        out.push(labels_string(&meta.labels));
    }
    out
}

/// `<none>` for an empty value.
pub fn or_none(value: &str) -> String {
    if value.is_empty() {
        "<none>".to_string()
    } else {
        value.to_string()
    }
}

/// `app=web,tier=front`, or `<none>`.
pub fn labels_string(labels: &BTreeMap<String, String>) -> String {
    let joined: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    or_none(&joined.join(","))
}

/// A label selector in its string form: `app=web,tier in (a,b),!gone`.
pub fn selector_string(selector: Option<&LabelSelector>) -> String {
    let Some(selector) = selector else {
        return "<none>".to_string();
    };
    let mut parts: Vec<String> = selector.match_labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for e in &selector.match_expressions {
        let values = e.values.join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "DoesNotExist" => format!("!{}", e.key),
            _ => e.key.clone(),
        });
    }
    or_none(&parts.join(","))
}

/// The CONTAINERS and IMAGES cells of a pod template.
pub fn containers_and_images(spec: Option<&PodSpec>) -> (String, String) {
    let containers = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    let images: Vec<&str> = containers.iter().map(|c| c.image.as_str()).collect();
    (or_none(&names.join(",")), or_none(&images.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::POD;
    use capstan_proto::meta::v1::LabelSelectorRequirement;
    use capstan_proto::object::parse_manifests;

    #[test]
    fn extra_columns_wrap_the_kinds_own() {
        let cols = Columns { namespace: true, labels: true, event: true, wide: false };
        assert_eq!(header(&POD, cols), ["EVENT", "NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "LABELS"]);
        let pod = parse_manifests(
            "t",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: dev, labels: {app: web}}\n",
        )
        .expect("pod")
        .remove(0);
        let now = DateTime::from_timestamp(0, 0).expect("time");
        let r = row(&pod, cols, now, Some("ADDED"));
        assert_eq!((r[0].as_str(), r[1].as_str(), r[2].as_str()), ("ADDED", "dev", "a"));
        assert_eq!(r.last().map(String::as_str), Some("app=web"));
    }

    #[test]
    fn selectors_print_in_string_form() {
        let selector = LabelSelector {
            match_labels: [("app".to_string(), "web".to_string())].into(),
            match_expressions: vec![
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: vec!["a".into(), "b".into()],
                },
                LabelSelectorRequirement { key: "gone".into(), operator: "DoesNotExist".into(), values: vec![] },
            ],
        };
        assert_eq!(selector_string(Some(&selector)), "app=web,tier in (a,b),!gone");
        assert_eq!(selector_string(None), "<none>");
        assert_eq!(labels_string(&BTreeMap::new()), "<none>");
    }
}
