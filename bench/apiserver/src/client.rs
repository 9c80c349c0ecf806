//! gRPC clients of the API server, spread over several HTTP/2 connections.
//!
//! One connection serializes its frames through one socket and one connection task on
//! each side; at 64 requests in flight that, not the server, would be what is measured.
//! So the load is spread over several connections (`Endpoint::connect` opens a new one
//! each time), with Nagle off as the server has it.

use capstan_apiserver::MAX_MESSAGE_BYTES;
use capstan_proto::api::v1::resource_service_client::ResourceServiceClient;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::BenchError;

pub type Client = ResourceServiceClient<Channel>;

/// Most connections the create load is spread over.
pub const MAX_CREATE_CONNECTIONS: usize = 8;

/// `count` (at least one) clients of the server at `url`, each on its own connection.
pub async fn connect(url: &str, count: usize) -> Result<Vec<Client>, BenchError> {
    connect_with(url, None, count).await
}

/// As [`connect`]; with `tls`, each connection is TLS with that client
/// configuration (CA, client certificate), to the `https://` `url`.
pub async fn connect_with(
    url: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
    count: usize,
) -> Result<Vec<Client>, BenchError> {
    let plain = url.replacen("https://", "http://", 1);
    let endpoint = Endpoint::from_shared(plain.clone())
        .map_err(|source| BenchError::Connect { url: url.to_string(), source })?
        .tcp_nodelay(true);
    let dial = plain.trim_start_matches("http://").to_string();
    let mut clients = Vec::with_capacity(count.max(1));
    for _ in 0..count.max(1) {
        let connected = match &tls {
            None => endpoint.connect().await,
            Some(config) => {
                let (connector, dial) = (tokio_rustls::TlsConnector::from(config.clone()), dial.clone());
                endpoint
                    .connect_with_connector(tower::service_fn(move |_: Uri| {
                        let (connector, dial) = (connector.clone(), dial.clone());
                        async move {
                            let tcp = tokio::net::TcpStream::connect(&dial).await?;
                            tcp.set_nodelay(true)?;
                            let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                            Ok::<_, std::io::Error>(TokioIo::new(connector.connect(name, tcp).await?))
                        }
                    }))
                    .await
            }
        };
        let channel = connected.map_err(|source| BenchError::Connect { url: url.to_string(), source })?;
        let client = ResourceServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        clients.push(client);
    }
    Ok(clients)
}
