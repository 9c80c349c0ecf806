//! The views from plain objects: columns, "may not" sections, and the
//! patches between two renderings.

use super::*;
use capstan_proto::object::parse_manifests;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:10:00Z").expect("a time").with_timezone(&Utc)
}

fn objects<K: Resource>(yaml: &str) -> Vec<Arc<K>> {
    let parsed = parse_manifests("test", yaml).expect("the manifest parses");
    parsed.into_iter().map(|o| Arc::new(K::try_from_object(o).expect("the kind asked for"))).collect()
}

fn pod(namespace: &str, name: &str, node: &str, phase: &str, cpu: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}, creationTimestamp: \
         '2026-01-01T00:00:00Z'}}\nspec:\n  nodeName: '{node}'\n  containers:\n  - name: web\n    image: capstan/test:1\n    \
         resources: {{requests: {{cpu: '{cpu}', memory: 32Mi}}}}\nstatus:\n  phase: {phase}\n  podIP: 10.88.0.7\n  \
         containerStatuses:\n  - name: web\n    ready: true\n    restartCount: 2\n    image: capstan/test:1\n    \
         state: {{running: {{startedAt: '2026-01-01T00:01:00Z'}}}}\n---\n"
    )
}

fn rows(section: &Section) -> Vec<&str> {
    section.body.as_ref().expect("rows").iter().map(|r| r.key.as_str()).collect()
}

fn shop() -> Scope {
    Scope::Namespace("shop".into())
}

#[test]
fn pods_show_phase_readiness_restarts_node_and_ip_with_a_link_to_their_logs() {
    let pods = objects::<Pod>(
        &(pod("shop", "web-b", "node-1", "Running", "100m") + &pod("shop", "web-a", "node-1", "Running", "100m")),
    );
    let objects = Objects { pods: Some(Ok(pods)), ..Default::default() };
    let sections = sections(ViewName::Workloads, &shop(), &objects, now());
    let pods = &sections[2];
    assert_eq!(pods.header, ["NAME", "READY", "STATUS", "PHASE", "RESTARTS", "AGE", "IP", "NODE"]);
    assert_eq!(rows(pods), ["shop/web-a", "shop/web-b"], "sorted by namespace and name");
    let row = &pods.body.as_ref().expect("rows")[0].html;
    assert_eq!(
        row,
        "<tr data-key=\"shop/web-a\"><td><a href=\"/logs/shop/web-a\">web-a</a></td><td>1/1</td>\
         <td class=\"good\">Running</td><td>Running</td><td>2</td><td>10m</td><td>10.88.0.7</td><td>node-1</td></tr>"
    );
    // the sources the view did not read are empty sections, not refusals
    assert_eq!(sections[0].body, Ok(Vec::new()));
}

#[test]
fn all_namespaces_put_the_namespace_first() {
    let pods = objects::<Pod>(&(pod("shop", "a", "n", "Pending", "1") + &pod("default", "b", "n", "Pending", "1")));
    let objects = Objects { pods: Some(Ok(pods)), ..Default::default() };
    let pods = &sections(ViewName::Workloads, &Scope::All, &objects, now())[2];
    assert_eq!(pods.header[0], "NAMESPACE");
    assert_eq!(rows(pods), ["default/b", "shop/a"]);
    assert!(pods.body.as_ref().expect("rows")[0].html.starts_with("<tr data-key=\"default/b\"><td>default</td>"));
}

#[test]
fn a_section_the_user_may_not_list_says_so_and_the_others_still_show() {
    let deployments = objects::<Deployment>(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop, generation: 1}\nspec: {replicas: 3}\n\
         status: {observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3}\n",
    );
    let objects = Objects {
        deployments: Some(Ok(deployments)),
        replica_sets: Some(Err(Source::ReplicaSets.may_not("list", &shop()))),
        pods: Some(Err(Source::Pods.may_not("list", &shop()))),
        ..Default::default()
    };
    let sections = sections(ViewName::Workloads, &shop(), &objects, now());
    assert_eq!(rows(&sections[0]), ["shop/web"]);
    assert_eq!(sections[2].body, Err("You may not list pods in namespace shop.".to_owned()));
    let html = sections[2].html();
    assert!(html.contains("<p class=\"notice refused\">You may not list pods in namespace shop.</p>"), "{html}");
    assert!(!html.contains("<table>"), "no table for a refused section: {html}");
    assert!(sections[0].html().contains("<td class=\"good\">complete</td>"));
}

#[test]
fn may_not_names_the_verb_the_resource_and_where() {
    assert_eq!(Source::Pods.may_not("watch", &Scope::All), "You may not watch pods in any namespace.");
    assert_eq!(Source::Nodes.may_not("list", &shop()), "You may not list nodes.");
    assert_eq!(Source::PodsEverywhere.may_not("list", &shop()), "You may not list pods in any namespace.");
    assert_eq!(Source::Deployments.info().group(), "apps");
}

