//! One command is one trace: `capstan apply`'s root span, its client calls,
//! the API server's handling of them and the store write share a trace id.

use capstan_apiserver::{ApiServer, Config, StoreConfig};
use std::time::Duration;

#[tokio::test]
async fn apply_and_the_api_server_share_one_trace() {
    let spans = capstan_telemetry::init_for_test();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        storage: StoreConfig::embedded(dir.path().join("data")),
        ..Default::default()
    };
    // behind the real door: TLS and the admin's certificate carry the trace too
    capstan_testkit::cluster::secure(&mut config, dir.path());
    let kubeconfig = capstan_pki::Layout::new(dir.path().join("pki")).kubeconfig("admin").display().to_string();
    let server = ApiServer::start(config).await.expect("API server");
    let manifest = dir.path().join("ns.yaml");
    std::fs::write(&manifest, "apiVersion: v1\nkind: Namespace\nmetadata: {name: traced}\n").expect("write");
    let url = server.url();
    let path = manifest.display().to_string();
    let mut out = Vec::new();
    let args = ["capstan", "--kubeconfig", kubeconfig.as_str(), "--server", url.as_str(), "apply", "-f", path.as_str()];
    capstan::run(args, &mut out).await.expect("apply");

    let found = spans
        .wait_for(Duration::from_secs(30), |spans| {
            let Some(root) = spans.iter().find(|s| s.name == "capstan apply") else {
                return false;
            };
            let trace = root.span_context.trace_id();
            let in_trace = |name: &str| spans.iter().any(|s| s.name == name && s.span_context.trace_id() == trace);
            in_trace("grpc.client")
                && in_trace("grpc.server")
                && in_trace("registry.create")
                && in_trace("store.create")
        })
        .await;
    assert!(found.is_ok(), "no single trace from the CLI through the API server to the store: {found:?}");
    server.stop().await.expect("stop");
}
