//! PullImage: a present image is not pulled again (the kubelet's `IfNotPresent`
//! asks ImageStatus first; `Always` lands here with a present image, which is
//! answered from the store). An absent one is fetched from its registry: the
//! manifest (this platform's, from an index), its config and layers into the
//! content store under a lease, the manifest labelled with what it refers to, then
//! the image record and the unpack.
//!
//! The request's `auth` (when it is for this image's registry) answers the
//! registry's challenge; without it the pull is anonymous. A registry that
//! cannot be reached fails at once with an error that names the image and the
//! registry and says how to load the image instead; one whose TLS fails says
//! why and which flag would help.

use capstan_proto::runtime::v1::AuthConfig;
use capstan_shim_common::RuntimeError;
use containerd_client::types::Descriptor;
use serde_json::Value;
use tonic::Code;

use crate::images::archive::manifest_labels;
use crate::images::auth::Credentials;
use crate::images::content::digest_of;
use crate::images::registry::{Failure, Registry};
use crate::images::{descriptor, pick_manifest, MANIFEST, MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use crate::reference::Reference;
use crate::{ContainerdError, ContainerdRuntime};

const ACCEPTED: &[&str] = &[OCI_INDEX, MANIFEST_LIST, OCI_MANIFEST, MANIFEST];

/// The host and port a registry domain is reached on (`docker.io` is served by
/// `registry-1.docker.io`).
pub fn registry_address(domain: &str) -> (String, u16) {
    let host = if domain == "docker.io" { "registry-1.docker.io" } else { domain };
    match host.rsplit_once(':') {
        Some((name, port)) if port.parse::<u16>().is_ok() => (name.to_string(), port.parse().unwrap_or(443)),
        _ => (host.to_string(), 443),
    }
}

impl ContainerdRuntime {
    pub(crate) async fn pull(&self, name: &str, auth: Option<AuthConfig>) -> Result<String, ContainerdError> {
        if let Some(image) = self.image_status(name).await? {
            return Ok(image.id);
        }
        let reference = Reference::parse(name)?;
        let credentials = Credentials::for_registry(auth.as_ref(), &reference.domain).map_err(|_| {
            ContainerdError::Runtime(RuntimeError::BadAuth {
                image: name.to_string(),
                reason: "auth is not base64 of user:password",
            })
        })?;
        let (host, port) = registry_address(&reference.domain);
        let registry_name = format!("{host}:{port}");
        let fail = |failure: Failure| match failure {
            Failure::Unreachable(detail) => ContainerdError::RegistryUnreachable {
                image: name.to_string(),
                registry: registry_name.clone(),
                detail,
            },
            Failure::Tls(detail) => ContainerdError::Registry {
                image: name.to_string(),
                registry: registry_name.clone(),
                detail,
                code: Code::Unavailable,
            },
            Failure::Status(status, detail) => ContainerdError::Registry {
                image: name.to_string(),
                registry: registry_name.clone(),
                detail: format!("{status}: {detail}"),
                code: match status.as_u16() {
                    404 => Code::NotFound,
                    401 | 403 => Code::PermissionDenied,
                    _ => Code::Unavailable,
                },
            },
        };
        let tls = self.registry_tls().await?;
        let mut registry =
            Registry::connect(&host, port, &self.config().registries, &tls, credentials).await.map_err(fail)?;
        let repository = reference.path.clone();
        let bad = |reason: String| ContainerdError::BadImage { image: name.to_string(), reason };

        let mut data =
            registry.get(&format!("{repository}/manifests/{}", reference.object()), ACCEPTED).await.map_err(fail)?;
        let mut manifest: Value =
            serde_json::from_slice(&data).map_err(|e| bad(format!("its manifest is not JSON: {e}")))?;
        if manifest.get("manifests").is_some() {
            let entry = pick_manifest(&manifest).ok_or_else(|| bad("its index lists no manifest".to_string()))?;
            let digest = entry["digest"].as_str().unwrap_or_default().to_string();
            data = registry.get(&format!("{repository}/manifests/{digest}"), ACCEPTED).await.map_err(fail)?;
            manifest = serde_json::from_slice(&data).map_err(|e| bad(format!("its manifest is not JSON: {e}")))?;
        }
        let media_type = manifest["mediaType"].as_str().unwrap_or(OCI_MANIFEST).to_string();
        let lease = self.lease().await?;
        let pulled = async {
            let blobs = std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().into_iter().flatten());
            for blob in blobs {
                let blob = descriptor(blob);
                let bytes = registry.get(&format!("{repository}/blobs/{}", blob.digest), &[]).await.map_err(fail)?;
                if digest_of(&bytes) != blob.digest {
                    return Err(bad(format!("blob {} does not match its digest", blob.digest)));
                }
                self.write_blob(&lease, &blob.digest, [bytes.to_vec()], blob.size, Default::default()).await?;
            }
            let target = Descriptor {
                media_type,
                digest: digest_of(&data),
                size: data.len() as i64,
                annotations: Default::default(),
            };
            let size = target.size;
            self.write_blob(&lease, &target.digest, [data.to_vec()], size, manifest_labels(&manifest)).await?;
            self.put_image(&reference.full(), target.clone(), &lease).await?;
            let info = self.image_info(&reference.full(), &target).await?;
            self.unpack(&reference.full(), &info).await?;
            Ok(info.id.clone())
        }
        .await;
        self.release(&lease).await;
        pulled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_are_addressed_as_docker_does() {
        assert_eq!(registry_address("docker.io"), ("registry-1.docker.io".to_string(), 443));
        assert_eq!(registry_address("localhost:5000"), ("localhost".to_string(), 5000));
        assert_eq!(registry_address("registry.example"), ("registry.example".to_string(), 443));
    }
}
