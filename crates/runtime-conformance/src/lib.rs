//! One conformance suite for every Capstan runtime: the Docker shim, the containerd
//! shim and the in-memory runtime must all behave the same through the kubelet's
//! gRPC clients.
//!
//! Each case in [`cases`] is an async function taking a [`Runtime`]: the clients, the
//! [`Images`] it may use and the runtime's [`Capabilities`] (the in-memory runtime runs
//! no processes, so network, exec and pull checks are phrased for it). A shim's
//! `tests/conformance.rs` instantiates every case with [`runtime_conformance_tests!`],
//! naming a harness that builds the runtime and runs the case through [`run_case`],
//! which cleans up whatever the case created even when it fails, then finishes the
//! returned [`Outcome`].
//!
//! # Layout
//! - [`fixtures`]: building configs, starting pods and containers, bounded waits.
//! - [`cases`]: the cases, by area (basics, lifecycle, io, lists, images, nodes).
//! - [`harness`]: [`run_case`] and [`remove_everything`].

pub mod cases;
pub mod fixtures;
pub mod harness;

pub use capstan_cri::RuntimeClients;
pub use harness::{remove_everything, run_case, Outcome};

/// The images a runtime under test offers.
#[derive(Clone, Debug)]
pub struct Images {
    /// The pause image sandboxes use (`capstan/pause:1`).
    pub pause: String,
    /// A busybox image with applets linked (`sh`, `httpd`, `wget`, `cat`, …) (`capstan/test:1`).
    pub test: String,
    /// A present image that nothing else uses, which the image case removes.
    pub disposable: String,
}

/// What a runtime can do, where runtimes legitimately differ.
#[derive(Clone, Copy, Debug)]
pub struct Capabilities {
    /// Containers are real processes: networking, exec output and stats come from a
    /// kernel (false for the in-memory runtime, which answers plausibly).
    pub real_processes: bool,
    /// PullImage of an image the node lacks succeeds (the in-memory runtime), rather
    /// than failing because no registry is reachable.
    pub pulls_any_image: bool,
}

/// A runtime under test.
#[derive(Clone, Debug)]
pub struct Runtime {
    pub clients: RuntimeClients,
    pub images: Images,
    pub caps: Capabilities,
}

/// Instantiates every conformance case as a `#[tokio::test]` calling
/// `$harness(case_name, case_fn).await`, where the harness has the signature
/// `async fn harness<F, Fut>(name: &'static str, case: F) where F: FnOnce(Runtime) -> Fut,
/// Fut: Future<Output = ()> + Send + 'static`.
#[macro_export]
macro_rules! runtime_conformance_tests {
    ($harness:path) => {
        $crate::runtime_conformance_tests!(@cases $harness;
            version,
            sandbox_is_ready_with_an_ip,
            container_runs_with_labels,
            containers_share_the_pod_network,
            env_and_working_dir,
            exit_codes_and_reasons,
            stop_kills_a_process_ignoring_sigterm,
            stop_lets_a_process_exit_on_sigterm,
            stop_sandbox_stops_its_containers,
            remove_container_and_sandbox,
            logs_tail_and_follow,
            exec_sync_output_and_exit_code,
            exec_stream_with_stdin,
            stats_report_cpu_and_memory,
            list_filters_by_label_and_state,
            image_status_list_remove,
            missing_images_are_reported,
            calls_for_another_node_are_refused,
        );
    };
    (@cases $harness:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $harness(stringify!($case), $crate::cases::$case).await;
            }
        )*
    };
}
