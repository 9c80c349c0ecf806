//! Unpacking an image: each layer applied onto its parent in the snapshotter and
//! committed under its chain ID, so that every container of the image starts from a
//! snapshot of the top of the chain. Layers already unpacked (by this image or
//! another sharing them) are skipped.
//!
//! The config blob is labelled with the top of the chain, which is how containerd's
//! garbage collector knows the snapshots belong to the image. Until that label is
//! on, snapshots found or made are held by a lease: a layer left over from a
//! removed image belongs to nothing and may be collected at any moment.

use containerd_client::services::v1::snapshots::{
    CommitSnapshotRequest, PrepareSnapshotRequest, RemoveSnapshotRequest, StatSnapshotRequest,
};
use containerd_client::services::v1::{AddResourceRequest, ApplyRequest, Resource};
use sha2::{Digest, Sha256};

use crate::images::ImageInfo;
use crate::{ContainerdError, ContainerdRuntime, Context};

/// The chain ID of each prefix of `diff_ids` (OCI image spec: the first layer's
/// is its diff ID; each next one is `sha256(parent + " " + diff_id)`).
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut chain: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match chain.last() {
            None => diff_id.clone(),
            Some(parent) => format!("sha256:{:x}", Sha256::digest(format!("{parent} {diff_id}").as_bytes())),
        };
        chain.push(next);
    }
    chain
}

impl ContainerdRuntime {
    async fn snapshot_exists(&self, key: &str) -> Result<bool, ContainerdError> {
        let snapshotter = self.config().snapshotter.clone();
        let request = self.client().request(StatSnapshotRequest { snapshotter, key: key.to_string() });
        match self.client().snapshots().stat(request).await.during(|| format!("looking up snapshot {key}")) {
            Ok(_) => Ok(true),
            Err(error) if error.is_not_found() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Unpacks `image` (named `name`); returns the chain ID of its top layer.
    pub(crate) async fn unpack(&self, name: &str, image: &ImageInfo) -> Result<String, ContainerdError> {
        let chain = chain_ids(&image.diff_ids);
        let Some(top) = chain.last().cloned() else {
            return Err(ContainerdError::BadImage { image: name.to_string(), reason: "it has no layers".to_string() });
        };
        let reference = format!("containerd.io/gc.ref.snapshot.{}", self.config().snapshotter);
        if self.unpacked(image, &reference, &top).await? {
            return Ok(top);
        }
        let _one_at_a_time = self.inner.images.unpacking.lock().await;
        let lease = self.lease().await?;
        let result = self.unpack_layers(name, image, &chain, &lease).await;
        let labelled = match result {
            Ok(()) => self.label_blob(&image.id, &reference, &top).await,
            Err(error) => Err(error),
        };
        self.release(&lease).await;
        labelled.map(|()| top)
    }

    /// Whether `image` owns its unpacked chain: its config blob refers to `top`
    /// (so the collector keeps it while the image exists) and the snapshot is there.
    async fn unpacked(&self, image: &ImageInfo, reference: &str, top: &str) -> Result<bool, ContainerdError> {
        let Some(config) = self.blob_info(&image.id).await? else { return Ok(false) };
        if config.labels.get(reference).map(String::as_str) != Some(top) {
            return Ok(false);
        }
        self.snapshot_exists(top).await
    }

    /// Puts snapshot `key` (which need not exist yet) under `lease`.
    async fn lease_snapshot(&self, lease: &str, key: &str) -> Result<(), ContainerdError> {
        let resource = Resource { id: key.to_string(), r#type: format!("snapshots/{}", self.config().snapshotter) };
        let request = self.client().request(AddResourceRequest { id: lease.to_string(), resource: Some(resource) });
        self.client().leases().add_resource(request).await.during(|| format!("leasing snapshot {key}"))?;
        Ok(())
    }

    async fn unpack_layers(
        &self,
        name: &str,
        image: &ImageInfo,
        chain: &[String],
        lease: &str,
    ) -> Result<(), ContainerdError> {
        let snapshotter = self.config().snapshotter.clone();
        for (index, (layer, chain_id)) in image.layers.iter().zip(chain).enumerate() {
            self.lease_snapshot(lease, chain_id).await?;
            if self.snapshot_exists(chain_id).await? {
                continue;
            }
            let parent = if index == 0 { String::new() } else { chain[index - 1].clone() };
            let key = format!("extract-{} {chain_id}", uuid::Uuid::new_v4().simple());
            let what = || format!("unpacking layer {} of image {name}", layer.digest);
            let prepare = PrepareSnapshotRequest {
                snapshotter: snapshotter.clone(),
                key: key.clone(),
                parent,
                labels: Default::default(),
            };
            let mounts = self
                .client()
                .snapshots()
                .prepare(self.client().leased(prepare, lease))
                .await
                .during(what)?
                .into_inner()
                .mounts;
            let apply =
                ApplyRequest { diff: Some(layer.clone()), mounts, payloads: Default::default(), sync_fs: false };
            let applied = self.client().diff().apply(self.client().leased(apply, lease)).await.during(what);
            let committed = match applied {
                Ok(_) => {
                    let commit = CommitSnapshotRequest {
                        snapshotter: snapshotter.clone(),
                        name: chain_id.clone(),
                        key: key.clone(),
                        labels: Default::default(),
                    };
                    self.client().snapshots().commit(self.client().leased(commit, lease)).await.during(what)
                }
                Err(error) => Err(error),
            };
            match committed {
                Ok(_) => {}
                // another shim unpacked the same layer meanwhile
                Err(error) if error.is_already_exists() => self.remove_snapshot(&key).await?,
                Err(error) => {
                    let _ = self.remove_snapshot(&key).await;
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Removes snapshot `key`; one that is gone already is fine.
    pub(crate) async fn remove_snapshot(&self, key: &str) -> Result<(), ContainerdError> {
        let request = self
            .client()
            .request(RemoveSnapshotRequest { snapshotter: self.config().snapshotter.clone(), key: key.to_string() });
        match self.client().snapshots().remove(request).await.during(|| format!("removing snapshot {key}")) {
            Err(error) if !error.is_not_found() => Err(error),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_oci_image_spec() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        let chain = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(chain[0], a);
        let expected = format!("sha256:{:x}", Sha256::digest(format!("{a} {b}").as_bytes()));
        assert_eq!(chain[1], expected);
        assert!(chain_ids(&[]).is_empty());
    }
}
