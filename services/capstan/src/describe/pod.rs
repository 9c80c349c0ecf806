//! The pod page, and the container sections that pod templates reuse.

use super::doc::Doc;
use super::{controlled_by, metadata, when};
use capstan_proto::core::v1::{Container, ContainerState, ContainerStatus, Pod, PodTemplateSpec};
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

pub fn describe(doc: &mut Doc, pod: &Pod, now: DateTime<Utc>) {
    let meta = pod.meta();
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    metadata(doc, meta, true);
    let node = match (spec.node_name.as_str(), status.host_ip.as_str()) {
        ("", _) => "<none>".to_string(),
        (n, "") => n.to_string(),
        (n, ip) => format!("{n}/{ip}"),
    };
    doc.field("Node", node);
    doc.field("Start Time", when(status.start_time.as_ref()));
    let phase = if meta.deletion_timestamp.is_some() {
        format!("Terminating (lasts {})", crate::printers::age::age(meta.deletion_timestamp.as_ref(), now))
    } else if status.phase.is_empty() {
        "Pending".to_string()
    } else {
        status.phase.clone()
    };
    doc.field("Status", phase);
    if !status.reason.is_empty() {
        doc.field("Reason", status.reason.as_str());
    }
    if !status.message.is_empty() {
        doc.field("Message", status.message.as_str());
    }
    doc.field("IP", if status.pod_ip.is_empty() { "<none>" } else { status.pod_ip.as_str() });
    if let Some(owner) = controlled_by(meta) {
        doc.field("Controlled By", owner);
    }
    if !spec.init_containers.is_empty() {
        doc.heading(0, "Init Containers");
        containers(doc, 2, &spec.init_containers, &status.init_container_statuses);
    }
    doc.heading(0, "Containers");
    containers(doc, 2, &spec.containers, &status.container_statuses);
    if !status.conditions.is_empty() {
        doc.heading(0, "Conditions");
        let rows: Vec<Vec<String>> =
            status.conditions.iter().map(|c| vec![c.r#type.clone(), c.status.clone()]).collect();
        doc.table(2, &["Type", "Status"], &rows);
    }
    doc.map_field(0, "Node-Selectors", &spec.node_selector);
    let tolerations: Vec<String> = spec
        .tolerations
        .iter()
        .map(|t| {
            let mut s = t.key.clone();
            if !t.value.is_empty() {
                s.push_str(&format!("={}", t.value));
            }
            if !t.effect.is_empty() {
                s.push_str(&format!(":{}", t.effect));
            }
            if t.operator == "Exists" {
                s.push_str(if s.is_empty() { "op=Exists" } else { " op=Exists" });
            }
            if let Some(seconds) = t.toleration_seconds {
                s.push_str(&format!(" for {seconds}s"));
            }
            s
        })
        .collect();
    doc.field("Tolerations", if tolerations.is_empty() { "<none>".to_string() } else { tolerations.join("\n") });
}

/// The Pod Template section of deployments and replica sets.
pub fn template(doc: &mut Doc, template: Option<&PodTemplateSpec>) {
    let template = template.cloned().unwrap_or_default();
    doc.heading(0, "Pod Template");
    doc.map_field(2, "Labels", &template.metadata.unwrap_or_default().labels);
    doc.heading(2, "Containers");
    containers(doc, 3, &template.spec.unwrap_or_default().containers, &[]);
}

/// One section per container, with its status when the pod has one.
pub fn containers(doc: &mut Doc, indent: usize, containers: &[Container], statuses: &[ContainerStatus]) {
    for c in containers {
        doc.heading(indent, &c.name);
        let at = indent + 2;
        let status = statuses.iter().find(|s| s.name == c.name);
        if let Some(s) = status.filter(|s| !s.container_id.is_empty()) {
            doc.field_at(at, "Container ID", s.container_id.as_str());
        }
        doc.field_at(at, "Image", c.image.as_str());
        let ports: Vec<String> = c
            .ports
            .iter()
            .map(|p| format!("{}/{}", p.container_port, if p.protocol.is_empty() { "TCP" } else { &p.protocol }))
            .collect();
        doc.field_at(
            at,
            if ports.len() > 1 { "Ports" } else { "Port" },
            if ports.is_empty() { "<none>".to_string() } else { ports.join(", ") },
        );
        if !c.command.is_empty() {
            doc.field_at(at, "Command", c.command.join("\n"));
        }
        if !c.args.is_empty() {
            doc.field_at(at, "Args", c.args.join("\n"));
        }
        if let Some(s) = status {
            state(doc, at, "State", s.state.as_ref());
            if let Some(last) = s.last_state.as_ref().filter(|l| l.terminated.is_some() || l.waiting.is_some()) {
                state(doc, at, "Last State", Some(last));
            }
            doc.field_at(at, "Ready", if s.ready { "True" } else { "False" });
            doc.field_at(at, "Restart Count", s.restart_count.to_string());
        }
        if let Some(r) = &c.resources {
            for (label, map) in [("Limits", &r.limits), ("Requests", &r.requests)] {
                if !map.is_empty() {
                    let lines: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {}", v.string)).collect();
                    doc.field_at(at, label, lines.join("\n"));
                }
            }
        }
        let env: Vec<String> = c.env.iter().map(|e| format!("{}: {}", e.name, e.value)).collect();
        doc.field_at(at, "Environment", if env.is_empty() { "<none>".to_string() } else { env.join("\n") });
    }
}

/// `Running` / `Waiting` / `Terminated`, with the state's details below.
fn state(doc: &mut Doc, at: usize, label: &str, state: Option<&ContainerState>) {
    let detail = at + 2;
    let Some(state) = state else {
        doc.field_at(at, label, "Waiting");
        return;
    };
    if let Some(r) = &state.running {
        doc.field_at(at, label, "Running");
        doc.field_at(detail, "Started", when(r.started_at.as_ref()));
    } else if let Some(t) = &state.terminated {
        doc.field_at(at, label, "Terminated");
        doc.field_at(detail, "Reason", if t.reason.is_empty() { "Error" } else { t.reason.as_str() });
        doc.field_at(detail, "Exit Code", t.exit_code.to_string());
        doc.field_at(detail, "Started", when(t.started_at.as_ref()));
        doc.field_at(detail, "Finished", when(t.finished_at.as_ref()));
    } else {
        doc.field_at(at, label, "Waiting");
        if let Some(w) = state.waiting.as_ref().filter(|w| !w.reason.is_empty()) {
            doc.field_at(detail, "Reason", w.reason.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{page, Related};
    use capstan_proto::object::parse_manifests;
    use chrono::DateTime;

    #[test]
    fn pod_page_shows_placement_containers_and_conditions() {
        let obj = parse_manifests(
            "t",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: default, labels: {app: web}, \
             ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u1, controller: true}]}\n\
             spec: {nodeName: n1, containers: [{name: nginx, image: nginx:1, ports: [{containerPort: 80}]}]}\n\
             status: {phase: Running, hostIP: 172.17.0.2, podIP: 10.0.0.5, \
             conditions: [{type: Ready, status: \"True\"}], \
             containerStatuses: [{name: nginx, ready: true, restartCount: 1, state: {running: {startedAt: \"2023-11-14T22:13:20Z\"}}}]}\n",
        )
        .expect("pod")
        .remove(0);
        let text = page(&obj, &Related::default(), DateTime::from_timestamp(0, 0).expect("time")).render();
        for want in [
            "Name:           web-1\n",
            "Labels:         app=web\n",
            "Annotations:    <none>\n",
            "Node:           n1/172.17.0.2\n",
            "Status:         Running\n",
            "IP:             10.0.0.5\n",
            "Controlled By:  ReplicaSet/web-5d8f\n",
            "Containers:\n  nginx:\n    Image:          nginx:1\n    Port:           80/TCP\n    State:          Running\n",
            "      Started:      Tue, 14 Nov 2023 22:13:20 +0000\n",
            "    Restart Count:  1\n",
            "Conditions:\n  Type    Status\n  ----    ------\n  Ready   True\n",
            "Tolerations:     <none>\nEvents:          <none>\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}
