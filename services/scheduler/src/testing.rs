//! Builders for the unit tests: nodes and pods in a line each.

use capstan_proto::core::v1::{
    Container, ContainerPort, Node, NodeCondition, NodeSpec, NodeStatus, Pod, PodSpec, ResourceRequirements, Taint,
    Toleration,
};
use capstan_proto::meta::v1::{ObjectMeta, Quantity};
use std::collections::BTreeMap;

pub fn container(cpu: &str, memory: &str) -> Container {
    let mut requests = BTreeMap::new();
    if !cpu.is_empty() {
        requests.insert("cpu".to_string(), Quantity::new(cpu));
    }
    if !memory.is_empty() {
        requests.insert("memory".to_string(), Quantity::new(memory));
    }
    Container {
        name: "c".into(),
        resources: Some(ResourceRequirements { requests, ..Default::default() }),
        ..Default::default()
    }
}

pub fn with_host_port(mut c: Container, port: i32) -> Container {
    c.ports.push(ContainerPort { host_port: port, container_port: port, ..Default::default() });
    c
}

pub fn pod_with(name: &str, containers: Vec<Container>) -> Pod {
    Pod {
        metadata: Some(ObjectMeta { name: name.into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(PodSpec { containers, ..Default::default() }),
        ..Default::default()
    }
}

pub fn node(name: &str, cpu: &str, memory: &str) -> Node {
    let allocatable = [("cpu", cpu), ("memory", memory), ("pods", "110")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Quantity::new(v)))
        .collect();
    Node {
        metadata: Some(ObjectMeta { name: name.into(), ..Default::default() }),
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            allocatable,
            conditions: vec![NodeCondition { r#type: "Ready".into(), status: "True".into(), ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn taint(key: &str, value: &str, effect: &str) -> Taint {
    Taint { key: key.into(), value: value.into(), effect: effect.into(), ..Default::default() }
}

pub fn toleration(key: &str, operator: &str, value: &str, effect: &str) -> Toleration {
    Toleration {
        key: key.into(),
        operator: operator.into(),
        value: value.into(),
        effect: effect.into(),
        ..Default::default()
    }
}
