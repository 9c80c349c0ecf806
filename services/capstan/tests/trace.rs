//! One command is one trace: `capstan apply`'s root span, its client calls,
//! the API server's handling of them and the store write share a trace id.

mod up_harness;

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

/// `--trace` prints the id of the trace the command's root span started.
#[tokio::test]
async fn the_trace_flag_prints_the_commands_trace() {
    let spans = capstan_telemetry::init_for_test();
    let cluster = capstan_testkit::TestCluster::start().await;
    let manifest = cluster.path().join("ns.yaml");
    std::fs::write(&manifest, "apiVersion: v1\nkind: Namespace\nmetadata: {name: flagged}\n").expect("write");
    let mut args = vec!["capstan".to_owned()];
    args.extend(cluster.cli_args());
    args.extend(["--trace", "apply", "-f"].map(String::from));
    args.push(manifest.display().to_string());
    let mut out = Vec::new();
    capstan::run(args, &mut out).await.expect("apply");
    let out = String::from_utf8_lossy(&out).into_owned();
    let id = out.lines().find_map(|l| l.strip_prefix("trace: ")).expect("a trace: line").to_owned();
    assert!(out.starts_with("namespace/flagged created\n"), "{out}");

    let found = spans
        .wait_for(Duration::from_secs(30), |spans| {
            spans.iter().any(|s| s.name == "capstan apply" && s.span_context.trace_id().to_string() == id)
        })
        .await;
    assert!(found.is_ok(), "no `capstan apply` root in trace {id}: {found:?}");
    cluster.stop().await;
}

/// The whole path, as a user runs it: the `capstan` binary exports its spans over
/// OTLP to a sink, `--trace` names the trace, and `capstan trace` prints it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_command_reads_back_from_the_sink() {
    let cluster = capstan_testkit::TestCluster::start().await;
    let sink = capstan_trace_sink::bind("127.0.0.1:0".parse().expect("addr"), 10).await.expect("sink");
    let sink_url = format!("http://{}", sink.local_addr().expect("addr"));
    let serving = tokio::spawn(sink.serve(std::future::pending()));
    let manifest = cluster.path().join("ns.yaml");
    std::fs::write(&manifest, "apiVersion: v1\nkind: Namespace\nmetadata: {name: sunk}\n").expect("write");

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_capstan"))
        .args(cluster.cli_args())
        .args(["--trace", "apply", "-f"])
        .arg(&manifest)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &sink_url)
        .env_remove("OTEL_TRACES_SAMPLER")
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output).await.expect("capstan hung").expect("capstan");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let id = stdout.lines().find_map(|l| l.strip_prefix("trace: ")).expect("a trace: line").to_owned();

    // the binary flushed its spans before it exited
    let mut out = Vec::new();
    capstan::run(["capstan", "trace", id.as_str(), "--sink", sink_url.as_str()], &mut out)
        .await
        .expect("capstan trace");
    let tree = String::from_utf8_lossy(&out).into_owned();
    let mut lines = tree.lines();
    let root = lines.next().unwrap_or_default();
    assert!(root.starts_with("capstan ") && root.contains("capstan apply"), "the root first:\n{tree}");
    assert!(
        lines.any(|l| l.starts_with("  capstan ") && l.contains("grpc.client")),
        "the client call under it:\n{tree}"
    );

    let missing =
        capstan::run(["capstan", "trace", &"1".repeat(32), "--sink", sink_url.as_str()], &mut Vec::new()).await;
    let missing = missing.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(missing.contains("holds no span of trace"), "{missing}");
    serving.abort();
    cluster.stop().await;
}

