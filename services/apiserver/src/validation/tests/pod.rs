//! Pod spec rules: containers, ports, env, resources, probes, volumes,
//! scheduling, and what an update may change.

use super::*;
use crate::errs;

fn pod(spec: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: default}}\nspec: {spec}")
}

const C: &str = "spec.containers[0]";

#[test]
fn pod_containers_and_ports() {
    let cases = [
        ("no containers", pod("{}"), errs!["spec.containers: Required value"]),
        (
            "names, images and ports",
            pod("{containers: [
                {name: Web_1, ports: [
                  {containerPort: 70000, hostPort: -1, protocol: HTTP, name: HTTP, hostIP: 1.2.3},
                  {name: http},
                  {containerPort: 80, name: http}]},
                {name: Web_1, image: ' x'}]}"),
            errs![
                format!("{C}.name: Invalid value: \"Web_1\": {LABEL}"),
                format!("{C}.image: Required value"),
                format!("{C}.ports[0].name: Invalid value: \"HTTP\": must contain only alpha-numeric characters \
                         (a-z, 0-9), and hyphens (-); must contain at least one letter (a-z)"),
                format!("{C}.ports[0].containerPort: Invalid value: 70000: {PORT_RANGE}"),
                format!("{C}.ports[0].hostPort: Invalid value: -1: {PORT_RANGE}"),
                format!("{C}.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"TCP\", \"UDP\", \"SCTP\""),
                format!("{C}.ports[0].hostIP: Invalid value: \"1.2.3\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
                format!("{C}.ports[1].containerPort: Required value"),
                format!("{C}.ports[2].name: Duplicate value: \"http\""),
                "spec.containers[1].name: Duplicate value: \"Web_1\"",
                format!("spec.containers[1].name: Invalid value: \"Web_1\": {LABEL}"),
                "spec.containers[1].image: Invalid value: \" x\": must not have leading or trailing whitespace",
            ],
        ),
        (
            "init container names clash with containers",
            pod("{initContainers: [{name: a, image: x, readinessProbe: {exec: {command: [x]}}}], containers: [{name: a, image: x}]}"),
            errs![
                "spec.containers[0].name: Duplicate value: \"a\"",
                "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers",
            ],
        ),
        (
            "host network needs hostPort = containerPort",
            pod("{hostNetwork: true, containers: [{name: a, image: x, ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 81, hostPort: 81}]}]}"),
            errs![format!("{C}.ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true")],
        ),
        (
            "policies",
            pod("{restartPolicy: Sometimes, dnsPolicy: Foo, terminationGracePeriodSeconds: -1, activeDeadlineSeconds: 0,
                 containers: [{name: a, image: x, imagePullPolicy: Sometimes, terminationMessagePolicy: Bar}]}"),
            errs![
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "spec.dnsPolicy: Unsupported value: \"Foo\": supported values: \"ClusterFirst\", \"ClusterFirstWithHostNet\", \"Default\", \"None\"",
                "spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0",
                "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
                format!("{C}.imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\""),
                format!("{C}.terminationMessagePolicy: Unsupported value: \"Bar\": supported values: \"File\", \"FallbackToLogsOnError\""),
            ],
        ),
    ];
    run_create(&cases);
}

