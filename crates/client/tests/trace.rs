//! Every client call carries the caller's trace: the `grpc.client` span of a
//! call is a child of the span the caller was in.

mod fake;

use capstan_client::{Client, ListParams};
use capstan_proto::core::v1::Pod;
use fake::{list, FakeServer};
use std::time::Duration;
use tracing::Instrument;

#[tokio::test]
async fn calls_join_the_callers_trace() {
    let spans = capstan_telemetry::init_for_test();
    let mut server = FakeServer::start().await;
    let client = Client::connect(&server.url()).expect("client");
    let api = client.api::<Pod>(Some("default"));

    let params = ListParams::default();
    let call = api.list(&params).instrument(tracing::info_span!("client trace test"));
    let answer = async {
        let (_, reply) = server.expect_list().await;
        let _ = reply.send(Ok(list(vec![], "1")));
    };
    let (listed, ()) = tokio::join!(call, answer);
    assert!(listed.expect("list").0.is_empty());

    let finished = spans
        .wait_for(Duration::from_secs(30), |spans| {
            let Some(root) = spans.iter().find(|s| s.name == "client trace test") else {
                return false;
            };
            spans.iter().any(|s| {
                s.name == "grpc.client"
                    && s.span_context.trace_id() == root.span_context.trace_id()
                    && s.parent_span_id == root.span_context.span_id()
            })
        })
        .await;
    assert!(finished.is_ok(), "no grpc.client span under the caller's span: {finished:?}");
}
