//! Work run under a real Lease on an in-process API server: a term starts
//! when the lease is won, ends (its token cancelled) when it is lost, starts
//! again when it is won back, and the lease is handed back on stop. Without
//! an election the work runs at once.

use capstan_client::Client;
use capstan_lifecycle::Tasks;
use capstan_proto::coordination::v1::Lease;
use capstan_proto::meta::v1::MicroTime;
use capstan_runtime::{LeaderElector, LeaseConfig};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const TIMEOUT: Duration = Duration::from_secs(30);
const LEASE: &str = "lifecycle-test";

/// Poll `check` until it yields a value, or panic after [`TIMEOUT`].
async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    capstan_test_support::eventually(what, TIMEOUT, check).await
}

/// A lease that moves fast: a stolen one expires within about two seconds.
fn quick_lease() -> LeaseConfig {
    LeaseConfig {
        lease_duration: Duration::from_secs(1),
        retry_every: Duration::from_millis(100),
        renew_deadline: Duration::from_secs(1),
        ..LeaseConfig::new(LEASE)
    }
}

/// Work that records each term's token and runs until it is cancelled.
fn recording_work(
    terms: &Arc<Mutex<Vec<CancellationToken>>>,
) -> impl Fn(CancellationToken) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static {
    let terms = terms.clone();
    move |token: CancellationToken| {
        terms.lock().expect("terms").push(token.clone());
        Box::pin(async move { token.cancelled().await })
    }
}

fn term(terms: &Mutex<Vec<CancellationToken>>, index: usize) -> Option<CancellationToken> {
    terms.lock().expect("terms").get(index).cloned()
}

async fn holder(client: &Client) -> Option<String> {
    let lease = client.api::<Lease>(Some("kube-system")).get(LEASE).await.ok()?;
    Some(lease.spec.and_then(|s| s.holder_identity).unwrap_or_default())
}

/// Make `thief` the lease's holder, as another replica winning it would.
async fn steal(client: &Client, thief: &str) {
    let api = client.api::<Lease>(Some("kube-system"));
    eventually("the lease stolen", || async {
        let mut lease = api.get(LEASE).await.ok()?;
        let spec = lease.spec.get_or_insert_with(Default::default);
        spec.holder_identity = Some(thief.into());
        spec.renew_time = Some(MicroTime::now());
        spec.lease_duration_seconds = Some(1);
        // a conflict is the holder's renewal landing first: read again
        api.update(&lease).await.ok().map(|_| ())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_term_follows_the_lease_and_stop_hands_it_back() {
    let cluster = capstan_testkit::TestCluster::start().await;
    let client = cluster.client.clone();
    let lease = quick_lease();
    let identity = lease.identity.clone();
    let terms = Arc::new(Mutex::new(Vec::new()));

    let mut tasks = Tasks::<String>::new();
    let leading = tasks.spawn_work(Some(LeaderElector::new(&client, lease)), recording_work(&terms));
    eventually("the first term", || async { term(&terms, 0) }).await;
    assert!(leading.load(Ordering::SeqCst), "a running term means leading");
    assert_eq!(holder(&client).await.as_deref(), Some(identity.as_str()));

    steal(&client, "someone-else").await;
    let first = term(&terms, 0).expect("the first term");
    eventually("the first term ended", || async { first.is_cancelled().then_some(()) }).await;
    let second = eventually("a second term once the stolen lease expires", || async { term(&terms, 1) }).await;
    assert!(!second.is_cancelled(), "the new term runs");
    assert!(leading.load(Ordering::SeqCst));

    tasks.stop().await.expect("stops cleanly");
    assert!(second.is_cancelled(), "stop ends the running term");
    assert!(!leading.load(Ordering::SeqCst), "not leading once stopped");
    assert_eq!(holder(&client).await.as_deref(), Some(""), "the lease is handed back");
    assert_eq!(terms.lock().expect("terms").len(), 2, "no term started after stop");
    cluster.stop().await;
}

#[tokio::test]
async fn without_an_election_the_work_runs_at_once_until_stop() {
    let terms = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Tasks::<String>::new();
    let leading = tasks.spawn_work(None, recording_work(&terms));
    assert!(leading.load(Ordering::SeqCst), "leading from the start");
    let only = eventually("the term", || async { term(&terms, 0) }).await;
    tasks.stop().await.expect("stops cleanly");
    assert!(only.is_cancelled());
    assert_eq!(terms.lock().expect("terms").len(), 1, "one term, never restarted");
}

#[tokio::test]
async fn a_term_that_returns_cancels_its_token() {
    let (sender, mut tokens) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Tasks::<String>::new();
    tasks.spawn_work(None, move |token: CancellationToken| {
        let _ = sender.send(token);
        async {}
    });
    let token = tokens.recv().await.expect("the term's token");
    eventually("the token cancelled", || async { token.is_cancelled().then_some(()) }).await;
    assert!(!tasks.shutdown().is_cancelled(), "only the term's token, not the component's");
    tasks.stop().await.expect("stops cleanly");
}
