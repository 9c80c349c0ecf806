//! `logs` and `exec` call the API server's `PodService` (`pods/log`,
//! `pods/exec`) over the client's own connection, with the user's
//! credentials: the API server authorizes the user and relays the call to
//! the pod's kubelet. This module holds that client and the one wording of
//! its refusals, as kubectl words them.

use crate::errors::CliError;
use crate::Context;
use capstan_client::connect::ClientChannel;
use capstan_client::ClientError;
use capstan_proto::api::v1::pod_service_client::PodServiceClient;
use tonic::Code;

/// The API server's pod service, on the context's connection.
pub fn client(ctx: &Context<'_>) -> PodServiceClient<ClientChannel> {
    PodServiceClient::new(ctx.client.channel())
}

/// A refusal of `logs` or `exec`, worded like kubectl's: a request the
/// kubelet found ambiguous or wrong (which container?) reads as kubectl's own
/// `error: …`; everything else as the API server's answer.
pub fn fail(ctx: &Context<'_>, status: tonic::Status) -> CliError {
    match status.code() {
        Code::InvalidArgument => CliError::Usage(status.message().to_string()),
        _ => ctx.fail(ClientError::from(status), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn kubelet_refusals_read_like_kubectl() {
        let server = "http://127.0.0.1:6443".to_string();
        let client = capstan_client::Client::connect(&server).expect("a lazy client");
        let settings = crate::config::Settings {
            server,
            namespace: "default".into(),
            namespace_given: false,
            credentials: Default::default(),
        };
        let mut out = Vec::new();
        let ctx = Context { client, settings, out: &mut out };
        let ambiguous =
            tonic::Status::invalid_argument("a container name must be specified for pod web, choose one of: [a b]");
        assert_eq!(
            fail(&ctx, ambiguous).to_string(),
            "error: a container name must be specified for pod web, choose one of: [a b]"
        );
        let missing = tonic::Status::not_found("pod default/web has no container named nope");
        assert_eq!(
            fail(&ctx, missing).to_string(),
            "Error from server (NotFound): pod default/web has no container named nope"
        );
    }
}
