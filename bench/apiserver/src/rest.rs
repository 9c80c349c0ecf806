//! The REST face beside the gRPC face, through the same door.
//!
//! - JSON creates: the benchmark pod as Kubernetes JSON, `POST
//!   /api/v1/namespaces/default/pods`, against the same server as the gRPC
//!   creates, at the same concurrency, over the same number of HTTP/2
//!   connections (so the comparison is of the two faces, not of connection
//!   counts), each REST point right after its gRPC one.
//! - A 1,000-pod LIST: the same pods listed as the Table kubectl asks for
//!   (its `Accept` header) and as plain JSON, timed from the request to the
//!   last byte of the answer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use capstan_proto::api::v1::Object;
use capstan_proto::ObjectExt;
use futures::FutureExt;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::time::Instant;

use crate::client::MAX_CREATE_CONNECTIONS;
use crate::cpu::CpuProbe;
use crate::load::{closed_loop, Load, Operation};
use crate::report::LoadStats;
use crate::{pod, BenchError, Options};

/// The `Accept` header kubectl v1.32 sends for `kubectl get`.
pub const TABLE_ACCEPT: &str =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
/// How many pods the LIST returns.
pub const LIST_PODS: usize = 1000;
/// The namespace that holds exactly those pods.
pub const LIST_NAMESPACE: &str = "bench-list";
/// The target for the Table LIST of 1,000 pods.
pub const TARGET_TABLE_LIST: Duration = Duration::from_millis(150);
/// REST creates/s should reach this share of gRPC creates/s.
pub const TARGET_REST_RATIO: f64 = 0.8;

/// One HTTP/2 connection to the server.
type Connection = SendRequest<Full<Bytes>>;

/// `count` HTTP/2 connections (cleartext, prior knowledge) to `url`.
pub async fn connect(url: &str, count: usize) -> Result<Vec<Connection>, BenchError> {
    let addr = url.trim_start_matches("http://").to_string();
    let mut connections = Vec::with_capacity(count.max(1));
    for _ in 0..count.max(1) {
        let tcp =
            tokio::net::TcpStream::connect(&addr).await.map_err(|e| BenchError::io("dialing the REST face", e))?;
        tcp.set_nodelay(true).map_err(|e| BenchError::io("setting TCP_NODELAY", e))?;
        let (send, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .map_err(|e| BenchError::Http(format!("the HTTP/2 handshake with {url}: {e}")))?;
        tokio::spawn(connection);
        connections.push(send);
    }
    Ok(connections)
}

/// Sends one request and reads its whole answer; a status other than
/// `expect` is an error naming it and the body.
async fn exchange(
    connection: &mut Connection,
    request: http::Request<Full<Bytes>>,
    expect: u16,
) -> Result<Bytes, BenchError> {
    let what = format!("{} {}", request.method(), request.uri());
    connection.ready().await.map_err(|e| BenchError::Http(format!("{what}: {e}")))?;
    let response = connection.send_request(request).await.map_err(|e| BenchError::Http(format!("{what}: {e}")))?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map_err(|e| BenchError::Http(format!("{what}: {e}")))?.to_bytes();
    if status != expect {
        return Err(BenchError::Http(format!("{what} answered {status}: {}", String::from_utf8_lossy(&body))));
    }
    Ok(body)
}

fn request(method: &str, path: &str, accept: &str, body: Bytes) -> Result<http::Request<Full<Bytes>>, BenchError> {
    http::Request::builder()
        .method(method)
        .uri(format!("http://localhost{path}"))
        .header(http::header::ACCEPT, accept)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body))
        .map_err(|e| BenchError::Http(format!("building {method} {path}: {e}")))
}

/// The pod `name` in `namespace` as Kubernetes JSON.
fn pod_json(template: &Object, namespace: &str, name: &str) -> Bytes {
    let mut json = pod::named(template, name).to_json();
    json["metadata"]["namespace"] = serde_json::Value::String(namespace.to_string());
    Bytes::from(json.to_string())
}

/// JSON creates of pod `rest-c<concurrency>-<seq>`, round-robin over the connections.
fn create_operation(connections: Vec<Connection>, template: Object, concurrency: usize) -> Operation {
    let connections = Arc::new(connections);
    let template = Arc::new(template);
    let path = format!("/api/v1/namespaces/{}/pods", pod::NAMESPACE);
    Arc::new(move |seq| {
        let index = usize::try_from(seq).unwrap_or(0) % connections.len();
        let mut connection = connections[index].clone();
        let body = pod_json(&template, pod::NAMESPACE, &format!("rest-c{concurrency}-{seq}"));
        let request = request("POST", &path, "application/json", body);
        async move {
            exchange(&mut connection, request?, 201).await?;
            Ok(())
        }
        .boxed()
    })
}

/// REST JSON pod creates at `concurrency` against the server at `url`.
pub async fn measure_creates(
    url: &str,
    template: &Object,
    concurrency: usize,
    options: &Options,
    cpu: CpuProbe,
) -> Result<LoadStats, BenchError> {
    let connections = connect(url, concurrency.clamp(1, MAX_CREATE_CONNECTIONS)).await?;
    let operation = create_operation(connections, template.clone(), concurrency);
    let load = Load { concurrency, warmup: options.warmup, duration: options.duration, cpu };
    closed_loop(load, operation).await
}

