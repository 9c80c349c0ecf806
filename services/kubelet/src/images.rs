//! Making a container's image present as its `imagePullPolicy` says: `Always`
//! pulls, `IfNotPresent` pulls when ImageStatus finds nothing, `Never` fails with
//! `ErrImageNeverPull` when the image is absent.

use capstan_proto::runtime::v1::{ImageSpec, ImageStatusRequest, PodSandboxConfig, PullImageRequest};

use crate::runtime::Runtime;
use crate::KubeletError;

/// The policy the API server would default: `Always` for `:latest` or untagged.
pub fn effective_policy<'a>(policy: &'a str, image: &str) -> &'a str {
    if !policy.is_empty() {
        return policy;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

/// Pulls `image` if the policy calls for it.
pub async fn ensure_image(
    runtime: &Runtime,
    image: &str,
    policy: &str,
    sandbox: &PodSandboxConfig,
) -> Result<(), KubeletError> {
    let policy = effective_policy(policy, image);
    if policy != "Always" {
        let request = ImageStatusRequest { image: Some(ImageSpec { image: image.to_string() }) };
        let reply = runtime.clients.images.clone().image_status(request).await;
        let present = reply.map_err(KubeletError::runtime("ImageStatus", image))?.into_inner().image.is_some();
        if present {
            return Ok(());
        }
        if policy == "Never" {
            return Err(KubeletError::ImageNeverPull { image: image.to_string() });
        }
    }
    let request = PullImageRequest {
        image: Some(ImageSpec { image: image.to_string() }),
        auth: None,
        sandbox_config: Some(sandbox.clone()),
    };
    runtime
        .clients
        .images
        .clone()
        .pull_image(request)
        .await
        .map_err(|status| KubeletError::ImagePull { image: image.to_string(), status })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policies() {
        for (policy, image, want) in [
            ("", "busybox", "Always"),
            ("", "busybox:latest", "Always"),
            ("", "capstan/test:1", "IfNotPresent"),
            ("", "localhost:5000/app", "Always"),
            ("Never", "busybox", "Never"),
        ] {
            assert_eq!(effective_policy(policy, image), want, "{policy:?} {image}");
        }
    }
}
