//! Pulling from a registry: the shared loopback registry
//! (`capstan_test_support::serve_registry`: the distribution API's manifest and
//! blob GETs, blobs behind a redirect) serves an image built there; the shim
//! pulls it into containerd, unpacks it and reports it by its config digest.
//!
//! - Plain HTTP behind an anonymous bearer challenge; a tag the registry lacks
//!   is NotFound; an image pulled again while its removal is being collected.
//! - HTTPS with a self-signed certificate (made by the harness with rcgen), trusted
//!   through the shim's extra CA files, behind credentials: Basic auth, a
//!   bearer token fetched with the username and password, or a registry token.
//!   Missing or wrong credentials are PermissionDenied; without the CA file the
//!   certificate is refused (and the shim does not fall back to plain HTTP).

mod support;

use base64::Engine;
use capstan_containerd_shim::{ContainerdRuntime, RegistryConfig};
use capstan_proto::runtime::v1::AuthConfig;
use capstan_shim_common::ContainerRuntime;
use capstan_test_support::{
    self_signed_registry_tls, serve_registry, RegistryGuard, RegistryImage, REGISTRY_PASSWORD as PASSWORD,
    REGISTRY_TOKEN as TOKEN, REGISTRY_USER as USER,
};

/// Pulls `name` with `auth`: the image ID or the gRPC status the kubelet would see.
async fn pull(runtime: &ContainerdRuntime, name: &str, auth: Option<AuthConfig>) -> Result<String, tonic::Status> {
    runtime.pull_image(name, auth).await.map_err(tonic::Status::from)
}

async fn remove(runtime: &ContainerdRuntime, name: &str) {
    runtime.remove_image(name).await.map_err(tonic::Status::from).expect("remove");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_is_pulled_from_a_registry_and_unpacked() {
    let Some(()) = support::require_containerd() else { return };
    let id = RegistryImage::build().id;
    let port = serve_registry(RegistryGuard::AnonymousBearer, None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = support::node_name("pull");
    let runtime = ContainerdRuntime::connect(support::config(&node, dir.path())).await.expect("connect");
    let name = format!("localhost:{port}/capstan/pulled:1");

    let pulled = pull(&runtime, &name, None).await.expect("the pull");
    assert_eq!(pulled, id, "an image's ID is its config digest");
    let status = runtime.image_status(&name).await.map_err(tonic::Status::from).expect("status");
    assert_eq!(status.map(|i| i.id), Some(id.clone()));
    assert_eq!(pull(&runtime, &name, None).await.ok(), Some(id), "a present image is not fetched again");

    let missing = format!("localhost:{port}/capstan/pulled:2");
    let error = pull(&runtime, &missing, None).await.expect_err("no tag 2");
    assert_eq!(error.code(), tonic::Code::NotFound, "{error:?}");
    assert!(error.message().contains(&missing) && error.message().contains("registry"), "{error:?}");

    remove(&runtime, &name).await;
}

/// A removed image's blobs and snapshots belong to nothing until the collector
/// takes them; a pull at that moment reuses them and must keep them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_pulled_again_right_after_its_removal_is_whole() {
    let Some(()) = support::require_containerd() else { return };
    let id = RegistryImage::build().id;
    let port = serve_registry(RegistryGuard::AnonymousBearer, None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime =
        ContainerdRuntime::connect(support::config(&support::node_name("repull"), dir.path())).await.expect("connect");
    let name = format!("localhost:{port}/capstan/repulled:1");
    for round in 0..10 {
        assert_eq!(pull(&runtime, &name, None).await.expect("a pull"), id, "round {round}");
        remove(&runtime, &name).await;
    }
}

fn password(user: &str, password: &str) -> Option<AuthConfig> {
    Some(AuthConfig { username: user.into(), password: password.into(), ..Default::default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_is_pulled_over_tls_with_credentials() {
    let Some(()) = support::require_containerd() else { return };
    let id = RegistryImage::build().id;
    let dir = tempfile::tempdir().expect("tempdir");
    let (acceptor, ca) = self_signed_registry_tls(dir.path());
    let node = support::node_name("pull-tls");
    let mut config = support::config(&node, dir.path());
    config.registries = RegistryConfig { ca_files: vec![ca], ..Default::default() };
    let runtime = ContainerdRuntime::connect(config).await.expect("connect");

    // Basic auth: none, wrong, then right (as `auth`, base64 of user:password)
    let port = serve_registry(RegistryGuard::Basic, Some(acceptor.clone())).await;
    let name = format!("127.0.0.1:{port}/capstan/basic:1");
    for (auth, why) in [(None, "no credentials"), (password(USER, "wrong"), "a wrong password")] {
        let refused = pull(&runtime, &name, auth).await.expect_err(why);
        assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{why}: {refused:?}");
        assert!(refused.message().contains(&name), "{refused:?}");
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let auth = AuthConfig { auth: encoded, server_address: format!("https://127.0.0.1:{port}"), ..Default::default() };
    assert_eq!(pull(&runtime, &name, Some(auth)).await.expect("a pull with basic auth"), id);
    remove(&runtime, &name).await;

    // a bearer token fetched with the username and password; then a registry token
    let port = serve_registry(RegistryGuard::CredentialedBearer, Some(acceptor.clone())).await;
    let name = format!("127.0.0.1:{port}/capstan/bearer:1");
    let refused = pull(&runtime, &name, password(USER, "wrong")).await.expect_err("a wrong password");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert_eq!(pull(&runtime, &name, password(USER, PASSWORD)).await.expect("a pull with a token"), id);
    remove(&runtime, &name).await;
    let token = AuthConfig { registry_token: TOKEN.into(), ..Default::default() };
    assert_eq!(pull(&runtime, &name, Some(token)).await.expect("a pull with a registry token"), id);
    remove(&runtime, &name).await;

    // credentials for another registry are not sent
    let elsewhere =
        AuthConfig { server_address: "registry.example".into(), ..password(USER, PASSWORD).unwrap_or_default() };
    let refused = pull(&runtime, &name, Some(elsewhere)).await.expect_err("credentials for another registry");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");

    // without the CA file, the certificate is refused and plain HTTP is not tried instead
    let untrusting = ContainerdRuntime::connect(support::config(&node, dir.path())).await.expect("connect");
    let refused = pull(&untrusting, &name, password(USER, PASSWORD)).await.expect_err("an untrusted certificate");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("invalid peer certificate"), "{refused:?}");
    assert!(refused.message().contains("--registry-ca"), "says how to trust it: {refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_file_that_is_not_one_stops_the_shim_from_starting() {
    let Some(()) = support::require_containerd() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("bogus.pem");
    std::fs::write(&bogus, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
        .expect("write");
    let mut config = support::config(&support::node_name("bad-ca"), dir.path());
    config.registries = RegistryConfig { ca_files: vec![bogus], ..Default::default() };
    let error = ContainerdRuntime::connect(config).await.map(|_| ()).expect_err("a bogus CA file");
    assert!(error.to_string().contains("bogus.pem"), "{error}");
}
