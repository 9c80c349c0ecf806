//! The node's heartbeat lease (`kube-node-lease/<node>`): cheap to renew every 10 s,
//! so node liveness does not need a full status write.

use std::time::Duration;

use capstan_client::{Api, Client, ClientError};
use capstan_proto::coordination::v1::{Lease, LeaseSpec};
use capstan_proto::meta::v1::{MicroTime, ObjectMeta};
use tokio_util::sync::CancellationToken;

/// The namespace node leases live in.
pub const NAMESPACE: &str = "kube-node-lease";

/// Creates or renews the node's lease.
pub async fn renew(api: &Api<Lease>, node: &str, duration_seconds: i32) -> Result<Lease, ClientError> {
    let spec = |acquired: Option<MicroTime>| LeaseSpec {
        holder_identity: Some(node.to_string()),
        lease_duration_seconds: Some(duration_seconds),
        acquire_time: acquired.or_else(|| Some(MicroTime::now())),
        renew_time: Some(MicroTime::now()),
        lease_transitions: None,
    };
    match api.get(node).await {
        Ok(mut lease) => {
            let acquired = lease.spec.as_ref().and_then(|s| s.acquire_time);
            lease.spec = Some(spec(acquired));
            api.update(&lease).await
        }
        Err(error) if error.is_not_found() => {
            let meta = ObjectMeta { name: node.to_string(), namespace: NAMESPACE.to_string(), ..Default::default() };
            api.create(&Lease { metadata: Some(meta), spec: Some(spec(None)), ..Default::default() }).await
        }
        Err(error) => Err(error),
    }
}

/// Renews the lease now and every `every` until `shutdown`.
pub async fn keep_alive(
    client: Client,
    node: String,
    every: Duration,
    duration_seconds: i32,
    shutdown: CancellationToken,
) {
    let api = client.api::<Lease>(Some(NAMESPACE));
    loop {
        if let Err(error) = renew(&api, &node, duration_seconds).await {
            tracing::warn!(%node, %error, "renewing the node lease");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
