//! Service rules: ports, type, node ports, affinity, cluster IP.

use super::*;
use crate::errs;

fn service(spec: &str) -> String {
    format!("apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: default}}\nspec: {spec}")
}

#[test]
fn service_create() {
    let cases = [
        ("no ports", service("{selector: {app: web}}"), errs!["spec.ports: Required value"]),
        (
            "ports",
            service("{type: ClusterIP, ports: [
                {port: 0, protocol: HTTP, targetPort: 70000},
                {name: Web, port: 80, targetPort: Not_A_Port},
                {name: b, port: 81, nodePort: 30001},
                {name: b, port: 81}]}"),
            errs![
                "spec.ports[0].name: Required value",
                format!("spec.ports[0].port: Invalid value: 0: {PORT_RANGE}"),
                "spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
                format!("spec.ports[0].targetPort: Invalid value: 70000: {PORT_RANGE}"),
                format!("spec.ports[1].name: Invalid value: \"Web\": {LABEL}"),
                "spec.ports[1].targetPort: Invalid value: \"Not_A_Port\": must contain only alpha-numeric characters \
                 (a-z, 0-9), and hyphens (-)",
                "spec.ports[2].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
                "spec.ports[3].name: Duplicate value: \"b\"",
                "spec.ports[3]: Duplicate value: \"81/TCP\"",
            ],
        ),
        (
            "node ports and type",
            service("{type: NodePort, clusterIP: None, ports: [{name: a, port: 80, nodePort: 80}, {name: b, port: 81, nodePort: 30000}, {name: c, port: 82, nodePort: 30000}]}"),
            errs![
                "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of \
                 valid ports is 30000-32767",
                "spec.ports[2].nodePort: Duplicate value: 30000",
                "spec.clusterIP: Invalid value: \"None\": may not be set to 'None' for NodePort services",
            ],
        ),
        (
            "type, selector, ips, policies",
            service("{type: Magic, selector: {'app/x/y': web}, clusterIP: 10.0.0.300, clusterIPs: [10.0.0.2],
                      externalIPs: ['::1'], ports: [{port: 80}],
                      externalTrafficPolicy: Local, internalTrafficPolicy: Nearby,
                      ipFamilies: [IPv4, IPv4], ipFamilyPolicy: DualStack}"),
            errs![
                "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \
                 \"LoadBalancer\", \"NodePort\"",
                "spec.selector: Invalid value: \"app/x/y\": a qualified name must consist of alphanumeric characters, \
                 '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or \
                 'my.name', or '123-abc') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                "spec.clusterIP: Invalid value: \"10.0.0.300\": must be a valid IPv4 address, (e.g. 10.9.8.7)",
                "spec.clusterIPs[0]: Invalid value: \"10.0.0.2\": must be equal to `clusterIP` when both are set",
                "spec.externalIPs[0]: Invalid value: \"::1\": must be a valid IPv4 address, (e.g. 10.9.8.7)",
                "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set when `type` is 'NodePort' or \
                 'LoadBalancer'",
                "spec.internalTrafficPolicy: Unsupported value: \"Nearby\": supported values: \"Cluster\", \"Local\"",
                "spec.ipFamilies[1]: Duplicate value: \"IPv4\"",
                "spec.ipFamilyPolicy: Unsupported value: \"DualStack\": supported values: \"SingleStack\", \
                 \"PreferDualStack\", \"RequireDualStack\"",
            ],
        ),
        (
            "session affinity",
            service("{ports: [{port: 80}], sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}}"),
            errs!["spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and \
                   less than or equal to 86400"],
        ),
        (
            "session affinity config without ClientIP",
            service("{ports: [{port: 80}], sessionAffinity: Sticky, sessionAffinityConfig: {clientIP: {timeoutSeconds: 10}}}"),
            errs![
                "spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: \"ClientIP\", \"None\"",
                "spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is Sticky",
            ],
        ),
        (
            "external name",
            service("{type: ExternalName, clusterIP: 10.0.0.1}"),
            errs![
                "spec.externalName: Required value",
                "spec.clusterIP: Forbidden: may not be set for ExternalName services",
            ],
        ),
        (
            "service names are labels",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web.v1, namespace: default}\nspec: {ports: [{port: 80}]}".to_string(),
            errs![format!("metadata.name: Invalid value: \"web.v1\": {LABEL}")],
        ),
    ];
    run_create(&cases);
}

#[test]
fn service_update() {
    let old = service("{clusterIP: 10.96.0.10, ports: [{port: 80}]}");
    let cases = [
        ("same ip", old.clone(), errs![]),
        ("ip left out", service("{ports: [{port: 81}]}"), errs![]),
        (
            "ip changed",
            service("{clusterIP: 10.96.0.11, ports: [{port: 80}]}"),
            errs!["spec.clusterIP: Invalid value: \"10.96.0.11\": field is immutable"],
        ),
    ];
    run_update(&old, &cases);
}