#[test]
fn scopes_take_a_namespace_name_or_nothing() {
    assert_eq!(Scope::parse(None), Ok(Scope::All));
    assert_eq!(Scope::parse(Some(" ")), Ok(Scope::All));
    assert_eq!(Scope::parse(Some("shop")), Ok(shop()));
    let bad = Scope::parse(Some("Shop!")).expect_err("not a name");
    assert!(bad.starts_with("\"Shop!\" is not a namespace name: "), "{bad}");
}

#[test]
fn rollouts_read_as_rollout_status_reads_them() {
    let deployment = |spec: &str, status: &str| {
        objects::<Deployment>(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: shop, generation: 2}}\n\
             spec: {spec}\nstatus: {status}\n"
        ))
        .remove(0)
    };
    let cases = [
        ("{replicas: 3, paused: true}", "{observedGeneration: 2}", "paused"),
        ("{replicas: 3}", "{observedGeneration: 1}", "waiting for the controller"),
        ("{replicas: 3}", "{observedGeneration: 2, replicas: 3, updatedReplicas: 1}", "progressing: 1 of 3 updated"),
        ("{replicas: 3}", "{observedGeneration: 2, replicas: 4, updatedReplicas: 3}", "progressing: 1 old replicas terminating"),
        ("{replicas: 3}", "{observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 2}", "progressing: 2 of 3 available"),
        ("{replicas: 3}", "{observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3}", "complete"),
        (
            "{replicas: 3}",
            "{observedGeneration: 2, conditions: [{type: Progressing, status: 'False', reason: ProgressDeadlineExceeded}]}",
            "failed: progress deadline exceeded",
        ),
    ];
    for (spec, status, want) in cases {
        assert_eq!(rows::rollout(&deployment(spec, status)).0, want, "{spec} {status}");
    }
}

#[test]
fn services_list_their_ready_endpoints_or_say_they_may_not() {
    let services = objects::<Service>(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {type: NodePort, clusterIP: 10.96.0.10, \
         selector: {app: web}, ports: [{port: 80, nodePort: 30080, protocol: TCP}]}\n",
    );
    let endpoints = objects::<Endpoints>(
        "apiVersion: v1\nkind: Endpoints\nmetadata: {name: web, namespace: shop}\nsubsets:\n- addresses: [{ip: 10.88.0.7}, \
         {ip: 10.88.0.8}]\n  notReadyAddresses: [{ip: 10.88.0.9}]\n  ports: [{port: 8080}]\n",
    );
    let seen = Objects { services: Some(Ok(services.clone())), endpoints: Some(Ok(endpoints)), ..Default::default() };
    let section = &sections(ViewName::Services, &shop(), &seen, now())[0];
    assert_eq!(section.header[5], "ENDPOINTS");
    let html = &section.body.as_ref().expect("rows")[0].html;
    assert!(html.contains("<td class=\"good\">10.88.0.7:8080, 10.88.0.8:8080 (1 not ready)</td>"), "{html}");
    let refused = Objects {
        services: Some(Ok(services)),
        endpoints: Some(Err(Source::Endpoints.may_not("list", &shop()))),
        ..Default::default()
    };
    let section = &sections(ViewName::Services, &shop(), &refused, now())[0];
    assert_eq!(section.note.as_deref(), Some("Endpoints not shown: You may not list endpoints in namespace shop."));
    assert!(section.body.as_ref().expect("rows")[0].html.contains("<td>?</td>"));
}

#[test]
fn nodes_show_their_runtime_and_what_their_pods_request_of_what_they_can_allocate() {
    let node = |name: &str, labels: &str| {
        format!(
            "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}, labels: {{{labels}}}}}\nstatus:\n  allocatable: {{cpu: '2', \
             memory: 1Gi, pods: '110'}}\n  conditions: [{{type: Ready, status: 'True'}}]\n  addresses: [{{type: InternalIP, \
             address: 127.0.0.1}}]\n  nodeInfo: {{containerRuntimeVersion: 'docker://27.5.1', kubeletVersion: v0.1.0}}\n---\n"
        )
    };
    let nodes = objects::<Node>(&(node("node-1", "capstan.io/runtime: containerd") + &node("node-2", "")));
    let pods = objects::<Pod>(
        &(pod("shop", "a", "node-1", "Running", "500m")
            + &pod("shop", "b", "node-1", "Pending", "1")
            + &pod("shop", "done", "node-1", "Succeeded", "1")),
    );
    let seen = Objects { nodes: Some(Ok(nodes.clone())), pods_everywhere: Some(Ok(pods)), ..Default::default() };
    let section = &sections(ViewName::Nodes, &Scope::All, &seen, now())[0];
    assert_eq!(
        section.header,
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "RUNTIME",
            "CPU REQUESTED",
            "MEMORY REQUESTED",
            "PODS"
        ]
    );
    let html: Vec<&str> = section.body.as_ref().expect("rows").iter().map(|r| r.html.as_str()).collect();
    assert!(html[0].contains("<td>containerd</td>"), "the label wins: {}", html[0]);
    assert!(html[0].contains("<td class=\"good\">1500m / 2 (75%)</td>"), "{}", html[0]);
    assert!(html[0].contains("64Mi / 1Gi (6%)"), "{}", html[0]);
    assert!(html[0].contains("2 / 110 (1%)"), "a finished pod holds nothing: {}", html[0]);
    assert!(html[1].contains("<td>docker://27.5.1</td>"), "else what the kubelet reports: {}", html[1]);
    assert!(html[1].contains("0 / 2 (0%)"), "{}", html[1]);

    let refused = Objects {
        nodes: Some(Ok(nodes)),
        pods_everywhere: Some(Err(Source::PodsEverywhere.may_not("list", &Scope::All))),
        ..Default::default()
    };
    let section = &sections(ViewName::Nodes, &Scope::All, &refused, now())[0];
    assert_eq!(section.note.as_deref(), Some("Requests not summed: You may not list pods in any namespace."));
    assert!(section.body.as_ref().expect("rows")[0].html.contains("<td>? / 2</td>"));
}

