//! The runtime conformance suite against the containerd shim and a real containerd.

mod support;

use std::future::Future;

use capstan_containerd_shim::ContainerdRuntime;
use capstan_runtime_conformance::cases::each_caller_is_served_as_its_node;
use capstan_runtime_conformance::{run_case, runtime_conformance_tests, Capabilities, Images, Runtime};
use support::{ensure_images, node_name, require_containerd, sweeper, Shim, PAUSE_IMAGE, TEST_IMAGE};

async fn containerd<F, Fut>(name: &'static str, case: F)
where
    F: FnOnce(Runtime) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(()) = require_containerd() else { return };
    ensure_images().await;
    let node = node_name(name);
    let _sweeper = sweeper(&node);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let shim = Shim::start(&node, dir.path()).await;
    // a tag of the test image only this test uses, for the image-removal case
    let disposable = format!("capstan/disposable:{node}");
    shim.runtime.tag_image(TEST_IMAGE, &disposable).await.expect("tagging the disposable image");

    let images = Images { pause: PAUSE_IMAGE.into(), test: TEST_IMAGE.into(), disposable: disposable.clone() };
    let caps = Capabilities { real_processes: true, pulls_any_image: false };
    let outcome = run_case(Runtime { clients: shim.clients().await, images, caps }, case).await;

    let _ = remove_image(&shim.runtime, &disposable).await;
    shim.stop().await;
    outcome.finish();
}

async fn remove_image(runtime: &ContainerdRuntime, image: &str) -> Result<(), tonic::Status> {
    capstan_shim_common::ContainerRuntime::remove_image(runtime, image).await.map_err(Into::into)
}

runtime_conformance_tests!(containerd);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shim_without_a_node_name_serves_each_caller_as_its_node() {
    let Some(()) = require_containerd() else { return };
    ensure_images().await;
    let (a, b) = (node_name("unpinned-a"), node_name("unpinned-b"));
    let _sweepers = (sweeper(&a), sweeper(&b));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let shim = Shim::unpinned(dir.path()).await;
    let images = Images { pause: PAUSE_IMAGE.into(), test: TEST_IMAGE.into(), disposable: String::new() };
    let caps = Capabilities { real_processes: true, pulls_any_image: false };
    each_caller_is_served_as_its_node(Runtime { clients: shim.clients().await, images, caps }, &a, &b).await;
    shim.stop().await;
}
