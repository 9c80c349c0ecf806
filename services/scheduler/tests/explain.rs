//! The scheduler's port against a real API server: `Explain` node by node
//! (by name and inline, with taints, a not-ready node and an existing pod's
//! anti-affinity), its errors, and `GET /metrics` on the same port.

mod common;

use capstan_proto::core::v1::{Affinity, Pod, PodAffinityTerm, PodAntiAffinity, Taint};
use capstan_proto::meta::v1::LabelSelector;
use capstan_proto::scheduler::v1::scheduler_service_client::SchedulerServiceClient;
use capstan_proto::scheduler::v1::{explain_request, ExplainRequest, ExplainResponse, PodReference};
use common::*;

fn by_name(name: &str) -> ExplainRequest {
    let r = PodReference { namespace: "default".into(), name: name.into() };
    ExplainRequest { pod: Some(explain_request::Pod::PodRef(r)) }
}

/// One line per node: `name: fits total` or `name: reasons`.
fn rows(reply: &ExplainResponse) -> Vec<String> {
    reply
        .nodes
        .iter()
        .map(|n| {
            if n.fits {
                let scores: Vec<String> = n.scores.iter().map(|s| format!("{}={}", s.plugin, s.score)).collect();
                format!("{}: fits {} [{}]", n.node, n.total_score, scores.join(" "))
            } else {
                format!("{}: {}", n.node, n.reasons.join("; "))
            }
        })
        .collect()
}

fn exclusive(mut pod: Pod) -> Pod {
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: [("app".to_string(), "web".to_string())].into(),
            ..Default::default()
        }),
        topology_key: "kubernetes.io/hostname".into(),
        ..Default::default()
    };
    if let Some(spec) = pod.spec.as_mut() {
        spec.affinity = Some(Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: vec![term],
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    pod
}

fn web(mut pod: Pod) -> Pod {
    if let Some(meta) = pod.metadata.as_mut() {
        meta.labels.insert("app".into(), "web".into());
    }
    pod
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_names_every_nodes_reasons_and_scores() {
    let c = cluster().await;
    let gpu = Taint { key: "dedicated".into(), value: "gpu".into(), effect: "NoSchedule".into(), ..Default::default() };
    add_node(&c, "gpu", "8", vec![gpu], false).await;
    add_node(&c, "small", "1", vec![], false).await;
    add_node_with_ready(&c, "down", "8", vec![], false, "False").await;
    add_node(&c, "roomy", "4", vec![], false).await;
    let scheduler = start_scheduler(&c).await;
    let addr = scheduler.addr().expect("the scheduler serves a port");
    let api = c.client.api::<Pod>(Some("default"));
    // `guard` lands on roomy (the one node it fits) and keeps app=web pods off it
    api.create(&exclusive(pod("guard", "2", None))).await.expect("create pod");
    wait_for("guard bound", || async { api.get("guard").await.ok().filter(|p| node_of(p) == "roomy") }).await;
    api.create(&web(pod("big", "2", None))).await.expect("create pod");
    let want = "0/4 nodes are available: 1 Insufficient cpu, 1 node(s) didn't satisfy existing pods anti-affinity \
                rules, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint \
                {node.kubernetes.io/not-ready: }.";
    let condition = wait_for("big unschedulable", || async {
        let pod = api.get("big").await.ok()?;
        pod.status?.conditions.into_iter().find(|c| c.reason == "Unschedulable")
    })
    .await;
    assert_eq!(condition.message, want, "the pod's condition");

    let mut client = SchedulerServiceClient::connect(format!("http://{addr}")).await.expect("connect");
    let reply = client.explain(by_name("big")).await.expect("explain big").into_inner();
    assert_eq!(reply.message, want, "the explanation's summary is the condition's message");
    assert_eq!((reply.chosen_node.as_str(), reply.profile.as_str()), ("", "default-scheduler"));
    assert_eq!(
        rows(&reply),
        [
            "down: node(s) had untolerated taint {node.kubernetes.io/not-ready: }",
            "gpu: node(s) had untolerated taint {dedicated: gpu}",
            "roomy: node(s) didn't satisfy existing pods anti-affinity rules",
            "small: Insufficient cpu",
        ]
    );

    // the bound guard is explained as if it were not on roomy yet
    let reply = client.explain(by_name("guard")).await.expect("explain guard").into_inner();
    assert_eq!((reply.bound_node.as_str(), reply.chosen_node.as_str()), ("roomy", "roomy"));
    assert_eq!(reply.message, "1/4 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.");
    let roomy = reply.nodes.iter().find(|n| n.node == "roomy").expect("roomy explained");
    let plugins: Vec<&str> = roomy.scores.iter().map(|s| s.plugin.as_str()).collect();
    assert_eq!(plugins, ["leastAllocated", "balancedAllocation", "ownerSpread", "nodeAffinity", "taintToleration"]);
    assert_eq!(roomy.total_score, roomy.scores.iter().map(|s| s.weight * s.score).sum::<i64>());

    // an inline pod need not exist; a small one fits beside the guard too,
    // but the emptier small node scores higher (75+75 against 69+69)
    let inline = ExplainRequest { pod: Some(explain_request::Pod::Inline(pod("draft", "500m", None))) };
    let reply = client.explain(inline).await.expect("explain inline").into_inner();
    assert_eq!((reply.name.as_str(), reply.chosen_node.as_str()), ("draft", "small"));
    let fitting: Vec<String> = rows(&reply).into_iter().filter(|r| r.contains("fits")).collect();
    assert_eq!(
        fitting,
        [
            "roomy: fits 438 [leastAllocated=69 balancedAllocation=69 ownerSpread=100 nodeAffinity=0 taintToleration=100]",
            "small: fits 450 [leastAllocated=75 balancedAllocation=75 ownerSpread=100 nodeAffinity=0 taintToleration=100]",
        ]
    );

    let missing = client.explain(by_name("nobody")).await.err().map(|s| (s.code(), s.message().to_string()));
    assert_eq!(missing, Some((tonic::Code::NotFound, "pod default/nobody not found".to_string())));
    let mut foreign = pod("foreign", "1", None);
    if let Some(spec) = foreign.spec.as_mut() {
        spec.scheduler_name = "someone-else".into();
    }
    let inline = ExplainRequest { pod: Some(explain_request::Pod::Inline(foreign)) };
    let refused = client.explain(inline).await.err().map(|s| s.code());
    assert_eq!(refused, Some(tonic::Code::FailedPrecondition));

    // GET /metrics on the same port
    let text = scrape(addr).await;
    let scheduled = "scheduler_schedule_attempts_total{result=\"scheduled\",profile=\"default-scheduler\"}";
    let unschedulable = "scheduler_schedule_attempts_total{result=\"unschedulable\",profile=\"default-scheduler\"}";
    assert_eq!(sample(&text, scheduled), Some(1.0), "{text}");
    assert!(sample(&text, unschedulable).is_some_and(|n| n >= 1.0), "{text}");
    assert_eq!(sample(&text, "scheduler_pending_pods{queue=\"unschedulable\"}"), Some(1.0), "{text}");
    assert_eq!(sample(&text, "scheduler_binding_duration_seconds_count"), Some(1.0), "{text}");
    scheduler.stop().await.expect("scheduler stops");
}
