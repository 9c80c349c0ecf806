//! Services found by name from inside the cluster, with no manual step: the
//! Kubernetes guestbook (examples/guestbook.yaml, applied unchanged) on a
//! `capstan up` cluster with a Docker node and a containerd node.
//!
//! - From a front-end pod on each runtime, `capstan exec … nslookup
//!   redis-master` answers the Service's cluster IP (the pod's resolver is
//!   the cluster DNS at `kube-system/kube-dns`'s cluster IP, reached through
//!   the proxy), and the guestbook's own set and get go through
//!   `redis-master` and `redis-slave` by name, the followers relaying to the
//!   leader by name in turn; the kubelet gave each pod the Service variables.
//! - From the host, the front end answers on its cluster IP and node port,
//!   and `dig` against the cluster DNS answers A, SRV, PTR, a headless
//!   Service's endpoints and NXDOMAIN.
//! - From a pod on each runtime, a Service's name (its cluster IP) balances as
//!   the Service says: round-robin, random, ClientIP affinity.
//!
//! Needs Docker, containerd, root (the proxy's interface) and `dig` (a skip
//! without the daemons, a failure with `CI=true`).

mod up_harness;

use std::collections::BTreeSet;
use std::path::Path;

use capstan_proto::core::v1::{Pod, Service, ServicePort, ServiceSpec};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_test_support::eventually;
use up_harness::two_runtimes::TwoRuntimes;
use up_harness::{http_get_path, node_of, pod_ip, ready, wait_pods, WAIT};

