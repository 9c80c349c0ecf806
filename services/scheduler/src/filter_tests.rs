//! Table tests for every filter: each row is a node tweak, a pod tweak and
//! the verdict printed as the reasons joined by "; " ("ok" when it fits).

use crate::filters::{filter, fits};
use crate::node_info::NodeInfo;
use crate::resources::PodRequest;
use crate::testing::{container, node, pod_with, taint, toleration, with_host_port};
use capstan_proto::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodAffinityTerm,
    PodAntiAffinity,
};
use capstan_proto::meta::v1::LabelSelector;

type Tweak<T> = fn(&mut T);

fn verdict(node_tweak: impl FnOnce(&mut NodeInfo), pod_tweak: impl FnOnce(&mut Pod)) -> String {
    let mut info = NodeInfo::from_node(&node("n1", "2", "4Gi"));
    info.labels.insert("zone".into(), "a".into());
    info.labels.insert("cores".into(), "8".into());
    node_tweak(&mut info);
    let mut pod = pod_with("p", vec![container("500m", "1Gi")]);
    pod_tweak(&mut pod);
    let spec = pod.spec.clone().unwrap_or_default();
    let reasons = filter(&spec, &PodRequest::of(&pod), &info);
    assert_eq!(fits(&spec, &PodRequest::of(&pod), &info), reasons.is_empty(), "fits agrees with filter");
    if reasons.is_empty() {
        "ok".to_string()
    } else {
        reasons.join("; ")
    }
}

