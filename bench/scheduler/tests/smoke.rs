//! The benchmark's smoke run: a small point completes and reports rates.

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_point_binds_every_pod() {
    let point = capstan_bench_scheduler::run_point(5, 100, Duration::from_secs(60)).await.expect("bench point runs");
    assert_eq!((point.nodes, point.pods), (5, 100));
    assert!(point.bind_rate > 0.0 && point.update_before > 0.0 && point.update_after > 0.0, "{point:?}");
    capstan_bench_scheduler::print_table(&[point]);
}
