//! Importing an image archive into containerd, so that machines with no registry
//! can run images built elsewhere: a `docker save` tarball (`manifest.json`, a
//! config and `layer.tar`s) or an OCI image layout (`index.json` and
//! `blobs/sha256/…`), uncompressed.
//!
//! Blobs go into the content store under a lease, each manifest labelled with the
//! blobs it refers to (the garbage collector's references); then each named image
//! gets its record and is unpacked into the snapshotter.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use containerd_client::services::v1::{CreateImageRequest, Image as ImageRecord, UpdateImageRequest};
use containerd_client::types::Descriptor;
use prost_types::FieldMask;
use serde_json::{json, Value};

use crate::images::content::digest_of;
use crate::images::{descriptor, MANIFEST, MANIFEST_LIST, OCI_INDEX};
use crate::reference::{familiar, normalize};
use crate::{ContainerdError, ContainerdRuntime, Context};

const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The files of a tar archive: where each one's data starts and how long it is.
struct Archive {
    path: PathBuf,
    files: HashMap<String, (u64, u64)>,
}

impl Archive {
    fn open(path: &Path) -> Result<Archive, ContainerdError> {
        let bad = |reason: String| ContainerdError::Archive { path: path.display().to_string(), reason };
        let file = std::fs::File::open(path).map_err(|e| bad(format!("cannot open it: {e}")))?;
        let mut archive = tar::Archive::new(file);
        let mut files = HashMap::new();
        // `docker save` writes a layer two images share once, and the second as a
        // symlink to the first: links are resolved once every file is known
        let mut links = Vec::new();
        let entries = archive.entries().map_err(|e| bad(format!("not a tar archive: {e}")))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| bad(format!("not a tar archive (compressed archives are not supported): {e}")))?;
            let name =
                entry.path().map_err(|e| bad(e.to_string()))?.to_string_lossy().trim_start_matches("./").to_string();
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry.link_name().map_err(|e| bad(e.to_string()))?.unwrap_or_default();
                let target = target.to_string_lossy().to_string();
                let resolved = if kind.is_symlink() { resolve_link(&name, &target) } else { normalize_path(&target) };
                links.push((name, resolved));
            } else if kind.is_file() {
                files.insert(name, (entry.raw_file_position(), entry.size()));
            }
        }
        for (name, target) in links {
            if let Some(found) = files.get(&target).copied() {
                files.insert(name, found);
            }
        }
        Ok(Archive { path: path.to_path_buf(), files })
    }

    fn bad(&self, reason: String) -> ContainerdError {
        ContainerdError::Archive { path: self.path.display().to_string(), reason }
    }

    fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// The whole of file `name`.
    fn read(&self, name: &str) -> Result<Vec<u8>, ContainerdError> {
        let (offset, size) = *self.files.get(name).ok_or_else(|| self.bad(format!("it has no {name}")))?;
        let mut file = std::fs::File::open(&self.path).map_err(|e| self.bad(e.to_string()))?;
        file.seek(SeekFrom::Start(offset)).map_err(|e| self.bad(e.to_string()))?;
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or_default());
        file.take(size).read_to_end(&mut data).map_err(|e| self.bad(format!("reading {name}: {e}")))?;
        Ok(data)
    }

    fn json(&self, name: &str) -> Result<Value, ContainerdError> {
        serde_json::from_slice(&self.read(name)?).map_err(|e| self.bad(format!("{name} is not JSON: {e}")))
    }
}

/// `target` of a symlink at `name`, as a path from the archive's root.
fn resolve_link(name: &str, target: &str) -> String {
    if target.starts_with('/') {
        return normalize_path(target);
    }
    let dir = name.rsplit_once('/').map(|(dir, _)| dir).unwrap_or_default();
    normalize_path(&format!("{dir}/{target}"))
}

/// `a/./b/../c` as `a/c`, without a leading `/` or `./`.
fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// A blob to write, with the references the garbage collector should follow.
struct Blob {
    descriptor: Descriptor,
    data: Vec<u8>,
    labels: HashMap<String, String>,
}

