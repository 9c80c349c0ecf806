//! The API server on a three-member etcd cluster keeps answering while any one member is
//! down, leader or follower, and after it comes back: etcd serves with a minority lost, so
//! the API server must too (a user saw 13 of 40 creates fail with one follower stopped).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use capstan_apiserver::{ApiServer, Config, StoreConfig};
use capstan_proto::api::v1::resource_service_client::ResourceServiceClient;
use capstan_proto::api::v1::*;
use capstan_proto::object::parse_manifests;
use capstan_proto::ObjectExt;
use capstan_test_support::{require_daemon, EtcdCluster};
use common::{pod_yaml, rref};
use futures::StreamExt;
use tonic::transport::Channel;

/// Steps (a create, a get, an update and a list each) per phase: one member down; all back.
const STEPS_DOWN: usize = 15;
const STEPS_BACK: usize = 5;

struct Client {
    api: ResourceServiceClient<Channel>,
    failures: Vec<String>,
    requests: usize,
}

impl Client {
    fn record<T>(&mut self, what: String, result: Result<T, tonic::Status>) -> Option<T> {
        self.requests += 1;
        result.map_err(|status| self.failures.push(format!("{what}: {:?}: {}", status.code(), status.message()))).ok()
    }

    /// One step of a steady client: create a pod, read it, label it, list the namespace.
    async fn step(&mut self, name: &str) {
        let object = parse_manifests("test", &pod_yaml("default", name, "step: created")).expect("pod").remove(0);
        let r = Some(rref("pods", "default", ""));
        let create = self
            .api
            .create(CreateRequest { r#ref: r, object: Some(object), dry_run: false, ..Default::default() })
            .await;
        if self.record(format!("create {name}"), create).is_none() {
            return;
        }
        let get = self.api.get(GetRequest { r#ref: Some(rref("pods", "default", name)) }).await;
        let Some(got) = self.record(format!("get {name}"), get) else { return };
        let mut object = got.into_inner();
        if let Some(meta) = object.meta_mut() {
            meta.labels.insert("step".into(), "updated".into());
        }
        let update = self
            .api
            .update(UpdateRequest {
                r#ref: Some(rref("pods", "default", name)),
                object: Some(object),
                dry_run: false,
                ..Default::default()
            })
            .await;
        self.record(format!("update {name}"), update);
        let list = self.api.list(ListRequest { r#ref: Some(rref("pods", "default", "")), options: None }).await;
        if let Some(list) = self.record(format!("list after {name}"), list) {
            if !list.get_ref().items.iter().any(|o| o.meta().name == name) {
                self.failures.push(format!("list after {name} misses it"));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_fails_while_each_etcd_member_in_turn_is_down() {
    let Some(mut cluster) = require_daemon(EtcdCluster::start().await) else {
        return;
    };
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        storage: StoreConfig::etcd(cluster.endpoints()),
        ..Config::default()
    };
    let dir = tempfile::tempdir().expect("a temp dir for the PKI");
    let mut admin = capstan_testkit::cluster::secure(&mut config, dir.path());
    let server = ApiServer::start(config).await.expect("API server starts on the cluster");
    admin.server = server.url();
    let api = ResourceServiceClient::new(admin.channel().expect("the admin's channel"));
    let mut client = Client { api, failures: Vec::new(), requests: 0 };
    let watch = ListOptions { resource_version: "0".into(), ..Default::default() };
    let mut watch = client
        .api
        .watch(WatchRequest { r#ref: Some(rref("pods", "default", "")), options: Some(watch) })
        .await
        .expect("watch pods")
        .into_inner();

    let mut created = BTreeSet::new();
    let mut killed = Vec::new();
    for _ in 0..cluster.len() {
        let (victim, role) = cluster.kill_next(&mut killed).await.expect("the cluster has a leader");
        for i in 0..STEPS_DOWN + STEPS_BACK {
            if i == STEPS_DOWN {
                cluster.restart(victim).await.expect("the member comes back");
            }
            let phase = if i < STEPS_DOWN { "down" } else { "back" };
            let name = format!("{role}-m{victim}-{phase}-{i}");
            client.step(&name).await;
            created.insert(name);
        }
    }
    eprintln!("{} of {} requests failed", client.failures.len(), client.requests);
    assert!(
        client.failures.is_empty(),
        "{} of {} requests failed: {:#?}",
        client.failures.len(),
        client.requests,
        client.failures
    );

    // The API server's one store watch moved to a live member each time its own died: a
    // client watch from before the first kill sees every pod created and updated.
    let mut updated = BTreeSet::new();
    let watched = async {
        while updated != created {
            let event = watch.next().await.expect("the watch stays open").expect("no watch error");
            let Some(object) = event.object else { continue };
            if event.r#type == "MODIFIED" && object.meta().labels.get("step").map(String::as_str) == Some("updated") {
                updated.insert(object.meta().name.clone());
            }
        }
    };
    // A bound on a hang, not on speed: the events are long written by now.
    if tokio::time::timeout(Duration::from_secs(60), watched).await.is_err() {
        let missing: Vec<_> = created.difference(&updated).collect();
        panic!("the watch missed the updates of {missing:?}");
    }
    // A graceful stop waits for open streams: end the watch first.
    drop((watch, client));
    server.stop().await.expect("clean stop");
}