/// The LIST of [`LIST_PODS`] pods, timed request to last byte over `rounds`
/// rounds after one unmeasured round.
#[derive(Debug, Clone)]
pub struct ListReport {
    pub bytes_table: usize,
    pub bytes_json: usize,
    pub table: Vec<Duration>,
    pub json: Vec<Duration>,
}

impl ListReport {
    /// The median and the slowest of `times`.
    pub fn summary(times: &[Duration]) -> (Duration, Duration) {
        let mut sorted = times.to_vec();
        sorted.sort();
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
        (median, sorted.last().copied().unwrap_or_default())
    }
}

/// Creates [`LIST_PODS`] pods in [`LIST_NAMESPACE`] (through the REST face),
/// then lists them as a Table and as JSON, alternately, `rounds` times.
pub async fn measure_list(url: &str, template: &Object, rounds: usize) -> Result<ListReport, BenchError> {
    let mut connections = connect(url, MAX_CREATE_CONNECTIONS).await?;
    let namespace = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": LIST_NAMESPACE}});
    let mut first = connections[0].clone();
    exchange(&mut first, request("POST", "/api/v1/namespaces", "application/json", namespace.to_string().into())?, 201)
        .await?;
    eprintln!("REST: creating {LIST_PODS} pods in {LIST_NAMESPACE} for the LIST ...");
    let path = format!("/api/v1/namespaces/{LIST_NAMESPACE}/pods");
    let mut creates = tokio::task::JoinSet::new();
    for (worker, connection) in connections.iter().enumerate() {
        let (mut connection, template, path) = (connection.clone(), template.clone(), path.clone());
        let count = connections.len();
        creates.spawn(async move {
            for i in (worker..LIST_PODS).step_by(count) {
                let body = pod_json(&template, LIST_NAMESPACE, &format!("listed-{i:04}"));
                exchange(&mut connection, request("POST", &path, "application/json", body)?, 201).await?;
            }
            Ok::<_, BenchError>(())
        });
    }
    while let Some(done) = creates.join_next().await {
        done.map_err(|e| BenchError::Task(format!("creating the listed pods: {e}")))??;
    }
    let connection = &mut connections[0];
    let mut report = ListReport { bytes_table: 0, bytes_json: 0, table: Vec::new(), json: Vec::new() };
    for round in 0..=rounds {
        for (accept, times) in [(TABLE_ACCEPT, &mut report.table), ("application/json", &mut report.json)] {
            let started = Instant::now();
            let body = exchange(connection, request("GET", &path, accept, Bytes::new())?, 200).await?;
            let took = started.elapsed();
            let listed: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| BenchError::Http(format!("the LIST's JSON: {e}")))?;
            let rows = listed["rows"].as_array().or_else(|| listed["items"].as_array()).map_or(0, Vec::len);
            if rows != LIST_PODS {
                return Err(BenchError::Http(format!("the LIST ({accept}) returned {rows} pods, not {LIST_PODS}")));
            }
            if accept == TABLE_ACCEPT {
                report.bytes_table = body.len();
            } else {
                report.bytes_json = body.len();
            }
            if round > 0 {
                times.push(took);
            }
        }
    }
    Ok(report)
}

/// The REST lines of the report: creates/s beside gRPC's, and the LIST.
pub fn render(points: &[(usize, LoadStats, LoadStats)], list: Option<&ListReport>) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut out = format!(
        "REST face (same server, same concurrency, min(conc, 8) HTTP/2 connections): JSON creates beside gRPC creates\n\
         conc  grpc creates/s  rest creates/s  ratio (target >= {TARGET_REST_RATIO:.1})  grpc p99 ms  rest p99 ms\n"
    );
    for (concurrency, grpc, rest) in points {
        let ratio = if grpc.per_sec() > 0.0 { rest.per_sec() / grpc.per_sec() } else { 0.0 };
        let met = if ratio >= TARGET_REST_RATIO { "met" } else { "MISSED" };
        out.push_str(&format!(
            "{concurrency:>4}  {:>14.0}  {:>14.0}  {ratio:>5.2} {met:<13}  {:>11.2}  {:>11.2}\n",
            grpc.per_sec(),
            rest.per_sec(),
            ms(grpc.p99),
            ms(rest.p99)
        ));
    }
    if let Some(list) = list {
        let (table_p50, table_max) = ListReport::summary(&list.table);
        let (json_p50, json_max) = ListReport::summary(&list.json);
        let met = if table_p50 < TARGET_TABLE_LIST { "met" } else { "MISSED" };
        out.push_str(&format!(
            "LIST of {LIST_PODS} pods, request to last byte, {} rounds:\n\
             \x20 as Table (kubectl's Accept)  p50 {:>7.1} ms  max {:>7.1} ms  {:>8} bytes  target < {} ms: {met}\n\
             \x20 as JSON                      p50 {:>7.1} ms  max {:>7.1} ms  {:>8} bytes\n",
            list.table.len(),
            ms(table_p50),
            ms(table_max),
            list.bytes_table,
            TARGET_TABLE_LIST.as_millis(),
            ms(json_p50),
            ms(json_max),
            list.bytes_json,
        ));
    }
    out
}
