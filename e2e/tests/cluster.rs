//! The end-to-end suite on one cluster of containers (starting one costs most
//! of a test's time, and clusters run one at a time on an engine): each
//! scenario in its own namespace, in the order the issue lists them, so an
//! earlier failure leaves the later ones unexercised rather than misreported.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use capstan_e2e::cluster::{APISERVER_2, DNS, SERVICE_CIDR, TRACE_SINK, WAIT};
use capstan_e2e::{Cluster, NODES};
use capstan_test_support::{eventually, http_get};
use capstan_trace_sink::check;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_of_containers() {
    let started = std::time::Instant::now();
    let Some(cluster) = Cluster::start().await else { return };
    eprintln!("e2e: images checked and two nodes Ready in {:?}", started.elapsed());
    let mut step = std::time::Instant::now();
    let mut done = |what: &str| {
        eprintln!("e2e: {what} passed in {:?}", step.elapsed());
        step = std::time::Instant::now();
    };
    nodes_register_ready_with_their_runtimes(&cluster).await;
    done("nodes Ready with their runtimes");
    every_component_answers_its_health_check(&cluster).await;
    done("every image's health check");
    one_traced_apply_is_one_trace_across_containers(&cluster).await;
    done("one traced apply, one trace across containers");
    // a figure for bench/README.md, not an assertion: each component's memory, idle
    eprintln!("e2e: idle memory (docker stats):\n{}", cluster.engine.memory());
    let web = deployments_land_on_each_runtime(&cluster).await;
    done("placement on each runtime, pod IPs across nodes");
    node_port_balances_across_nodes(&cluster, &web).await;
    done("node port round-robin");
    cluster_ip_answers_from_pods_on_both_nodes(&cluster, &web).await;
    done("cluster IP from a pod on each node, hairpin included");
    service_names_resolve_from_pods_on_both_nodes(&cluster, &web).await;
    done("cluster DNS from a pod on each node");
    random_algorithm_spreads_by_chance(&cluster, &web).await;
    done("node port at random");
    apiserver_restart_loses_nothing(&cluster).await;
    done("API server restart");
    etcd_member_down_and_back(&cluster).await;
    done("etcd member down and back");
    leaders_killed_others_take_over(&cluster).await;
    done("leaders killed");
    node_stopped_pods_move_and_node_returns(&cluster).await;
    done("a node stopped and started");
    rolling_update_under_load_fails_nothing(&cluster).await;
    done("a rolling update under load");
    eprintln!("e2e: the suite took {:?}", started.elapsed());
}

/// Both nodes are Ready, and each reports its own runtime, through the CLI and
/// through the real kubectl.
async fn nodes_register_ready_with_their_runtimes(cluster: &Cluster) {
    let wide = cluster.capstan_ok(&["get", "nodes", "-o", "wide"]).await;
    for (node, runtime) in NODES {
        let line = wide.lines().find(|l| l.split_whitespace().next() == Some(node));
        let line = line.unwrap_or_else(|| panic!("capstan get nodes -o wide lists no {node}:\n{wide}"));
        assert!(line.split_whitespace().nth(1) == Some("Ready"), "{node} is not Ready:\n{wide}");
        assert!(line.contains(runtime), "{node} does not report the {runtime} runtime:\n{wide}");
    }
    let kubectl = cluster.kubectl();
    let wide = kubectl.ok(&["get", "nodes", "-o", "wide"]).await;
    for (node, runtime) in NODES {
        let line = wide.lines().find(|l| l.split_whitespace().next() == Some(node));
        let line = line.unwrap_or_else(|| panic!("kubectl get nodes -o wide lists no {node}:\n{wide}"));
        assert!(line.contains(" Ready "), "kubectl: {node} is not Ready:\n{wide}");
        assert!(line.contains(runtime), "kubectl: {node} does not report the {runtime} runtime:\n{wide}");
    }
}

