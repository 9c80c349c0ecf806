//! `capstan trace ID`: one trace, read from a `capstan-trace-sink`, printed as a
//! tree — each span's service, name and duration, indented under its parent,
//! children in the order they started. A span whose parent the sink does not hold
//! (a component that does not export, or a parent still running) is printed at the
//! root level rather than dropped.
//!
//! A sink on loopback answers plain `http://`; one off loopback serves TLS and
//! authenticates every reader by a client certificate of the cluster's CA, the
//! same credentials a kubeconfig of `certs init` holds: so an `https://` sink is
//! read with the kubeconfig's CA and client certificate unless the command's
//! own `--certificate-authority`, `--client-certificate` and `--client-key` say
//! otherwise.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use capstan_pki::Credentials;
use capstan_trace_sink::{SpanRecord, TraceRecord};
use clap::{Args, ValueEnum};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::Connect;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::{Inputs, Settings};
use crate::errors::CliError;

/// The sink's address when neither `--sink` nor `$CAPSTAN_TRACE_SINK` says.
pub const DEFAULT_SINK: &str = "http://127.0.0.1:4317";

/// Bounds a hung sink; a loopback GET answers at once.
const SINK_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The trace id (32 hex digits), as `--trace` or `describe` printed it
    pub trace_id: String,
    /// The trace sink's URL (`capstan up --trace-sink` prints it): http:// on
    /// loopback, https:// for a sink that serves TLS
    #[arg(long, value_name = "URL", env = "CAPSTAN_TRACE_SINK", default_value = DEFAULT_SINK)]
    pub sink: String,
    /// The CA that verifies an https:// sink (default: the kubeconfig's)
    #[arg(long, value_name = "FILE")]
    pub certificate_authority: Option<PathBuf>,
    /// The client certificate an https:// sink authenticates (default: the
    /// kubeconfig user's)
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_certificate: Option<PathBuf>,
    /// The key of --client-certificate
    #[arg(long, value_name = "FILE", requires = "client_certificate")]
    pub client_key: Option<PathBuf>,
    /// `json`: the sink's record of the trace, instead of the tree
    #[arg(short = 'o', long, value_name = "FORMAT")]
    pub output: Option<TraceOutput>,
}

/// How `trace` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TraceOutput {
    Json,
}

/// Fetches the trace and prints it; `kubeconfig` and `context` (the global
/// flags) give an https:// sink's credentials.
pub async fn run(
    args: &TraceArgs,
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    out: &mut (dyn std::io::Write + Send + Sync),
) -> Result<(), CliError> {
    let tls = match args.sink.trim_start().starts_with("https://") {
        true => Some(sink_credentials(args, kubeconfig, context)?),
        false => None,
    };
    let trace = fetch_with(&args.sink, &args.trace_id, tls.as_ref()).await?;
    match args.output {
        Some(TraceOutput::Json) => {
            let json = serde_json::to_string_pretty(&trace)
                .map_err(|e| CliError::TraceSink { sink: args.sink.clone(), message: e.to_string() })?;
            writeln!(out, "{json}")?;
        }
        None => write!(out, "{}", render(&trace))?,
    }
    Ok(())
}

