//! Images on Docker: status, list and remove through the engine; pull returns a
//! present image at once and otherwise asks the engine to pull it with the
//! request's credentials.
//!
//! The engine takes a pull's credentials as one `X-Registry-Auth` header and
//! uses only some of its fields, so the shim prepares them the way the
//! containerd shim reads them: `auth` (base64 of `user:password`, which the
//! engine ignores) becomes a username and password, and credentials whose
//! `server_address` names another registry are not sent at all. The engine
//! decodes that header as base64url while bollard encodes it as standard
//! base64; credentials whose encoding differs between the two would be dropped
//! silently (an anonymous pull), so the shim refuses them with a message that
//! says so instead.

use capstan_shim_common::{CallTarget, RuntimeError};
use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bollard::auth::DockerCredentials;
use bollard::models::{ImageInspect, ImageSummary};
use bollard::query_parameters::{CreateImageOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder};
use capstan_proto::runtime::v1::{AuthConfig, Image};
use capstan_shim_common::registry::registry_host;
use futures::StreamExt;

use crate::error::{Context, Op, PullRefusal};
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

/// The registry an image reference is pulled from, as Docker reads it: a first
/// path component with a dot or a port, or `localhost`, names one; otherwise it
/// is Docker Hub.
fn registry_of(name: &str) -> String {
    match name.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => registry_host(first),
        _ => "docker.io".to_string(),
    }
}

/// What the engine is given to pull `name` with `auth`: `None` for an anonymous
/// pull (no credentials, or credentials for another registry).
fn engine_credentials(auth: Option<&AuthConfig>, name: &str) -> Result<Option<DockerCredentials>, ShimError> {
    let Some(auth) = auth else { return Ok(None) };
    let registry = registry_of(name);
    if !auth.server_address.is_empty() && registry_host(&auth.server_address) != registry {
        tracing::warn!(server = %auth.server_address, %registry, image = %name,
            "the pull's credentials are for another registry; pulling anonymously");
        return Ok(None);
    }
    let bad = |reason: &'static str| ShimError::Runtime(RuntimeError::BadAuth { image: name.to_string(), reason });
    let (mut username, mut password) = (auth.username.clone(), auth.password.clone());
    if username.is_empty() && password.is_empty() && !auth.auth.is_empty() {
        let decoded = STANDARD.decode(auth.auth.trim()).map_err(|_| bad("auth is not base64 of user:password"))?;
        let text = String::from_utf8(decoded).map_err(|_| bad("auth is not base64 of user:password"))?;
        let (user, secret) = text.split_once(':').ok_or_else(|| bad("auth is not base64 of user:password"))?;
        (username, password) = (user.to_string(), secret.to_string());
    }
    let set = |value: &str| (!value.is_empty()).then(|| value.to_string());
    let credentials = DockerCredentials {
        username: set(&username),
        password: set(&password),
        identitytoken: set(&auth.identity_token),
        registrytoken: set(&auth.registry_token),
        ..Default::default()
    };
    if credentials == DockerCredentials::default() {
        return Ok(None);
    }
    // exactly the header bollard sends: `+` or `/` in it are not base64url
    let json = serde_json::to_string(&credentials).map_err(|_| bad("they cannot be written as JSON"))?;
    if STANDARD.encode(json).contains(['+', '/']) {
        return Err(bad(
            "Docker would drop them: bollard encodes X-Registry-Auth as standard base64, which for these \
             credentials holds `+` or `/` that the engine's base64url decoder rejects",
        ));
    }
    Ok(Some(credentials))
}

