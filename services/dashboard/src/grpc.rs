//! The API server's `PodService`, the one place the dashboard speaks gRPC
//! itself: a pod's log, as `capstan logs` asks for it, on the signed-in
//! user's connection, so the API server authorizes `get pods/log` for them.

use capstan_client::{Client, ClientError};
use capstan_proto::api::v1::pod_service_client::PodServiceClient;
use capstan_proto::kubelet::v1::LogsRequest;
use futures::{Stream, StreamExt};

/// A container's log, chunk by chunk (stdout and stderr interleaved as written).
pub async fn logs(
    client: &Client,
    request: LogsRequest,
) -> Result<impl Stream<Item = Result<Vec<u8>, ClientError>> + Send + 'static, ClientError> {
    let mut pods = PodServiceClient::new(client.channel());
    let stream = pods.logs(request).await?.into_inner();
    Ok(stream.map(|chunk| chunk.map(|c| c.data).map_err(ClientError::from)))
}