#[test]
fn pod_dns_config() {
    let many = (0..33).map(|i| format!("d{i}.example")).collect::<Vec<_>>().join(", ");
    let long = (0..20).map(|i| format!("{i}{}", "x".repeat(120))).collect::<Vec<_>>().join(", ");
    let cases = [
        ("None needs a dnsConfig", pod("{dnsPolicy: None, containers: [{name: a, image: x}]}"),
         errs!["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"]),
        ("None needs a nameserver", pod("{dnsPolicy: None, dnsConfig: {searches: [a.example]}, containers: [{name: a, image: x}]}"),
         errs!["spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None"]),
        ("None with a nameserver, a rooted search and an option", pod("{dnsPolicy: None, dnsConfig: {nameservers: [1.1.1.1], searches: [a.example.], options: [{name: ndots, value: '2'}, {name: edns0}]}, containers: [{name: a, image: x}]}"),
         errs![]),
        ("bad nameservers, searches and options", pod("{dnsConfig: {nameservers: [1.1.1.1, 8.8.8.8, 9.9.9.9, dns.example], searches: [Bad_Domain], options: [{value: '1'}]}, containers: [{name: a, image: x}]}"),
         errs![
             "spec.dnsConfig.nameservers: Invalid value: [\"1.1.1.1\",\"8.8.8.8\",\"9.9.9.9\",\"dns.example\"]: must not have more than 3 nameservers",
             "spec.dnsConfig.nameservers[3]: Invalid value: \"dns.example\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
             "spec.dnsConfig.searches[0]: Invalid value: \"Bad_Domain\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')",
             "spec.dnsConfig.options[0]: Required value: Option.Name must not be empty",
         ]),
    ];
    run_create(&cases);
    // the search list's limits, by their messages
    for (spec, detail) in [
        (
            format!("{{dnsConfig: {{searches: [{many}]}}, containers: [{{name: a, image: x}}]}}"),
            "must not have more than 32 search paths",
        ),
        (
            format!("{{dnsConfig: {{searches: [{long}]}}, containers: [{{name: a, image: x}}]}}"),
            "must not have more than 2048 characters (including spaces) in the search list",
        ),
    ] {
        let got = validate_create(&object(&pod(&spec)));
        let rendered = got.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
        assert!(rendered.contains("spec.dnsConfig.searches") && rendered.contains(detail), "{rendered}");
    }
}

#[test]
fn pod_env_and_resources() {
    let cases = [(
        "env and resources",
        pod("{containers: [{name: a, image: x,
            env: [
              {name: 1A},
              {value: v},
              {name: X, value: v, valueFrom: {}},
              {name: Y, valueFrom: {fieldRef: {fieldPath: spec.foo}, secretKeyRef: {name: s}}},
              {name: Z, valueFrom: {resourceFieldRef: {resource: limits.gpu}}},
              {name: L, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}],
            resources: {limits: {cpu: 1, gpu: 1, memory: 1Gi}, requests: {cpu: 1500m, memory: -1, example.com/dongle: 2}}}]}"),
        errs![
            format!("{C}.env[0].name: Invalid value: \"1A\": a valid environment variable name must consist of \
                     alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. \
                     'my.env-name', or 'MY_ENV.NAME', or 'MyEnvName1')"),
            format!("{C}.env[1].name: Required value"),
            format!("{C}.env[2].valueFrom: Required value: must specify one of: `fieldRef`, `resourceFieldRef`, \
                     `configMapKeyRef` or `secretKeyRef`"),
            format!("{C}.env[2].valueFrom: Forbidden: may not be specified when `value` is not empty"),
            format!("{C}.env[3].valueFrom: Forbidden: may not have more than one field specified at a time"),
            format!("{C}.env[3].valueFrom.fieldRef.fieldPath: Unsupported value: \"spec.foo\": supported values: \
                     \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"metadata.labels\", \
                     \"metadata.annotations\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \
                     \"status.podIP\", \"status.podIPs\""),
            format!("{C}.env[3].valueFrom.secretKeyRef.key: Required value"),
            format!("{C}.env[4].valueFrom.resourceFieldRef.resource: Unsupported value: \"limits.gpu\": supported \
                     values: \"limits.cpu\", \"limits.memory\", \"limits.ephemeral-storage\", \"requests.cpu\", \
                     \"requests.memory\", \"requests.ephemeral-storage\""),
            format!("{C}.resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource for containers"),
            format!("{C}.resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0"),
            format!("{C}.resources.requests[cpu]: Invalid value: \"1500m\": must be less than or equal to cpu limit of 1"),
        ],
    )];
    run_create(&cases);
}