impl DockerRuntime {
    pub(crate) async fn image(&self, name: &str) -> Result<Option<Image>, ShimError> {
        let inspected = self.engine("ImageInspect", CallTarget::none(), self.inner.docker.inspect_image(name));
        match inspected.await.during(Op::InspectImage, name) {
            Ok(image) => Ok(Some(from_inspect(image))),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub(crate) async fn pull(&self, name: &str, auth: Option<AuthConfig>) -> Result<String, ShimError> {
        if let Some(image) = self.image(name).await? {
            return Ok(image.id);
        }
        let credentials = engine_credentials(auth.as_ref(), name)?;
        let (image, tag) = pull_reference(name);
        let options = CreateImageOptionsBuilder::default().from_image(&image).tag(&tag).build();
        let mut progress = self.inner.docker.create_image(Some(options), None, credentials);
        // the pull is one call whose answer streams its progress: done when the stream ends
        let pulled = self.engine("ImageCreate", CallTarget::none(), async {
            while let Some(step) = progress.next().await {
                step?;
            }
            Ok(())
        });
        pulled.await.map_err(|source| ShimError::Pull {
            image: name.to_string(),
            refusal: PullRefusal::of(&source),
            source,
        })?;
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
        let listed = self.engine("ImageList", CallTarget::none(), self.inner.docker.list_images(Some(options)));
        let listed = listed.await.during(Op::ListImages, "on the node")?;
        Ok(listed.into_iter().map(from_summary).collect())
    }

    /// Removes `name`; an image the engine lacks is already removed.
    pub(crate) async fn remove_image(&self, name: &str) -> Result<(), ShimError> {
        let options = RemoveImageOptionsBuilder::default().build();
        let removed =
            self.engine("ImageDelete", CallTarget::none(), self.inner.docker.remove_image(name, Some(options), None));
        match removed.await.during(Op::RemoveImage, name) {
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

    fn auth(f: impl FnOnce(&mut AuthConfig)) -> AuthConfig {
        let mut config = AuthConfig::default();
        f(&mut config);
        config
    }

    fn sent(config: Option<AuthConfig>) -> Option<DockerCredentials> {
        engine_credentials(config.as_ref(), "localhost:5000/app:1").map_err(|e| e.to_string()).expect("usable")
    }

    #[test]
    fn the_engine_gets_whichever_credentials_are_set() {
        assert_eq!(sent(None), None);
        assert_eq!(sent(Some(AuthConfig::default())), None, "empty credentials are an anonymous pull");
        let basic =
            DockerCredentials { username: Some("alice".into()), password: Some("s3cret".into()), ..Default::default() };
        assert_eq!(
            sent(Some(auth(|a| (a.username, a.password) = ("alice".into(), "s3cret".into())))),
            Some(basic.clone())
        );
        assert_eq!(
            sent(Some(auth(|a| a.auth = STANDARD.encode("alice:s3cret")))),
            Some(basic),
            "the engine ignores `auth`, so the shim decodes it"
        );
        let colon = sent(Some(auth(|a| a.auth = STANDARD.encode("bob:pa:ss"))));
        assert_eq!(colon.and_then(|c| c.password).as_deref(), Some("pa:ss"), "the password may hold a colon");
        let tokens = sent(Some(auth(|a| (a.identity_token, a.registry_token) = ("refresh".into(), "bearer".into()))));
        assert_eq!(
            tokens,
            Some(DockerCredentials {
                identitytoken: Some("refresh".into()),
                registrytoken: Some("bearer".into()),
                ..Default::default()
            }),
            "the engine picks the registry token first, as the containerd shim does"
        );
    }

    #[test]
    fn unusable_auth_fields_are_refused() {
        for bad in ["not base64!".to_string(), STANDARD.encode("no colon")] {
            let refused = engine_credentials(Some(&auth(|a| a.auth = bad.clone())), "app:1").map(|_| ());
            assert!(matches!(refused, Err(ShimError::Runtime(RuntimeError::BadAuth { .. }))), "{bad}: {refused:?}");
        }
    }

    #[test]
    fn credentials_for_another_registry_are_not_sent() {
        let creds = |server: &str, image: &str| {
            let config = auth(|a| (a.username, a.password, a.server_address) = ("u".into(), "p".into(), server.into()));
            engine_credentials(Some(&config), image).map_err(|e| e.to_string()).expect("usable")
        };
        assert_eq!(creds("other.example:5000", "localhost:5000/app:1"), None);
        assert!(creds("http://LOCALHOST:5000/v2/", "localhost:5000/app:1").is_some());
        assert!(creds("https://index.docker.io/v1/", "busybox").is_some(), "Docker Hub by any of its names");
        assert!(creds("docker.io", "library/busybox:1").is_some());
        assert_eq!(creds("docker.io", "registry.example/app"), None);
    }

    #[test]
    fn registries_are_read_from_references_as_docker_does() {
        assert_eq!(registry_of("busybox"), "docker.io");
        assert_eq!(registry_of("capstan/test:1"), "docker.io");
        assert_eq!(registry_of("localhost/app"), "localhost");
        assert_eq!(registry_of("127.0.0.1:5000/capstan/basic:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("Registry.Example/app@sha256:abc"), "registry.example");
    }

    /// `?` as the third byte of a group of three encodes to `/` in standard
    /// base64; the engine would not decode the header and pull anonymously.
    #[test]
    fn credentials_the_engine_would_drop_are_refused_out_loud() {
        let with = |password: &str| {
            let config = auth(|a| (a.username, a.password) = ("alice".into(), password.into()));
            engine_credentials(Some(&config), "app:1").map(|c| c.is_some())
        };
        let refused = with("?").expect_err("a header with `/` in it");
        assert!(refused.to_string().contains("base64url"), "{refused}");
        assert_eq!(with("a?").map_err(|e| e.to_string()), Ok(true), "the same character elsewhere is fine");
    }
}
