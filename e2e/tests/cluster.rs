//! The end-to-end suite on one cluster of containers (starting one costs most
//! of a test's time, and clusters run one at a time on an engine): each
//! scenario in its own namespace, in the order the issue lists them, so an
//! earlier failure leaves the later ones unexercised rather than misreported.

use capstan_e2e::{Cluster, NODES};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_of_containers() {
    let started = std::time::Instant::now();
    let Some(cluster) = Cluster::start().await else { return };
    eprintln!("e2e: the cluster reached two Ready nodes in {:?}", started.elapsed());
    nodes_register_ready_with_their_runtimes(&cluster).await;
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
