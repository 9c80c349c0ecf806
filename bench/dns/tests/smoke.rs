//! Smoke test: a quick run (ten names, one second per target) against a real
//! capstan-dns, unbound and dnsperf produces every figure.
//!
//! Only that every figure exists is checked — never how fast anything was (the
//! machine is shared; timings belong in the benchmark's output, not in tests).
//! Without dnsperf or unbound it is skipped outside CI and fails under `CI=true`.

use capstan_bench_dns::{run, Options, CAPSTAN, UNBOUND};
use capstan_test_support::{find_binary, require_daemon, HarnessError};

/// `name` on PATH, where the bench runs it from (so no override variable is
/// honoured: the one named is never set); the hint names its Debian package.
fn installed(name: &'static str, hint: &'static str) -> Result<(), HarnessError> {
    match find_binary(name, "CAPSTAN_BENCH_DNS_NO_OVERRIDE", &[]) {
        Some(_) => Ok(()),
        None => Err(HarnessError::NotInstalled { daemon: name, hint }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_run_produces_figures() {
    let Some(()) = require_daemon(
        installed("dnsperf", "Debian's dnsperf; scripts/setup.sh installs it")
            .and(installed("unbound", "Debian's unbound; scripts/setup.sh installs it")),
    ) else {
        return;
    };
    let options = Options::quick(env!("CARGO_BIN_EXE_capstan-bench-dns").into());
    let report = run(&options).await.expect("the quick benchmark runs");

    let targets: Vec<_> = report.rounds.iter().map(|r| r.target).collect();
    assert_eq!(targets, [CAPSTAN, UNBOUND], "{report:?}");
    for round in &report.rounds {
        assert!(round.qps > 0.0 && round.p50_ms > 0.0 && round.p99_ms >= round.p50_ms, "{report:?}");
    }
    assert!(report.resolvable_p50_ms > 0.0 && report.resolvable_max_ms >= report.resolvable_p50_ms, "{report:?}");
    let table = report.render();
    assert!(table.contains("queries/s >= 0.8x unbound's") && table.contains("new Service resolvable within 1 s"));
    println!("{table}");
}
