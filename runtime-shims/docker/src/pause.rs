//! The pause image, built by the shim itself when the engine lacks it.
//!
//! A fresh node has Docker and the host's static busybox but no registry, so the
//! shim builds `capstan/pause:1` from an in-memory build context (this Dockerfile
//! and the busybox binary) — no script or network needed. The Dockerfile is the same
//! as `images/pause/Dockerfile`, which `scripts/images.sh` builds (a test keeps the
//! two equal). The pause process holds the pod's namespaces and exits 0 on SIGTERM.

use std::collections::HashMap;
use std::path::Path;

use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::Docker;
use futures::StreamExt;

use crate::error::{Context, Op};
use crate::ShimError;

/// The pause image's Dockerfile.
pub const PAUSE_DOCKERFILE: &str = r#"# Capstan's pause image: holds a pod's network and IPC namespaces, exits 0 on SIGTERM.
FROM scratch
COPY busybox /bin/busybox
ENTRYPOINT ["/bin/busybox", "sh", "-c", "trap 'exit 0' TERM; while :; do /bin/busybox sleep 3600 & wait $!; done"]
"#;

/// Builds `image` from [`PAUSE_DOCKERFILE`] unless the engine already has it.
pub async fn ensure_pause_image(docker: &Docker, image: &str, busybox: &Path) -> Result<(), ShimError> {
    match docker.inspect_image(image).await.during(Op::InspectImage, image) {
        Ok(_) => Ok(()),
        Err(error) if error.is_not_found() => {
            tracing::info!(%image, busybox = %busybox.display(), "building the pause image");
            build_pause_image(docker, image, busybox).await
        }
        Err(error) => Err(error),
    }
}

/// Builds (or rebuilds) `image` from [`PAUSE_DOCKERFILE`] and the busybox at `busybox`.
pub async fn build_pause_image(docker: &Docker, image: &str, busybox: &Path) -> Result<(), ShimError> {
    let binary = tokio::fs::read(busybox)
        .await
        .map_err(|source| ShimError::Busybox { path: busybox.display().to_string(), source })?;
    let context =
        build_context(&binary).map_err(|e| ShimError::Build { image: image.into(), message: e.to_string() })?;
    let labels = HashMap::from([("io.capstan.image".to_string(), "pause".to_string())]);
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(image)
        .rm(true)
        .forcerm(true)
        .labels(&labels)
        .build();
    let mut progress = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(step) = progress.next().await {
        step.during(Op::BuildPauseImage, image)?;
    }
    Ok(())
}

/// A tar holding `Dockerfile` and `busybox`.
fn build_context(busybox: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, mode, data) in [("Dockerfile", 0o644, PAUSE_DOCKERFILE.as_bytes()), ("busybox", 0o755, busybox)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        tar.append_data(&mut header, name, data)?;
    }
    tar.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dockerfile_is_the_one_the_image_script_builds() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../images/pause/Dockerfile");
        let script_copy = std::fs::read_to_string(path).expect("images/pause/Dockerfile");
        assert_eq!(script_copy, PAUSE_DOCKERFILE, "keep images/pause/Dockerfile and PAUSE_DOCKERFILE equal");
    }

    #[test]
    fn the_context_holds_the_dockerfile_and_an_executable_busybox() {
        let context = build_context(b"\x7fELF").expect("a tar");
        let mut archive = tar::Archive::new(context.as_slice());
        let entries: Vec<(String, u32)> = archive
            .entries()
            .expect("entries")
            .map(|e| e.expect("entry"))
            .map(|e| (e.path().expect("path").display().to_string(), e.header().mode().expect("mode")))
            .collect();
        assert_eq!(entries, [("Dockerfile".to_string(), 0o644), ("busybox".to_string(), 0o755)]);
    }
}