fn required(op: &str, key: &str, values: &[&str]) -> impl FnOnce(&mut Pod) {
    let req = NodeSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    move |pod| {
        let term = NodeSelectorTerm { match_expressions: vec![req], ..Default::default() };
        let affinity = Affinity {
            node_affinity: Some(NodeAffinity {
                required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                    node_selector_terms: vec![term],
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        if let Some(spec) = pod.spec.as_mut() {
            spec.affinity = Some(affinity);
        }
    }
}

fn no_node(_: &mut NodeInfo) {}
fn no_pod(_: &mut Pod) {}

#[test]
fn node_state_filters() {
    let cases: [(&str, Tweak<NodeInfo>, Tweak<Pod>, &str); 8] = [
        ("fits", no_node, no_pod, "ok"),
        ("cordoned", |n| n.unschedulable = true, no_pod, "node(s) were unschedulable"),
        ("cpu", |n| n.requested.cpu_milli = 1800, no_pod, "Insufficient cpu"),
        ("memory", |n| n.requested.memory = 4 << 30, no_pod, "Insufficient memory"),
        (
            "both and pods",
            |n| {
                n.requested.cpu_milli = 2000;
                n.requested.memory = 4 << 30;
                n.allocatable_pods = 0;
            },
            no_pod,
            "Too many pods; Insufficient cpu; Insufficient memory",
        ),
        (
            "taint",
            |n| n.taints.push(taint("dedicated", "gpu", "NoSchedule")),
            no_pod,
            "node(s) had untolerated taint {dedicated: gpu}",
        ),
        ("prefer taint only scores", |n| n.taints.push(taint("a", "", "PreferNoSchedule")), no_pod, "ok"),
        (
            "tolerated",
            |n| n.taints.push(taint("dedicated", "gpu", "NoExecute")),
            |p| {
                if let Some(s) = p.spec.as_mut() {
                    s.tolerations.push(toleration("dedicated", "Exists", "", ""));
                }
            },
            "ok",
        ),
    ];
    for (name, n, p, want) in cases {
        assert_eq!(verdict(n, p), want, "{name}");
    }
}

#[test]
fn node_affinity_operators() {
    let cases: [(&str, &[&str], &str); 10] = [
        ("In", &["a", "b"], "ok"),
        ("In", &["b"], "no"),
        ("NotIn", &["b"], "ok"),
        ("NotIn", &["a"], "no"),
        ("Exists", &[], "ok"),
        ("DoesNotExist", &[], "no"),
        ("Gt", &["4"], "ok"),
        ("Gt", &["8"], "no"),
        ("Lt", &["9"], "ok"),
        ("Lt", &["8"], "no"),
    ];
    for (op, values, want) in cases {
        let key = if op == "Gt" || op == "Lt" { "cores" } else { "zone" };
        let got = verdict(no_node, required(op, key, values));
        let got = if got == "ok" { "ok" } else { "no" };
        assert_eq!(got, want, "{op} {values:?}");
    }
}

#[test]
fn selector_ports_and_anti_affinity() {
    let cases: [(&str, Tweak<NodeInfo>, Tweak<Pod>, &str); 5] = [
        (
            "nodeSelector match",
            no_node,
            |p| {
                if let Some(s) = p.spec.as_mut() {
                    s.node_selector.insert("zone".into(), "a".into());
                }
            },
            "ok",
        ),
        (
            "nodeSelector miss",
            no_node,
            |p| {
                if let Some(s) = p.spec.as_mut() {
                    s.node_selector.insert("zone".into(), "b".into());
                }
            },
            "node(s) didn't match Pod's node affinity/selector",
        ),
        (
            "host port taken",
            |n| {
                n.host_ports.insert(("TCP".into(), 80));
            },
            |p| {
                if let Some(s) = p.spec.as_mut() {
                    s.containers = vec![with_host_port(container("", ""), 80)];
                }
            },
            "node(s) didn't have free ports for the requested pod ports",
        ),
        ("anti-affinity clear", no_node, anti_web, "ok"),
        (
            "anti-affinity hit",
            |n| {
                let mut other = PodRequest::of(&pod_with("web-0", vec![]));
                other.labels.insert("app".into(), "web".into());
                n.add_pod(&other);
            },
            anti_web,
            "node(s) didn't match pod anti-affinity rules",
        ),
    ];
    for (name, n, p, want) in cases {
        assert_eq!(verdict(n, p), want, "{name}");
    }
}

#[test]
fn a_not_ready_node_is_refused_by_its_taint_unless_tolerated() {
    let mut not_ready = node("n1", "2", "4Gi");
    if let Some(status) = not_ready.status.as_mut() {
        status.conditions[0].status = "False".into();
    }
    let info = NodeInfo::from_node(&not_ready);
    let mut pod = pod_with("p", vec![container("500m", "1Gi")]);
    let reasons = |pod: &Pod| filter(&pod.spec.clone().unwrap_or_default(), &PodRequest::of(pod), &info);
    assert_eq!(reasons(&pod), ["node(s) had untolerated taint {node.kubernetes.io/not-ready: }"]);
    if let Some(s) = pod.spec.as_mut() {
        // the NoExecute toleration every pod gets by default does not help
        s.tolerations.push(toleration("node.kubernetes.io/not-ready", "Exists", "", "NoExecute"));
    }
    assert_eq!(reasons(&pod).len(), 1);
    if let Some(s) = pod.spec.as_mut() {
        s.tolerations.push(toleration("node.kubernetes.io/not-ready", "Exists", "", "NoSchedule"));
    }
    assert_eq!(reasons(&pod), Vec::<String>::new());
}

/// A node running `web-0`, whose required anti-affinity keeps `app=web` pods away.
fn with_exclusive_web(node: &mut NodeInfo) {
    let mut web = pod_with("web-0", vec![]);
    anti_web(&mut web);
    let mut placed = PodRequest::of(&web);
    placed.labels.insert("app".into(), "web".into());
    node.add_pod(&placed);
}

fn labelled_web(pod: &mut Pod) {
    if let Some(m) = pod.metadata.as_mut() {
        m.labels.insert("app".into(), "web".into());
    }
}

#[test]
fn existing_pods_anti_affinity_is_symmetric() {
    let cases: [(&str, Tweak<NodeInfo>, Tweak<Pod>, &str); 4] = [
        (
            "matching pod kept off",
            with_exclusive_web,
            labelled_web,
            "node(s) didn't satisfy existing pods anti-affinity rules",
        ),
        ("other labels fit", with_exclusive_web, no_pod, "ok"),
        (
            "other namespace fits",
            with_exclusive_web,
            |p| {
                labelled_web(p);
                if let Some(m) = p.metadata.as_mut() {
                    m.namespace = "other".into();
                }
            },
            "ok",
        ),
        (
            "the pod's own rule is reported first",
            with_exclusive_web,
            |p| {
                labelled_web(p);
                anti_web(p);
            },
            "node(s) didn't match pod anti-affinity rules",
        ),
    ];
    for (name, n, p, want) in cases {
        assert_eq!(verdict(n, p), want, "{name}");
    }
}

fn anti_web(pod: &mut Pod) {
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: [("app".to_string(), "web".to_string())].into(),
            ..Default::default()
        }),
        topology_key: crate::affinity::HOSTNAME_KEY.into(),
        ..Default::default()
    };
    if let Some(s) = pod.spec.as_mut() {
        s.affinity = Some(Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: vec![term],
                ..Default::default()
            }),
            ..Default::default()
        });
    }
}