/// A sink off loopback serves TLS and authenticates its readers: `capstan trace
/// --sink https://…` reads it with the kubeconfig's CA and client certificate,
/// or with its own `--certificate-authority`/`--client-certificate`/`--client-key`;
/// without a client certificate the sink refuses it, and `-o json` prints the
/// sink's record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_sink_is_read_with_the_kubeconfigs_credentials_or_the_flags() {
    let cluster = capstan_testkit::TestCluster::start().await;
    let layout = capstan_pki::Layout::new(cluster.pki());
    let tls = capstan_server::TlsFiles {
        cert: layout.cert("trace-sink"),
        key: layout.key("trace-sink"),
        client_ca: Some(layout.ca_cert()),
    };
    let sink = capstan_trace_sink::bind_with("127.0.0.1:0".parse().expect("addr"), 10, Some(tls)).await.expect("sink");
    // the sink's certificate names localhost, not the address
    let sink_url = format!("https://localhost:{}", sink.local_addr().expect("addr").port());
    let serving = tokio::spawn(sink.serve(std::future::pending()));
    let manifest = cluster.path().join("ns.yaml");
    std::fs::write(&manifest, "apiVersion: v1\nkind: Namespace\nmetadata: {name: sunk-tls}\n").expect("write");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_capstan"))
        .args(cluster.cli_args())
        .args(["--trace", "apply", "-f"])
        .arg(&manifest)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &sink_url)
        .env("OTEL_EXPORTER_OTLP_CERTIFICATE", layout.ca_cert())
        .env("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", layout.cert("admin"))
        .env("OTEL_EXPORTER_OTLP_CLIENT_KEY", layout.key("admin"))
        .env_remove("OTEL_TRACES_SAMPLER")
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output).await.expect("capstan hung").expect("capstan");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let id = stdout.lines().find_map(|l| l.strip_prefix("trace: ")).expect("a trace: line").to_owned();

    // the admin's kubeconfig: its CA verifies the sink, its certificate authenticates
    let kubeconfig = layout.kubeconfig("admin").display().to_string();
    let mut out = Vec::new();
    let args = ["capstan", "--kubeconfig", &kubeconfig, "trace", &id, "--sink", &sink_url, "-o", "json"];
    capstan::run(args, &mut out).await.expect("capstan trace -o json over TLS");
    let record: capstan_trace_sink::TraceRecord = serde_json::from_slice(&out).expect("the sink's record");
    assert!(record.spans.iter().any(|s| s.service == "capstan" && s.name == "capstan apply"), "{record:?}");

    // the flags alone: another identity of the same CA, and no kubeconfig at all
    let empty = cluster.path().join("empty-kubeconfig");
    std::fs::write(&empty, "apiVersion: v1\nkind: Config\n").expect("an empty kubeconfig");
    let (empty, ca) = (empty.display().to_string(), layout.ca_cert().display().to_string());
    let (cert, key) = (layout.cert("scheduler").display().to_string(), layout.key("scheduler").display().to_string());
    let mut out = Vec::new();
    let flags = ["--certificate-authority", &ca, "--client-certificate", &cert, "--client-key", &key];
    let args = ["capstan", "--kubeconfig", &empty, "trace", &id, "--sink", &sink_url];
    capstan::run(args.into_iter().chain(flags), &mut out).await.expect("capstan trace with the flags");
    let tree = String::from_utf8_lossy(&out).into_owned();
    assert!(tree.lines().next().unwrap_or_default().contains("capstan apply"), "the root first:\n{tree}");

    // the CA but no client certificate: the sink lets nobody in anonymously
    let refused = capstan::run(
        ["capstan", "--kubeconfig", &empty, "trace", &id, "--sink", &sink_url, "--certificate-authority", &ca],
        &mut Vec::new(),
    )
    .await;
    let refused = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains(&format!("the sink at {sink_url}")), "{refused}");
    eprintln!("without a client certificate: {refused}");
    serving.abort();
    cluster.stop().await;
}

/// `capstan up --trace-sink`: every component in the one process exports to the
/// sink `up` started, each under its own `service.name`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_a_trace_sink_names_each_component() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    let args = ["--runtime", "memory", "--listen", "127.0.0.1:0", "--kubelet-port", "0", "--node-name", "traced-node"];
    let args: Vec<&str> = args.into_iter().chain(["--trace-sink", "--data-dir", &data_arg]).collect();
    let (mut up, said) = up_harness::up_process(&args, dir.path()).await;
    let url_after = |prefix: &str| up_harness::url_after(&said, prefix);
    let api = url_after("API server listening on ");
    let sink = url_after("Trace sink: ");
    assert!(said.iter().any(|l| l.contains(&format!("capstan trace ID --sink {sink}"))), "{said:#?}");

    let manifest = dir.path().join("ns.yaml");
    std::fs::write(&manifest, "apiVersion: v1\nkind: Namespace\nmetadata: {name: traced}\n").expect("write");
    let admin = capstan_pki::Layout::new(data.join("pki")).kubeconfig("admin");
    let apply = tokio::process::Command::new(env!("CARGO_BIN_EXE_capstan"))
        .arg("--kubeconfig")
        .arg(&admin)
        .args(["--server", api.as_str(), "--trace", "apply", "-f"])
        .arg(&manifest)
        .env("HOME", dir.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &sink)
        .output();
    let apply = tokio::time::timeout(Duration::from_secs(120), apply).await.expect("apply hung").expect("apply");
    let stdout = String::from_utf8_lossy(&apply.stdout).into_owned();
    assert!(apply.status.success(), "{stdout}{}", String::from_utf8_lossy(&apply.stderr));
    let id = stdout.lines().find_map(|l| l.strip_prefix("trace: ")).expect("a trace: line").to_owned();

    // up's components export in batches: wait (bounded) for the API server's part
    let trace =
        capstan_test_support::eventually("the API server's part in up's sink", Duration::from_secs(120), || async {
            let trace = capstan::trace::fetch(&sink, &id).await.ok()?;
            trace.spans.iter().any(|s| s.service == "capstan-apiserver" && s.name == "store.create").then_some(trace)
        })
        .await;
    let client = trace.spans.iter().find(|s| s.service == "capstan" && s.name == "grpc.client").expect("CLI call");
    let server = trace.spans.iter().find(|s| s.service == "capstan-apiserver" && s.name == "grpc.server");
    assert_eq!(
        server.and_then(|s| s.parent_span_id.as_deref()),
        Some(client.span_id.as_str()),
        "the API server's span is the CLI call's child: {trace:#?}"
    );
    let _ = up.kill().await;
}
