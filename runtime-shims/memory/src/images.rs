//! Images in the in-memory runtime: any name "pulls" instantly, and only pulled or
//! preloaded images are reported, so the kubelet's `imagePullPolicy` logic (which
//! asks ImageStatus before pulling) sees what it would on a real node.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use capstan_proto::runtime::v1::Image;

/// The size every in-memory image reports.
const IMAGE_SIZE: u64 = 1_200_000;

/// Present images by normalised reference.
#[derive(Debug, Default)]
pub(crate) struct ImageStore {
    images: BTreeMap<String, Image>,
}

impl ImageStore {
    /// The image `name` refers to (a reference, with or without tag, or an ID).
    pub fn get(&self, name: &str) -> Option<&Image> {
        self.images.get(&normalize(name)).or_else(|| self.images.values().find(|i| i.id == name))
    }

    /// Makes `name` present (idempotent) and returns it.
    pub fn add(&mut self, name: &str) -> Image {
        let reference = normalize(name);
        let image = Image {
            id: image_id(&reference),
            repo_tags: vec![reference.clone()],
            repo_digests: vec![],
            size: IMAGE_SIZE,
        };
        self.images.entry(reference).or_insert(image).clone()
    }

    pub fn remove(&mut self, name: &str) {
        let key = self.get(name).and_then(|image| image.repo_tags.first().cloned());
        if let Some(key) = key {
            self.images.remove(&key);
        }
    }

    pub fn list(&self, filter: Option<&str>) -> Vec<Image> {
        match filter.filter(|f| !f.is_empty()) {
            Some(name) => self.get(name).cloned().into_iter().collect(),
            None => self.images.values().cloned().collect(),
        }
    }
}

/// `busybox` is `busybox:latest`, as Docker reads it.
pub(crate) fn normalize(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if name.starts_with("sha256:") || last.contains(':') || last.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// A stable, plausible `sha256:` ID derived from the reference.
fn image_id(reference: &str) -> String {
    let mut id = String::from("sha256:");
    for round in 0u8..4 {
        let mut hasher = DefaultHasher::new();
        (round, reference).hash(&mut hasher);
        id.push_str(&format!("{:016x}", hasher.finish()));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_normalised_and_found_by_id() {
        let mut store = ImageStore::default();
        let image = store.add("busybox");
        assert_eq!(image.repo_tags, ["busybox:latest"]);
        assert_eq!(store.get("busybox:latest").map(|i| &i.id), Some(&image.id));
        assert_eq!(store.get(&image.id).map(|i| &i.id), Some(&image.id));
        assert!(store.get("localhost:5000/busybox").is_none());
        assert_eq!(normalize("localhost:5000/busybox"), "localhost:5000/busybox:latest");
        store.remove(&image.id);
        assert!(store.list(None).is_empty());
    }
}