#[test]
fn pod_probes_and_lifecycle() {
    let cases = [(
        "probes",
        pod("{containers: [{name: a, image: x,
            livenessProbe: {successThreshold: 2},
            readinessProbe: {exec: {}, httpGet: {port: 0, scheme: FTP, httpHeaders: [{name: 'X Bad', value: v}]},
                             periodSeconds: -1, successThreshold: 3, initialDelaySeconds: -5},
            startupProbe: {tcpSocket: {port: Not_A_Name}, terminationGracePeriodSeconds: 0},
            lifecycle: {postStart: {}, preStop: {tcpSocket: {}}}}]}"),
        errs![
            format!("{C}.livenessProbe: Required value: must specify a handler type"),
            format!("{C}.livenessProbe.successThreshold: Invalid value: 2: must be 1"),
            format!("{C}.readinessProbe.httpGet: Forbidden: may not specify more than 1 handler type"),
            format!("{C}.readinessProbe.exec.command: Required value"),
            format!("{C}.readinessProbe.httpGet.port: Invalid value: 0: {PORT_RANGE}"),
            format!(
                "{C}.readinessProbe.httpGet.scheme: Unsupported value: \"FTP\": supported values: \"HTTP\", \"HTTPS\""
            ),
            format!(
                "{C}.readinessProbe.httpGet.httpHeaders[0].name: Invalid value: \"X Bad\": a valid HTTP header \
                     must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name')"
            ),
            format!("{C}.readinessProbe.initialDelaySeconds: Invalid value: -5: must be greater than or equal to 0"),
            format!("{C}.readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 1"),
            format!(
                "{C}.startupProbe.tcpSocket.port: Invalid value: \"Not_A_Name\": must contain only \
                     alpha-numeric characters (a-z, 0-9), and hyphens (-)"
            ),
            format!("{C}.startupProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0"),
            format!("{C}.lifecycle.postStart: Required value: must specify a handler type"),
            format!("{C}.lifecycle.preStop.tcpSocket.port: Required value"),
        ],
    )];
    run_create(&cases);
}

#[test]
fn pod_volumes() {
    let cases = [(
        "volumes and mounts",
        pod("{volumes: [
              {name: a},
              {name: a, emptyDir: {medium: Disk}, hostPath: {path: ''}},
              {name: c, configMap: {name: '', defaultMode: 1000, items: [{key: k, path: /abs}, {path: '../up'}]}},
              {name: d, secret: {secretName: ''}}],
            containers: [{name: x, image: x, volumeMounts: [
              {name: missing, mountPath: /m},
              {name: c, mountPath: /m, subPath: /etc},
              {name: d, subPath: a/../../b}]}]}"),
        errs![
            "spec.volumes[0]: Required value: must specify a volume type",
            "spec.volumes[1].name: Duplicate value: \"a\"",
            "spec.volumes[1].hostPath: Forbidden: may not specify more than 1 volume type",
            "spec.volumes[1].emptyDir.medium: Unsupported value: \"Disk\": supported values: \"Memory\"",
            "spec.volumes[1].hostPath.path: Required value",
            "spec.volumes[2].configMap.name: Required value",
            "spec.volumes[2].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
            "spec.volumes[2].configMap.items[0].path: Invalid value: \"/abs\": must be a relative path",
            "spec.volumes[2].configMap.items[1].key: Required value",
            "spec.volumes[2].configMap.items[1].path: Invalid value: \"../up\": must not contain '..'",
            "spec.volumes[3].secret.secretName: Required value",
            format!("{C}.volumeMounts[0].name: Invalid value: \"missing\": must match the name of a volume in `volumes`"),
            format!("{C}.volumeMounts[1].mountPath: Invalid value: \"/m\": must be unique"),
            format!("{C}.volumeMounts[1].subPath: Invalid value: \"/etc\": must be a relative path"),
            format!("{C}.volumeMounts[2].mountPath: Required value"),
            format!("{C}.volumeMounts[2].subPath: Invalid value: \"a/../../b\": must not contain '..'"),
        ],
    )];
    run_create(&cases);
}

