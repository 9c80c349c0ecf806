//! gRPC clients of the API server, spread over several HTTP/2 connections.
//!
//! One connection serializes its frames through one socket and one connection task on
//! each side; at 64 requests in flight that, not the server, would be what is measured.
//! So the load is spread over several connections (`Endpoint::connect` opens a new one
//! each time), with Nagle off as the server has it.

use capstan_apiserver::MAX_MESSAGE_BYTES;
use capstan_proto::api::v1::resource_service_client::ResourceServiceClient;
use tonic::transport::{Channel, Endpoint};

use crate::BenchError;

pub type Client = ResourceServiceClient<Channel>;

/// Most connections the create load is spread over.
pub const MAX_CREATE_CONNECTIONS: usize = 8;

/// `count` (at least one) clients of the server at `url`, each on its own connection.
pub async fn connect(url: &str, count: usize) -> Result<Vec<Client>, BenchError> {
    let endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|source| BenchError::Connect { url: url.to_string(), source })?
        .tcp_nodelay(true);
    let mut clients = Vec::with_capacity(count.max(1));
    for _ in 0..count.max(1) {
        let channel =
            endpoint.connect().await.map_err(|source| BenchError::Connect { url: url.to_string(), source })?;
        let client = ResourceServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        clients.push(client);
    }
    Ok(clients)
}
