//! Pulling with the kubelet's credentials: the shared loopback registry
//! (`capstan_test_support::serve_registry`) serves an image over plain HTTP on
//! 127.0.0.1 — the engine treats 127.0.0.0/8 registries as insecure, so it
//! falls back to plain HTTP there — and the shim, reached through the kubelet's
//! own client, must hand PullImage's `auth` to the engine and code the engine's
//! refusals as the containerd shim does: missing or wrong credentials are
//! PermissionDenied, a tag the registry lacks is NotFound.

mod support;

use base64::Engine;
use capstan_cri::RuntimeClients;
use capstan_proto::runtime::v1::{AuthConfig, ImageSpec, ImageStatusRequest, PullImageRequest, RemoveImageRequest};
use capstan_test_support::{
    serve_registry, DockerImageSweeper, RegistryGuard, RegistryImage, REGISTRY_PASSWORD, REGISTRY_TAG, REGISTRY_TOKEN,
    REGISTRY_USER,
};
use support::{ensure_images, node_name, require_docker, Shim};
use tonic::Code;

fn spec(name: &str) -> Option<ImageSpec> {
    Some(ImageSpec { image: name.to_string() })
}

fn password(user: &str, password: &str) -> Option<AuthConfig> {
    Some(AuthConfig { username: user.into(), password: password.into(), ..Default::default() })
}

/// PullImage as the kubelet sends it: the image reference, or the status it would see.
async fn pull(clients: &RuntimeClients, name: &str, auth: Option<AuthConfig>) -> Result<String, tonic::Status> {
    let request = PullImageRequest { image: spec(name), auth, ..Default::default() };
    clients.images.clone().pull_image(request).await.map(|r| r.into_inner().image_ref)
}

/// The image `name` as ImageStatus reports it.
async fn status(clients: &RuntimeClients, name: &str) -> Option<capstan_proto::runtime::v1::Image> {
    let request = ImageStatusRequest { image: spec(name) };
    clients.images.clone().image_status(request).await.expect("ImageStatus").into_inner().image
}

async fn remove(clients: &RuntimeClients, name: &str) {
    clients.images.clone().remove_image(RemoveImageRequest { image: spec(name) }).await.expect("RemoveImage");
    assert_eq!(status(clients, name).await, None, "a removed image is not present");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_is_pulled_with_the_kubelets_credentials() {
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let id = RegistryImage::build().id;
    let port = serve_registry(RegistryGuard::Basic, None).await;
    let name = format!("127.0.0.1:{port}/capstan/basic:{REGISTRY_TAG}");
    let missing = format!("127.0.0.1:{port}/capstan/basic:2");
    let _pulled = DockerImageSweeper::new([&name, &missing]);
    let shim = Shim::start(&node_name("pull-basic")).await;
    let clients = shim.clients().await;

    for (auth, why) in [(None, "no credentials"), (password(REGISTRY_USER, "wrong"), "a wrong password")] {
        let refused = pull(&clients, &name, auth).await.expect_err(why);
        assert_eq!(refused.code(), Code::PermissionDenied, "{why}: {refused:?}");
        assert!(refused.message().contains(&name), "the error names the image: {refused:?}");
        assert_eq!(status(&clients, &name).await, None, "{why}: nothing was pulled");
    }

    let pulled =
        pull(&clients, &name, password(REGISTRY_USER, REGISTRY_PASSWORD)).await.expect("a pull with credentials");
    assert_eq!(pulled, id, "an image's ID is its config digest");
    let present = status(&clients, &name).await.expect("the pulled image is present");
    assert_eq!(present.id, id);
    assert!(present.repo_tags.contains(&name), "listed under the tag it was pulled by: {present:?}");

    // `auth` alone (base64 of user:password, which the engine itself ignores), for this registry
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}"));
    let auth = AuthConfig { auth: encoded, server_address: format!("http://127.0.0.1:{port}"), ..Default::default() };
    let refused = pull(&clients, &missing, Some(auth)).await.expect_err("no tag 2");
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    assert!(refused.message().contains(&missing), "the error names the image: {refused:?}");

    remove(&clients, &name).await;
    drop(clients);
    shim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_token_is_presented_as_is() {
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let id = RegistryImage::build().id;
    let port = serve_registry(RegistryGuard::CredentialedBearer, None).await;
    let name = format!("127.0.0.1:{port}/capstan/bearer:{REGISTRY_TAG}");
    let _pulled = DockerImageSweeper::new([&name]);
    let shim = Shim::start(&node_name("pull-token")).await;
    let clients = shim.clients().await;

    let refused =
        pull(&clients, &name, password(REGISTRY_USER, "wrong")).await.expect_err("no token for a wrong password");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let token = AuthConfig { registry_token: REGISTRY_TOKEN.into(), ..Default::default() };
    assert_eq!(pull(&clients, &name, Some(token)).await.expect("a pull with a registry token"), id);

    remove(&clients, &name).await;
    drop(clients);
    shim.stop().await;
}
