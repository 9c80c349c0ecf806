//! Namespace, Node, Endpoints, EndpointSlice, Event, Lease, Scale and Binding rules.

use super::*;
use crate::errs;

#[test]
fn small_kinds_create() {
    let cases = [
        (
            "namespace",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: Shop}\nspec: {finalizers: ['a b']}\nstatus: {phase: Gone}".to_string(),
            errs![
                format!("metadata.name: Invalid value: \"Shop\": {LABEL}"),
                format!("spec.finalizers[0]: Invalid value: \"a b\": {NAME_PART}"),
                "status.phase: Unsupported value: \"Gone\": supported values: \"Active\", \"Terminating\"",
            ],
        ),
        (
            "node",
            "apiVersion: v1\nkind: Node\nmetadata: {name: Node_1}\nspec:\n  podCIDR: 10.244.1.0/33\n  podCIDRs: [10.244.1.0/24, x]\n  taints:\n  - {key: a, effect: NoSchedule}\n  - {key: a, effect: NoSchedule}\n  - {effect: Sometimes, value: '-x'}\n  - {key: b}".to_string(),
            errs![
                format!("metadata.name: Invalid value: \"Node_1\": {SUBDOMAIN}"),
                "spec.taints[1]: Invalid value: \"a:NoSchedule\": taints must be unique by key and effect pair",
                "spec.taints[2].key: Required value",
                format!("spec.taints[2].value: Invalid value: \"-x\": {LABEL_VALUE}"),
                "spec.taints[2].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \
                 \"PreferNoSchedule\", \"NoExecute\"",
                "spec.taints[3].effect: Required value",
                "spec.podCIDR: Invalid value: \"10.244.1.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                "spec.podCIDRs[1]: Invalid value: \"x\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            ],
        ),
        (
            "endpoints",
            "apiVersion: v1\nkind: Endpoints\nmetadata: {name: web, namespace: default}\nsubsets:\n- addresses: [{ip: 10.0.0.256}, {ip: ''}]\n  notReadyAddresses: [{ip: 10.0.0.1, hostname: A_B, nodeName: N_1}]\n  ports: [{port: 0, protocol: ICMP}, {name: a, port: 80}, {name: a, port: 81}]".to_string(),
            errs![
                "subsets[0].addresses[0].ip: Invalid value: \"10.0.0.256\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                "subsets[0].addresses[1].ip: Required value",
                format!("subsets[0].notReadyAddresses[0].hostname: Invalid value: \"A_B\": {LABEL}"),
                format!("subsets[0].notReadyAddresses[0].nodeName: Invalid value: \"N_1\": {SUBDOMAIN}"),
                "subsets[0].ports[0].name: Required value",
                format!("subsets[0].ports[0].port: Invalid value: 0: {PORT_RANGE}"),
                "subsets[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
                "subsets[0].ports[2].name: Duplicate value: \"a\"",
            ],
        ),
        (
            "endpointslice",
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-abc, namespace: default}\naddressType: IPv4\nendpoints:\n- addresses: [10.0.0.256]\n  hostname: A_B\n  nodeName: N_1\n- addresses: []\nports: [{name: a, port: 0, protocol: ICMP}, {name: a, port: 80, protocol: TCP}]".to_string(),
            errs![
                "endpoints[0].addresses[0]: Invalid value: \"10.0.0.256\": must be a valid IPv4 address",
                format!("endpoints[0].hostname: Invalid value: \"A_B\": {LABEL}"),
                format!("endpoints[0].nodeName: Invalid value: \"N_1\": {SUBDOMAIN}"),
                "endpoints[1].addresses: Required value: must contain at least 1 address",
                "ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
                format!("ports[0].port: Invalid value: 0: {PORT_RANGE}"),
                "ports[1].name: Duplicate value: \"a\"",
            ],
        ),
        (
            "endpointslice address type",
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-abc, namespace: default}\naddressType: IPv5\nendpoints: [{addresses: ['::1']}]".to_string(),
            errs!["addressType: Unsupported value: \"IPv5\": supported values: \"IPv4\", \"IPv6\", \"FQDN\""],
        ),
        (
            "event without subject",
            "apiVersion: v1\nkind: Event\nmetadata: {name: e1, namespace: default}\ntype: Info\ncount: -1".to_string(),
            errs![
                "involvedObject: Required value",
                "type: Unsupported value: \"Info\": supported values: \"Normal\", \"Warning\"",
                "count: Invalid value: -1: must be greater than or equal to 0",
            ],
        ),
        (
            "event subject",
            "apiVersion: v1\nkind: Event\nmetadata: {name: e1, namespace: default}\ninvolvedObject: {namespace: other}".to_string(),
            errs![
                "involvedObject.kind: Required value",
                "involvedObject.name: Required value",
                "involvedObject.namespace: Invalid value: \"other\": does not match event.namespace",
            ],
        ),
        (
            "lease",
            "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: n1, namespace: kube-node-lease}\nspec: {leaseDurationSeconds: 0, leaseTransitions: -1}".to_string(),
            errs![
                "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
                "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
            ],
        ),
        (
            "scale",
            "apiVersion: autoscaling/v1\nkind: Scale\nmetadata: {name: web}\nspec: {replicas: -1}".to_string(),
            errs!["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
        ),
        (
            "binding",
            "apiVersion: v1\nkind: Binding\nmetadata: {name: web}\ntarget: {kind: Pod}".to_string(),
            errs![
                "target.name: Required value",
                "target.kind: Unsupported value: \"Pod\": supported values: \"Node\"",
            ],
        ),
    ];
    run_create(&cases);
}

#[test]
fn node_pod_cidr_is_set_once() {
    let node = |cidr: &str| format!("apiVersion: v1\nkind: Node\nmetadata: {{name: n1}}\nspec: {{podCIDR: '{cidr}'}}");
    run_update(&node(""), &[("set", node("10.244.0.0/24"), errs![])]);
    run_update(
        &node("10.244.0.0/24"),
        &[(
            "changed",
            node("10.244.9.0/24"),
            errs!["spec.podCIDR: Forbidden: node updates may not change podCIDR except from \"\" to valid"],
        )],
    );
}

#[test]
fn endpointslice_address_type_is_immutable() {
    let slice = |t: &str| {
        format!("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: web-abc, namespace: default}}\naddressType: {t}")
    };
    run_update(
        &slice("IPv4"),
        &[
            ("same", slice("IPv4"), errs![]),
            ("changed", slice("IPv6"), errs!["addressType: Invalid value: \"IPv6\": field is immutable"]),
        ],
    );
}

#[test]
fn an_object_without_kind_is_refused() {
    let errors = validate_create(&Object::default());
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].to_string(), "kind: Required value: the object names no kind");
}