#[test]
fn quantities_print_as_people_write_them() {
    assert_eq!((nodes::cpu(250), nodes::cpu(2000), nodes::cpu(1500)), ("250m".into(), "2".into(), "1500m".into()));
    assert_eq!(nodes::memory(64 << 20), "64Mi");
    assert_eq!(nodes::memory(3 << 29), "1.5Gi");
    assert_eq!(nodes::memory(512), "512");
}

fn workloads(pods: &str) -> Section {
    let objects = Objects { pods: Some(Ok(objects::<Pod>(pods))), ..Default::default() };
    sections(ViewName::Workloads, &shop(), &objects, now()).remove(2)
}

#[test]
fn a_deleted_pod_becomes_one_delete_patch() {
    let before = workloads(&(pod("shop", "a", "n", "Running", "1") + &pod("shop", "b", "n", "Running", "1")));
    let after = workloads(&pod("shop", "b", "n", "Running", "1"));
    let patches = diff(&before, &after);
    assert_eq!(patches, [Patch::Delete { section: "pods".into(), key: "shop/a".into() }]);
    assert_eq!(
        serde_json::to_value(&patches[0]).expect("json"),
        serde_json::json!({"op": "delete", "section": "pods", "key": "shop/a"})
    );
    assert_eq!(diff(&after, &after), [], "nothing changed, nothing sent");
}

#[test]
fn new_rows_go_before_their_successor_last_first_and_changed_rows_in_place() {
    let before = workloads(&(pod("shop", "b", "n", "Running", "1") + &pod("shop", "d", "n", "Running", "1")));
    let after = workloads(
        &(pod("shop", "a", "n", "Running", "1")
            + &pod("shop", "b", "n", "Pending", "1")
            + &pod("shop", "c", "n", "Running", "1")
            + &pod("shop", "d", "n", "Running", "1")
            + &pod("shop", "e", "n", "Running", "1")),
    );
    let placed: Vec<(String, Option<String>)> = diff(&before, &after)
        .into_iter()
        .map(|patch| match patch {
            Patch::Upsert { key, before, .. } => (key, before),
            other => panic!("only upserts: {other:?}"),
        })
        .collect();
    let want = [("shop/e", None), ("shop/c", Some("shop/d")), ("shop/b", Some("shop/c")), ("shop/a", Some("shop/b"))];
    let want: Vec<(String, Option<String>)> = want.iter().map(|(k, b)| (k.to_string(), b.map(str::to_owned))).collect();
    assert_eq!(placed, want);
}

#[test]
fn reordered_rows_and_changed_readability_replace_the_section() {
    let event = |name: &str, seconds: u32| {
        format!(
            "apiVersion: v1\nkind: Event\nmetadata: {{name: {name}, namespace: shop}}\ninvolvedObject: {{kind: Pod, name: web}}\n\
             reason: Pulled\ntype: Normal\nmessage: m\nlastTimestamp: '2026-01-01T00:00:{seconds:02}Z'\n---\n"
        )
    };
    let events = |yaml: &str| {
        let objects = Objects { events: Some(Ok(objects::<Event>(yaml))), ..Default::default() };
        sections(ViewName::Events, &shop(), &objects, now()).remove(0)
    };
    let before = events(&(event("a", 1) + &event("b", 2)));
    assert_eq!(rows(&before), ["shop/b", "shop/a"], "the most recent first");
    let after = events(&(event("a", 3) + &event("b", 2)));
    assert!(matches!(diff(&before, &after).as_slice(), [Patch::Replace { section, .. }] if section == "events"));

    let refused = Section { body: Err(Source::Pods.may_not("watch", &shop())), ..workloads("") };
    let patches = diff(&workloads(""), &refused);
    assert!(
        matches!(patches.as_slice(), [Patch::Replace { html, .. }] if html.contains("You may not watch pods in namespace shop.")),
        "{patches:?}"
    );
}