impl Blob {
    fn new(media_type: &str, data: Vec<u8>) -> Blob {
        let descriptor = Descriptor {
            media_type: media_type.to_string(),
            digest: digest_of(&data),
            size: data.len() as i64,
            annotations: HashMap::new(),
        };
        Blob { descriptor, data, labels: HashMap::new() }
    }
}

/// What an archive holds: blobs in the order to write them, and named images.
struct Plan {
    blobs: Vec<Blob>,
    images: Vec<(String, Descriptor)>,
}

/// The labels by which a manifest refers to its config and layers.
pub(crate) fn manifest_labels(manifest: &Value) -> HashMap<String, String> {
    let mut labels = HashMap::new();
    if let Some(config) = manifest["config"]["digest"].as_str() {
        labels.insert("containerd.io/gc.ref.content.config".to_string(), config.to_string());
    }
    for (i, layer) in manifest["layers"].as_array().into_iter().flatten().enumerate() {
        if let Some(digest) = layer["digest"].as_str() {
            labels.insert(format!("containerd.io/gc.ref.content.l.{i}"), digest.to_string());
        }
    }
    for (i, entry) in manifest["manifests"].as_array().into_iter().flatten().enumerate() {
        if let Some(digest) = entry["digest"].as_str() {
            labels.insert(format!("containerd.io/gc.ref.content.m.{i}"), digest.to_string());
        }
    }
    labels
}

/// A `docker save` archive: a manifest per image is made from its config and layers.
fn docker_plan(archive: &Archive) -> Result<Plan, ContainerdError> {
    let entries = archive.json("manifest.json")?;
    let entries = entries.as_array().ok_or_else(|| archive.bad("manifest.json is not a list".into()))?;
    let mut plan = Plan { blobs: Vec::new(), images: Vec::new() };
    for entry in entries {
        let config_name = entry["Config"].as_str().ok_or_else(|| archive.bad("an entry names no Config".into()))?;
        let config = Blob::new(DOCKER_CONFIG, archive.read(config_name)?);
        let mut layers = Vec::new();
        for layer in entry["Layers"].as_array().into_iter().flatten() {
            let name = layer.as_str().ok_or_else(|| archive.bad("a layer is not a file name".into()))?;
            let data = archive.read(name)?;
            let media_type = if data.starts_with(&[0x1f, 0x8b]) { DOCKER_LAYER_GZIP } else { DOCKER_LAYER };
            layers.push(Blob::new(media_type, data));
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": { "mediaType": DOCKER_CONFIG, "size": config.descriptor.size, "digest": config.descriptor.digest },
            "layers": layers.iter().map(|l| json!({
                "mediaType": l.descriptor.media_type, "size": l.descriptor.size, "digest": l.descriptor.digest,
            })).collect::<Vec<_>>(),
        });
        let mut manifest_blob = Blob::new(MANIFEST, manifest.to_string().into_bytes());
        manifest_blob.labels = manifest_labels(&manifest);
        for tag in entry["RepoTags"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            plan.images.push((normalize(tag)?, manifest_blob.descriptor.clone()));
        }
        plan.blobs.push(config);
        plan.blobs.extend(layers);
        plan.blobs.push(manifest_blob);
    }
    Ok(plan)
}