/// Docker runs each image's HEALTHCHECK (`capstan-probe` against the
/// component's own port, over TLS with the cluster's CA where it serves TLS):
/// every component reports healthy.
async fn every_component_answers_its_health_check(cluster: &Cluster) {
    let roles = [
        "apiserver",
        APISERVER_2,
        "scheduler-1",
        "scheduler-2",
        "controller-manager-1",
        "controller-manager-2",
        TRACE_SINK,
        DNS,
    ];
    for role in roles.into_iter().chain(NODES.iter().map(|(node, _)| *node)) {
        eventually(&format!("{role} healthy"), WAIT, || async {
            let health = cluster.engine.health(role).await?;
            match health == "healthy" {
                true => Ok(()),
                false => Err(health),
            }
        })
        .await;
    }
}

/// `capstan --trace apply` of a Deployment of 2 on the Docker node and a
/// Service: every component, each in its own container (or process of a node
/// container), exported its part to the sink under its own service.name and
/// service.instance.id, and the parts make ONE trace: one root (the CLI's),
/// each container's start served by the shim reaching it through the
/// kubelet, the scheduler, the controller-manager and the API server.
async fn one_traced_apply_is_one_trace_across_containers(cluster: &Cluster) {
    let ns = "e2e-traced";
    let namespace = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\n");
    let manifest = namespace + &check::traced_web_manifest("traced", ns, ("kubernetes.io/hostname", "docker-1"));
    let id = cluster.apply_traced(&manifest).await;
    let services = [
        "capstan",
        "capstan-apiserver",
        "capstan-controller-manager",
        "capstan-scheduler",
        "capstan-kubelet",
        "capstan-docker-shim",
        "capstan-proxy",
    ];
    let trace = eventually(&format!("trace {id} whole in the sink"), WAIT, || async {
        let trace = cluster.trace(&id).await?;
        check::complete(&trace, "capstan-docker-shim", &services)?;
        Ok::<_, String>(trace)
    })
    .await;
    // each component's part came from its own process: a service.instance.id
    // of its own, shared with no other service
    let instances = check::instances(&trace);
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for service in services {
        let ids = instances.get(service).cloned().unwrap_or_default();
        assert!(!ids.is_empty(), "{service}'s spans carry no service.instance.id: {instances:#?}");
        for instance in ids {
            if let Some(other) = owner.insert(instance, service) {
                panic!("{service} and {other} exported as one instance {instance}: {instances:#?}");
            }
        }
    }
    eprintln!("e2e: trace {id}: {} spans from {} exporting processes", trace.spans.len(), owner.len());
    let syncs = trace.spans.iter().filter(|s| s.service == "capstan-kubelet" && s.name == "kubelet.sync_pod");
    assert!(
        syncs.clone().all(|s| check::text(s, "k8s.node.name").as_deref() == Some("docker-1")) && syncs.count() >= 2,
        "two pods synced by docker-1's kubelet"
    );
    ready_pods(cluster, ns, "app=traced", 2).await;
}

const NS: &str = "e2e-web";

/// A Deployment pinned to each node by nodeSelector, and a NodePort Service over both.
fn web_manifest(ns: &str) -> String {
    let mut manifest = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n");
    for (node, runtime) in NODES {
        manifest.push_str(&format!(
            r#"---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web-{runtime}, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web, runtime: {runtime}}}}}
  template:
    metadata: {{labels: {{app: web, runtime: {runtime}}}}}
    spec:
      nodeSelector: {{kubernetes.io/hostname: {node}}}
      containers:
      - name: web
        image: capstan/test:1
        command: [sh, -c, 'echo "served by $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www']
        ports: [{{name: http, containerPort: 8080}}]
        readinessProbe:
          httpGet: {{path: /, port: http}}
          periodSeconds: 1
"#
        ));
    }
    manifest.push_str(&format!(
        "---\napiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: {ns}}}\nspec:\n  type: NodePort\n  \
         selector: {{app: web}}\n  ports:\n  - {{name: http, port: 80, targetPort: http}}\n"
    ));
    manifest
}

