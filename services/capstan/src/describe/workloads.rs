//! Pages for deployments and replica sets: selector, replica counts,
//! strategy, pod template and conditions.

use super::doc::Doc;
use super::pod::template;
use super::{controlled_by, metadata, when};
use crate::printers::selector_string;
use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::core::v1::Pod;
use capstan_proto::Resource;

pub fn deployment(doc: &mut Doc, deployment: &Deployment) {
    let meta = deployment.meta();
    let spec = deployment.spec.clone().unwrap_or_default();
    let status = deployment.status.clone().unwrap_or_default();
    metadata(doc, meta, true);
    doc.field("CreationTimestamp", when(meta.creation_timestamp.as_ref()));
    doc.field("Selector", selector_string(spec.selector.as_ref()));
    doc.field(
        "Replicas",
        format!(
            "{} desired | {} updated | {} total | {} available | {} unavailable",
            spec.replicas.unwrap_or(1),
            status.updated_replicas,
            status.replicas,
            status.available_replicas,
            status.unavailable_replicas
        ),
    );
    let strategy = spec.strategy.clone().unwrap_or_default();
    let kind = if strategy.r#type.is_empty() { "RollingUpdate".to_string() } else { strategy.r#type.clone() };
    doc.field("StrategyType", kind.as_str());
    doc.field("MinReadySeconds", spec.min_ready_seconds.to_string());
    if kind == "RollingUpdate" {
        let rolling = strategy.rolling_update.unwrap_or_default();
        let or_default =
            |v: Option<capstan_proto::meta::v1::IntOrString>| v.map(|v| v.to_display()).unwrap_or_else(|| "25%".into());
        doc.field(
            "RollingUpdateStrategy",
            format!(
                "{} max unavailable, {} max surge",
                or_default(rolling.max_unavailable),
                or_default(rolling.max_surge)
            ),
        );
    }
    template(doc, spec.template.as_ref());
    if !status.conditions.is_empty() {
        doc.heading(0, "Conditions");
        let rows: Vec<Vec<String>> =
            status.conditions.iter().map(|c| vec![c.r#type.clone(), c.status.clone(), c.reason.clone()]).collect();
        doc.table(2, &["Type", "Status", "Reason"], &rows);
    }
}

pub fn replica_set(doc: &mut Doc, rs: &ReplicaSet, pods: &[Pod]) {
    let meta = rs.meta();
    let spec = rs.spec.clone().unwrap_or_default();
    let status = rs.status.clone().unwrap_or_default();
    metadata(doc, meta, true);
    doc.field("Selector", selector_string(spec.selector.as_ref()));
    if let Some(owner) = controlled_by(meta) {
        doc.field("Controlled By", owner);
    }
    doc.field("Replicas", format!("{} current / {} desired", status.replicas, spec.replicas.unwrap_or(1)));
    let phase_count = |phase: &str| {
        pods.iter().filter(|p| p.status.as_ref().map(|s| s.phase.as_str()).unwrap_or("Pending") == phase).count()
    };
    doc.field(
        "Pods Status",
        format!(
            "{} Running / {} Waiting / {} Succeeded / {} Failed",
            phase_count("Running"),
            phase_count("Pending"),
            phase_count("Succeeded"),
            phase_count("Failed")
        ),
    );
    template(doc, spec.template.as_ref());
}

#[cfg(test)]
mod tests {
    use super::super::{page, Related};
    use capstan_proto::core::v1::{Pod, PodStatus};
    use capstan_proto::object::parse_manifests;
    use chrono::DateTime;

    const TEMPLATE: &str =
        "template: {metadata: {labels: {app: web}}, spec: {containers: [{name: nginx, image: nginx:1}]}}";

    #[test]
    fn deployment_page_shows_replicas_and_strategy() {
        let obj = parse_manifests(
            "t",
            &format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: default}}\n\
                 spec: {{replicas: 3, selector: {{matchLabels: {{app: web}}}}, {TEMPLATE}}}\n\
                 status: {{replicas: 3, updatedReplicas: 3, availableReplicas: 2, unavailableReplicas: 1}}\n"
            ),
        )
        .expect("deployment")
        .remove(0);
        let text = page(&obj, &Related::default(), DateTime::from_timestamp(0, 0).expect("time")).render();
        for want in [
            "Selector:               app=web\n",
            "Replicas:               3 desired | 3 updated | 3 total | 2 available | 1 unavailable\n",
            "StrategyType:           RollingUpdate\n",
            "RollingUpdateStrategy:  25% max unavailable, 25% max surge\n",
            "Pod Template:\n  Labels:  app=web\n  Containers:\n   nginx:\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn replica_set_page_counts_pods_by_phase() {
        let obj = parse_manifests(
            "t",
            &format!("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: web-1}}\nspec: {{replicas: 2, {TEMPLATE}}}\nstatus: {{replicas: 2}}\n"),
        )
        .expect("rs")
        .remove(0);
        let pod = |phase: &str| Pod {
            status: Some(PodStatus { phase: phase.into(), ..Default::default() }),
            ..Default::default()
        };
        let related = Related { pods: vec![pod("Running"), pod("Pending")], ..Default::default() };
        let text = page(&obj, &related, DateTime::from_timestamp(0, 0).expect("time")).render();
        assert!(text.contains("Replicas:     2 current / 2 desired\n"), "{text}");
        assert!(text.contains("Pods Status:  1 Running / 1 Waiting / 0 Succeeded / 0 Failed\n"), "{text}");
    }
}