#[test]
fn pod_scheduling() {
    let na = "spec.affinity.nodeAffinity";
    let req = format!("{na}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]");
    let cases = [
        (
            "tolerations and node selector",
            pod("{containers: [{name: a, image: x}], nodeSelector: {'bad key': v},
                 tolerations: [
                   {operator: Equal, value: x},
                   {key: k, operator: Exists, value: v, effect: NoSchedule, tolerationSeconds: 5},
                   {key: k, operator: Like, effect: Sometimes},
                   {key: k, value: '-bad'}]}"),
            errs![
                format!("spec.nodeSelector: Invalid value: \"bad key\": {NAME_PART}"),
                "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, \
                 which means \"match all values and all keys\"",
                "spec.tolerations[1].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when \
                 `tolerationSeconds` is set",
                "spec.tolerations[1].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'",
                "spec.tolerations[2].operator: Unsupported value: \"Like\": supported values: \"Equal\", \"Exists\"",
                "spec.tolerations[2].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \
                 \"PreferNoSchedule\", \"NoExecute\"",
                format!("spec.tolerations[3].value: Invalid value: \"-bad\": {LABEL_VALUE}"),
            ],
        ),
        (
            "affinity",
            pod("{containers: [{name: a, image: x}], affinity: {
                  nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{
                      matchExpressions: [
                        {key: a, operator: In},
                        {key: b, operator: Exists, values: [x]},
                        {key: c, operator: Gt, values: ['1', '2']},
                        {key: d, operator: Lt, values: [ten]},
                        {key: e, operator: Near, values: [x]}],
                      matchFields: [{key: metadata.uid, operator: In, values: [a, b]}]}]},
                    preferredDuringSchedulingIgnoredDuringExecution: [{weight: 0, preference: {}}]},
                  podAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [
                    {labelSelector: {matchExpressions: [{key: app, operator: In}]}, namespaces: [Bad_NS]}]}}}"),
            errs![
                format!("{req}.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"),
                format!("{req}.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
                format!("{req}.matchExpressions[2].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'"),
                format!("{req}.matchExpressions[3].values[0]: Invalid value: \"ten\": must be an integer"),
                format!("{req}.matchExpressions[4].operator: Unsupported value: \"Near\": supported values: \
                         \"DoesNotExist\", \"Exists\", \"Gt\", \"In\", \"Lt\", \"NotIn\""),
                format!("{req}.matchFields[0].key: Unsupported value: \"metadata.uid\": supported values: \"metadata.name\""),
                format!("{req}.matchFields[0].values: Required value: must be only one value when `operator` is 'In' \
                         or 'NotIn' for node field selector"),
                format!("{na}.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100"),
                "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector\
                 .matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                format!("spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaces[0]: \
                         Invalid value: \"Bad_NS\": {LABEL}"),
                "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required \
                 value: can not be empty",
            ],
        ),
    ];
    run_create(&cases);
}

const RUNNING: &str = "
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  nodeName: node-1
  activeDeadlineSeconds: 600
  tolerations: [{key: a, operator: Exists}]
  containers: [{name: web, image: 'web:1'}]
";

#[test]
fn pod_updates() {
    let forbidden = "spec: Forbidden: pod updates may not change fields other than spec.containers[*].image, \
                     spec.initContainers[*].image, spec.activeDeadlineSeconds, spec.tolerations (only additions to \
                     existing tolerations)";
    let with = |from: &str, to: &str| RUNNING.replace(from, to);
    let cases = [
        ("unchanged", RUNNING.to_string(), errs![]),
        // as `get -o yaml` prints it back: an unset struct Kubernetes always writes is the same as an empty one
        ("empty resources written out", with("image: 'web:1'}", "image: 'web:1', resources: {}}"), errs![]),
        ("new image", with("'web:1'", "'web:2'"), errs![]),
        ("shorter deadline", with("600", "300"), errs![]),
        ("added toleration", with("[{key: a, operator: Exists}]", "[{key: a, operator: Exists}, {key: b, operator: Exists}]"), errs![]),
        (
            "restart policy",
            with("  nodeName", "  restartPolicy: Never\n  nodeName"),
            errs![format!("{forbidden}; changed: spec.restartPolicy")],
        ),
        (
            "container added",
            with("[{name: web, image: 'web:1'}]", "[{name: web, image: 'web:1'}, {name: b, image: b}]"),
            errs![format!("{forbidden}; changed: spec.containers")],
        ),
        (
            "node moved",
            with("node-1", "node-2"),
            errs!["spec.nodeName: Invalid value: \"node-2\": field is immutable once set"],
        ),
        (
            "longer deadline",
            with("600", "900"),
            errs!["spec.activeDeadlineSeconds: Invalid value: 900: must be less than or equal to previous value"],
        ),
        (
            "deadline removed",
            with("  activeDeadlineSeconds: 600\n", ""),
            errs!["spec.activeDeadlineSeconds: Invalid value: \"null\": must not update from a positive integer to nil value"],
        ),
        (
            "toleration removed",
            with("[{key: a, operator: Exists}]", "[]"),
            errs!["spec.tolerations: Forbidden: existing tolerations may not be removed or changed except their tolerationSeconds"],
        ),
    ];
    run_update(RUNNING, &cases);
    // binding an unscheduled pod by update is allowed
    let pending = RUNNING.replace("  nodeName: node-1\n", "");
    run_update(&pending, &[("bind", RUNNING.to_string(), errs![])]);
}
