//! Images in containerd: looking them up by reference or ID, what they say about
//! how to run them, listing and removing, and unpacking them into the snapshotter.
//!
//! An image's ID is its config digest, as Docker and the CRI report it. The
//! metadata read from the content store (manifest, config) is immutable for a given
//! target digest, so it is cached by that digest.
//!
//! # Layout
//! - [`content`]: blobs and leases.
//! - [`unpack`]: layers into a snapshot chain.
//! - [`archive`]: importing `docker save` archives and OCI layouts.
//! - [`pull`]: fetching from a registry, through [`registry`]'s client, which
//!   reaches it as [`transport`] allows (TLS, or plain HTTP where permitted)
//!   and presents the pull's [`auth`] credentials.

pub mod archive;
pub mod auth;
pub mod content;
pub mod pull;
pub mod registry;
pub mod transport;
pub mod unpack;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use capstan_proto::runtime::v1::Image;
use containerd_client::services::v1::{DeleteImageRequest, GetImageRequest, Image as ImageRecord, ListImagesRequest};
use containerd_client::types::Descriptor;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::reference::{familiar, is_image_id, normalize};
use crate::spec::ImageConfig;
use crate::{ContainerdError, ContainerdRuntime, Context};

pub const MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// What the shim knows of one image (one manifest for this platform).
#[derive(Debug)]
pub struct ImageInfo {
    /// The config digest: the image's ID.
    pub id: String,
    /// Config and layers, compressed, as the registry counts it.
    pub size: u64,
    pub config: ImageConfig,
    pub layers: Vec<Descriptor>,
    pub diff_ids: Vec<String>,
}

/// Image metadata by target digest, and one unpack at a time.
#[derive(Default)]
pub struct ImageCache {
    by_target: Mutex<HashMap<String, Arc<ImageInfo>>>,
    pub(crate) unpacking: Mutex<()>,
}

/// The architecture name images use for this machine.
pub fn platform_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn json(data: &[u8], what: &str) -> Result<Value, ContainerdError> {
    serde_json::from_slice(data).map_err(|source| ContainerdError::Json { what: what.to_string(), source })
}

/// A descriptor as the JSON of a manifest has it.
pub fn descriptor(value: &Value) -> Descriptor {
    Descriptor {
        media_type: value["mediaType"].as_str().unwrap_or_default().to_string(),
        digest: value["digest"].as_str().unwrap_or_default().to_string(),
        size: value["size"].as_i64().unwrap_or_default(),
        annotations: HashMap::new(),
    }
}

/// The entry of an index for this platform (linux and this architecture), else the first.
pub fn pick_manifest(index: &Value) -> Option<Value> {
    let manifests = index["manifests"].as_array()?;
    let ours = manifests.iter().find(|m| {
        m["platform"]["os"].as_str() == Some("linux")
            && m["platform"]["architecture"].as_str() == Some(platform_architecture())
    });
    ours.or_else(|| manifests.first()).cloned()
}