/// A pod as kubectl reports it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct PodRow {
    name: String,
    node: String,
    ip: String,
    ready: bool,
}

async fn pods(cluster: &Cluster, ns: &str, selector: &str) -> Vec<PodRow> {
    let template = r#"{range .items[*]}{.metadata.name}{" "}{.spec.nodeName}{" "}{.status.podIP}{" "}{.status.conditions[?(@.type=="Ready")].status}{" "}{.metadata.deletionTimestamp}{"\n"}{end}"#;
    let out =
        cluster.kubectl().ok(&["get", "pods", "-n", ns, "-l", selector, "-o", &format!("jsonpath={template}")]).await;
    out.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            // a pod being deleted is on its way out: not one of the Deployment's
            (fields.len() >= 5 && fields[4].is_empty()).then(|| PodRow {
                name: fields[0].to_string(),
                node: fields[1].to_string(),
                ip: fields[2].to_string(),
                ready: fields[3] == "True",
            })
        })
        .collect()
}

/// Waits until `selector` has exactly `count` pods, all Ready with an IP.
async fn ready_pods(cluster: &Cluster, ns: &str, selector: &str, count: usize) -> Vec<PodRow> {
    eventually(&format!("{count} Ready pods {selector} in {ns}"), WAIT, || async {
        let rows = pods(cluster, ns, selector).await;
        match rows.len() == count && rows.iter().all(|p| p.ready && !p.ip.is_empty()) {
            true => Ok(rows),
            false => Err(rows),
        }
    })
    .await
}

/// One pod on each runtime; each answers on its pod IP from the other node.
async fn deployments_land_on_each_runtime(cluster: &Cluster) -> BTreeMap<String, PodRow> {
    cluster.apply(&web_manifest(NS)).await;
    let mut web = BTreeMap::new();
    for (node, runtime) in NODES {
        let rows = ready_pods(cluster, NS, &format!("app=web,runtime={runtime}"), 1).await;
        assert_eq!(rows[0].node, node, "the nodeSelector placed web-{runtime} elsewhere: {rows:?}");
        web.insert(node.to_string(), rows[0].clone());
    }
    for (from, _) in NODES {
        for (node, pod) in web.iter().filter(|(node, _)| node.as_str() != from) {
            let url = format!("http://{}:8080/", pod.ip);
            // busybox's nc, not its wget: Debian's static wget crashes on this glibc
            let request = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 {} 8080", pod.ip);
            let (code, answer) =
                cluster.engine.exec(from, &["busybox", "sh", "-c", &request]).await.unwrap_or_else(|e| panic!("{e}"));
            let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
            assert_eq!(
                (code, body.trim()),
                (0, format!("served by {}", pod.name).as_str()),
                "{from} asking {node}'s pod at {url}"
            );
        }
    }
    web
}

async fn node_port(cluster: &Cluster, ns: &str, service: &str) -> u16 {
    let out =
        cluster.kubectl().ok(&["get", "svc", service, "-n", ns, "-o", "jsonpath={.spec.ports[0].nodePort}"]).await;
    out.trim().parse().unwrap_or_else(|e| panic!("nodePort of {ns}/{service} {out:?}: {e}"))
}

async fn served_by(addr: SocketAddr) -> Result<String, String> {
    let response = http_get(addr, "/").await.map_err(|e| e.to_string())?;
    match response.status_line.contains(" 200 ") {
        true => Ok(response.body.trim().trim_start_matches("served by ").to_string()),
        false => Err(format!("{addr}: {}", response.status_line)),
    }
}

