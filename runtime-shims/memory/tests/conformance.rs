//! The runtime conformance suite against the in-memory runtime, served in-process and
//! reached through the kubelet's gRPC clients.

use std::future::Future;

use capstan_memory_shim::{MemoryConfig, MemoryRuntime};
use capstan_runtime_conformance::cases::each_caller_is_served_as_its_node;
use capstan_runtime_conformance::{run_case, runtime_conformance_tests, Capabilities, Images, Runtime};

const DISPOSABLE: &str = "capstan/disposable:1";

async fn memory<F, Fut>(name: &'static str, case: F)
where
    F: FnOnce(Runtime) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let config =
        MemoryConfig { node_name: Some(format!("memory-{}", name.replace('_', "-"))), ..MemoryConfig::default() };
    let runtime = MemoryRuntime::new(config).expect("an in-memory runtime");
    runtime.preload_image(DISPOSABLE).await;
    let clients = capstan_shim_common::connect_in_process(runtime).await.expect("connecting in-process");
    let images =
        Images { pause: "capstan/pause:1".into(), test: "capstan/test:1".into(), disposable: DISPOSABLE.into() };
    let caps = Capabilities { real_processes: false, pulls_any_image: true };
    run_case(Runtime { clients, images, caps }, case).await.finish();
}

runtime_conformance_tests!(memory);

#[tokio::test]
async fn a_runtime_without_a_node_name_serves_each_caller_as_its_node() {
    let config = MemoryConfig {
        node_name: None,
        preloaded_images: vec!["capstan/pause:1".into(), "capstan/test:1".into()],
        ..MemoryConfig::default()
    };
    let runtime = MemoryRuntime::new(config).expect("an in-memory runtime");
    let clients = capstan_shim_common::connect_in_process(runtime).await.expect("connecting in-process");
    let images =
        Images { pause: "capstan/pause:1".into(), test: "capstan/test:1".into(), disposable: DISPOSABLE.into() };
    let caps = Capabilities { real_processes: false, pulls_any_image: true };
    each_caller_is_served_as_its_node(Runtime { clients, images, caps }, "memory-a", "memory-b").await;
}
