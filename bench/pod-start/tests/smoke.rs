//! Smoke test: `--quick` (3 pods) against the real Docker engine produces figures.
//!
//! Only that every figure exists is checked — never how fast anything was (the
//! machine is shared; timings belong in the benchmark's output, not in tests).
//! Without Docker it is skipped outside CI and fails under `CI=true`.

use capstan_bench_pod_start::{run, Options};
use capstan_test_support::{ping_docker, require_daemon};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_run_produces_figures() {
    let Some(()) = require_daemon(ping_docker()) else { return };
    let options = Options::quick();
    let report = run(&options).await.expect("the quick benchmark runs");

    for summary in
        [&report.cli, &report.cli_pod_network, &report.bollard, &report.pod_like, &report.pause, &report.pods]
    {
        assert_eq!(summary.n, options.pods, "{report:?}");
        assert!(!summary.p50.is_zero() && !summary.max.is_zero(), "{report:?}");
    }
    let breakdown = report.breakdown.as_ref().expect("a one-at-a-time run is broken down");
    assert!(breakdown.methods.iter().any(|m| m.method == "RunPodSandbox"), "{breakdown:?}");
    let table = report.render();
    assert!(table.contains("pod p50 / raw CLI p50") && table.contains("target"), "{table}");
}