/// The node port answers on either node's address and takes turns over the
/// pods of both nodes.
async fn node_port_balances_across_nodes(cluster: &Cluster, web: &BTreeMap<String, PodRow>) {
    let port = node_port(cluster, NS, "web").await;
    let names: Vec<&str> = web.values().map(|p| p.name.as_str()).collect();
    for index in 0..NODES.len() {
        let addr: SocketAddr = format!("{}:{port}", cluster.node_address(index as u8))
            .parse()
            .unwrap_or_else(|e| panic!("a node address: {e}"));
        // the proxy learns both endpoints as they turn Ready: wait until it serves both
        eventually(&format!("{addr} serving from both pods"), WAIT, || async {
            let mut seen = Vec::new();
            for _ in 0..4 {
                seen.push(served_by(addr).await?);
            }
            match names.iter().all(|n| seen.iter().any(|s| s == n)) {
                true => Ok(()),
                false => Err(format!("served by {seen:?}")),
            }
        })
        .await;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for _ in 0..6 {
            let pod = served_by(addr).await.unwrap_or_else(|e| panic!("{e}"));
            *counts.entry(pod).or_default() += 1;
        }
        let want: BTreeMap<String, usize> = names.iter().map(|n| (n.to_string(), 3)).collect();
        assert_eq!(counts, want, "round-robin through {addr} over both nodes' pods");
    }
}

/// `capstan exec POD -n NS -- sh -c SCRIPT` as the admin: stdout, or what failed.
async fn exec_sh(cluster: &Cluster, ns: &str, pod: &str, script: &str) -> Result<String, String> {
    let out = cluster.capstan(&["exec", pod, "-n", ns, "--", "sh", "-c", script]).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    match out.status.success() {
        true => Ok(stdout),
        false => Err(format!("exec in {ns}/{pod}: {stdout}{}", String::from_utf8_lossy(&out.stderr))),
    }
}

/// The Service's cluster IP, checked to be in the cluster's own range.
async fn cluster_ip(cluster: &Cluster, ns: &str, service: &str) -> String {
    let ip = cluster.kubectl().ok(&["get", "svc", service, "-n", ns, "-o", "jsonpath={.spec.clusterIP}"]).await;
    let ip = ip.trim().to_string();
    let prefix = SERVICE_CIDR.trim_end_matches("0.0/16");
    assert!(ip.starts_with(prefix), "{ns}/{service}'s cluster IP {ip} is outside {SERVICE_CIDR}");
    ip
}

/// Which pods answered `GET /` (the `served by NAME` lines of `answers`).
fn served_in(answers: &str) -> std::collections::BTreeSet<String> {
    answers.lines().filter_map(|l| l.trim().strip_prefix("served by ")).map(str::to_owned).collect()
}

/// From the web pod on each node, `clusterIP:80` of the Service over both
/// nodes' pods answers, and takes turns over both: the asking pod's own
/// answer among them is the hairpin (a pod reaching itself through its node's
/// proxy). On docker-1 the pod's packets reach the proxy inside the node
/// container by the host's route for the service range; on containerd-1
/// through the node's own pod bridge.
async fn cluster_ip_answers_from_pods_on_both_nodes(cluster: &Cluster, web: &BTreeMap<String, PodRow>) {
    let ip = cluster_ip(cluster, NS, "web").await;
    let names: Vec<&str> = web.values().map(|p| p.name.as_str()).collect();
    // busybox's nc: one request per connection, four in a row from the same pod
    let script = format!("for i in 1 2 3 4; do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 {ip} 80; echo; done");
    for (node, pod) in web {
        eventually(&format!("{ip}:80 from {} on {node} served by both pods", pod.name), WAIT, || async {
            let answers = exec_sh(cluster, NS, &pod.name, &script).await?;
            let seen = served_in(&answers);
            match names.iter().all(|n| seen.contains(*n)) {
                true => Ok(()),
                false => Err(format!("served by {seen:?}: {answers}")),
            }
        })
        .await;
    }
}

