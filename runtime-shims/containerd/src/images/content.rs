//! containerd's content store, read and written in blobs addressed by digest, and
//! the lease that keeps what an import or unpack is writing from being collected
//! before an image refers to it.

use std::collections::HashMap;

use containerd_client::services::v1::{
    AddResourceRequest, CreateRequest as CreateLease, DeleteRequest as DeleteLease, Info, InfoRequest,
    ReadContentRequest, Resource, UpdateRequest, WriteAction, WriteContentRequest,
};
use futures::StreamExt;
use prost_types::FieldMask;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::{ContainerdError, ContainerdRuntime, Context};

/// Bytes per write message (containerd's gRPC limit is 16 MiB).
const CHUNK: usize = 1 << 20;
/// How long a lease protects content if the shim dies before releasing it.
const LEASE_HOURS: i64 = 1;

/// `sha256:<hex>` of `data`.
pub fn digest_of(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

impl ContainerdRuntime {
    /// The whole blob `digest`.
    pub(crate) async fn read_blob(&self, digest: &str) -> Result<Vec<u8>, ContainerdError> {
        let request = self.client().request(ReadContentRequest { digest: digest.to_string(), offset: 0, size: 0 });
        let what = || format!("reading blob {digest}");
        let mut stream = self.client().content().read(request).await.during(what)?.into_inner();
        let mut data = Vec::new();
        while let Some(chunk) = stream.next().await {
            data.extend(chunk.during(what)?.data);
        }
        Ok(data)
    }

    /// The blob's info, `None` when the store lacks it.
    pub(crate) async fn blob_info(&self, digest: &str) -> Result<Option<Info>, ContainerdError> {
        let request = self.client().request(InfoRequest { digest: digest.to_string() });
        match self.client().content().info(request).await.during(|| format!("looking up blob {digest}")) {
            Ok(response) => Ok(response.into_inner().info),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Sets one label on blob `digest`, leaving its others alone.
    pub(crate) async fn label_blob(&self, digest: &str, key: &str, value: &str) -> Result<(), ContainerdError> {
        let info = Info {
            digest: digest.to_string(),
            labels: HashMap::from([(key.to_string(), value.to_string())]),
            ..Default::default()
        };
        let mask = FieldMask { paths: vec![format!("labels.{key}")] };
        let request = self.client().request(UpdateRequest { info: Some(info), update_mask: Some(mask) });
        self.client().content().update(request).await.during(|| format!("labelling blob {digest}"))?;
        Ok(())
    }

    /// Writes `data` as blob `digest` under `lease` with `labels` (the garbage
    /// collector's references), unless the store has it already.
    ///
    /// A blob the store has may belong to nothing (an image removed a moment
    /// ago) and be collected at any time, so the lease takes it first: once
    /// leased, a blob that is still there stays until an image refers to it.
    pub(crate) async fn write_blob(
        &self,
        lease: &str,
        digest: &str,
        data: impl IntoIterator<Item = Vec<u8>>,
        total: i64,
        labels: HashMap<String, String>,
    ) -> Result<(), ContainerdError> {
        self.lease_blob(lease, digest).await?;
        if self.blob_info(digest).await?.is_some() {
            for (key, value) in &labels {
                self.label_blob(digest, key, value).await?;
            }
            return Ok(());
        }
        let what = || format!("writing blob {digest}");
        let reference = format!("capstan-{}-{}", digest.replace(':', "-"), uuid::Uuid::new_v4().simple());
        let (sender, receiver) = mpsc::channel(4);
        let request = self.client().leased(ReceiverStream::new(receiver), lease);
        let send = |message: WriteContentRequest| {
            let sender = sender.clone();
            async move { sender.send(message).await.is_ok() }
        };
        send(WriteContentRequest { action: WriteAction::Stat as i32, r#ref: reference.clone(), ..Default::default() })
            .await;
        let mut responses = self.client().content().write(request).await.during(what)?.into_inner();
        responses.next().await.transpose().during(what)?;
        let mut offset = 0i64;
        for chunk in data {
            for piece in chunk.chunks(CHUNK) {
                let message = WriteContentRequest {
                    action: WriteAction::Write as i32,
                    offset,
                    data: piece.to_vec(),
                    ..Default::default()
                };
                offset += piece.len() as i64;
                if !send(message).await {
                    break;
                }
                responses.next().await.transpose().during(what)?;
            }
        }
        let commit = WriteContentRequest {
            action: WriteAction::Commit as i32,
            total,
            offset,
            expected: digest.to_string(),
            labels,
            ..Default::default()
        };
        send(commit).await;
        drop(sender);
        match responses.next().await.transpose().during(what) {
            Err(error) if error.is_already_exists() => Ok(()),
            Err(error) => Err(error),
            Ok(_) => Ok(()),
        }
    }

    /// Puts blob `digest` (which need not exist yet) under `lease`.
    async fn lease_blob(&self, lease: &str, digest: &str) -> Result<(), ContainerdError> {
        let resource = Resource { id: digest.to_string(), r#type: "content".to_string() };
        let request = self.client().request(AddResourceRequest { id: lease.to_string(), resource: Some(resource) });
        self.client().leases().add_resource(request).await.during(|| format!("leasing blob {digest}"))?;
        Ok(())
    }

    /// A lease that expires by itself should the shim die before [`release`].
    ///
    /// [`release`]: ContainerdRuntime::release
    pub(crate) async fn lease(&self) -> Result<String, ContainerdError> {
        let id = format!("capstan-{}", uuid::Uuid::new_v4().simple());
        let expire = chrono::Utc::now() + chrono::Duration::hours(LEASE_HOURS);
        let labels = HashMap::from([(
            "containerd.io/gc.expire".to_string(),
            expire.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )]);
        let request = self.client().request(CreateLease { id: id.clone(), labels });
        self.client().leases().create(request).await.during(|| "creating a lease".to_string())?;
        Ok(id)
    }

    /// Ends `lease`; what it protected stays only if something refers to it.
    pub(crate) async fn release(&self, lease: &str) {
        let request = self.client().request(DeleteLease { id: lease.to_string(), sync: false });
        if let Err(error) = self.client().leases().delete(request).await {
            tracing::warn!(%lease, %error, "releasing a lease (it expires by itself)");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn digests_are_sha256_in_hex() {
        assert_eq!(super::digest_of(b""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