/// The TLS credentials an https:// sink is read with: the kubeconfig's CA and
/// client certificate (its current context, or `--context`), each replaced by
/// the command's own flag when given. Only TLS material is kept: a token, an
/// impersonation or a `tls-server-name` are the API server's, not the sink's.
fn sink_credentials(
    args: &TraceArgs,
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<Credentials, CliError> {
    // given every file, the kubeconfig is not read: a reader of the sink alone
    // needs no (working) kubeconfig
    let all_flags = args.certificate_authority.is_some() && args.client_certificate.is_some();
    let from_kubeconfig = match all_flags {
        true => Credentials::default(),
        false => {
            let inputs = Inputs { flag_context: context, ..Inputs::default() };
            Settings::from_env(inputs, kubeconfig)?.credentials
        }
    };
    let read = |path: &PathBuf| std::fs::read(path).map_err(|e| CliError::io(path, e));
    let mut credentials = Credentials {
        ca_pem: from_kubeconfig.ca_pem,
        client_cert_pem: from_kubeconfig.client_cert_pem,
        client_key_pem: from_kubeconfig.client_key_pem,
        source: from_kubeconfig.source,
        ..Credentials::default()
    };
    if let Some(ca) = &args.certificate_authority {
        credentials.ca_pem = Some(read(ca)?);
        credentials.source = ca.clone();
    }
    if let (Some(cert), Some(key)) = (&args.client_certificate, &args.client_key) {
        credentials.client_cert_pem = Some(read(cert)?);
        credentials.client_key_pem = Some(read(key)?);
    }
    Ok(credentials)
}

/// `GET {sink}/traces/{trace_id}` from a plaintext sink.
pub async fn fetch(sink: &str, trace_id: &str) -> Result<TraceRecord, CliError> {
    fetch_with(sink, trace_id, None).await
}

/// `GET {sink}/traces/{trace_id}`: over TLS with `tls` when the sink is
/// `https://`, in plaintext when it is `http://`.
pub async fn fetch_with(sink: &str, trace_id: &str, tls: Option<&Credentials>) -> Result<TraceRecord, CliError> {
    let failed = |message: String| CliError::TraceSink { sink: sink.to_owned(), message };
    let id = trace_id.trim();
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CliError::Usage(format!("{trace_id:?} is not a trace id: a trace id is 32 hex digits")));
    }
    let url = format!("{}/traces/{}", sink.trim().trim_end_matches('/'), id.to_ascii_lowercase());
    let uri: http::Uri = url.parse().map_err(|e| failed(format!("{url:?} is not a URL: {e}")))?;
    let (status, body) = match (uri.scheme_str(), tls) {
        (Some("http"), _) => get(Client::builder(TokioExecutor::new()).build_http(), uri).await,
        (Some("https"), Some(credentials)) => {
            let mut config = (*capstan_pki::tls::client_config(credentials)?).clone();
            // the kubeconfig's configuration offers h2 for gRPC; the sink's face is HTTP/1.1
            config.alpn_protocols.clear();
            let connector =
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config).https_only().enable_http1().build();
            get(Client::builder(TokioExecutor::new()).build(connector), uri).await
        }
        (Some("https"), None) => Err("an https:// sink needs TLS credentials".to_owned()),
        _ => Err("the sink's URL is http://HOST:PORT (on loopback) or https://HOST:PORT (TLS)".to_owned()),
    }
    .map_err(failed)?;
    if !status.is_success() {
        let said = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        return Err(failed(format!("{status}: {said}")));
    }
    serde_json::from_slice(&body).map_err(|e| failed(format!("not a trace: {e}")))
}

/// One GET through `client`: the status and the whole body.
async fn get<C>(
    client: Client<C, Empty<bytes::Bytes>>,
    uri: http::Uri,
) -> Result<(http::StatusCode, bytes::Bytes), String>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let response = tokio::time::timeout(SINK_TIMEOUT, client.get(uri))
        .await
        .map_err(|_| format!("no answer within {SINK_TIMEOUT:?}"))?
        .map_err(|e| with_causes(&e))?;
    let status = response.status();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, body))
}