/// Cluster DNS from the web pod on each node (the kubelets' `--cluster-dns`
/// is `kube-system/kube-dns`, whose Endpoints are the DNS container):
/// `nslookup web` through the pod's search path answers the Service's
/// cluster IP, and `wget http://web/` by that name reaches a backend.
async fn service_names_resolve_from_pods_on_both_nodes(cluster: &Cluster, web: &BTreeMap<String, PodRow>) {
    let ip = cluster_ip(cluster, NS, "web").await;
    let fqdn = format!("web.{NS}.svc.cluster.local");
    let names: Vec<&str> = web.values().map(|p| p.name.as_str()).collect();
    for (node, pod) in web {
        let answer = eventually(&format!("nslookup web in {} on {node}", pod.name), WAIT, || async {
            // busybox's nslookup exits non-zero when AAAA has no answer: read its output
            let out = cluster.capstan(&["exec", &pod.name, "-n", NS, "--", "nslookup", "web"]).await;
            let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = said.lines().map(str::trim).collect();
            let named = lines.iter().position(|l| l.starts_with("Name:") && l.contains(&fqdn));
            let addressed = named.and_then(|i| lines.get(i + 1)).is_some_and(|l| l.ends_with(&format!(" {ip}")));
            match addressed {
                true => Ok(said),
                false => Err(said),
            }
        })
        .await;
        eprintln!("e2e: nslookup web in {} on {node}:\n{answer}", pod.name);
        let body = eventually(&format!("wget http://web/ in {} on {node}", pod.name), WAIT, || async {
            let body = exec_sh(cluster, NS, &pod.name, "wget -qO- http://web/").await?;
            match served_in(&body).iter().any(|n| names.contains(&n.as_str())) {
                true => Ok(body),
                false => Err(body),
            }
        })
        .await;
        eprintln!("e2e: wget http://web/ in {} on {node}: {}", pod.name, body.trim());
    }
}

/// `capstan.io/lb-algorithm: random` on the Service: both pods still answer,
/// and the turns are no longer strict alternation. Round-robin over two pods
/// alternates exactly; 40 random picks alternate by chance with probability
/// 2^-39, so a run that alternates means the proxy did not switch.
async fn random_algorithm_spreads_by_chance(cluster: &Cluster, web: &BTreeMap<String, PodRow>) {
    let kubectl = cluster.kubectl();
    kubectl.ok(&["annotate", "svc", "web", "-n", NS, "capstan.io/lb-algorithm=random"]).await;
    let port = node_port(cluster, NS, "web").await;
    let names: Vec<&str> = web.values().map(|p| p.name.as_str()).collect();
    let addr: SocketAddr =
        format!("{}:{port}", cluster.node_address(0)).parse().unwrap_or_else(|e| panic!("a node address: {e}"));
    eventually(&format!("{addr} picking at random over both pods"), WAIT, || async {
        let mut seen = Vec::new();
        for _ in 0..40 {
            seen.push(served_by(addr).await?);
        }
        let both = names.iter().all(|n| seen.iter().any(|s| s == n));
        let alternating = seen.windows(2).all(|pair| pair[0] != pair[1]);
        match (both, alternating) {
            (true, false) => Ok(()),
            _ => Err(format!("served by {seen:?}")),
        }
    })
    .await;
    // back to the proxy's default for the scenarios after
    kubectl.ok(&["annotate", "svc", "web", "-n", NS, "capstan.io/lb-algorithm-"]).await;
}

/// kubectl's watch of `ns`'s pods on `server`, its lines gathered as they come.
struct Watch {
    child: tokio::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// kubectl's runner: its cache directory lives as long as the watch
    _kubectl: capstan_testkit::kubectl::Kubectl,
}

