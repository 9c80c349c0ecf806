//! The elector against a scripted lease on tokio's paused clock: holders
//! whose clocks are far off ours, a released lease, a lease never seen
//! renewed.

use super::leases::Leases;
use super::*;

/// One Lease in memory with the API server's compare-and-swap on
/// resourceVersion.
#[derive(Default)]
struct FakeLeases {
    lease: Mutex<Option<Lease>>,
    revision: std::sync::atomic::AtomicU64,
}

impl FakeLeases {
    fn store(&self, mut lease: Lease) -> Lease {
        let revision = self.revision.fetch_add(1, Ordering::SeqCst) + 1;
        lease.metadata.get_or_insert_with(Default::default).resource_version = revision.to_string();
        *self.lease.lock().unwrap_or_else(PoisonError::into_inner) = Some(lease.clone());
        lease
    }

    fn current(&self) -> Option<Lease> {
        self.lease.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Another replica, whose wall clock is `skew` seconds off ours, renews
    /// the lease for `holder`.
    fn renew_as(&self, holder: &str, skew: i64) {
        let now = MicroTime::now();
        let renewed = MicroTime { seconds: now.seconds + skew, nanos: now.nanos };
        let mut lease = self.current().unwrap_or_default();
        lease.metadata.get_or_insert_with(Default::default).name = "skew".into();
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        spec.holder_identity = Some(holder.into());
        spec.renew_time = Some(renewed);
        spec.lease_duration_seconds = Some(15);
        self.store(lease);
    }

    fn holder(&self) -> Option<String> {
        self.current()?.spec?.holder_identity
    }
}

#[async_trait::async_trait]
impl Leases for FakeLeases {
    async fn get(&self, name: &str) -> Result<Lease, ClientError> {
        self.current().ok_or_else(|| ClientError::NotFound { message: format!("leases {name:?} not found") })
    }

    async fn create(&self, lease: &Lease) -> Result<Lease, ClientError> {
        if self.current().is_some() {
            return Err(ClientError::AlreadyExists { message: "lease exists".into() });
        }
        Ok(self.store(lease.clone()))
    }

    async fn update(&self, lease: &Lease) -> Result<Lease, ClientError> {
        let version = |l: &Lease| l.metadata.as_ref().map(|m| m.resource_version.clone());
        if self.current().map(|l| version(&l)) != Some(version(lease)) {
            return Err(ClientError::Conflict { message: "stale resourceVersion".into() });
        }
        Ok(self.store(lease.clone()))
    }
}

fn candidate(leases: &Arc<FakeLeases>) -> LeaderElector {
    let config = LeaseConfig {
        identity: "candidate".into(),
        lease_duration: Duration::from_secs(15),
        retry_every: Duration::from_secs(2),
        renew_deadline: Duration::from_secs(10),
        ..LeaseConfig::new("skew")
    };
    LeaderElector::with_leases(leases.clone(), config)
}

/// A holder 30 s ahead of us and one 30 s behind: while it renews, the
/// candidate never takes the lease; once it stops, the candidate takes it
/// exactly one lease duration (of its own clock) after it last saw a renewal.
#[tokio::test(start_paused = true)]
async fn skewed_holder_clocks_never_make_two_leaders() {
    for skew in [30, -30] {
        let leases = Arc::new(FakeLeases::default());
        let candidate = candidate(&leases);
        let mut last_seen = Instant::now();
        for _ in 0..60 {
            leases.renew_as("holder", skew);
            let taken = candidate.try_acquire().await;
            last_seen = Instant::now();
            assert_eq!(taken.ok(), Some(false), "skew {skew}: took a lease its holder keeps renewing");
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        // the holder stops renewing; the candidate retries every second
        let taken_after = loop {
            if candidate.try_acquire().await.ok() == Some(true) {
                break last_seen.elapsed();
            }
            assert!(last_seen.elapsed() < Duration::from_secs(120), "skew {skew}: never took a dead holder's lease");
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        assert_eq!(taken_after, Duration::from_secs(15), "skew {skew}");
        assert_eq!(leases.holder().as_deref(), Some("candidate"));
        assert!(candidate.try_acquire().await.ok() == Some(true), "the new holder renews");
    }
}

#[tokio::test(start_paused = true)]
async fn a_released_lease_is_taken_at_once() {
    let leases = Arc::new(FakeLeases::default());
    leases.renew_as("holder", 0);
    let candidate = candidate(&leases);
    assert_eq!(candidate.try_acquire().await.ok(), Some(false));
    let mut released = leases.current().unwrap_or_default();
    released.spec.get_or_insert_with(LeaseSpec::default).holder_identity = None;
    leases.store(released);
    assert_eq!(candidate.try_acquire().await.ok(), Some(true), "no holder: no wait");
}

/// A candidate that starts after the holder died cannot tell a dead holder
/// from a live one whose clock is behind: it waits one lease duration from
/// the first time it reads the record, as client-go does.
#[tokio::test(start_paused = true)]
async fn a_lease_first_seen_is_held_for_one_duration() {
    let leases = Arc::new(FakeLeases::default());
    leases.renew_as("holder", -3600);
    let candidate = candidate(&leases);
    let first_read = Instant::now();
    while candidate.try_acquire().await.ok() != Some(true) {
        assert!(first_read.elapsed() < Duration::from_secs(120), "never took a dead holder's lease");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(first_read.elapsed(), Duration::from_secs(15));
}

#[tokio::test(start_paused = true)]
async fn a_missing_lease_is_created_and_held() {
    let leases = Arc::new(FakeLeases::default());
    let candidate = candidate(&leases);
    assert_eq!(candidate.try_acquire().await.ok(), Some(true));
    assert_eq!(leases.holder().as_deref(), Some("candidate"));
    let other = LeaderElector::with_leases(
        leases.clone(),
        LeaseConfig { identity: "other".into(), ..candidate.config.clone() },
    );
    assert_eq!(other.try_acquire().await.ok(), Some(false), "held by a fresh record");
}
