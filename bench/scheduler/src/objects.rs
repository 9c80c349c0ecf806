//! The benchmark's Node and Pod objects: Ready nodes with room for
//! 110 pods, pods with small requests sharing one owner.

use capstan_proto::core::v1::{Container, Node, NodeCondition, NodeStatus, Pod, PodSpec, ResourceRequirements};
use capstan_proto::meta::v1::{ObjectMeta, OwnerReference, Quantity};

pub fn node(name: &str) -> Node {
    Node { metadata: Some(ObjectMeta { name: name.into(), ..Default::default() }), ..Default::default() }
}

pub fn node_status(mut node: Node) -> Node {
    let allocatable: std::collections::BTreeMap<String, Quantity> =
        [("cpu", "32"), ("memory", "128Gi"), ("pods", "110")]
            .into_iter()
            .map(|(k, v)| (k.into(), Quantity::new(v)))
            .collect();
    node.status = Some(NodeStatus {
        capacity: allocatable.clone(),
        allocatable,
        conditions: vec![NodeCondition { r#type: "Ready".into(), status: "True".into(), ..Default::default() }],
        ..Default::default()
    });
    node
}

pub fn pod(name: &str) -> Pod {
    let requests = [("cpu".to_string(), Quantity::new("100m")), ("memory".to_string(), Quantity::new("64Mi"))].into();
    Pod {
        metadata: Some(ObjectMeta {
            name: name.into(),
            namespace: "default".into(),
            owner_references: vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: "bench".into(),
                uid: "bench-rs-uid".into(),
                controller: Some(true),
                ..Default::default()
            }],
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "app".into(),
                image: "capstan/test:1".into(),
                resources: Some(ResourceRequirements { requests, ..Default::default() }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}