impl Watch {
    fn start(cluster: &Cluster, server: &str, ns: &str) -> Watch {
        let kubectl = capstan_testkit::kubectl::Kubectl::new(server, cluster.admin_kubeconfig());
        // one `pod/NAME` line per event
        let mut command =
            tokio::process::Command::from(kubectl.command(&["get", "pods", "-n", ns, "--watch", "-o", "name"]));
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn().unwrap_or_else(|e| panic!("starting kubectl get pods --watch: {e}"));
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("kubectl's stdout"));
        tokio::spawn({
            let lines = lines.clone();
            async move {
                use tokio::io::AsyncBufReadExt;
                let mut reader = tokio::io::BufReader::new(stdout).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            }
        });
        Watch { child, lines, _kubectl: kubectl }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The API server restarted (`docker stop`, then `docker start`: a restart with
/// a write in its gap) while `apiserver-2`, on the same etcd members, serves:
/// a watch on apiserver-2 keeps receiving throughout, a scale-up written through
/// apiserver-2 while apiserver-1 is down is acted on once it is back by the
/// components pointed at it (controller-manager, scheduler, kubelet: their
/// watches resumed), and no pod is duplicated or lost.
async fn apiserver_restart_loses_nothing(cluster: &Cluster) {
    let ns = "e2e-restart";
    cluster.apply(&web_manifest(ns)).await;
    let mut before = Vec::new();
    for (_, runtime) in NODES {
        before.extend(ready_pods(cluster, ns, &format!("app=web,runtime={runtime}"), 1).await);
    }
    let mut watch = Watch::start(cluster, &cluster.server_2, ns);
    eventually("the watch on apiserver-2 listing the pods", WAIT, || async {
        let lines = watch.lines();
        before.iter().all(|p| lines.iter().any(|l| l.ends_with(&format!("pod/{}", p.name)))).then_some(())
    })
    .await;
    cluster.engine.stop("apiserver", 10).await.unwrap_or_else(|e| panic!("{e}"));
    let through_2 = capstan_testkit::kubectl::Kubectl::new(cluster.server_2.clone(), cluster.admin_kubeconfig());
    through_2.ok(&["scale", "deployment", "web-docker", "-n", ns, "--replicas=2"]).await;
    cluster.engine.start_container("apiserver").await.unwrap_or_else(|e| panic!("{e}"));
    let after = ready_pods(cluster, ns, "app=web", before.len() + 1).await;
    let names = |rows: &[PodRow]| rows.iter().map(|p| p.name.clone()).collect::<std::collections::BTreeSet<_>>();
    let (before_names, after_names) = (names(&before), names(&after));
    assert!(before_names.is_subset(&after_names), "pods lost across the restart: {before:?} then {after:?}");
    let added: Vec<&PodRow> = after.iter().filter(|p| !before_names.contains(&p.name)).collect();
    assert!(
        added.len() == 1 && added[0].node == "docker-1" && added[0].name.starts_with("web-docker-"),
        "one pod added, web-docker's, on docker-1: {added:?}"
    );
    // the watch on apiserver-2 saw the new pod, and is still the same watch
    eventually("the watch on apiserver-2 seeing the new pod", WAIT, || async {
        let lines = watch.lines();
        lines.iter().any(|l| l.ends_with(&format!("pod/{}", added[0].name))).then_some(())
    })
    .await;
    let exited = watch.child.try_wait().unwrap_or_else(|e| panic!("kubectl's watch: {e}"));
    assert!(exited.is_none(), "the watch on apiserver-2 ended ({exited:?}): {:?}", watch.lines());
    eprintln!("e2e: the watch on apiserver-2 across apiserver-1's restart: {} events", watch.lines().len());
    for node in ["docker-1", "containerd-1"] {
        cluster.wait_node_ready(node).await;
    }
}

/// One etcd member stopped: reads and writes go on; started again, it holds
/// what was written while it was down (with another member stopped after,
/// the cluster's quorum needs it).
async fn etcd_member_down_and_back(cluster: &Cluster) {
    cluster.engine.stop("etcd-1", 10).await.unwrap_or_else(|e| panic!("{e}"));
    // a write is a namespace, labelled: the smallest object every store path handles
    let namespace = |name: &str| {
        format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{written: while-down}}}}\n")
    };
    cluster.apply(&namespace("e2e-etcd-during")).await;
    let read = cluster.capstan_ok(&["get", "namespace", "e2e-etcd-during", "-o", "yaml"]).await;
    assert!(read.contains("while-down"), "{read}");
    cluster.engine.start_container("etcd-1").await.unwrap_or_else(|e| panic!("{e}"));
    // etcd-1 rejoins; with etcd-2 down, every read needs etcd-1 caught up
    eventually("etcd-1 running", WAIT, || async { cluster.engine.running("etcd-1").await.ok().filter(|r| *r) }).await;
    cluster.engine.stop("etcd-2", 10).await.unwrap_or_else(|e| panic!("{e}"));
    eventually("the namespace read with etcd-1 back and etcd-2 down", WAIT, || async {
        let out = cluster.capstan(&["get", "namespace", "e2e-etcd-during", "-o", "yaml"]).await;
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        match out.status.success() && text.contains("while-down") {
            true => Ok(()),
            false => Err(text),
        }
    })
    .await;
    cluster.apply(&namespace("e2e-etcd-after")).await;
    cluster.engine.start_container("etcd-2").await.unwrap_or_else(|e| panic!("{e}"));
}