impl ContainerdRuntime {
    /// The record of image `name` (a reference), `None` when absent.
    pub(crate) async fn image_record(&self, name: &str) -> Result<Option<ImageRecord>, ContainerdError> {
        let full = normalize(name)?;
        let request = self.client().request(GetImageRequest { name: full.clone() });
        match self.client().images().get(request).await.during(|| format!("looking up image {full}")) {
            Ok(response) => Ok(response.into_inner().image),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn all_image_records(&self) -> Result<Vec<ImageRecord>, ContainerdError> {
        let request = self.client().request(ListImagesRequest { filters: vec![] });
        let listed = self.client().images().list(request).await.during(|| "listing images".to_string())?;
        Ok(listed.into_inner().images)
    }

    /// The manifest, config and layers of the image whose target is `target`.
    pub(crate) async fn image_info(&self, name: &str, target: &Descriptor) -> Result<Arc<ImageInfo>, ContainerdError> {
        if let Some(info) = self.inner.images.by_target.lock().await.get(&target.digest) {
            return Ok(Arc::clone(info));
        }
        let mut manifest = json(&self.read_blob(&target.digest).await?, &format!("the manifest of {name}"))?;
        if matches!(target.media_type.as_str(), MANIFEST_LIST | OCI_INDEX) || manifest.get("manifests").is_some() {
            let entry = pick_manifest(&manifest).ok_or_else(|| ContainerdError::BadImage {
                image: name.to_string(),
                reason: "its index lists no manifest".to_string(),
            })?;
            let digest = entry["digest"].as_str().unwrap_or_default().to_string();
            manifest = json(&self.read_blob(&digest).await?, &format!("the manifest of {name}"))?;
        }
        let config_descriptor = descriptor(&manifest["config"]);
        let config = json(&self.read_blob(&config_descriptor.digest).await?, &format!("the config of {name}"))?;
        let layers: Vec<Descriptor> =
            manifest["layers"].as_array().map(|l| l.iter().map(descriptor).collect()).unwrap_or_default();
        let diff_ids: Vec<String> = config["rootfs"]["diff_ids"]
            .as_array()
            .map(|d| d.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        if diff_ids.len() != layers.len() {
            return Err(ContainerdError::BadImage {
                image: name.to_string(),
                reason: format!("{} layers but {} diff IDs in its config", layers.len(), diff_ids.len()),
            });
        }
        let size = config_descriptor.size.max(0) as u64 + layers.iter().map(|l| l.size.max(0) as u64).sum::<u64>();
        let info = Arc::new(ImageInfo {
            id: config_descriptor.digest,
            size,
            config: ImageConfig::from_json(&config),
            layers,
            diff_ids,
        });
        self.inner.images.by_target.lock().await.insert(target.digest.clone(), Arc::clone(&info));
        Ok(info)
    }

    /// Every image record, with its info, that `name` refers to: the one record of a
    /// reference, or every record of an ID.
    async fn resolve(&self, name: &str) -> Result<Vec<(ImageRecord, Arc<ImageInfo>)>, ContainerdError> {
        let records = if is_image_id(name) {
            self.all_image_records().await?
        } else {
            self.image_record(name).await?.into_iter().collect()
        };
        let mut found = Vec::new();
        for record in records {
            let Some(target) = record.target.clone() else { continue };
            let info = self.image_info(&record.name, &target).await?;
            if !is_image_id(name) || info.id == name {
                found.push((record, info));
            }
        }
        Ok(found)
    }

    pub(crate) async fn image_status(&self, name: &str) -> Result<Option<Image>, ContainerdError> {
        Ok(grouped(self.resolve(name).await?).into_iter().next())
    }

    pub(crate) async fn list_images(&self, filter: Option<&str>) -> Result<Vec<Image>, ContainerdError> {
        if let Some(name) = filter {
            return Ok(self.image_status(name).await?.into_iter().collect());
        }
        let mut found = Vec::new();
        for record in self.all_image_records().await? {
            let Some(target) = record.target.clone() else { continue };
            match self.image_info(&record.name, &target).await {
                Ok(info) => found.push((record, info)),
                // an image whose content is incomplete is not one the node can run
                Err(error) => tracing::debug!(image = %record.name, %error, "skipping an unreadable image"),
            }
        }
        Ok(grouped(found))
    }

    pub(crate) async fn remove_image(&self, name: &str) -> Result<(), ContainerdError> {
        for (record, _) in self.resolve(name).await? {
            let request =
                self.client().request(DeleteImageRequest { name: record.name.clone(), sync: false, target: None });
            match self.client().images().delete(request).await.during(|| format!("removing image {}", record.name)) {
                Err(error) if !error.is_not_found() => return Err(error),
                _ => {}
            }
        }
        Ok(())
    }

    /// Makes `tag` name the image `source` names (as `docker tag` does).
    pub async fn tag_image(&self, source: &str, tag: &str) -> Result<(), ContainerdError> {
        let record = self.image_record(source).await?.ok_or_else(|| ContainerdError::ImageNotPresent {
            image: source.to_string(),
            node: self.node_name().to_string(),
            namespace: self.namespace().to_string(),
        })?;
        let lease = self.lease().await?;
        let tagged = self.put_image(&normalize(tag)?, record.target.unwrap_or_default(), &lease).await;
        self.release(&lease).await;
        tagged
    }

    /// The info of image `name` for a container: present (or NotFound naming it)
    /// and unpacked.
    pub(crate) async fn image_for_container(&self, name: &str) -> Result<(Arc<ImageInfo>, String), ContainerdError> {
        let record = self.image_record(name).await?.ok_or_else(|| ContainerdError::ImageNotPresent {
            image: name.to_string(),
            node: self.node_name().to_string(),
            namespace: self.namespace().to_string(),
        })?;
        let target = record.target.clone().unwrap_or_default();
        let info = self.image_info(&record.name, &target).await?;
        let chain = self.unpack(&record.name, &info).await?;
        Ok((info, chain))
    }
}

/// One [`Image`] per ID, carrying every tag that names it (as Docker lists them).
fn grouped(found: Vec<(ImageRecord, Arc<ImageInfo>)>) -> Vec<Image> {
    let mut by_id: BTreeMap<String, Image> = BTreeMap::new();
    for (record, info) in found {
        let image = by_id.entry(info.id.clone()).or_insert_with(|| Image {
            id: info.id.clone(),
            repo_tags: vec![],
            repo_digests: vec![],
            size: info.size,
        });
        let name = familiar(&record.name);
        if name.contains('@') {
            image.repo_digests.push(name);
        } else {
            image.repo_tags.push(name);
        }
    }
    by_id.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_manifest_for_this_platform_is_picked() {
        let index = json!({"manifests": [
            {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "not-this-one"}},
            {"digest": "sha256:ours", "platform": {"os": "linux", "architecture": platform_architecture()}},
        ]});
        assert_eq!(pick_manifest(&index).map(|m| m["digest"].clone()), Some(json!("sha256:ours")));
        let only = json!({"manifests": [{"digest": "sha256:x"}]});
        assert_eq!(pick_manifest(&only).map(|m| m["digest"].clone()), Some(json!("sha256:x")));
    }

    #[test]
    fn records_of_one_id_are_one_image_with_every_tag() {
        let info = Arc::new(ImageInfo {
            id: "sha256:c".into(),
            size: 7,
            config: ImageConfig::default(),
            layers: vec![],
            diff_ids: vec![],
        });
        let record = |name: &str| ImageRecord { name: name.into(), ..Default::default() };
        let images = grouped(vec![
            (record("docker.io/capstan/test:1"), Arc::clone(&info)),
            (record("docker.io/library/busybox:1"), info),
        ]);
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].repo_tags, ["capstan/test:1", "busybox:1"]);
        assert_eq!((images[0].id.as_str(), images[0].size), ("sha256:c", 7));
    }
}