/// `error: cause: its cause`, as far down as the chain goes (hyper's own
/// message alone, "client error (Connect)", does not say what failed).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// The tree, one line per span: `SERVICE  NAME  DURATION`, indented two spaces
/// per level below its parent. A call's name carries its method
/// (`grpc.client RunPodSandbox`): a trace is mostly calls.
pub fn render(trace: &TraceRecord) -> String {
    let held: HashSet<&str> = trace.spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<Option<&str>, Vec<&SpanRecord>> = HashMap::new();
    for span in &trace.spans {
        // orphans (parent not held) and roots alike start the tree
        let parent = span.parent_span_id.as_deref().filter(|p| held.contains(p) && *p != span.span_id);
        children.entry(parent).or_default().push(span);
    }
    for siblings in children.values_mut() {
        siblings.sort_by(|a, b| (a.start_unix_nanos, &a.span_id).cmp(&(b.start_unix_nanos, &b.span_id)));
    }
    let mut lines = Vec::new();
    let mut printed = HashSet::new();
    let mut stack: Vec<(&SpanRecord, usize)> =
        children.get(&None).into_iter().flatten().rev().map(|span| (*span, 0)).collect();
    while let Some((span, depth)) = stack.pop() {
        if !printed.insert(span.span_id.as_str()) {
            continue;
        }
        lines.push((depth, span));
        if let Some(below) = children.get(&Some(span.span_id.as_str())) {
            stack.extend(below.iter().rev().map(|child| (*child, depth + 1)));
        }
    }
    // spans caught in a parent cycle (malformed input) are shown, not lost
    for span in &trace.spans {
        if !printed.contains(span.span_id.as_str()) {
            lines.push((0, span));
        }
    }
    let service_width = lines.iter().map(|(depth, s)| depth * 2 + s.service.len()).max().unwrap_or(0);
    let name_width = lines.iter().map(|(_, s)| label(s).len()).max().unwrap_or(0);
    let mut text = String::new();
    for (depth, span) in lines {
        let service = format!("{}{}", "  ".repeat(depth), span.service);
        let line = format!("{service:service_width$}  {:name_width$}  {}", label(span), duration(span.duration_nanos));
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// A span's name, and the method when it is a call.
fn label(span: &SpanRecord) -> String {
    match span.attributes.get("rpc.method").and_then(|m| m.as_str()).filter(|m| !m.is_empty()) {
        Some(method) => format!("{} {method}", span.name),
        None => span.name.clone(),
    }
}

/// A duration in the largest unit under which it reads as at least 1.
fn duration(nanos: u64) -> String {
    // precision is irrelevant at these magnitudes
    #[allow(clippy::cast_precision_loss)]
    let value = nanos as f64;
    match nanos {
        0..=999 => format!("{nanos}ns"),
        1_000..=999_999 => format!("{:.1}µs", value / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}ms", value / 1e6),
        _ => format!("{:.2}s", value / 1e9),
    }
}

/// `--trace`: prints the trace id of `span`, the command's root span.
pub fn print_trace_id(span: &tracing::Span, out: &mut (dyn std::io::Write + Send + Sync)) -> Result<(), CliError> {
    match capstan_telemetry::trace_id_of_span(span) {
        Some(id) => writeln!(out, "trace: {id}")?,
        None => writeln!(out, "trace: none (tracing is off in this process)")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, service: &str, name: &str, start: u64, nanos: u64) -> serde_json::Value {
        serde_json::json!({
            "trace_id": "0af7651916cd43dd8448eb211c80319c",
            "span_id": id, "parent_span_id": parent, "name": name, "service": service,
            "start_unix_nanos": start, "end_unix_nanos": start + nanos, "duration_nanos": nanos,
            "attributes": {}, "links": [],
        })
    }

    #[test]
    fn trees_render_indented_by_parent_in_start_order() {
        let cases: Vec<(&str, Vec<serde_json::Value>, &str)> = vec![
            ("empty", vec![], ""),
            (
                "a chain, children by start whatever the input order",
                vec![
                    span("e", Some("a"), "capstan", "grpc.client", 50, 1_000_000),
                    span("c", Some("b"), "capstan-apiserver", "grpc.server", 30, 2_500_000),
                    span("a", None, "capstan", "capstan apply", 10, 12_000_000),
                    span("b", Some("a"), "capstan", "grpc.client", 20, 3_000_000),
                    span("d", Some("c"), "capstan-apiserver", "store.create", 40, 900),
                ],
                "capstan                  capstan apply  12.0ms\n\
                 \x20 capstan                grpc.client    3.0ms\n\
                 \x20   capstan-apiserver    grpc.server    2.5ms\n\
                 \x20     capstan-apiserver  store.create   900ns\n\
                 \x20 capstan                grpc.client    1.0ms\n",
            ),
            (
                "an orphan (parent not held) at the root level, roots by start",
                vec![
                    span("k", Some("gone"), "capstan-kubelet", "sync", 50, 2_000_000_000),
                    span("r", None, "capstan", "capstan scale", 5, 1_500),
                ],
                "capstan          capstan scale  1.5µs\n\
                 capstan-kubelet  sync           2.00s\n",
            ),
            (
                "a call shows its method",
                vec![serde_json::json!({
                    "trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "m", "parent_span_id": null,
                    "name": "grpc.client", "service": "capstan-kubelet", "start_unix_nanos": 1,
                    "end_unix_nanos": 2_000, "duration_nanos": 1_999,
                    "attributes": {"rpc.method": "RunPodSandbox"}, "links": [],
                })],
                "capstan-kubelet  grpc.client RunPodSandbox  2.0µs\n",
            ),
            (
                "a span that names itself its parent is a root",
                vec![span("x", Some("x"), "capstan-scheduler", "schedule", 1, 1)],
                "capstan-scheduler  schedule  1ns\n",
            ),
        ];
        for (what, spans, want) in cases {
            let trace: TraceRecord = match serde_json::from_value(
                serde_json::json!({ "trace_id": "0af7651916cd43dd8448eb211c80319c", "spans": spans }),
            ) {
                Ok(trace) => trace,
                Err(e) => panic!("{what}: {e}"),
            };
            assert_eq!(render(&trace), want, "{what}");
        }
    }

    #[test]
    fn a_parent_cycle_loses_no_span() {
        let trace: TraceRecord = serde_json::from_value(serde_json::json!({
            "trace_id": "0af7651916cd43dd8448eb211c80319c",
            "spans": [span("a", Some("b"), "s", "one", 1, 1), span("b", Some("a"), "s", "two", 2, 1)],
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(render(&trace).lines().count(), 2);
    }
}