async fn lease_holder(cluster: &Cluster, lease: &str) -> String {
    let out = cluster
        .kubectl()
        .run(&["get", "lease", lease, "-n", "kube-system", "-o", "jsonpath={.spec.holderIdentity}"])
        .await;
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The leading scheduler and controller-manager killed: the others take the
/// leases over, and a new Deployment's pods are created and placed.
async fn leaders_killed_others_take_over(cluster: &Cluster) {
    let mut killed = Vec::new();
    for (lease, roles) in [
        ("capstan-scheduler", ["scheduler-1", "scheduler-2"]),
        ("capstan-controller-manager", ["controller-manager-1", "controller-manager-2"]),
    ] {
        let holder = eventually(&format!("a holder of {lease}"), WAIT, || async {
            let holder = lease_holder(cluster, lease).await;
            roles.iter().find(|r| holder.starts_with(&format!("{r}_"))).map(|r| (r.to_string(), holder))
        })
        .await;
        cluster.engine.kill(&holder.0).await.unwrap_or_else(|e| panic!("{e}"));
        killed.push((lease, holder));
    }
    let ns = "e2e-leaders";
    cluster.apply(&web_manifest(ns)).await;
    for (_, runtime) in NODES {
        ready_pods(cluster, ns, &format!("app=web,runtime={runtime}"), 1).await;
    }
    for (lease, (role, holder)) in killed {
        let now = lease_holder(cluster, lease).await;
        assert!(now != holder && !now.starts_with(&format!("{role}_")), "{lease} still held by {now}");
    }
}

/// `docker stop` of a node container that runs a Deployment's pod: the node
/// goes NotReady (or Unknown), its pods are replaced on the other node once
/// their toleration ends; `docker start` brings the node back Ready.
async fn node_stopped_pods_move_and_node_returns(cluster: &Cluster) {
    let ns = "e2e-node-down";
    let manifest = web_manifest(ns)
        .replace("nodeSelector: {kubernetes.io/hostname: docker-1}", "")
        .replace("nodeSelector: {kubernetes.io/hostname: containerd-1}", "")
        .replace("replicas: 1", "replicas: 2");
    cluster.apply(&manifest).await;
    let rows = ready_pods(cluster, ns, "app=web,runtime=docker", 2).await;
    // stop the node that runs most of them (docker-1 on a tie: its pods outlive its node container)
    let on = |node: &str| rows.iter().filter(|p| p.node == node).count();
    let (stopped, other) =
        if on("docker-1") >= on("containerd-1") { ("docker-1", "containerd-1") } else { ("containerd-1", "docker-1") };
    cluster.engine.stop(stopped, 20).await.unwrap_or_else(|e| panic!("{e}"));
    eventually(&format!("{stopped} NotReady or Unknown"), WAIT, || async {
        let out = cluster.capstan_ok(&["get", "node", stopped]).await;
        let status = out.lines().nth(1).and_then(|l| l.split_whitespace().nth(1)).unwrap_or_default().to_string();
        match status.starts_with("NotReady") || status.starts_with("Unknown") {
            true => Ok(()),
            false => Err(out),
        }
    })
    .await;
    let moved = ready_pods(cluster, ns, "app=web,runtime=docker", 2).await;
    assert!(moved.iter().all(|p| p.node == other), "pods not replaced on {other}: {moved:?}");
    cluster.engine.start_container(stopped).await.unwrap_or_else(|e| panic!("{e}"));
    cluster.wait_node_ready(stopped).await;
}

/// A rolling update while a client sends ≥ 50 requests a second through the
/// node port of both nodes in turn: every request answered.
async fn rolling_update_under_load_fails_nothing(cluster: &Cluster) {
    let ns = "e2e-rollout";
    let manifest = |version: &str| {
        web_manifest(ns)
            .replace("nodeSelector: {kubernetes.io/hostname: docker-1}", "")
            .replace("nodeSelector: {kubernetes.io/hostname: containerd-1}", "")
            .replace("served by $(hostname)", &format!("{version} served by $(hostname)"))
    };
    cluster.apply(&manifest("v1")).await;
    for (_, runtime) in NODES {
        ready_pods(cluster, ns, &format!("app=web,runtime={runtime}"), 1).await;
    }
    let port = node_port(cluster, ns, "web").await;
    let addrs: Vec<SocketAddr> = (0..NODES.len())
        .map(|i| format!("{}:{port}", cluster.node_address(i as u8)).parse().unwrap_or_else(|e| panic!("{e}")))
        .collect();
    for addr in &addrs {
        eventually(&format!("{addr} answering"), WAIT, || served_by(*addr)).await;
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = tokio::spawn({
        let (stop, addrs) = (stop.clone(), addrs.clone());
        async move {
            let started = std::time::Instant::now();
            let (mut answered, mut failed, mut seen) = (0usize, Vec::new(), std::collections::BTreeSet::new());
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(10));
            let mut i = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                let addr = addrs[i % addrs.len()];
                i += 1;
                match served_by(addr).await {
                    Ok(body) => {
                        answered += 1;
                        seen.insert(body.split(' ').next().unwrap_or_default().to_string());
                    }
                    Err(error) => failed.push(error),
                }
            }
            (answered, failed, seen, started.elapsed())
        }
    });
    cluster.apply(&manifest("v2")).await;
    for (_, runtime) in NODES {
        eventually(&format!("web-{runtime} rolled out to v2"), WAIT, || async {
            let rows = ready_pods(cluster, ns, &format!("app=web,runtime={runtime}"), 1).await;
            let url = format!("http://{}:8080/", rows[0].ip);
            let node = NODES.iter().position(|(n, _)| *n == rows[0].node).unwrap_or(0);
            let via: SocketAddr = format!("{}:{port}", cluster.node_address(node as u8)).parse().ok()?;
            // every answer through this node's port is v2 once the old pods are gone
            let mut answers = Vec::new();
            for _ in 0..4 {
                answers.push(served_by(via).await.ok()?);
            }
            answers.iter().all(|a| a.starts_with("v2 ")).then_some(url)
        })
        .await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (answered, failed, seen, elapsed) = client.await.unwrap_or_else(|e| panic!("the client task: {e}"));
    let rate = answered as f64 / elapsed.as_secs_f64();
    eprintln!("e2e: rolling update: {answered} requests answered in {elapsed:?} ({rate:.0}/s), versions {seen:?}");
    assert!(failed.is_empty(), "{} of {} requests failed during the rollout: {failed:?}", failed.len(), answered);
    assert!(rate >= 50.0, "the client sent {rate:.0} requests/s, fewer than 50");
    assert!(seen.contains("v1") && seen.contains("v2"), "the client saw {seen:?}, not both versions");
}