const ZONE: &str = "cluster.local";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guestbook_finds_its_backends_by_name_on_docker_and_containerd() {
    let Some(cluster) = TwoRuntimes::start("guestbook").await else { return };
    let up = &cluster.up;
    assert!(up.said.contains("Cluster DNS: kube-system/kube-dns on"), "{}", up.said);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/guestbook.yaml");
    let applied = up.capstan(&["apply", "-f", &manifest.display().to_string()]).await;
    assert!(applied.contains("deployment.apps/frontend created"), "{applied}");

    let client = up.client();
    let all_ready = |n: usize| move |pods: &[Pod]| pods.len() == n && pods.iter().all(ready);
    wait_pods(&client, "app=redis,role=master", all_ready(1)).await;
    wait_pods(&client, "app=redis,role=slave", all_ready(2)).await;
    let frontends = wait_pods(&client, "app=guestbook,tier=frontend", all_ready(3)).await;
    let services = client.api::<Service>(Some("default"));
    let cluster_ip = |service: &Service| service.spec.as_ref().map(|s| s.cluster_ip.clone()).unwrap_or_default();
    let master = services.get("redis-master").await.expect("redis-master");
    let master_ip = cluster_ip(&master);
    // TYPE/NAME as kubectl takes it: one of the pods the object selects
    let name_of = |p: &Pod| p.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
    let frontend_names: BTreeSet<String> = frontends.iter().map(name_of).collect();
    let chosen = up.capstan(&["exec", "svc/frontend", "--", "hostname"]).await;
    assert!(frontend_names.contains(chosen.trim()), "exec svc/frontend ran in {chosen:?}, not a front end");
    let replica_log = up.capstan(&["logs", "deploy/redis-slave"]).await;
    assert!(replica_log.contains("replica of redis-master 6379"), "{replica_log}");

    // one front end on each runtime: the owner-spread score puts the three on both nodes
    for (runtime, node) in [("docker", &cluster.docker_node), ("containerd", &cluster.containerd_node)] {
        let pod = frontends.iter().find(|p| &node_of(p) == node).unwrap_or_else(|| {
            panic!("no front end on the {runtime} node {node}: {:?}", frontends.iter().map(node_of).collect::<Vec<_>>())
        });
        let name = pod.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
        let exec = |command: &'static str| {
            let name = name.clone();
            async move { up.capstan(&["exec", &name, "--", "sh", "-c", command]).await }
        };
        // busybox's nslookup asks every search domain and exits 1 when any says NXDOMAIN,
        // even once the first has answered: its output is the answer
        let looked_up = exec("nslookup redis-master; true").await;
        assert!(
            looked_up.contains(&format!("redis-master.default.svc.{ZONE}")) && looked_up.contains(&master_ip),
            "nslookup redis-master on the {runtime} node answered:\n{looked_up}"
        );
        let variables = exec("echo $REDIS_MASTER_SERVICE_HOST:$REDIS_MASTER_SERVICE_PORT").await;
        assert_eq!(variables.trim(), format!("{master_ip}:6379"), "the Service variables on the {runtime} node");
        // the guestbook's own calls: a write to redis-master, a read through redis-slave
        let set = format!("wget -qO- 'http://localhost/guestbook.php?cmd=set&key=messages&value=from-{runtime}'");
        let written = up.capstan(&["exec", &name, "--", "sh", "-c", &set]).await;
        assert_eq!(written.trim(), r#"{"message": "Updated"}"#, "set on the {runtime} node");
        let read = exec("wget -qO- 'http://localhost/guestbook.php?cmd=get&key=messages'").await;
        assert_eq!(read.trim(), format!(r#"{{"data": "from-{runtime}"}}"#), "get on the {runtime} node");
        // a pod reaches the Service it backs (hairpin): six requests round-robin over three
        // front ends reach this pod itself twice, and every one must be answered
        let mut answered = BTreeSet::new();
        for _ in 0..6 {
            answered.insert(exec("wget -qO- http://frontend/guestbook.php?cmd=get&key=messages").await);
        }
        assert_eq!(answered.len(), 1, "the front ends answered differently through their Service: {answered:?}");
    }

    // the host reaches the front end on its cluster IP (the proxy's interface) and node port
    let frontend = services.get("frontend").await.expect("frontend");
    let node_port = frontend.spec.as_ref().and_then(|s| s.ports.first()).map(|p| p.node_port).unwrap_or_default();
    let node_port = u16::try_from(node_port).expect("a node port");
    for (ip, port) in [(cluster_ip(&frontend), 80), ("127.0.0.1".to_string(), node_port)] {
        let answer = tokio::task::spawn_blocking(move || {
            http_get_path(&ip, port, "/guestbook.php?cmd=get&key=messages")
                .unwrap_or_else(|e| panic!("GET {ip}:{port}: {e}"))
        })
        .await
        .expect("GET");
        assert!(answer.contains(r#"{"data": "from-containerd"}"#), "{answer}");
    }

    dig_answers_for_the_cluster(up, &services, &frontends, &master_ip).await;
    cluster_ips_balance_from_pods_on_both_runtimes(&cluster, &frontends).await;
    cluster.up.stop().await;
}

/// Two pods that answer with their names behind three Services, one per way of
/// choosing a backend; asked through each Service's name (its cluster IP) from
/// a pod on each runtime: round-robin alternates, random reaches both by
/// chance, ClientIP affinity keeps to one.
const WHOAMI: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: whoami}
spec:
  replicas: 2
  selector: {matchLabels: {app: whoami}}
  template:
    metadata: {labels: {app: whoami}}
    spec:
      containers:
      - name: whoami
        image: capstan/test:1
        command: [sh, -c, 'hostname > /www/index.html && exec httpd -f -p 8080 -h /www']
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: whoami-rr}
spec: {selector: {app: whoami}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: whoami-random, annotations: {capstan.io/lb-algorithm: random}}
spec: {selector: {app: whoami}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: whoami-sticky}
spec: {selector: {app: whoami}, sessionAffinity: ClientIP, ports: [{port: 80, targetPort: 8080}]}
"#;

async fn cluster_ips_balance_from_pods_on_both_runtimes(cluster: &TwoRuntimes, frontends: &[Pod]) {
    let up = &cluster.up;
    let manifest = cluster.dir.path().join("whoami.yaml");
    std::fs::write(&manifest, WHOAMI).expect("write the manifest");
    up.capstan(&["apply", "-f", &manifest.display().to_string()]).await;
    let client = up.client();
    let whoami = wait_pods(&client, "app=whoami", |pods| pods.len() == 2 && pods.iter().all(ready)).await;
    let names: BTreeSet<String> =
        whoami.iter().map(|p| p.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default()).collect();
    // the Services' endpoints reach the proxy after the pods turn ready: wait until both answer
    let first = frontends.first().and_then(|p| p.metadata.as_ref()).map(|m| m.name.clone()).unwrap_or_default();
    eventually("both whoami pods behind whoami-rr", WAIT, || async {
        let seen: BTreeSet<String> = ask(up, &first, "whoami-rr", 4).await.into_iter().collect();
        (seen == names).then_some(()).ok_or(seen)
    })
    .await;
    for node in [&cluster.docker_node, &cluster.containerd_node] {
        let pod = frontends.iter().find(|p| &node_of(p) == node).expect("a front end on each node");
        let pod = pod.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
        let rr = ask(up, &pod, "whoami-rr", 6).await;
        assert!(rr.windows(2).all(|w| w[0] != w[1]), "round-robin from {node} did not alternate: {rr:?}");
        let random: BTreeSet<String> = ask(up, &pod, "whoami-random", 30).await.into_iter().collect();
        assert_eq!(random, names, "random from {node} reached only {random:?} in 30 requests");
        let sticky: BTreeSet<String> = ask(up, &pod, "whoami-sticky", 6).await.into_iter().collect();
        assert_eq!(sticky.len(), 1, "ClientIP affinity from {node} reached {sticky:?}");
    }
}

/// `count` requests from `pod` to `http://SERVICE/`: the names that answered, in order.
async fn ask(up: &up_harness::Up, pod: &str, service: &str, count: usize) -> Vec<String> {
    let script = format!("for i in $(seq {count}); do wget -qO- http://{service}/; done");
    let out = up.capstan(&["exec", pod, "--", "sh", "-c", &script]).await;
    out.lines().map(str::to_string).collect()
}

/// `dig` from the host against the cluster DNS's cluster IP: A, SRV, PTR, a
/// headless Service's ready endpoints, NXDOMAIN.
async fn dig_answers_for_the_cluster(
    up: &up_harness::Up,
    services: &capstan_client::Api<Service>,
    frontends: &[Pod],
    master_ip: &str,
) {
    let kube_dns = up.client().api::<Service>(Some("kube-system")).get("kube-dns").await.expect("kube-dns");
    let dns_ip = kube_dns.spec.as_ref().map(|s| s.cluster_ip.clone()).unwrap_or_default();
    let master = format!("redis-master.default.svc.{ZONE}");
    assert_eq!(dig(&dns_ip, &[&master, "A"]).await, [master_ip.to_string()]);
    assert_eq!(dig(&dns_ip, &[&format!("_redis._tcp.{master}"), "SRV"]).await, [format!("0 100 6379 {master}.")]);
    assert_eq!(dig(&dns_ip, &["-x", master_ip]).await, [format!("{master}.")]);
    // a headless Service over the front ends: one address per ready endpoint
    let headless = Service {
        metadata: Some(ObjectMeta { name: "frontend-pods".into(), ..Default::default() }),
        spec: Some(ServiceSpec {
            cluster_ip: "None".into(),
            selector: [("app", "guestbook"), ("tier", "frontend")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
            ports: vec![ServicePort { name: "http".into(), port: 80, ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    };
    services.create(&headless).await.expect("create the headless Service");
    let pod_ips: BTreeSet<String> = frontends.iter().map(pod_ip).collect();
    let name = format!("frontend-pods.default.svc.{ZONE}");
    eventually("the headless Service's endpoints in DNS", WAIT, || async {
        let answered: BTreeSet<String> = dig(&dns_ip, &[&name, "A"]).await.into_iter().collect();
        (answered == pod_ips).then_some(()).ok_or(answered)
    })
    .await;
    let missing = dig_full(&dns_ip, &[&format!("nothing.default.svc.{ZONE}"), "A"]).await;
    assert!(missing.contains("status: NXDOMAIN"), "{missing}");
}

/// `dig @SERVER +short ARGS`: the answer's lines.
async fn dig(server: &str, args: &[&str]) -> Vec<String> {
    let out = run_dig(server, &[&["+short"], args].concat()).await;
    out.lines().map(str::to_string).collect()
}

/// `dig @SERVER ARGS`: the whole output (header with its status, sections).
async fn dig_full(server: &str, args: &[&str]) -> String {
    run_dig(server, args).await
}

async fn run_dig(server: &str, args: &[&str]) -> String {
    let output = tokio::process::Command::new("dig")
        .arg(format!("@{server}"))
        .args(["+time=2", "+tries=2"])
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("running dig (Debian's bind9-dnsutils; scripts/setup.sh installs it): {e}"));
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "dig @{server} {args:?} failed: {out}{}", String::from_utf8_lossy(&output.stderr));
    out
}
