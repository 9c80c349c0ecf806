//! The runtime conformance suite against the Docker shim and the real engine.

mod support;

use std::future::Future;

use bollard::query_parameters::{RemoveImageOptions, TagImageOptionsBuilder};
use capstan_runtime_conformance::cases::each_caller_is_served_as_its_node;
use capstan_runtime_conformance::{run_case, runtime_conformance_tests, Capabilities, Images, Runtime};
use support::{ensure_images, node_name, require_docker, Shim, Sweeper, PAUSE_IMAGE, TEST_IMAGE};

async fn docker<F, Fut>(name: &'static str, case: F)
where
    F: FnOnce(Runtime) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let node = node_name(name);
    let _sweeper = Sweeper::new(&node);
    let shim = Shim::start(&node).await;
    // a tag of the test image only this test uses, for the image-removal case
    let disposable = format!("capstan/disposable:{node}");
    let (repo, tag) = disposable.split_once(':').unwrap_or((&disposable, "latest"));
    let options = TagImageOptionsBuilder::default().repo(repo).tag(tag).build();
    shim.runtime.docker().tag_image(TEST_IMAGE, Some(options)).await.expect("tagging the disposable image");

    let images = Images { pause: PAUSE_IMAGE.into(), test: TEST_IMAGE.into(), disposable: disposable.clone() };
    let caps = Capabilities { real_processes: true, pulls_any_image: false };
    let outcome = run_case(Runtime { clients: shim.clients().await, images, caps }, case).await;

    let _ = shim.runtime.docker().remove_image(&disposable, None::<RemoveImageOptions>, None).await;
    shim.stop().await;
    outcome.finish();
}

runtime_conformance_tests!(docker);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shim_without_a_node_name_serves_each_caller_as_its_node() {
    let Some(()) = require_docker() else { return };
    ensure_images().await;
    let (a, b) = (node_name("unpinned-a"), node_name("unpinned-b"));
    let _sweepers = (Sweeper::new(&a), Sweeper::new(&b));
    let shim = Shim::serving(None).await;
    let images = Images { pause: PAUSE_IMAGE.into(), test: TEST_IMAGE.into(), disposable: String::new() };
    let caps = Capabilities { real_processes: true, pulls_any_image: false };
    each_caller_is_served_as_its_node(Runtime { clients: shim.clients().await, images, caps }, &a, &b).await;
    shim.stop().await;
}
