//! Images on Docker: status, list and remove through the engine; pull
//! returns a present image at once and otherwise asks the engine to pull it, which
//! on these machines fails — no registry is reachable — with an error that names the
//! image and says how to provide it.

use std::collections::HashMap;

use bollard::models::{ImageInspect, ImageSummary};
use bollard::query_parameters::{CreateImageOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder};
use capstan_proto::runtime::v1::Image;
use futures::StreamExt;

use crate::error::{Context, Op};
use crate::{DockerRuntime, ShimError};

fn from_inspect(image: ImageInspect) -> Image {
    Image {
        id: image.id.unwrap_or_default(),
        repo_tags: image.repo_tags.unwrap_or_default(),
        repo_digests: image.repo_digests.unwrap_or_default(),
        size: image.size.unwrap_or_default().max(0) as u64,
    }
}

fn from_summary(image: ImageSummary) -> Image {
    Image { id: image.id, repo_tags: image.repo_tags, repo_digests: image.repo_digests, size: image.size.max(0) as u64 }
}

/// `(image, tag)` for a pull: Docker pulls every tag of an untagged name, so an
/// untagged, undigested name means `latest`.
fn pull_reference(name: &str) -> (String, String) {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains('@') {
        return (name.to_string(), String::new());
    }
    match name.rsplit_once(':') {
        Some((image, tag)) if last.contains(':') => (image.to_string(), tag.to_string()),
        _ => (name.to_string(), "latest".to_string()),
    }
}

impl DockerRuntime {
    pub(crate) async fn image(&self, name: &str) -> Result<Option<Image>, ShimError> {
        match self.inner.docker.inspect_image(name).await.during(Op::InspectImage, name) {
            Ok(image) => Ok(Some(from_inspect(image))),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub(crate) async fn pull(&self, name: &str) -> Result<String, ShimError> {
        if let Some(image) = self.image(name).await? {
            return Ok(image.id);
        }
        let (image, tag) = pull_reference(name);
        let options = CreateImageOptionsBuilder::default().from_image(&image).tag(&tag).build();
        let mut progress = self.inner.docker.create_image(Some(options), None, None);
        while let Some(step) = progress.next().await {
            step.map_err(|source| ShimError::Pull { image: name.to_string(), source })?;
        }
        let pulled = self.image(name).await?;
        Ok(pulled.map(|i| i.id).unwrap_or_default())
    }

    /// Every image on the engine, or just the one `filter` names (a reference or ID,
    /// as ImageStatus reads it).
    pub(crate) async fn list_images(&self, filter: Option<&str>) -> Result<Vec<Image>, ShimError> {
        if let Some(name) = filter {
            return Ok(self.image(name).await?.into_iter().collect());
        }
        let options = ListImagesOptionsBuilder::default().filters(&HashMap::<String, Vec<String>>::new()).build();
        let listed = self.inner.docker.list_images(Some(options)).await.during(Op::ListImages, "on the node")?;
        Ok(listed.into_iter().map(from_summary).collect())
    }

    /// Removes `name`; an image the engine lacks is already removed.
    pub(crate) async fn remove_image(&self, name: &str) -> Result<(), ShimError> {
        let options = RemoveImageOptionsBuilder::default().build();
        match self.inner.docker.remove_image(name, Some(options), None).await.during(Op::RemoveImage, name) {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_pulls_mean_latest() {
        assert_eq!(pull_reference("busybox"), ("busybox".into(), "latest".into()));
        assert_eq!(pull_reference("capstan/test:1"), ("capstan/test".into(), "1".into()));
        assert_eq!(pull_reference("localhost:5000/app"), ("localhost:5000/app".into(), "latest".into()));
        assert_eq!(pull_reference("app@sha256:abc"), ("app@sha256:abc".into(), String::new()));
    }
}