/// An OCI image layout: its blobs as they are, the manifests and indexes labelled.
fn oci_plan(archive: &Archive) -> Result<Plan, ContainerdError> {
    let index = archive.json("index.json")?;
    let mut plan = Plan { blobs: Vec::new(), images: Vec::new() };
    let blob_name = |digest: &str| format!("blobs/{}", digest.replacen(':', "/", 1));
    // leaves first, then what refers to them: a stack of (descriptor, children written)
    let mut pending: Vec<(Value, bool)> =
        index["manifests"].as_array().into_iter().flatten().map(|d| (d.clone(), false)).collect();
    for entry in index["manifests"].as_array().into_iter().flatten() {
        let annotations = &entry["annotations"];
        let name = annotations["io.containerd.image.name"]
            .as_str()
            .or_else(|| annotations["org.opencontainers.image.ref.name"].as_str().filter(|n| n.contains(['/', ':'])));
        if let Some(name) = name {
            plan.images.push((normalize(name)?, descriptor(entry)));
        }
    }
    let mut written = std::collections::HashSet::new();
    while let Some((entry, children_done)) = pending.pop() {
        let digest = entry["digest"].as_str().unwrap_or_default().to_string();
        if written.contains(&digest) {
            continue;
        }
        let media_type = entry["mediaType"].as_str().unwrap_or_default().to_string();
        let data = archive.read(&blob_name(&digest))?;
        let is_parent = matches!(media_type.as_str(), MANIFEST | OCI_INDEX | MANIFEST_LIST)
            || media_type.ends_with("manifest.v1+json");
        if is_parent && !children_done {
            let value: Value =
                serde_json::from_slice(&data).map_err(|e| archive.bad(format!("blob {digest} is not JSON: {e}")))?;
            pending.push((entry.clone(), true));
            let children = value["manifests"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(value["layers"].as_array().into_iter().flatten());
            for child in children.chain(std::iter::once(&value["config"]).filter(|c| c.is_object())) {
                if archive.has(&blob_name(child["digest"].as_str().unwrap_or_default())) {
                    pending.push((child.clone(), false));
                }
            }
            continue;
        }
        let mut blob = Blob::new(&media_type, data);
        if blob.descriptor.digest != digest {
            return Err(archive.bad(format!("blob {digest} does not match its digest")));
        }
        if is_parent {
            let value: Value = serde_json::from_slice(&blob.data).unwrap_or(Value::Null);
            blob.labels = manifest_labels(&value);
        }
        written.insert(digest);
        plan.blobs.push(blob);
    }
    Ok(plan)
}

impl ContainerdRuntime {
    /// Imports every image of the archive at `path`, unpacks it, and returns the
    /// images' names (in their short form).
    pub async fn import_archive(&self, path: &Path) -> Result<Vec<String>, ContainerdError> {
        let owned = path.to_path_buf();
        let plan = tokio::task::spawn_blocking(move || {
            let archive = Archive::open(&owned)?;
            if archive.has("index.json") {
                oci_plan(&archive)
            } else {
                docker_plan(&archive)
            }
        })
        .await
        .map_err(|e| ContainerdError::Archive { path: path.display().to_string(), reason: e.to_string() })??;
        if plan.images.is_empty() {
            return Err(ContainerdError::Archive {
                path: path.display().to_string(),
                reason: "it names no image (docker save NAME:TAG, or an OCI layout with io.containerd.image.name)"
                    .to_string(),
            });
        }
        let lease = self.lease().await?;
        let result = self.import_plan(plan, &lease).await;
        self.release(&lease).await;
        result
    }

    async fn import_plan(&self, plan: Plan, lease: &str) -> Result<Vec<String>, ContainerdError> {
        for blob in plan.blobs {
            let size = blob.descriptor.size;
            self.write_blob(lease, &blob.descriptor.digest, [blob.data], size, blob.labels).await?;
        }
        let mut names = Vec::new();
        for (name, target) in plan.images {
            self.put_image(&name, target, lease).await?;
            let record = self.image_record(&name).await?.unwrap_or_default();
            let info = self.image_info(&name, &record.target.unwrap_or_default()).await?;
            self.unpack(&name, &info).await?;
            names.push(familiar(&name));
        }
        Ok(names)
    }

    /// Creates image `name` pointing at `target`, or points an existing one at it.
    pub(crate) async fn put_image(&self, name: &str, target: Descriptor, lease: &str) -> Result<(), ContainerdError> {
        let record = ImageRecord { name: name.to_string(), target: Some(target), ..Default::default() };
        let create = CreateImageRequest { image: Some(record.clone()), source_date_epoch: None };
        let what = || format!("creating image {name}");
        match self.client().images().create(self.client().leased(create, lease)).await.during(what) {
            Ok(_) => Ok(()),
            Err(error) if error.is_already_exists() => {
                let mask = FieldMask { paths: vec!["target".to_string()] };
                let update =
                    UpdateImageRequest { image: Some(record), update_mask: Some(mask), source_date_epoch: None };
                self.client().images().update(self.client().leased(update, lease)).await.during(what)?;
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, Vec<u8>)]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let mut builder = tar::Builder::new(file.reopen().expect("reopen"));
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, data.as_slice()).expect("append");
        }
        builder.finish().expect("finish");
        file
    }

    #[test]
    fn a_docker_save_archive_becomes_a_manifest_per_image() {
        let config = br#"{"config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:x"]}}"#.to_vec();
        let manifest = br#"[{"Config":"c.json","RepoTags":["capstan/test:1"],"Layers":["l/layer.tar"]}]"#.to_vec();
        let file =
            tar_of(&[("c.json", config.clone()), ("l/layer.tar", b"layer".to_vec()), ("manifest.json", manifest)]);
        let archive = Archive::open(file.path()).expect("an archive");
        let plan = docker_plan(&archive).expect("a plan");
        assert_eq!(plan.images.len(), 1);
        assert_eq!(plan.images[0].0, "docker.io/capstan/test:1");
        let written: Vec<&str> = plan.blobs.iter().map(|b| b.descriptor.media_type.as_str()).collect();
        assert_eq!(written, [DOCKER_CONFIG, DOCKER_LAYER, MANIFEST], "config and layers before the manifest");
        let manifest = &plan.blobs[2];
        assert_eq!(plan.images[0].1.digest, manifest.descriptor.digest);
        assert_eq!(manifest.labels.get("containerd.io/gc.ref.content.config"), Some(&digest_of(&config)));
        assert_eq!(manifest.labels.get("containerd.io/gc.ref.content.l.0"), Some(&digest_of(b"layer")));
    }

    #[test]
    fn a_layer_saved_as_a_symlink_reads_as_its_target() {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let mut builder = tar::Builder::new(file.reopen().expect("reopen"));
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, "a/layer.tar", &b"layer"[..]).expect("append");
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder.append_link(&mut link, "b/layer.tar", "../a/layer.tar").expect("link");
        builder.finish().expect("finish");
        let archive = Archive::open(file.path()).expect("an archive");
        assert_eq!(archive.read("b/layer.tar").expect("the link's target"), b"layer");
        assert_eq!(resolve_link("x/y/l", "../z"), "x/z");
    }

    #[test]
    fn what_is_not_an_archive_says_so() {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), b"not a tar at all, just some bytes that go on for a while ...").expect("write");
        let error = Archive::open(file.path()).and_then(|a| docker_plan(&a)).map(|_| ()).expect_err("bad");
        assert!(error.to_string().contains(&file.path().display().to_string()), "{error}");
    }

    #[test]
    fn an_oci_layout_writes_leaves_before_what_refers_to_them() {
        let config = b"{}".to_vec();
        let layer = b"layer".to_vec();
        let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(&config), "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest_of(&layer), "size": 5}]})
        .to_string()
        .into_bytes();
        let index =
            json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest_of(&manifest), "size": manifest.len(),
            "annotations": {"io.containerd.image.name": "docker.io/capstan/test:1"}}]})
            .to_string()
            .into_bytes();
        let blob = |data: &[u8]| format!("blobs/{}", digest_of(data).replacen(':', "/", 1));
        let file = tar_of(&[
            ("index.json", index),
            (&blob(&manifest), manifest.clone()),
            (&blob(&config), config.clone()),
            (&blob(&layer), layer.clone()),
        ]);
        let plan = oci_plan(&Archive::open(file.path()).expect("archive")).expect("plan");
        let order: Vec<String> = plan.blobs.iter().map(|b| b.descriptor.digest.clone()).collect();
        assert_eq!(order.last(), Some(&digest_of(&manifest)), "{order:?}");
        assert_eq!(order.len(), 3);
        assert_eq!(plan.images, vec![("docker.io/capstan/test:1".to_string(), plan.images[0].1.clone())]);
        assert_eq!(plan.blobs[2].labels.get("containerd.io/gc.ref.content.l.0"), Some(&digest_of(&layer)));
    }
}
