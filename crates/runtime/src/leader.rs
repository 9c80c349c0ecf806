//! Leader election through a coordination Lease, shared by every component
//! that must run as one active replica (the scheduler, the
//! controller-manager).
//!
//! Only the holder works. The holder renews every `retry_every`; a lease
//! not renewed for `lease_duration` may be taken over; a holder that cannot
//! renew for `renew_deadline` steps down. Every write carries the
//! resourceVersion it read, so two candidates can never both win.

use capstan_client::{Api, Client, ClientError};
use capstan_proto::coordination::v1::{Lease, LeaseSpec};
use capstan_proto::meta::v1::{MicroTime, ObjectMeta};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Where the lease lives and how fast it moves.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This candidate's identity, written as the lease's holder.
    pub identity: String,
    pub lease_duration: Duration,
    pub retry_every: Duration,
    pub renew_deadline: Duration,
}

impl LeaseConfig {
    /// Kubernetes' defaults (15 s lease, 2 s retry, 10 s renew deadline) for
    /// the lease `kube-system/<name>`, with a fresh [`identity`].
    pub fn new(name: &str) -> Self {
        LeaseConfig {
            namespace: "kube-system".into(),
            name: name.into(),
            identity: identity(),
            lease_duration: Duration::from_secs(15),
            retry_every: Duration::from_secs(2),
            renew_deadline: Duration::from_secs(10),
        }
    }
}

/// This process's identity in a lease: hostname and a random uuid.
pub fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "unknown".into());
    format!("{}_{}", host.trim(), uuid::Uuid::new_v4())
}

/// One candidate for one lease.
#[derive(Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    leading: Arc<AtomicBool>,
}

impl LeaderElector {
    pub fn new(client: &Client, config: LeaseConfig) -> Self {
        LeaderElector {
            api: client.api::<Lease>(Some(&config.namespace)),
            config,
            leading: Arc::new(AtomicBool::new(false)),
        }
    }

    /// True while this candidate holds the lease.
    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// A flag that follows [`Self::is_leader`], for status reporting.
    pub fn leading_flag(&self) -> Arc<AtomicBool> {
        self.leading.clone()
    }

    /// Take or renew the lease once; `Ok(false)` when someone else holds it.
    pub async fn try_acquire(&self) -> Result<bool, ClientError> {
        let (config, now) = (&self.config, MicroTime::now());
        let seconds = i32::try_from(config.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let mut lease = match self.api.get(&config.name).await {
            Ok(lease) => lease,
            Err(e) if e.is_not_found() => {
                let lease = Lease {
                    metadata: Some(ObjectMeta {
                        name: config.name.clone(),
                        namespace: config.namespace.clone(),
                        ..Default::default()
                    }),
                    spec: Some(LeaseSpec {
                        holder_identity: Some(config.identity.clone()),
                        lease_duration_seconds: Some(seconds),
                        acquire_time: Some(now),
                        renew_time: Some(now),
                        lease_transitions: Some(0),
                    }),
                    ..Default::default()
                };
                return match self.api.create(&lease).await {
                    Ok(_) => Ok(true),
                    Err(e) if e.is_already_exists() || e.is_conflict() => Ok(false),
                    Err(e) => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if !holder.is_empty() && holder != config.identity && !expired(spec, now) {
            return Ok(false);
        }
        if holder != config.identity {
            spec.acquire_time = Some(now);
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.holder_identity = Some(config.identity.clone());
        spec.renew_time = Some(now);
        spec.lease_duration_seconds = Some(seconds);
        match self.api.update(&lease).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_conflict() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Hand the lease back so a follower need not wait for it to expire; a
    /// renewal cancelled mid-flight may still land first, so retry a conflict.
    async fn release(&self) {
        for _ in 0..3 {
            let Ok(mut lease) = self.api.get(&self.config.name).await else { return };
            let mine = Some(self.config.identity.as_str());
            let Some(spec) = lease.spec.as_mut().filter(|s| s.holder_identity.as_deref() == mine) else { return };
            spec.holder_identity = None;
            match self.api.update(&lease).await {
                Ok(_) => return,
                Err(e) if e.is_conflict() => continue,
                Err(error) => {
                    tracing::debug!(%error, lease = %self.config.name, "releasing the lease");
                    return;
                }
            }
        }
    }

    /// Renew until the lease is lost.
    async fn keep(&self) {
        let mut last = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_every).await;
            match self.try_acquire().await {
                Ok(true) => last = Instant::now(),
                Ok(false) => return,
                Err(error) => {
                    tracing::warn!(%error, lease = %self.config.name, "renewing the lease");
                    if last.elapsed() > self.config.renew_deadline {
                        return;
                    }
                }
            }
        }
    }

    /// Run `work` whenever this candidate leads, until `shutdown` ends; the
    /// work future is dropped (and so stopped) when leadership is lost, and
    /// started afresh when it is won again.
    pub async fn lead<W, F>(&self, shutdown: impl Future<Output = ()>, work: W)
    where
        W: Fn() -> F,
        F: Future<Output = ()>,
    {
        let shutdown = std::pin::pin!(shutdown);
        let mut shutdown = futures::FutureExt::fuse(shutdown);
        let lease = &self.config.name;
        loop {
            match self.try_acquire().await {
                Ok(true) => {
                    tracing::info!(identity = %self.config.identity, %lease, "became the leader");
                    self.leading.store(true, Ordering::SeqCst);
                    // biased: work that ends because of the same shutdown must
                    // not read as a lost lease, or the lease is never released
                    let stopping = tokio::select! {
                        biased;
                        _ = &mut shutdown => true,
                        _ = work() => false,
                        _ = self.keep() => false,
                    };
                    self.leading.store(false, Ordering::SeqCst);
                    if stopping {
                        self.release().await;
                        return;
                    }
                    tracing::warn!(identity = %self.config.identity, %lease, "lost the lease");
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, %lease, "acquiring the lease"),
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(self.config.retry_every) => {}
            }
        }
    }
}

fn expired(spec: &LeaseSpec, now: MicroTime) -> bool {
    let renewed = spec.renew_time.map_or(0, |t| t.seconds);
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15));
    renewed + duration < now.seconds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(renewed: i64, duration: i32) -> LeaseSpec {
        LeaseSpec {
            renew_time: Some(MicroTime { seconds: renewed, nanos: 0 }),
            lease_duration_seconds: Some(duration),
            ..Default::default()
        }
    }

    #[test]
    fn a_lease_expires_only_after_its_duration() {
        let now = MicroTime { seconds: 100, nanos: 0 };
        assert!(!expired(&spec(90, 15), now));
        assert!(!expired(&spec(85, 15), now));
        assert!(expired(&spec(84, 15), now));
        assert!(expired(&LeaseSpec::default(), now), "never renewed");
    }
}
