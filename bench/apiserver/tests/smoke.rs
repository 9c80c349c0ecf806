//! Smoke test: the `--quick` settings on the embedded backend produce figures.
//!
//! Only that every figure exists and is positive is checked — never how fast anything
//! was (the machine is shared; timings belong in the benchmark's output, not in tests).

use capstan_bench_apiserver::{run, Backend, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_run_on_embedded_produces_figures() {
    let options = Options { backends: vec![Backend::Embedded], ..Options::quick() };
    let report = run(&options).await.expect("the quick benchmark runs");

    assert_eq!(report.backends.len(), 1);
    let embedded = &report.backends[0];
    assert_eq!(embedded.points.len(), options.concurrencies.len());
    for point in &embedded.points {
        assert!(point.raw.ops > 0 && point.raw.per_sec() > 0.0, "{point:?}");
        assert!(point.api.ops > 0 && point.api.per_sec() > 0.0, "{point:?}");
        assert!(!point.api.p50.is_zero() && !point.api.p99.is_zero(), "{point:?}");
    }
    let fanout = embedded.fanout.as_ref().expect("a fan-out measurement");
    assert_eq!(fanout.rounds.len(), options.rounds);
    assert!(fanout.rounds.iter().all(|r| !r.max.is_zero()), "{fanout:?}");

    let table = report.render();
    assert!(table.contains("embedded") && table.contains("watch fan-out"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_door_run_measures_both_servers() {
    let points =
        capstan_bench_apiserver::door::measure(&Options::quick(), &[2]).await.expect("the door benchmark runs");
    assert_eq!(points.len(), 1);
    assert!(points[0].plain.ops > 0 && points[0].secured.ops > 0, "{points:?}");
    assert!(capstan_bench_apiserver::door::render(&points).contains("ratio"));
}
